"""The anchor of `serve_load.py`: nova-hunting's NovaScanner behind a minimal
FastAPI endpoint, the way users wrap it today. Run by uvicorn:

    NOVA_RULES=/path/to/rules uvicorn serve_anchor_app:app --port 8081

The reference is imported offline (no semantic model, no LLM key), as in the
other benchmark scripts, so it scans with keywords only, like novac here.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import compare  # noqa: E402  (the reference's offline import guard and rule parsing)

_, parser_cls, VERSION = compare.import_reference()
from nova.core.scanner import NovaScanner  # noqa: E402

_sources = [(p, open(p, encoding="utf-8", errors="replace").read())
            for p in compare.rule_files(os.environ["NOVA_RULES"])]
_rules, REFUSED = compare.parse_reference(parser_cls, _sources)
scanner = NovaScanner(_rules)

from fastapi import FastAPI  # noqa: E402
from pydantic import BaseModel  # noqa: E402

app = FastAPI()


class ScanRequest(BaseModel):
    prompt: str


@app.post("/scan")
def scan(request: ScanRequest) -> dict:
    matches = scanner.scan(request.prompt)
    return {"matched_rules": [m.get("rule_name") for m in matches]}
