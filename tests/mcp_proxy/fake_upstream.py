"""A misbehaving stdio MCP upstream for the proxy's robustness tests.

It answers by method, or for ``tools/call`` by tool name (plain JSON-RPC,
no SDK, so that it can misbehave):

* ``echo``: answers at once with ``params``;
* ``hang``: never answers (until it gets ``notifications/cancelled`` for the
  request: then it reports the cancellation as a notification and answers
  the cancelled request late, which the proxy must drop);
* ``flood``: writes ``params.count`` notifications of ``params.size`` bytes
  without waiting, then answers;
* ``big``: answers with a tool result of ``params.size`` bytes of text,
  with ``params.inject`` written at ``params.at`` when given;
* ``garbage``: writes a line of ``params.size`` bytes that is not JSON,
  then answers;
* ``crash``: exits with status 3 (the requests in flight stay unanswered).
"""

import json
import sys

out = sys.stdout
hanging = {}


def send(message):
    out.write(json.dumps(message) + "\n")


for line in sys.stdin:
    msg = json.loads(line)
    method = msg.get("method")
    params = msg.get("params") or {}
    if method == "notifications/cancelled":
        rid = params.get("requestId")
        send({"jsonrpc": "2.0", "method": "notifications/message",
              "params": {"level": "info", "data": {"cancelled": rid}}})
        if json.dumps(rid) in hanging:
            send({"jsonrpc": "2.0", "id": rid, "result": {"late": True}})
        out.flush()
        continue
    if "id" not in msg:
        continue
    rid = msg["id"]
    if method == "tools/call":  # the tool's name is the behaviour
        method, params = params.get("name"), params.get("arguments") or {}
    if method == "crash":
        sys.exit(3)
    elif method == "hang":
        hanging[json.dumps(rid)] = True
    elif method == "echo":
        send({"jsonrpc": "2.0", "id": rid, "result": params})
    elif method == "flood":
        note = json.dumps({"jsonrpc": "2.0", "method": "notifications/progress",
                           "params": {"progressToken": 1, "progress": 0,
                                      "message": "x" * params["size"]}}) + "\n"
        for _ in range(params["count"]):
            out.write(note)
        send({"jsonrpc": "2.0", "id": rid, "result": {"flooded": params["count"]}})
    elif method == "garbage":
        out.write("x" * params["size"] + "\n")
        send({"jsonrpc": "2.0", "id": rid, "result": {}})
    elif method == "big":
        text = bytearray(b"lorem ipsum dolor sit amet " * (params["size"] // 27 + 1))[: params["size"]]
        inject = params.get("inject")
        if inject:
            at = params["at"]
            text[at: at + len(inject)] = inject.encode()
        result = {"content": [{"type": "text", "text": text.decode()}], "isError": False}
        send({"jsonrpc": "2.0", "id": rid, "result": result})
    out.flush()
