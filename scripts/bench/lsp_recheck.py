#!/usr/bin/env python3
"""Re-check latency of `novac lsp`: time from a `didChange` of a 1,000-rule
document to its `publishDiagnostics` (target: under 50 ms).

Usage: scripts/bench/lsp_recheck.py [NOVAC_BIN] [--rules N] [--runs R] [--in-rule]
(default binary: $CARGO_TARGET_DIR or target, release if built, else debug).
Standard library only; prints min / median / max in milliseconds.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def default_bin() -> str:
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    for profile in ("release", "debug"):
        if (target / profile / "novac").exists():
            return str(target / profile / "novac")
    raise SystemExit("build novac first (cargo build -p novac-cli)")


def rules(n: int, tweak: int, in_rule: bool = False) -> str:
    out = []
    for i in range(n):
        # --in-rule: the edit grows the middle rule (it is checked again and
        # every later rule moves), like typing in it.
        grow = "x" * tweak if in_rule and i == n // 2 else ""
        out.append(
            f"rule Rule{i}\n{{\n    meta:\n        description = \"rule {i}{grow}\"\n"
            f"    keywords:\n        $a = \"ignore previous {i}\"\n        $b = /syst[e3]m\\s+prompt {i}/i\n"
            f"    semantics:\n        $s = \"override the rules {i}\" (0.6)\n"
            f"    condition:\n        $a or ($b and semantics.$s)\n}}\n"
        )
    out.append(f"// edit {tweak}\n")
    return "".join(out)


class Client:
    def __init__(self, cmd: list[str]):
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def send(self, obj: dict) -> None:
        body = json.dumps(obj).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def read(self) -> dict:
        length = 0
        while True:
            line = self.proc.stdout.readline()
            if line in (b"\r\n", b""):
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        return json.loads(self.proc.stdout.read(length))

    def wait(self, method: str) -> dict:
        while True:
            msg = self.read()
            if msg.get("method") == method:
                return msg


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("bin", nargs="?", default=None)
    ap.add_argument("--rules", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--in-rule", action="store_true",
                    help="edit the middle rule (not a trailing comment)")
    args = ap.parse_args()
    binary = args.bin or default_bin()
    c = Client([binary, "lsp", "--isolated"])
    c.send({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"capabilities": {}}})
    c.read()
    c.send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    uri = "file:///bench/rules.nov"
    text = rules(args.rules, 0)
    c.send({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {"textDocument": {
        "uri": uri, "languageId": "nova", "version": 1, "text": text}}})
    first = c.wait("textDocument/publishDiagnostics")
    assert first["params"]["diagnostics"] == [], first["params"]["diagnostics"][:2]
    times = []
    for run in range(args.runs):
        text = rules(args.rules, run + 1, args.in_rule)
        start = time.perf_counter()
        c.send({"jsonrpc": "2.0", "method": "textDocument/didChange", "params": {
            "textDocument": {"uri": uri, "version": run + 2}, "contentChanges": [{"text": text}]}})
        c.wait("textDocument/publishDiagnostics")
        times.append((time.perf_counter() - start) * 1000)
    c.send({"jsonrpc": "2.0", "id": 2, "method": "shutdown"})
    c.read()
    c.send({"jsonrpc": "2.0", "method": "exit"})
    c.proc.wait(timeout=10)
    where = "middle rule" if args.in_rule else "trailing comment"
    print(f"{binary}: edit in the {where}, {args.rules} rules ({len(text) / 1024:.0f} KiB), {args.runs} re-checks: "
          f"min {min(times):.1f} ms, median {statistics.median(times):.1f} ms, max {max(times):.1f} ms")


if __name__ == "__main__":
    main()
