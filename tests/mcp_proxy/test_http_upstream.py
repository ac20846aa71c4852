"""`novac mcp proxy --upstream-url`: the SDK's client over stdio, the SDK
server (``upstream.py --http``) over streamable HTTP on 127.0.0.1, with
answers as SSE streams and as JSON bodies."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from test_mcp_proxy import NOVAC, UPSTREAM, rules_file, text


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(params=["sse", "json"])
def http_upstream(request):
    port = free_port()
    args = [sys.executable, str(UPSTREAM), "--http", str(port)]
    if request.param == "json":
        args.append("--json")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("the HTTP upstream did not start")
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}/mcp"
    proc.terminate()
    proc.wait(timeout=10)


def test_an_http_upstream_is_guarded(tmp_path: Path, http_upstream: str) -> None:
    if not NOVAC.is_file():
        pytest.fail(f"{NOVAC} is missing: run `cargo build -p novac-cli` or set NOVAC_BIN")
    params = StdioServerParameters(
        command=str(NOVAC),
        args=["mcp", "proxy", "--rules", str(rules_file(tmp_path, "hide")), "--quiet",
              "--upstream-url", http_upstream],
        env={**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"},
    )

    async def session():
        async with Client(params) as client:
            tools = await client.list_tools()
            echo = await client.call_tool("echo", {"text": "nothing to see"})
            greet = await client.call_tool("greet", {"name": "Ada"})
            fetched = await client.call_tool("fetch_page", {"url": "https://example.com"})
            return sorted(t.name for t in tools.tools), echo, greet, fetched

    names, echo, greet, fetched = asyncio.run(asyncio.wait_for(session(), 60))
    assert names == ["echo", "fetch_page", "greet"]  # `add` hidden
    assert text(echo) == "nothing to see" and not echo.is_error
    assert greet.structured_content == {"greeting": "Hello, Ada!"}
    assert fetched.is_error and "rule Injection" in text(fetched)
