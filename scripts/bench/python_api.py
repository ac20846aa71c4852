#!/usr/bin/env python3
"""Time novac's Python API beside nova-hunting's NovaScanner, in one run.

Run from the workspace root with a Python that has the `novac` bindings and
`nova-hunting` installed (the test venv has both after `scripts/test.sh`):

    .venv/bin/python scripts/bench/python_api.py            # ~3 minutes

It reuses the generated workloads of `compare.py` (written by
`cargo run --release -p novac-benches --example export -- target/bench-data`,
which this script runs when they are missing) and measures, single process:

* `Rules.scan(p)` one prompt at a time, and `Rules.scan(p, normalize=True)`
  (what `NovaScanner.scan` does: it normalises every prompt first);
* `Rules.scan_many(prompts)` with 1 and 2 threads;
* the reference's `NovaScanner.scan(p)` on the same rules and prompts, on a
  prefix of the prompts until `--ref-seconds` pass;
* the per-call overhead of `Rules.scan` on a 100-byte prompt with a one-rule
  set whose only literal never occurs (the Rust work is ~0.1 µs, so the
  figure is the cost of crossing into Rust and building the result object).

Semantic and LLM stages are off on both sides (no model, no network). It
prints a Markdown table (also written to --output).
"""

import argparse
import contextlib
import datetime
import io
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

from cargo_target import target_path  # noqa: E402
import compare  # noqa: E402  (workload loading and the reference's import guard)

WORKLOADS = [
    ("public_en", "public rules x 2 KB en"),
    ("gen_100", "100 generated rules x ~1.3 KB en"),
    ("gen_1000", "1,000 generated rules x ~1.3 KB en"),
]


def rate(fn, items, min_seconds):
    """Calls fn(item) over items, repeated until min_seconds pass; items/s."""
    for item in items[: max(1, len(items) // 10)]:  # warm-up
        fn(item)
    done, start = 0, time.perf_counter()
    while True:
        for item in items:
            fn(item)
        done += len(items)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return done / elapsed


def batch_rate(fn, prompts, min_seconds):
    fn(prompts[: max(1, len(prompts) // 10)])
    done, start = 0, time.perf_counter()
    while True:
        fn(prompts)
        done += len(prompts)
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return done / elapsed


def reference_scanner(sources):
    matcher_cls, parser_cls, version = compare.import_reference()
    from nova.core.scanner import NovaScanner

    rules, refused = compare.parse_reference(parser_cls, sources)
    scanner = NovaScanner(rules)
    return scanner, version, refused


def time_reference(scanner, prompts, budget):
    with contextlib.redirect_stdout(io.StringIO()):
        scanner.scan(prompts[0])  # warm-up
        start, k = time.perf_counter(), 0
        while k < len(prompts):
            scanner.scan(prompts[k])
            k += 1
            if time.perf_counter() - start >= budget:
                break
    return k / (time.perf_counter() - start), k


def per_call_overhead(novac, min_seconds):
    rules = novac.compile('rule R {\n    keywords:\n        $a = "zzzqqqxxx"\n    condition:\n        $a\n}\n')
    prompt = ("What is the capital of France, and how many people live there? " * 2)[:100]
    assert len(prompt.encode()) == 100
    calls = rate(rules.scan, [prompt] * 1000, min_seconds)
    return 1e6 / calls


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=target_path("bench-data"))
    ap.add_argument("--rules-dir", default=os.path.join(ROOT, "..", "shared", "corpus", "nova-rules"))
    ap.add_argument("--ref-seconds", type=float, default=20.0)
    ap.add_argument("--novac-seconds", type=float, default=2.0)
    ap.add_argument("--prompts", type=int, default=2000, help="prompts per workload for novac")
    ap.add_argument("--output", default="bench-python.md")
    args = ap.parse_args()

    import novac

    if not os.path.exists(os.path.join(args.data, "prompts.jsonl")):
        compare.cargo(["run", "--release", "-q", "-p", "novac-benches", "--example", "export", "--", args.data])

    rows = []
    ref_version = "?"
    for name, label in WORKLOADS:
        if name.startswith("public_") and not os.path.isdir(args.rules_dir):
            compare.log(f"skipping {name}: {args.rules_dir} is absent")
            continue
        sources, prompts = compare.workload_inputs(name, args.data, args.rules_dir)
        prompts = prompts[: args.prompts]
        rules = novac.compile(paths=[p for p, _ in sources])
        compare.log(f"{name}: {len(rules)} rules, {len(prompts)} prompts")
        scan = rate(rules.scan, prompts, args.novac_seconds)
        scan_norm = rate(lambda p: rules.scan(p, normalize=True), prompts, args.novac_seconds)
        many1 = batch_rate(lambda ps: rules.scan_many(ps, threads=1), prompts, args.novac_seconds)
        many2 = batch_rate(lambda ps: rules.scan_many(ps, threads=2), prompts, args.novac_seconds)
        scanner, ref_version, refused = reference_scanner(sources)
        ref, ref_n = time_reference(scanner, prompts, args.ref_seconds)
        compare.log(f"  reference: {ref:.2f} prompts/s over {ref_n} prompts; refused: {refused}")
        rows.append((label, ref, ref_n, scan, scan_norm, many1, many2))

    overhead = per_call_overhead(novac, args.novac_seconds)

    lines = [
        f"Python API, one run on {platform.node()} ({os.cpu_count()} cores), "
        f"{datetime.date.today().isoformat()}, Python {platform.python_version()}, "
        f"novac {novac.__version__}, nova-hunting {ref_version}.",
        "",
        "| workload | NovaScanner.scan prompts/s | Rules.scan | ratio | Rules.scan(normalize=True) | ratio | scan_many 1 thread | scan_many 2 threads |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for label, ref, ref_n, scan, scan_norm, many1, many2 in rows:
        lines.append(
            f"| {label} | {ref:,.1f} ({ref_n} prompts) | {scan:,.0f} | {scan / ref:,.0f}x | "
            f"{scan_norm:,.0f} | {scan_norm / ref:,.0f}x | {many1:,.0f} | {many2:,.0f} |"
        )
    lines += ["", f"Per-call overhead of `Rules.scan` on a 100-byte prompt: {overhead:.2f} µs."]
    text = "\n".join(lines)
    print(text)
    with open(args.output, "w", encoding="utf-8") as f:
        f.write(text + "\n")


if __name__ == "__main__":
    main()
