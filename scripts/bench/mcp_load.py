#!/usr/bin/env python3
"""Throughput of `novac mcp` under load, driven from a second process.

Starts `novac mcp --rules RULES --quiet` (the release binary by default),
does the MCP handshake, then sends N `tools/call validate_prompt` requests
over its stdin, pipelined with at most WINDOW requests in flight (bounded,
so neither side's pipe buffers grow without limit), and reads the answers
on stdout. It reports calls/s over the whole run and the latency of each
call (from its write to the arrival of its answer) at p50/p90/p99/max.

The client is plain Python (json + threads), not the MCP SDK, so that the
client's own cost stays small; on a 2-core machine it still shares the CPU
with the server, so the figures are a lower bound for the server.

Usage (from the repository root):

    cargo build --release -p novac-cli
    python3 scripts/bench/mcp_load.py                      # 100,000 calls, rulesets/
    python3 scripts/bench/mcp_load.py --rules ../shared/corpus/nova-rules --calls 20000
    python3 scripts/bench/mcp_load.py --workers 1 --window 1   # one call at a time
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from cargo_target import target_path

ROOT = Path(__file__).resolve().parents[2]

# A mix of benign and malicious prompts of everyday sizes (the checked-in
# examples, padded to a few hundred bytes with benign text).
FILLER = (
    " The quarterly report covers revenue, costs and the outlook for next year;"
    " please keep the tone neutral and the summary short."
)


def load_prompts(path: Path | None) -> list[str]:
    source = path or ROOT / "examples" / "prompts.jsonl"
    prompts = []
    for line in source.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            prompts.append(json.loads(line)["prompt"])
        except (json.JSONDecodeError, KeyError, TypeError):
            prompts.append(line)
    if path is None:
        prompts = [p + FILLER * 3 for p in prompts]
    if not prompts:
        sys.exit(f"no prompts in {source}")
    return prompts


def percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[index]


def nova_mcp_per_call(rules: Path, prompts: list[str], calls: int) -> dict:
    """What nova_mcp does on every call, in-process with nova-hunting (no MCP
    transport, so an upper bound on its rate): walk the rule directory,
    parse every rule file, build a matcher per rule (no LLM evaluator) and
    check the prompt until the first match."""
    import logging

    logging.disable(logging.CRITICAL)
    from nova.core.matcher import NovaMatcher
    from nova.core.parser import NovaRuleFileParser

    files = sorted(rules.rglob("*.nov")) if rules.is_dir() else [rules]
    latencies = []
    blocked = 0
    started = time.perf_counter()
    for i in range(calls):
        t = time.perf_counter()
        prompt = prompts[i % len(prompts)]
        hit = False
        for path in files:
            try:
                parsed = NovaRuleFileParser().parse_file(str(path))
            except Exception:  # nova_mcp skips rules it cannot parse
                continue
            for rule in parsed:
                try:
                    matcher = NovaMatcher(rule, llm_evaluator=None, create_llm_evaluator=False)
                    hit = bool(matcher.check_prompt(prompt).get("matched"))
                except Exception:
                    continue
                if hit:
                    break
            if hit:
                break
        blocked += hit
        latencies.append(time.perf_counter() - t)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "calls": calls,
        "calls_per_second": round(calls / elapsed, 2),
        "p50_ms": round(percentile(latencies, 0.5) * 1e3, 2),
        "p99_ms": round(percentile(latencies, 0.99) * 1e3, 2),
        "not_authorized": blocked,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--novac", type=Path, default=Path(target_path("release", "novac")))
    parser.add_argument("--rules", type=Path, default=ROOT / "rulesets")
    parser.add_argument("--prompts", type=Path, help="JSONL with a prompt field, or one prompt per line")
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--window", type=int, default=64, help="most requests in flight")
    parser.add_argument("--workers", type=int, help="novac mcp --workers")
    parser.add_argument("--audit-log", type=Path, help="pass --audit-log to the server")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--server-args", default="",
                        help="more novac mcp arguments (without --model-dir, rules that use "
                             "semantics fail closed: the keyword stage only, as in the other benchmarks)")
    parser.add_argument("--nova-mcp-calls", type=int, default=0,
                        help="also time this many calls of nova_mcp's per-call work with nova-hunting "
                             "(run with a Python that has nova-hunting, e.g. .venv/bin/python)")
    args = parser.parse_args()
    if not args.novac.is_file():
        sys.exit(f"{args.novac} is missing: run `cargo build --release -p novac-cli`")

    prompts = load_prompts(args.prompts)
    command = [str(args.novac), "mcp", "--rules", str(args.rules), "--quiet"]
    if args.workers:
        command += ["--workers", str(args.workers)]
    command += args.server_args.split()
    if args.audit_log:
        command += ["--audit-log", str(args.audit_log)]
    server = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=1 << 16)
    assert server.stdin and server.stdout

    def send(message: dict) -> None:
        server.stdin.write(json.dumps(message).encode() + b"\n")

    send({"jsonrpc": "2.0", "id": "init", "method": "initialize", "params": {
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "mcp_load", "version": "1"}}})
    server.stdin.flush()
    first = server.stdout.readline()
    if not first:
        sys.exit(f"novac mcp exited with status {server.wait()} (see its error above)")
    init = json.loads(first)
    if "result" not in init:
        sys.exit(f"initialize failed: {init}")
    send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    # Pre-encode the requests: the timed loop then measures the server.
    requests = [
        (json.dumps({"jsonrpc": "2.0", "id": i, "method": "tools/call", "params": {
            "name": "validate_prompt",
            "arguments": {"prompt": prompts[i % len(prompts)], "user_id": f"user{i % 97}"}}})
         + "\n").encode()
        for i in range(args.calls)
    ]
    sent_at = [0.0] * args.calls
    latency = [0.0] * args.calls
    window = threading.BoundedSemaphore(args.window)
    failed: list[str] = []

    def writer() -> None:
        stdin = server.stdin
        for i, request in enumerate(requests):
            window.acquire()
            sent_at[i] = time.perf_counter()
            stdin.write(request)
            stdin.flush()

    blocked = 0
    started = time.perf_counter()
    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    readline = server.stdout.readline
    for _ in range(args.calls):
        line = readline()
        now = time.perf_counter()
        if not line:
            failed.append("the server closed stdout")
            break
        response = json.loads(line)
        i = response.get("id")
        if not isinstance(i, int) or "result" not in response:
            failed.append(line.decode(errors="replace")[:200])
            window.release()
            continue
        latency[i] = now - sent_at[i]
        blocked += response["result"]["content"][0]["text"].startswith("NOT AUTHORIZED")
        window.release()
    elapsed = time.perf_counter() - started
    thread.join()
    server.stdin.close()
    server.wait(timeout=30)

    done = sorted(l for l in latency if l > 0)
    figures = {
        "calls": len(done),
        "failed": len(failed),
        "seconds": round(elapsed, 3),
        "calls_per_second": round(len(done) / elapsed),
        "p50_ms": round(percentile(done, 0.50) * 1e3, 3),
        "p90_ms": round(percentile(done, 0.90) * 1e3, 3),
        "p99_ms": round(percentile(done, 0.99) * 1e3, 3),
        "max_ms": round(done[-1] * 1e3, 3) if done else None,
        "mean_ms": round(statistics.fmean(done) * 1e3, 3) if done else None,
        "not_authorized": blocked,
        "window": args.window,
        "workers": args.workers or 1,
        "rules": str(args.rules),
        "prompts": len(prompts),
        "mean_prompt_bytes": round(statistics.fmean(len(p.encode()) for p in prompts)),
    }
    if args.json:
        print(json.dumps(figures))
    else:
        print(f"novac mcp: {figures['calls']:,} validate_prompt calls in {figures['seconds']} s "
              f"= {figures['calls_per_second']:,} calls/s "
              f"(window {args.window}, {figures['workers']} workers, {figures['not_authorized']:,} NOT AUTHORIZED)")
        print(f"latency: p50 {figures['p50_ms']} ms, p90 {figures['p90_ms']} ms, "
              f"p99 {figures['p99_ms']} ms, max {figures['max_ms']} ms")
    if args.nova_mcp_calls:
        peer = nova_mcp_per_call(args.rules, prompts, args.nova_mcp_calls)
        ratio = figures["calls_per_second"] / peer["calls_per_second"]
        if args.json:
            print(json.dumps({"nova_mcp_per_call": peer, "ratio": round(ratio, 1)}))
        else:
            print(f"nova_mcp's per-call work (nova-hunting, in-process, first match wins): "
                  f"{peer['calls_per_second']} calls/s, p50 {peer['p50_ms']} ms, p99 {peer['p99_ms']} ms "
                  f"over {peer['calls']} calls ({peer['not_authorized']} NOT AUTHORIZED); "
                  f"novac mcp / nova_mcp = {ratio:,.0f}x")
    for line in failed[:5]:
        print(f"failed: {line}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
