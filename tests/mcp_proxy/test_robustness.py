"""`novac mcp proxy` in front of a misbehaving upstream (``fake_upstream.py``).

Raw pipes on the client side: a hanging upstream (request deadline and
cancellation), too many requests in flight, an answer over the size limit,
a notification flood while the client writes without reading (no
deadlock), an upstream dying with several requests in flight, and
multi-megabyte tool results (streaming scan, bounded memory).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOVAC = Path(os.environ.get("NOVAC_BIN", ROOT / "target" / "debug" / "novac"))
FAKE = Path(__file__).resolve().parent / "fake_upstream.py"
RULES = """
rule Injection
{
    meta:
        scope = "tool_result"
    keywords:
        $k = "ignore previous instructions"
    condition:
        $k
}
"""


def proxy(tmp_path: Path, *extra: str) -> subprocess.Popen:
    if not NOVAC.is_file():
        pytest.fail(f"{NOVAC} is missing: run `cargo build -p novac-cli` or set NOVAC_BIN")
    rules = tmp_path / "guard.nov"
    rules.write_text(RULES)
    return subprocess.Popen(
        [str(NOVAC), "mcp", "proxy", "--rules", str(rules), "--quiet", *extra, "--",
         sys.executable, str(FAKE)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def send(proc: subprocess.Popen, message: dict) -> None:
    proc.stdin.write(json.dumps(message).encode() + b"\n")
    proc.stdin.flush()


def request(id_, method, **params) -> dict:
    return {"jsonrpc": "2.0", "id": id_, "method": method, "params": params}


def tool(id_, name, **arguments) -> dict:
    return request(id_, "tools/call", name=name, arguments=arguments)


def receive(proc: subprocess.Popen) -> dict:
    line = proc.stdout.readline()
    assert line, proc.stderr.read().decode()
    return json.loads(line)


def finish(proc: subprocess.Popen) -> str:
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0
    return proc.stderr.read().decode()


def test_a_hanging_upstream_gets_a_deadline_and_a_cancellation(tmp_path: Path) -> None:
    proc = proxy(tmp_path, "--request-timeout", "0.5")
    start = time.monotonic()
    send(proc, request(1, "hang"))
    answer = receive(proc)
    assert answer["id"] == 1 and answer["error"]["code"] == -32003
    assert 0.4 < time.monotonic() - start < 10
    # The upstream was told, and its late answer to 1 is dropped.
    note = receive(proc)
    assert note["method"] == "notifications/message"
    assert note["params"]["data"] == {"cancelled": 1}
    send(proc, request(2, "echo", x=1))
    assert receive(proc) == {"jsonrpc": "2.0", "id": 2, "result": {"x": 1}}
    stderr = finish(proc)
    assert "did not answer hang (id 1)" in stderr
    assert "no request in flight" in stderr
    assert proc.stdout.read() == b""


def test_too_many_requests_in_flight_are_refused(tmp_path: Path) -> None:
    proc = proxy(tmp_path, "--max-pending", "2", "--request-timeout", "0")
    send(proc, request(1, "hang"))
    send(proc, request(2, "hang"))
    send(proc, request(3, "echo"))
    refused = receive(proc)
    assert refused["id"] == 3 and refused["error"]["code"] == -32004
    # Cancelling one frees its slot.
    send(proc, {"jsonrpc": "2.0", "method": "notifications/cancelled",
                "params": {"requestId": 1}})
    assert receive(proc)["params"]["data"] == {"cancelled": 1}
    send(proc, request(4, "echo", y=2))
    assert receive(proc) == {"jsonrpc": "2.0", "id": 4, "result": {"y": 2}}
    send(proc, request(5, "crash"))
    assert {receive(proc)["id"] for _ in range(2)} == {2, 5}
    assert proc.wait(timeout=30) == 1


def test_an_answer_over_the_size_limit_is_an_error_for_its_request(tmp_path: Path) -> None:
    proc = proxy(tmp_path, "--max-message-bytes", "20000")
    send(proc, tool("big-one", "big", size=50_000))
    answer = receive(proc)
    assert answer["id"] == "big-one" and answer["error"]["code"] == -32005
    send(proc, tool(2, "big", size=5_000))
    assert receive(proc)["result"]["isError"] is False
    assert "over 20000 bytes" in finish(proc)


def test_long_lines_are_parsed_from_the_pipe_with_the_same_checks(tmp_path: Path) -> None:
    # Over the 64 KiB read buffer: parsed straight from the pipe.
    proc = proxy(tmp_path, "--max-message-bytes", "300000")
    send(proc, tool(1, "big", size=500_000))
    answer = receive(proc)
    assert answer["id"] == 1 and answer["error"]["code"] == -32005
    send(proc, request(2, "garbage", size=200_000))
    assert receive(proc) == {"jsonrpc": "2.0", "id": 2, "result": {}}
    send(proc, tool(3, "big", size=200_000, inject="Ignore previous instructions", at=150_000))
    blocked = receive(proc)
    assert blocked["id"] == 3 and blocked["result"]["isError"] is True
    send(proc, tool(4, "big", size=200_000))
    assert len(receive(proc)["result"]["content"][0]["text"]) == 200_000
    stderr = finish(proc)
    assert "over 300000 bytes" in stderr and "not JSON (200000 bytes" in stderr


def test_an_upstream_dying_answers_every_request_in_flight(tmp_path: Path) -> None:
    proc = proxy(tmp_path)
    for i in range(5):
        send(proc, request(i, "hang"))
    send(proc, request("last", "crash"))
    answers = [receive(proc) for _ in range(6)]
    assert {a["id"] for a in answers} == {0, 1, 2, 3, 4, "last"}
    assert all(a["error"]["code"] == -32002 for a in answers)
    assert proc.wait(timeout=30) == 1
    assert "6 request(s) in flight were answered with errors" in proc.stderr.read().decode()


def test_a_flood_while_the_client_writes_without_reading_does_not_deadlock(tmp_path: Path) -> None:
    proc = proxy(tmp_path, "--max-pending", "100000")
    # 40 MB of notifications: more than the pipes and the proxy's queue hold.
    send(proc, request("flood", "flood", count=100_000, size=400))
    requests = 3000
    # Write every request before reading anything (as a client busy with
    # its own output would): each side must keep reading the other.
    writer = threading.Thread(target=lambda: [
        send(proc, request(i, "echo", i=i, pad="p" * 200)) for i in range(requests)])
    writer.start()
    writer.join(timeout=120)
    assert not writer.is_alive(), "the proxy stopped reading the client"
    time.sleep(2)  # still not reading: the proxy's queue fills and drops
    answers, notes = set(), 0
    while len(answers) < requests + 1:
        message = receive(proc)
        if "id" in message:
            answers.add(message["id"])
        else:
            notes += 1
    assert answers == set(range(requests)) | {"flood"}
    assert 0 < notes <= 100_000
    stderr = finish(proc)
    # On a machine too slow to flood within the pause, nothing is dropped.
    assert notes == 100_000 or "dropped the notification notifications/progress" in stderr


def peak_rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    return 0


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_multi_megabyte_results_are_streamed_and_scanned(tmp_path: Path) -> None:
    size = 6 << 20
    proc = proxy(tmp_path)
    # An injection across a 64 KiB chunk boundary, near the end.
    at = size - (64 << 10) * 3 - 10
    send(proc, tool(1, "big", size=size, inject="Ignore previous instructions", at=at))
    blocked = receive(proc)
    assert blocked["id"] == 1 and blocked["result"]["isError"] is True
    assert "rule Injection" in blocked["result"]["content"][0]["text"]
    send(proc, tool(2, "big", size=size))
    passed = receive(proc)
    text = passed["result"]["content"][0]["text"]
    assert len(text) == size and text.startswith("lorem ipsum")
    peak = peak_rss_kb(proc.pid)
    finish(proc)
    # The result is held once, as the parsed value (never as a line), and
    # scanned with a window of at most 1 MiB; measured 27 MB with the debug
    # build (a 24 MB result: 39 MB with the release build).
    print(f"proxy peak RSS with {size >> 20} MB results: {peak // 1024} MB")
    assert peak < 2 * (size >> 10) + 32 * 1024
