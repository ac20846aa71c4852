"""novac: compile and scan NOVA ``.nov`` prompt-matching rules.

>>> import novac
>>> rules = novac.compile('''
... rule Injection {
...     keywords:
...         $ignore = "ignore previous instructions"
...     condition:
...         $ignore
... }''')
>>> result = rules.scan("Please IGNORE previous instructions.")
>>> result.matched_rules
['Injection']

Compilation and scanning run in Rust without the GIL; a :class:`Rules`
object is immutable and may be shared between threads and pickled to other
processes. :mod:`novac.compat` offers the ``nova-hunting`` classes
(``NovaParser``, ``NovaMatcher``, ``NovaScanner``, ...) on top of novac.
"""

from __future__ import annotations

from typing import Any, Iterable, List, Optional

from novac._novac import (
    CompileError,
    Diagnostic,
    LlmPlugin,
    RuleResult,
    Rules,
    ScanResult,
    ScanError,
    SemanticPlugin,
    __version__,
    check,
    compile,
    normalize,
)

__all__ = [
    "CompileError",
    "Diagnostic",
    "LlmPlugin",
    "RuleResult",
    "Rules",
    "ScanError",
    "ScanResult",
    "Scanner",
    "SemanticPlugin",
    "__version__",
    "check",
    "compile",
    "normalize",
]


class Scanner:
    """Scan options and plug-ins bound to a :class:`Rules` object.

    The plug-ins are wrapped once (``SemanticPlugin`` caches phrase
    embeddings), so prefer one ``Scanner`` over passing evaluators to every
    ``Rules.scan`` call. A ``Scanner`` is as thread-safe as its plug-ins.
    """

    __slots__ = ("rules", "normalize", "debug", "semantic_evaluator", "llm_evaluator", "max_prompt_bytes")

    def __init__(
        self,
        rules: Rules,
        *,
        normalize: bool = False,
        debug: bool = False,
        semantic_evaluator: Any = None,
        llm_evaluator: Any = None,
        max_prompt_bytes: Optional[int] = None,
    ) -> None:
        if not isinstance(rules, Rules):
            raise TypeError(f"Scanner() needs a novac.Rules object, not {type(rules).__name__}")
        self.rules = rules
        self.normalize = normalize
        self.debug = debug
        self.max_prompt_bytes = max_prompt_bytes
        self.semantic_evaluator: Optional[SemanticPlugin] = (
            semantic_evaluator
            if semantic_evaluator is None or isinstance(semantic_evaluator, SemanticPlugin)
            else SemanticPlugin(semantic_evaluator)
        )
        self.llm_evaluator: Optional[LlmPlugin] = (
            llm_evaluator
            if llm_evaluator is None or isinstance(llm_evaluator, LlmPlugin)
            else LlmPlugin(llm_evaluator)
        )

    def scan(self, prompt: str) -> ScanResult:
        """Scans one prompt (see :meth:`Rules.scan`)."""
        return self.rules.scan(
            prompt,
            normalize=self.normalize,
            debug=self.debug,
            semantic_evaluator=self.semantic_evaluator,
            llm_evaluator=self.llm_evaluator,
            max_prompt_bytes=self.max_prompt_bytes,
        )

    def scan_many(self, prompts: Iterable[str], threads: Optional[int] = None) -> List[ScanResult]:
        """Scans many prompts in parallel (see :meth:`Rules.scan_many`)."""
        return self.rules.scan_many(
            prompts,
            threads,
            normalize=self.normalize,
            debug=self.debug,
            semantic_evaluator=self.semantic_evaluator,
            llm_evaluator=self.llm_evaluator,
            max_prompt_bytes=self.max_prompt_bytes,
        )

    def __repr__(self) -> str:
        return f"<novac.Scanner over {self.rules!r} normalize={self.normalize} debug={self.debug}>"
