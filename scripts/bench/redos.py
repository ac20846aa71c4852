#!/usr/bin/env python3
"""ReDoS benchmark: catastrophic regexes in rules, adversarial prompts.

Each case is a rule whose keyword regex backtracks exponentially (or with a
high polynomial degree) in a backtracking engine such as Python's `re`, and
a prompt built to trigger it: the pattern almost matches, then fails at the
end, so a backtracking engine tries every way of splitting the input.

* novac is timed in-process through the Python bindings (`import novac`;
  `rules.scan(prompt)`, best of several runs) at prompt sizes 1 KB to 1 MB:
  its time per byte stays flat (linear time: finite automata, no
  backtracking).
* nova-hunting 0.3.1 (`NovaMatcher(rule).check_prompt(prompt)`) runs in a
  subprocess, one per (case, size), killed after --timeout seconds (10 by
  default). It is timed on tiny prompts (16-28 characters) first, to show
  the growth, then on the same sizes as novac; once a size times out the
  larger ones are not tried.

Run from the workspace root with the test venv (nova-hunting + novac):

    .venv/bin/python scripts/bench/redos.py [--timeout 10] [--output FILE]

Prints a Markdown table (the README's "Hostile input" table).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import subprocess
import sys
import time

from cargo_target import target_path

# name, regex body (Python syntax, as written in a rule), prompt builder (n -> text)
CASES = [
    ("nested quantifier", r"(a+)+$", lambda n: "a" * (n - 1) + "!"),
    ("words and spaces", r"(\w+\s?)*$", lambda n: ("word " * (n // 5 + 1))[: n - 1] + "!"),
    ("overlapping alternation", r"(a|aa)+$", lambda n: "a" * (n - 1) + "!"),
    ("anchored digits", r"^(\d+)*$", lambda n: "1" * (n - 1) + "x"),
    ("repeated dot-star", r"(.*a){12}", lambda n: ("x" * max(1, n // 11 - 1) + "a") * 11),
    ("email-like", r"^([a-zA-Z0-9_.-]+)+@", lambda n: "a" * (n - 1) + "!"),
]

SIZES = [1_000, 10_000, 100_000, 1_000_000]
TINY = [16, 20, 24, 28]


def rule_source(body: str) -> str:
    return f"rule ReDoS {{\n    keywords:\n        $r = /{body}/\n    condition:\n        $r\n}}\n"


CHILD = r"""
import contextlib, io, sys, time
with contextlib.redirect_stdout(io.StringIO()):
    from nova.core.parser import NovaParser
    from nova.core.matcher import NovaMatcher
    rule = NovaParser().parse(open(sys.argv[1], encoding="utf-8").read())
    matcher = NovaMatcher(rule, create_llm_evaluator=False)
prompt = open(sys.argv[2], encoding="utf-8").read()
print("ready", flush=True)
start = time.perf_counter()
with contextlib.redirect_stdout(io.StringIO()):
    result = matcher.check_prompt(prompt)
print(time.perf_counter() - start, bool(result.get("matched")), flush=True)
"""


def reference_time(body: str, prompt: str, timeout: float, tmp: str):
    """Seconds nova-hunting takes, or None when killed after `timeout`."""
    rule_path = os.path.join(tmp, "rule.nov")
    prompt_path = os.path.join(tmp, "prompt.txt")
    with open(rule_path, "w", encoding="utf-8") as fh:
        fh.write(rule_source(body))
    with open(prompt_path, "w", encoding="utf-8") as fh:
        fh.write(prompt)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, rule_path, prompt_path],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        line = child.stdout.readline()  # imports and rule parsing are not timed
        if line.strip() != "ready":
            child.kill()
            raise RuntimeError("the reference child did not start")
        start = time.perf_counter()
        try:
            out, _ = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.communicate()
            return None, time.perf_counter() - start
        if not out.split():
            return "error", None  # the reference raised (e.g. RecursionError, MemoryError)
        return float(out.split()[0]), None
    finally:
        if child.poll() is None:
            child.kill()


def novac_time(rules, prompt: str, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        rules.scan(prompt)
        best = min(best, time.perf_counter() - start)
    return best


def fmt_seconds(s) -> str:
    if s == "error":
        return "exception"
    if s < 1e-3:
        return f"{s * 1e6:.0f} µs"
    if s < 1:
        return f"{s * 1e3:.1f} ms"
    return f"{s:.2f} s"


def fmt_size(n: int) -> str:
    return f"{n // 1000} KB" if n < 1_000_000 else f"{n // 1_000_000} MB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--timeout", type=float, default=10.0, help="reference time limit per run (s)")
    parser.add_argument("--output", help="also write the table (and raw JSON) here")
    parser.add_argument("--no-reference", action="store_true", help="time novac only")
    args = parser.parse_args()

    import novac

    tmp = target_path("redos")
    os.makedirs(tmp, exist_ok=True)
    rows = []
    raw = []
    for name, body, build in CASES:
        rules = novac.compile(source=rule_source(body))
        times = {}
        for n in SIZES:
            prompt = build(n)
            times[n] = novac_time(rules, prompt, repeat=5 if n <= 100_000 else 3)
        per_byte = [times[n] / n * 1e9 for n in SIZES]
        ref_tiny, ref_big = [], {}
        if not args.no_reference:
            timed_out = False
            for n in TINY:
                if timed_out:
                    ref_tiny.append(None)
                    continue
                t, _ = reference_time(body, build(n), args.timeout, tmp)
                ref_tiny.append(t)
                timed_out = t is None or t == "error"
            for n in SIZES:
                if timed_out:
                    ref_big[n] = None
                    continue
                t, _ = reference_time(body, build(n), args.timeout, tmp)
                ref_big[n] = t
                timed_out = t is None or t == "error"
        raw.append({"case": name, "regex": body, "novac_s": times, "reference_tiny_s": dict(zip(TINY, ref_tiny)),
                    "reference_s": ref_big})
        rows.append((name, body, times, per_byte, ref_tiny, ref_big))
        print(f"{name}: novac {[fmt_seconds(times[n]) for n in SIZES]}, reference tiny {ref_tiny}, big {ref_big}",
              file=sys.stderr, flush=True)

    limit = f"> {args.timeout:g} s"
    lines = []
    head = ["case", "regex"] + [f"novac {fmt_size(n)}" for n in SIZES] + ["novac ns/byte (1 KB → 1 MB)"]
    if not args.no_reference:
        head += [f"reference {n} chars" for n in TINY] + [f"reference {fmt_size(n)}" for n in SIZES[:1]]
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join(["---", "---"] + ["---:"] * (len(head) - 2)) + "|")
    for name, body, times, per_byte, ref_tiny, ref_big in rows:
        cells = [name, f"`{body.replace('|', chr(92) + '|')}`"]
        cells += [fmt_seconds(times[n]) for n in SIZES]
        cells.append(f"{per_byte[0]:.1f} → {per_byte[-1]:.1f}")
        if not args.no_reference:
            cells += [limit if t is None else fmt_seconds(t) for t in ref_tiny]
            cells += [limit if ref_big[n] is None else fmt_seconds(ref_big[n]) for n in SIZES[:1]]
        lines.append("| " + " | ".join(cells) + " |")
    table = "\n".join(lines)
    print(table)
    if args.output:
        with open(args.output, "w", encoding="utf-8") as fh:
            fh.write(table + "\n\n```json\n" + json.dumps(raw, indent=1, default=str) + "\n```\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
