"""Hostile input never crashes the interpreter: every failure is a Python exception.

Each test feeds something a careless or malicious caller could pass — invalid
rules, binary garbage, wrong types, lone surrogates, bytes, NUL characters,
very large prompts — and asserts a precise exception type (or a correct
result), never a crash, a panic or a silent acceptance.
"""

from __future__ import annotations

import os
import pickle
import random
import subprocess
import sys

import pytest

import novac

VALID = """
rule R {
    keywords:
        $a = "needle"
    condition:
        $a
}
"""


# ---------------------------------------------------------------- rule sources


@pytest.mark.parametrize(
    "source",
    [
        "",
        "rule",
        "rule {",
        "rule R {\n keywords:\n  $a = \"x\"\n condition:\n  $b\n}\n",
        "rule R {\n keywords:\n  $a = /(/\n condition:\n  $a\n}\n",
        "rule R {\n keywords:\n  $a = /(?<=x)y/\n condition:\n  $a\n}\n",
        "rule R {\n keywords:\n  $a = \"x\"\n condition:\n  " + "(" * 10_000 + "$a" + ")" * 10_000 + "\n}\n",
        "rule R {\n keywords:\n  $a = \"x\"\n condition:\n  " + "not " * 10_000 + "$a\n}\n",
        "rule R {\n keywords:\n  $a = \"x\"\n condition:\n  $a and\n}\n",
        "rule R {\n keywords:\n  $a = \"x\"\n  $a = \"y\"\n condition:\n  $a\n}\n",
        "rule R {\n keywords:\n  $a = \"x\"\n condition:\n  $a\n}\nrule R {\n keywords:\n  $a = \"x\"\n condition:\n  $a\n}\n",
        "\x00\x01\x02 rule \x00",
        "rule R\u202e { keywords: $a = \"x\" condition: $a }",
        "}" * 1000,
        "rule R { keywords: $a = \"" + "x" * 100_000 + "\" condition: $a }  rule R { }",
    ],
    ids=lambda s: repr(s[:24]),
)
def test_invalid_rules_raise_compile_error(source):
    with pytest.raises(novac.CompileError) as info:
        novac.compile(source)
    err = info.value
    assert err.diagnostics, "a CompileError carries at least one diagnostic"
    for d in err.diagnostics:
        assert d.code and d.message
        assert d.line >= 1 and d.column >= 1


def test_random_garbage_sources_never_crash():
    rng = random.Random(20261201)
    alphabet = 'rule{}:$="/()andornot any all of keywords semantics llm condition meta \n\t\\*.0123456789\u0130\u00df\x00'
    for _ in range(300):
        n = rng.randrange(0, 200)
        source = "".join(rng.choice(alphabet) for _ in range(n))
        try:
            rules = novac.compile(source)
        except novac.CompileError:
            continue
        rules.scan(source)  # whatever compiled must scan


def test_binary_garbage_file(tmp_path):
    path = tmp_path / "garbage.nov"
    path.write_bytes(os.urandom(4096) + b"\xff\xfe\x00")
    with pytest.raises((novac.CompileError, UnicodeDecodeError, ValueError)):
        novac.compile(paths=[path])


def test_source_with_lone_surrogate_is_a_type_of_unicode_error():
    with pytest.raises(UnicodeEncodeError):
        novac.compile('rule R { keywords: $a = "\ud800" condition: $a }')


@pytest.mark.parametrize("bad", [b"rule R {}", 42, ["rule R {}"], object()])
def test_compile_rejects_non_str_sources(bad):
    with pytest.raises(TypeError):
        novac.compile(bad)


@pytest.mark.parametrize("bad", [[42], [b"\xff/rules.nov"], 3.5])
def test_compile_rejects_bad_paths(bad):
    with pytest.raises((TypeError, novac.CompileError, OSError)):
        novac.compile(paths=bad)


def test_missing_path_names_the_path(tmp_path):
    missing = tmp_path / "nope.nov"
    with pytest.raises((novac.CompileError, OSError)) as info:
        novac.compile(paths=[missing])
    assert "nope.nov" in str(info.value)


# ---------------------------------------------------------------- prompts


@pytest.fixture(scope="module")
def rules():
    return novac.compile(VALID)


@pytest.mark.parametrize("bad", [None, b"needle", bytearray(b"needle"), 1, ["needle"], memoryview(b"x")])
def test_scan_rejects_non_str(rules, bad):
    with pytest.raises(TypeError):
        rules.scan(bad)


@pytest.mark.parametrize("prompt", ["\ud800", "needle \udfff", "a\udc80b needle"])
def test_scan_rejects_surrogates_with_unicode_error(rules, prompt):
    with pytest.raises(UnicodeEncodeError):
        rules.scan(prompt)
    with pytest.raises(UnicodeEncodeError):
        rules.scan_many(["needle", prompt])


def test_nul_and_control_characters(rules):
    result = rules.scan("\x00\x01needle\x00")
    assert result.matched_rules == ["R"]
    (_, start, end) = result["R"].keywords[0]
    assert (start, end) == (2, 8)


def test_astral_characters_keep_python_offsets(rules):
    prompt = "\U0001f600\U000e0041" * 3 + "needle"
    (_, start, end) = rules.scan(prompt)["R"].keywords[0]
    assert prompt[start:end] == "needle"


def test_twenty_megabyte_prompt(rules):
    prompt = "x" * (20 * 1024 * 1024) + "needle"
    result = rules.scan(prompt)
    assert result.matched_rules == ["R"]
    (_, start, end) = result["R"].keywords[0]
    assert prompt[start:end] == "needle"
    assert not rules.scan("я" * (10 * 1024 * 1024))


def test_scan_many_rejects_mixed_types_without_scanning(rules):
    with pytest.raises(TypeError):
        rules.scan_many(["needle", None])
    with pytest.raises(TypeError):
        rules.scan_many(b"needle")


def test_scan_many_with_a_generator_and_bad_thread_counts(rules):
    results = rules.scan_many((p for p in ["needle", "hay"]), threads=2)
    assert [bool(r) for r in results] == [True, False]
    with pytest.raises((TypeError, OverflowError, ValueError)):
        rules.scan_many(["needle"], threads=-1)


# ---------------------------------------------------------------- bundles and plug-ins


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00" * 64, b"garbage" * 100, os.urandom(1024)],
    ids=["empty", "zeros", "text", "random"],
)
def test_from_bytes_rejects_garbage(data):
    with pytest.raises((ValueError, novac.CompileError)):
        novac.Rules.from_bytes(data)


def test_from_bytes_rejects_truncated_bundle(rules):
    data = rules.to_bytes()
    for cut in (1, len(data) // 2, len(data) - 1):
        with pytest.raises((ValueError, novac.CompileError)):
            novac.Rules.from_bytes(data[:cut])


def test_unpickling_garbage_state_raises():
    good = pickle.dumps(novac.compile(VALID))
    bad = good.replace(b"needle", b"needl\xff")
    try:
        restored = pickle.loads(bad)
    except Exception as exc:  # any exception is fine; a crash is not
        assert not isinstance(exc, SystemError)
    else:
        restored.scan("needle")


def test_plugin_raising_base_exceptions_fails_closed():
    rules = novac.compile("rule S {\n semantics:\n  $s = \"hello\" (0.5)\n condition:\n  $s\n}\n")

    class Exploding:
        def encode(self, texts):
            raise MemoryError("boom")

    result = rules.scan("hello", semantic_evaluator=Exploding(), debug=True)
    assert not result
    assert any("boom" in w for r in result.results for w in r.warnings)


def test_process_survives_everything_in_a_subprocess():
    """The same hostile calls in a fresh interpreter: it exits normally (no abort, no segfault)."""
    code = (
        "import novac\n"
        "r = novac.compile('rule R {\\n keywords:\\n  $a = \"x\"\\n condition:\\n  $a\\n}\\n')\n"
        "for bad in (None, b'x', '\\ud800', 1.5):\n"
        "    try: r.scan(bad)\n"
        "    except (TypeError, UnicodeEncodeError): pass\n"
        "try: novac.compile('rule {')\n"
        "except novac.CompileError: pass\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


# ---------------------------------------------------------------- prompt size limit


def test_max_prompt_bytes_at_its_edge(rules):
    prompt = "x" * 94 + "needle"  # 100 bytes
    assert rules.scan(prompt, max_prompt_bytes=100).matched_rules == ["R"]
    with pytest.raises(novac.ScanError, match="101 bytes, over the limit of 100"):
        rules.scan(prompt + "x", max_prompt_bytes=100)
    assert issubclass(novac.ScanError, ValueError)


def test_max_prompt_bytes_counts_utf8_bytes(rules):
    with pytest.raises(novac.ScanError):
        rules.scan("я" * 51, max_prompt_bytes=100)  # 102 bytes, 51 characters
    assert not rules.scan("я" * 50, max_prompt_bytes=100)


def test_scan_many_names_the_refused_prompt(rules):
    for threads in (1, 2):
        with pytest.raises(novac.ScanError, match="prompt 2:"):
            rules.scan_many(["needle", "ok", "x" * 200], threads=threads, max_prompt_bytes=100)


def test_scanner_object_carries_the_limit(rules):
    scanner = novac.Scanner(rules, max_prompt_bytes=10)
    assert scanner.scan("needle").matched_rules == ["R"]
    with pytest.raises(novac.ScanError):
        scanner.scan("needle" * 3)
