#!/usr/bin/env python3
"""Latency that `novac mcp proxy` adds to each `tools/call`.

A minimal stdio MCP upstream (plain Python, in this file) answers every
`tools/call` with a 2 KB benign text result. The client (plain Python over
pipes, not the SDK, so that its own cost stays small) sends CALLS calls one
at a time, straight to one upstream and through
`novac mcp proxy --rules RULES -- python upstream` to another, taking turns
call by call (so both see the same machine load), and reports p50/p99 of
both and the difference. The proxy scans the arguments and the 2 KB result
of each call with every rule (no `scope` meta: all rules apply everywhere).

Then throughput: THROUGHPUT calls pipelined (a writer thread keeps up to
WINDOW calls in flight, the main thread reads the answers), requests/s
straight to the upstream and through the proxy. The Python upstream and
client are part of both figures (they are likely the bottleneck). The load
average of the machine is printed with the results.

Usage (from the repository root):

    cargo build --release -p novac-cli
    python3 scripts/bench/mcp_proxy_latency.py --rules rulesets ../shared/corpus/nova-rules
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
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


def measure(commands: list[list[str]], calls: int) -> list[list[float]]:
    """Latencies in µs per command; the commands take turns, call by call,
    so that both see the same load on a shared machine."""
    procs = [subprocess.Popen(c, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
             for c in commands]
    latencies: list[list[float]] = [[] for _ in procs]
    for i in range(calls + 100):  # the first 100 are warm-up
        request = {"jsonrpc": "2.0", "id": i, "method": "tools/call",
                   "params": {"name": "report", "arguments": {"quarter": "Q3", "format": "text"}}}
        line = json.dumps(request) + "\n"
        for proc, out in zip(procs, latencies):
            assert proc.stdin and proc.stdout
            start = time.perf_counter()
            proc.stdin.write(line)
            proc.stdin.flush()
            answer = json.loads(proc.stdout.readline())
            elapsed = time.perf_counter() - start
            assert answer["id"] == i and "result" in answer, answer
            if i >= 100:
                out.append(elapsed * 1e6)
    for proc in procs:
        assert proc.stdin
        proc.stdin.close()
        proc.wait(timeout=30)
    return [sorted(out) for out in latencies]


def throughput(command: list[str], calls: int, window: int) -> float:
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    assert proc.stdin and proc.stdout
    lines = [(json.dumps({"jsonrpc": "2.0", "id": i, "method": "tools/call",
                          "params": {"name": "report", "arguments": {"quarter": "Q3"}}}) + "\n").encode()
             for i in range(calls)]
    slots = threading.Semaphore(window)

    def write() -> None:
        for line in lines:
            slots.acquire()
            proc.stdin.write(line)
            proc.stdin.flush()

    # Warm-up: one call.
    proc.stdin.write(lines[0].replace(b'"id": 0', b'"id": -1'))
    proc.stdin.flush()
    proc.stdout.readline()
    writer = threading.Thread(target=write)
    start = time.perf_counter()
    writer.start()
    for _ in range(calls):
        line = proc.stdout.readline()
        assert b'"result"' in line, line[:200]
        slots.release()
    elapsed = time.perf_counter() - start
    writer.join()
    proc.stdin.close()
    proc.wait(timeout=30)
    return calls / elapsed


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, int(len(values) * p))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", nargs="+", default=[str(ROOT / "rulesets")])
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--throughput", type=int, default=20000,
                        help="pipelined calls for the throughput figure (0: skip)")
    parser.add_argument("--window", type=int, default=64, help="calls in flight at once")
    parser.add_argument("--novac", default=str(ROOT / "target" / "release" / "novac"))
    args = parser.parse_args()
    upstream = [sys.executable, "-c", UPSTREAM]
    proxy = [args.novac, "mcp", "proxy", "--quiet", "--default-action", "log", "--rules",
             *args.rules, "--", *upstream]
    load_before = os.getloadavg()
    direct, proxied = measure([upstream, proxy], args.calls)
    print(f"{args.calls} tools/call one at a time, 2 KB results, rules: {' '.join(args.rules)}")
    print(f"{'':10} {'p50 µs':>10} {'p99 µs':>10}")
    for name, values in (("direct", direct), ("proxied", proxied)):
        print(f"{name:10} {pct(values, 0.5):10.0f} {pct(values, 0.99):10.0f}")
    print(f"{'added':10} {pct(proxied, 0.5) - pct(direct, 0.5):10.0f} "
          f"{pct(proxied, 0.99) - pct(direct, 0.99):10.0f}")
    if args.throughput:
        rate_direct = throughput(upstream, args.throughput, args.window)
        rate_proxied = throughput(proxy, args.throughput, args.window)
        print(f"throughput, {args.throughput} calls pipelined ({args.window} in flight): "
              f"direct {rate_direct:,.0f} req/s, proxied {rate_proxied:,.0f} req/s "
              f"({rate_proxied / rate_direct:.0%})")
    load_after = os.getloadavg()
    print("load average (1 min) before/after: "
          f"{load_before[0]:.1f} / {load_after[0]:.1f} on {os.cpu_count()} CPU(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
