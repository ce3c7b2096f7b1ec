"""The peer in bench_webhook.py: what a hand-written point-to-point integration does with the same
work. A Starlette endpoint that parses the order, maps it with the same JSONata expression and
upserts it into SQLite, committing (fsync) per request before answering."""

from __future__ import annotations

import json
import sqlite3
import sys
import threading

import jsonatapy
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

MAPPING = '{"order_no": id, "email": customer.email, "total": $sum(lines.(qty * price))}'


def build(db_path: str) -> Starlette:
    conn = sqlite3.connect(db_path, check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE IF NOT EXISTS orders (order_no TEXT PRIMARY KEY, email TEXT, total NUMERIC)")
    lock = threading.Lock()
    expr = jsonatapy.compile(MAPPING)

    def write(row: dict[str, object]) -> None:
        with lock:
            conn.execute(
                "INSERT INTO orders (order_no, email, total) VALUES (?, ?, ?) ON CONFLICT (order_no) DO UPDATE"
                " SET email = excluded.email, total = excluded.total",
                (row["order_no"], row["email"], row["total"]),
            )

    async def receive(request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        row = expr.evaluate(body)
        write(row)
        return JSONResponse({"ok": True}, status_code=202)

    return Starlette(routes=[Route("/hooks/shop", receive, methods=["POST"])])


if __name__ == "__main__":
    uvicorn.run(build(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning")
