"""The floor of bench_webhook.py: the least work that answers the same webhook. Starlette on
uvicorn with uvloop and httptools (the server stack Interlace runs on), parse the order, map it
with the same JSONata expression, answer 202; it persists nothing, so it loses every order a
crash or a slow receiver catches in flight.

    python benchmarks/floor_webhook_app.py PORT
"""

from __future__ import annotations

import sys

import jsonatapy
import orjson
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

MAPPING = '{"order_no": id, "email": customer.email, "total": $sum(lines.(qty * price))}'


def build() -> Starlette:
    expr = jsonatapy.compile(MAPPING)

    async def receive(request: Request) -> JSONResponse:
        row = expr.evaluate(orjson.loads(await request.body()))
        return JSONResponse({"id": row["order_no"]}, status_code=202)

    return Starlette(routes=[Route("/hooks/shop", receive, methods=["POST"])])


if __name__ == "__main__":
    uvicorn.run(
        build(), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", loop="uvloop", http="httptools",
        access_log=False,
    )
