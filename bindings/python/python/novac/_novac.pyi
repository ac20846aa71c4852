"""The native module (see novac/__init__.pyi for the public API)."""

from typing import List, Tuple

from novac import (
    CompileError as CompileError,
    Diagnostic as Diagnostic,
    LlmPlugin as LlmPlugin,
    RuleResult as RuleResult,
    Rules as Rules,
    ScanResult as ScanResult,
    SemanticPlugin as SemanticPlugin,
    __version__ as __version__,
    check as check,
    compile as compile,
    normalize as normalize,
)

def _rule_sources(text: str) -> List[Tuple[str, str]]: ...
def _rules_from_bytes(data: bytes) -> Rules: ...
