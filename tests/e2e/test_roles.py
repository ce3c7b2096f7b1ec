"""The roles on one PostgreSQL store: `interlace serve` takes the orders, `interlace worker`
processes deliver them, and `interlace reload` (run against another copy of the config, as from
another machine) reaches every process through the store: each reports the new config in /health
and every order after it is mapped by the new config, whichever worker took it."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backends.stores import drop_schema, pg_url

from support import HubProcess, WorkerProcess, free_port, interlace, post_orders, require_service

CONFIG = """
hub: {{name: roles, store: "{store}", lease: 5s, poll: 100ms}}
owners: {{ops: {{email: ops@example.test}}}}
systems:
  shop: {{connector: webhook}}
  erp: {{connector: sqlite, path: ./erp.db, setup: ./schema.sql}}
flows:
  orders:
    trigger: {{system: shop}}
    steps:
      - map: '{{"order_no": id, "v": {version}}}'
    deliver: {{system: erp, table: orders, mode: upsert, key: order_no}}
    on_error: {{owner: ops}}
"""


@pytest.fixture
def pg_store() -> Iterator[str]:
    require_service("postgres")
    schema = f"t_{uuid.uuid4().hex}"
    yield pg_url(schema)
    asyncio.run(drop_schema(schema))


def rows(db: Path) -> dict[str, int]:
    with sqlite3.connect(db, timeout=30) as conn:
        return dict(conn.execute("SELECT order_no, v FROM orders").fetchall())


def wait_for(what: str, predicate: object, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.1)


def test_serve_and_workers_deliver_and_a_reload_reaches_every_process(tmp_path: Path, pg_store: str) -> None:
    (tmp_path / "schema.sql").write_text("CREATE TABLE IF NOT EXISTS orders (order_no TEXT PRIMARY KEY, v INTEGER);")
    config = tmp_path / "hub.yaml"
    config.write_text(CONFIG.format(store=pg_store, version=1))
    serve = HubProcess(config, free_port(), log=tmp_path / "serve.log", command="serve")
    workers = [WorkerProcess(config, tmp_path / f"worker-{i}.log") for i in range(2)]
    healths: list[str] = []
    try:
        serve.start(timeout=120)
        for w in workers:
            w.start(timeout=120)
        healths = [f"{serve.url}/health", *(f"http://127.0.0.1:{w.port}/health" for w in workers)]

        def send(ids: range) -> None:
            answered: dict[str, int] = {}
            bodies: dict[str, object] = {f"o{i}": {"id": f"o{i}"} for i in ids}
            asyncio.run(post_orders(f"{serve.url}/hooks/shop", bodies, 10, answered))
            assert set(answered.values()) == {202}, answered

        def settled() -> bool:
            return int(httpx.get(healths[0], timeout=10).json()["pending"]) == 0

        send(range(20))
        wait_for("the first orders delivered", lambda: settled() and len(rows(tmp_path / "erp.db")) == 20)
        assert set(rows(tmp_path / "erp.db").values()) == {1}

        # the new config, published from another copy (as from another machine): this file is unchanged
        other = tmp_path / "elsewhere"
        other.mkdir()
        (other / "schema.sql").write_text((tmp_path / "schema.sql").read_text())
        (other / "hub.yaml").write_text(CONFIG.format(store=pg_store, version=2))
        digest = hashlib.sha256((other / "hub.yaml").read_bytes()).hexdigest()[:12]
        assert all(httpx.get(h, timeout=10).json()["config"] != digest for h in healths)
        (other / "bad.yaml").write_text(CONFIG.format(store=pg_store, version=2).replace("owner: ops", "owner: nobody"))
        assert interlace("reload", str(other / "bad.yaml")).returncode == 2, "a config with problems is not published"
        published = interlace("reload", str(other / "hub.yaml"), check=True)
        assert "published" in published.stdout
        wait_for(
            "every process on the new config",
            lambda: all(httpx.get(h, timeout=10).json()["config"] == digest for h in healths),
        )
        send(range(20, 60))
        wait_for("the later orders delivered", lambda: settled() and len(rows(tmp_path / "erp.db")) == 60)
        after = rows(tmp_path / "erp.db")
        assert {after[f"o{i}"] for i in range(20, 60)} == {2}, "every worker maps with the new config"
        for w in workers:
            assert w.stop() == 0
    finally:
        for w in workers:
            w.kill()
        serve.kill()
