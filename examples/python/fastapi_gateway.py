"""A FastAPI middleware that blocks requests whose body matches a NOVA rule.

Run it:  pip install fastapi uvicorn ./bindings/python
         NOVAC_RULES=rulesets uvicorn examples.python.fastapi_gateway:app

`Rules.scan` releases the GIL, so running it in the thread pool keeps the
event loop free while other requests are scanned in parallel.
"""

import os

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

import novac

rules = novac.compile(paths=[os.environ.get("NOVAC_RULES", "rulesets")])
app = FastAPI()


@app.middleware("http")
async def nova_guard(request: Request, call_next):
    body = (await request.body()).decode("utf-8", errors="replace")
    result = await run_in_threadpool(rules.scan, body)
    if result:
        return JSONResponse({"blocked_by": result.matched_rules}, status_code=403)
    return await call_next(request)


@app.post("/v1/chat/completions")
async def chat(request: Request):
    return {"choices": [{"message": {"role": "assistant", "content": "(upstream model reply)"}}]}
