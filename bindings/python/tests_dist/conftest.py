"""Shared data for the Spark and Ray tests: the public rules, 20,000
deterministic prompts, and `novac scan`'s JSONL verdicts on them."""

from __future__ import annotations

import json
import os
import random
import subprocess
from pathlib import Path
from typing import List, Optional

import pytest

REPO_ROOT = Path(__file__).resolve().parents[3]
PUBLIC_RULES = Path(os.environ.get("NOVA_RULES_DIR", REPO_ROOT.parent / "shared" / "corpus" / "nova-rules"))


def novac_bin() -> Path:
    """`$NOVAC_BIN`, else `$CARGO_TARGET_DIR/debug/novac`, else target/debug/novac."""
    if os.environ.get("NOVAC_BIN"):
        return Path(os.environ["NOVAC_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR") or REPO_ROOT / "target").resolve()
    return target / "debug" / "novac"


def make_prompts(rules, n: int, seed: int = 21) -> List[Optional[str]]:
    """`n` prompts mixing the rules' own literal keywords with filler words,
    non-ASCII text, empty strings and (1 in 50) nulls."""
    rng = random.Random(seed)
    keywords = [
        v["pattern"]
        for r in rules._describe()
        for v in r["vars"]
        if v["kind"] == "literal" and v["pattern"].isprintable()
    ]
    filler = ["the", "please", "you", "now", "système", "пароль", "忽略", "🎉", "data", "mode", "and", "then"]
    out: List[Optional[str]] = []
    for _ in range(n):
        x = rng.random()
        if x < 0.02:
            out.append(None)
        elif x < 0.04:
            out.append("")
        else:
            words = [rng.choice(filler) for _ in range(rng.randint(1, 30))]
            for _ in range(rng.randint(0, 3)):
                if keywords:
                    words.insert(rng.randint(0, len(words)), rng.choice(keywords))
            out.append(" ".join(words))
    return out


def cli_verdicts(prompts: List[Optional[str]], tmp: Path) -> List[Optional[List[str]]]:
    """`novac scan -f jsonl`'s matched_rules per prompt (None for nulls)."""
    binary = novac_bin()
    if not binary.exists():
        pytest.skip(f"no novac binary at {binary} (cargo build -p novac-cli, or set NOVAC_BIN)")
    present = [p for p in prompts if p is not None]
    path = tmp / "prompts.jsonl"
    with open(path, "w", encoding="utf-8") as f:
        for i, p in enumerate(present):
            f.write(json.dumps({"prompt": p, "id": i}, ensure_ascii=False) + "\n")
    run = subprocess.run(
        [str(binary), "scan", "-r", str(PUBLIC_RULES), "-i", str(path), "--input-format", "jsonl", "-f", "jsonl"],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env={k: v for k, v in os.environ.items() if k != "NOVAC_MODEL_DIR"},
    )
    lines = [json.loads(line) for line in run.stdout.splitlines() if line.strip()]
    assert len(lines) == len(present), run.stderr[-2000:]
    verdicts = iter(line["matched_rules"] for line in lines)
    return [None if p is None else next(verdicts) for p in prompts]


@pytest.fixture(scope="session")
def public_rules():
    if not PUBLIC_RULES.is_dir():
        pytest.skip(f"public rules absent: {PUBLIC_RULES}")
    from novac import _novac

    # No embedding model, like the CLI build the verdicts come from.
    return _novac.compile(paths=str(PUBLIC_RULES))


@pytest.fixture(scope="session")
def corpus(public_rules, tmp_path_factory):
    """(prompts, the CLI's verdicts) for 20,000 prompts."""
    prompts = make_prompts(public_rules, 20_000)
    verdicts = cli_verdicts(prompts, tmp_path_factory.mktemp("cli"))
    matched = sum(1 for v in verdicts if v)
    assert matched > 1000, f"only {matched} prompts matched: the corpus does not exercise the rules"
    return prompts, verdicts
