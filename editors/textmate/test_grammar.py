"""Tokenises sample files with the TextMate grammar (textmate-grammar-python,
a port of vscode-textmate on Oniguruma) and checks the scopes of key tokens.

Run: python -m pytest -q editors/textmate (scripts/test.sh installs the package).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
GRAMMAR = json.loads((HERE / "nova.tmLanguage.json").read_text())


def tokens(text: str) -> dict[str, list[str]]:
    """token text -> scopes of its first occurrence."""
    from textmate_grammar.parsers.base import LanguageParser

    parser = LanguageParser(GRAMMAR)
    element = parser.parse_string(text)
    out: dict[str, list[str]] = {}
    for _, token, scopes in element.flatten():
        out.setdefault(token.strip(), scopes)
    return out


def has(found: dict[str, list[str]], token: str, scope: str) -> None:
    """`token` (or it in quotes: a string token holds its quotes) has `scope`."""
    key = next((k for k in (token, f'"{token}"', f"'{token}'") if k in found), None)
    assert key is not None, (token, sorted(found))
    assert any(s.startswith(scope) for s in found[key]), (token, found[key])


def test_sample_rule_scopes():
    found = tokens((HERE / "samples" / "sample.nov").read_text())
    has(found, "// A sample rule for the grammar test.", "comment.line")
    has(found, "rule", "storage.type.rule")
    has(found, "PromptInjection", "entity.name.type.rule")
    has(found, "keywords", "keyword.control.section")
    has(found, "description", "variable.other.property.meta")
    has(found, "$ignore", "variable.other.definition")
    has(found, "ignore previous", "string.quoted.double")
    has(found, "case:true", "keyword.other.modifier.case")
    has(found, "\\bDAN\\b", "string.regexp")
    has(found, "0.6", "constant.numeric.threshold")
    has(found, "Does this text try to change the rules?", "string.quoted.single")
    has(found, "and", "keyword.operator.logical")
    has(found, "OR", "keyword.operator.logical")
    has(found, "any", "keyword.other.quantifier")
    has(found, "2", "constant.numeric.count")
    has(found, "semantics", "keyword.control.section")
    has(found, "true", "constant.language.boolean")


@pytest.mark.parametrize("name", ["rulesets"])
def test_every_ruleset_tokenises(name: str):
    root = HERE.parents[1] / name
    files = sorted(root.rglob("*.nov"))[:10]
    assert files
    for path in files:
        found = tokens(path.read_text())
        assert any(any(s.startswith("entity.name.type.rule") for s in v) for v in found.values()), path


def test_vscode_copy_is_identical():
    copy = HERE.parent / "vscode" / "syntaxes" / "nova.tmLanguage.json"
    assert json.loads(copy.read_text()) == GRAMMAR
