#!/usr/bin/env python3
"""Latency that `novac mcp proxy` adds to each `tools/call`.

A minimal stdio MCP upstream (plain Python, in this file) answers every
`tools/call` with a 2 KB benign text result. The client (plain Python over
pipes, not the SDK, so that its own cost stays small) sends CALLS calls one
at a time, first straight to the upstream, then through
`novac mcp proxy --rules RULES -- python upstream`, and reports p50/p99 of
both and the difference. The proxy scans the arguments and the 2 KB result
of each call with every rule (no `scope` meta: all rules apply everywhere).

Usage (from the repository root):

    cargo build --release -p novac-cli
    python3 scripts/bench/mcp_proxy_latency.py --rules rulesets ../shared/corpus/nova-rules
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

UPSTREAM = r"""
import json, sys
text = ("The quarterly report lists revenue, costs and the outlook for next year. " * 40)[:2048]
for line in sys.stdin:
    msg = json.loads(line)
    if "id" not in msg:
        continue
    if msg.get("method") == "tools/call":
        result = {"content": [{"type": "text", "text": text}], "isError": False}
    else:
        result = {}
    sys.stdout.write(json.dumps({"jsonrpc": "2.0", "id": msg["id"], "result": result}) + "\n")
    sys.stdout.flush()
"""


def measure(command: list[str], calls: int) -> list[float]:
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdin and proc.stdout
    latencies = []
    for i in range(calls + 100):  # the first 100 are warm-up
        request = {"jsonrpc": "2.0", "id": i, "method": "tools/call",
                   "params": {"name": "report", "arguments": {"quarter": "Q3", "format": "text"}}}
        start = time.perf_counter()
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        answer = json.loads(proc.stdout.readline())
        elapsed = time.perf_counter() - start
        assert answer["id"] == i and "result" in answer, answer
        if i >= 100:
            latencies.append(elapsed * 1e6)
    proc.stdin.close()
    proc.wait(timeout=30)
    return sorted(latencies)


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(len(values) * p))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", nargs="+", default=[str(ROOT / "rulesets")])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--novac", default=str(ROOT / "target" / "release" / "novac"))
    args = parser.parse_args()
    upstream = [sys.executable, "-c", UPSTREAM]
    direct = measure(upstream, args.calls)
    proxied = measure(
        [args.novac, "mcp", "proxy", "--quiet", "--default-action", "log", "--rules", *args.rules,
         "--", *upstream],
        args.calls,
    )
    print(f"{args.calls} tools/call one at a time, 2 KB results, rules: {' '.join(args.rules)}")
    print(f"{'':10} {'p50 µs':>10} {'p99 µs':>10}")
    for name, values in (("direct", direct), ("proxied", proxied)):
        print(f"{name:10} {pct(values, 0.5):10.0f} {pct(values, 0.99):10.0f}")
    print(f"{'added':10} {pct(proxied, 0.5) - pct(direct, 0.5):10.0f} "
          f"{pct(proxied, 0.99) - pct(direct, 0.99):10.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
