"""Fixtures for the `novac serve` tests: the real debug binary on 127.0.0.1
with a random port (``$NOVAC_BIN``, else ``$CARGO_TARGET_DIR/debug/novac``,
else ``target/debug/novac``)."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def novac_bin() -> Path:
    if "NOVAC_BIN" in os.environ:
        return Path(os.environ["NOVAC_BIN"])
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    if not target.is_absolute():
        target = ROOT / target
    return target / "debug" / "novac"


RULE_A = """rule PromptInjection
{
    meta:
        description = "Overrides previous instructions"
        severity = "high"
    keywords:
        $ignore = "ignore previous instructions"
        $forget = /forget (all|everything)/i
    condition:
        $ignore or $forget
}
"""

RULE_B = """rule Exfiltration
{
    meta:
        severity = "medium"
    keywords:
        $key = "api key"
    condition:
        $key
}
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A running `novac serve`."""

    def __init__(self, rules: Path, args: list[str], log: Path):
        self.port = free_port()
        self.log_path = log
        self.log = open(log, "wb")
        binary = novac_bin()
        if not binary.is_file():
            pytest.fail(f"{binary} is missing: run `cargo build -p novac-cli` or set NOVAC_BIN")
        self.proc = subprocess.Popen(
            [str(binary), "serve", "--rules", str(rules), "--listen", f"127.0.0.1:{self.port}", *args],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        deadline = time.time() + 30
        while True:
            try:
                status, _, _ = self.request("GET", "/healthz")
                if status == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None:
                pytest.fail(f"novac serve exited: {self.logs()}")
            if time.time() > deadline:
                pytest.fail(f"novac serve did not start: {self.logs()}")
            time.sleep(0.05)

    def request(self, method: str, path: str, body=None, headers=None, timeout: float = 30):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            headers = dict(headers or {})
            if body is not None and not isinstance(body, (bytes, str)):
                body = json.dumps(body)
                headers.setdefault("Content-Type", "application/json")
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, dict(response.getheaders()), data
        finally:
            conn.close()

    def json(self, method: str, path: str, body=None, headers=None):
        status, _, data = self.request(method, path, body, headers)
        return status, json.loads(data)

    def raw(self) -> socket.socket:
        return socket.create_connection(("127.0.0.1", self.port), timeout=30)

    def logs(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")

    def log_lines(self) -> list[dict]:
        return [json.loads(line) for line in self.logs().splitlines() if line.startswith("{")]

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode


@pytest.fixture
def rules_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "rules"
    directory.mkdir()
    (directory / "a.nov").write_text(RULE_A)
    return directory


@pytest.fixture
def start(tmp_path: Path, rules_dir: Path):
    servers: list[Server] = []

    def start(*args: str, rules: Path | None = None) -> Server:
        server = Server(rules or rules_dir, list(args), tmp_path / f"server{len(servers)}.log")
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


def wait_for(predicate, timeout: float = 10.0, step: float = 0.05):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return False
