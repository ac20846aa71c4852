"""Shared fixtures and helpers for the novac Python binding tests."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import List

import pytest

TESTS_DIR = Path(__file__).resolve().parent
REPO_ROOT = TESTS_DIR.parent.parent.parent
CASES_DIR = REPO_ROOT / "tests" / "data" / "scan" / "cases"
PUBLIC_RULES = Path(os.environ.get("NOVA_RULES_DIR", REPO_ROOT.parent / "shared" / "corpus" / "nova-rules"))

BASIC_RULES = """\
rule Injection {
    meta:
        severity = "high"
        description = "prompt injection"
    keywords:
        $ignore = "ignore previous instructions"
        $dan = /\\bDAN\\b/
    condition:
        any of keywords.*
}

rule Secret {
    meta:
        severity = "low"
    keywords:
        $key = "api_key case:true"
    condition:
        $key
}
"""


def expand_prompts(items: list) -> List[str]:
    """The prompts of a ``*.prompts.json`` file (strings, or repeat objects)."""
    prompts = []
    for item in items:
        if isinstance(item, str):
            prompts.append(item)
        else:
            prompts.append(item.get("prefix", "") + item["repeat"] * item["count"] + item.get("suffix", ""))
    return prompts


def load_prompts(nov: Path) -> List[str]:
    path = nov.with_name(nov.name[: -len(".nov")] + ".prompts.json")
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as f:
        return expand_prompts(json.load(f))


@pytest.fixture(scope="session")
def basic_rules():
    import novac

    return novac.compile(BASIC_RULES)
