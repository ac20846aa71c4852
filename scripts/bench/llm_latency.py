#!/usr/bin/env python3
"""Wall time of the LLM stage, reference vs novac, against one stub model.

A local stub speaks the OpenAI chat-completions format and answers every
request after DELAY seconds (matched=false, so every pattern is needed).
One rule with K llm patterns (`any of llm.*`) is checked on P distinct
prompts (distinct so that no answer comes from a cache):

* reference: nova-hunting's NovaMatcher with an OpenAIEvaluator pointed at
  the stub (it calls the patterns one after another);
* novac: `novac scan --llm openai --llm-base-url STUB` (patterns of one
  prompt judged concurrently, --llm-concurrency; one scan thread).

Usage: .venv/bin/python scripts/bench/llm_latency.py [--novac target/release/novac]
Needs nova-hunting==0.3.1 in the running Python. Prints one table; numbers
are from one run on whatever machine runs it.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cargo_target import target_path

DELAY = 0.2
K = 6
P = 5

REPLY = json.dumps({"matched": False, "confidence": 0.1, "reason": "stub"})


class Stub(BaseHTTPRequestHandler):
    count = 0
    lock = threading.Lock()

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        with Stub.lock:
            Stub.count += 1
        time.sleep(DELAY)
        body = json.dumps(
            {"choices": [{"index": 0, "message": {"role": "assistant", "content": REPLY}}]}
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def rule_text():
    lines = ["rule ManyJudges", "{", "    llm:"]
    for i in range(K):
        lines.append(f'        $q{i} = "Question {i}: is this text hostile in way {i}?" (0.1)')
    lines += ["    condition:", "        any of llm.*", "}", ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--novac", default=target_path("release", "novac"))
    ap.add_argument("--concurrency", type=int, default=8)
    args = ap.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Stub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    text = rule_text()
    prompts = [f"prompt number {i} for the benchmark" for i in range(P)]
    rows = []

    from nova.core.matcher import NovaMatcher
    from nova.core.parser import NovaParser
    from nova.evaluators.llm import OpenAIEvaluator

    rule = NovaParser().parse(text)
    evaluator = OpenAIEvaluator(api_key="stub-key")
    evaluator.base_url = f"{base}/v1/chat/completions"
    matcher = NovaMatcher(rule, llm_evaluator=evaluator)
    Stub.count = 0
    start = time.perf_counter()
    for p in prompts:
        r = matcher.check_prompt(p + " (reference)")
        assert not r["matched"], r
    ref = time.perf_counter() - start
    rows.append(("reference 0.3.1 (sequential)", ref, Stub.count))

    with tempfile.TemporaryDirectory() as tmp:
        rules = os.path.join(tmp, "r.nov")
        with open(rules, "w") as f:
            f.write(text)
        for conc in (1, args.concurrency):
            Stub.count = 0
            inp = "\n".join(json.dumps({"id": i, "prompt": p + f" (novac {conc})"})
                            for i, p in enumerate(prompts)) + "\n"
            env = dict(os.environ, OPENAI_API_KEY="stub-key")
            start = time.perf_counter()
            out = subprocess.run(
                [args.novac, "scan", "--rules", rules, "--format", "jsonl", "--threads", "1",
                 "--llm", "openai", "--llm-base-url", f"{base}/v1",
                 "--llm-concurrency", str(conc)],
                input=inp, capture_output=True, text=True, env=env, check=False,
            )
            took = time.perf_counter() - start
            assert out.returncode == 1, out.stderr
            rows.append((f"novac, --llm-concurrency {conc}", took, Stub.count))
    server.shutdown()

    print(f"{P} prompts x 1 rule with {K} llm patterns, stub latency {DELAY * 1000:.0f} ms per call")
    print("| engine | model calls | wall time (s) | per prompt (ms) | vs reference |")
    print("|---|---:|---:|---:|---:|")
    for name, took, calls in rows:
        print(f"| {name} | {calls} | {took:.2f} | {took / P * 1000:.0f} | {ref / took:.1f}x |")


if __name__ == "__main__":
    sys.exit(main())
