#!/usr/bin/env python3
"""`novac scan --input FILE` against the library loop on the same input.

    python3 scripts/bench/cli_vs_lib.py [--members rules_100,base] [--repeat 3]

For each member of the workload family (`family.py`; its rules and
prompts are written to target/family-data), in one run:

- the library loop: the `family_member` driver (a fresh process: compile,
  first pass over the prompts, warm passes), one thread;
- `novac scan -r RULES --prompt hi` (compile only) and
  `novac scan -r RULES --input PROMPTS --format F --threads T` for F in
  jsonl, human and T in 1, 2; the pure-scan part is the whole process minus
  the compile-only process (best of --repeat), in CPU time (getrusage of
  the children; a loaded machine disturbs it less) and wall clock.

It prints a Markdown table: µs per prompt of each, the CLI's scan part over
the library's first pass (the like-for-like figure: both are fresh
processes that pay the warm-up) and over its warm pass, and the 2-thread
speed-up in wall-clock time (meaningful only when the machine has two idle
cores). Rerun before trusting a small difference. Builds the release binaries first unless --no-build.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import family  # noqa: E402


def best_of(cmd, repeat):
    """(wall seconds, CPU seconds) of the fastest of `repeat` runs, each minimum taken separately."""
    wall, cpu = None, None
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        res = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        dt = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if res.returncode not in (0, 1):
            raise RuntimeError(f"{' '.join(cmd)}: {res.stderr.decode()[-400:]}")
        c = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        wall = dt if wall is None else min(wall, dt)
        cpu = c if cpu is None else min(cpu, c)
    return wall, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--members", default="rules_100,base", help="family members (see family.py)")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--bytes", type=float, default=8e6, help="prompt bytes per member")
    ap.add_argument("--data", default=os.path.join(ROOT, "target", "family-data"))
    ap.add_argument("--rules-dir", default=os.path.normpath(os.path.join(ROOT, "..", "shared", "corpus", "nova-rules")))
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--novac", help="the novac binary (default: target/release/novac)")
    args = ap.parse_args()
    if not args.no_build:
        cmd = ["cargo", "build", "--release", "-q", "-p", "novac-benches", "--example", "family_member"]
        subprocess.run(cmd, cwd=ROOT, check=True)
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "novac-cli"], cwd=ROOT, check=True)
    novac = args.novac or os.path.join(ROOT, "target", "release", "novac")
    by_name = {m["name"]: m for m in family.FULL + family.QUICK}
    rows = []
    for name in args.members.split(","):
        m = by_name[name]
        rules, prompts_path, prompts = family.write_member(m, args.data, args.rules_dir, args.bytes)
        n = len(prompts)
        lib = family.run_driver(rules, prompts_path, 1.0, timeout=900)
        compile_wall, compile_cpu = best_of([novac, "scan", "-r", rules, "--prompt", "hi"], args.repeat)
        row = {"member": name, "prompts": n, "lib_first": lib["first_pass_cpu_us"], "lib_warm": lib["warm_cpu_us"],
               "compile_s": compile_cpu}
        for fmt in ("jsonl", "human"):
            for threads in (1, 2):
                wall, cpu = best_of([novac, "scan", "-r", rules, "--input", prompts_path, "--format", fmt,
                                     "--threads", str(threads)], args.repeat)
                row[f"{fmt}_{threads}_cpu"] = max(0.0, cpu - compile_cpu) / n * 1e6
                row[f"{fmt}_{threads}_wall"] = max(0.0, wall - compile_wall) / n * 1e6
        rows.append(row)
        print(json.dumps(row), file=sys.stderr, flush=True)
    out = ["CPU µs per prompt (the scan part: whole process minus compile-only), except the last two columns "
           "(wall clock, which is what threads speed up).", "",
           "| member | prompts | lib first pass µs | lib warm µs | CLI compile s | format | CLI 1 thread µs | "
           "÷ lib first pass | ÷ lib warm | CLI 2 threads CPU µs | wall µs 1 → 2 threads | 2-thread speed-up |",
           "|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        for fmt in ("jsonl", "human"):
            one = r[f"{fmt}_1_cpu"]
            w1, w2 = r[f"{fmt}_1_wall"], r[f"{fmt}_2_wall"]
            out.append(f"| {r['member']} | {r['prompts']:,} | {r['lib_first']:.1f} | {r['lib_warm']:.1f} | "
                       f"{r['compile_s']:.2f} | {fmt} | {one:.1f} | {one / r['lib_first']:.2f}× | "
                       f"{one / r['lib_warm']:.2f}× | {r[f'{fmt}_2_cpu']:.1f} | {w1:.1f} → {w2:.1f} | "
                       f"{w1 / w2 if w2 else float('nan'):.2f}× |")
    print("\n".join(out))


if __name__ == "__main__":
    main()
