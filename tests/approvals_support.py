"""A hub with an approval: shop orders into an ERP (SQLite); an order over 10,000 waits for a
manager (alice or bob), then a director (carol) when the managers' hour has passed; after the
directors' hour too it is rejected by default. Only `total` and `express` may be edited. A
rejected order is an exception of finance-ops. Tokens are made for each person, and for dave,
an operator who is in no group."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from interlace.backends import open_backend
from interlace.config.loader import load_config
from interlace.web import auth

CONFIG = """
hub:
  name: acme
  poll: 50ms
  lease: 10s
  notify:
    window: 1s
    link: http://127.0.0.1/console/tasks
    smtp: {host: 127.0.0.1, port: SMTP_PORT, from: hub@acme.test, timeout: 10s}
owners:
  managers: {email: managers@acme.test, members: [alice, bob]}
  directors: {email: directors@acme.test, members: [carol]}
  finance-ops: {email: finance@acme.test}
systems:
  shop: {connector: webhook}
  erp: {connector: sqlite, path: ./erp.db}
entities:
  order:
    key: id
    schema:
      type: object
      required: [id, email, total]
      properties:
        id: {type: string}
        email: {type: string}
        total: {type: number, minimum: 0, description: "the order's total, in EUR"}
        express: {type: boolean}
flows:
  orders:
    description: shop orders into the ERP, large ones approved first
    trigger: {system: shop, event: order.created}
    steps:
      - validate: order
      - task:
          name: approve large order
          entity: order
          when: total > 10000
          owner: managers
          deadline: 1h
          escalate: [directors]
          default: reject
          editable: [total, express]
      - map: '{"id": id, "email": email, "total": total, "approved_by": $message.headers."interlace-task"}'
    deliver: {system: erp, table: orders, mode: insert}
    on_error: {owner: finance-ops, retry: {attempts: 1}}
"""

PEOPLE = {"alice": "operator", "bob": "operator", "carol": "operator", "dave": "operator", "viewer": "viewer"}


def write_hub(folder: Path, smtp_port: int = 2525) -> Path:
    (folder / "hub.yaml").write_text(CONFIG.replace("SMTP_PORT", str(smtp_port)))
    with sqlite3.connect(folder / "erp.db") as db:
        db.execute("CREATE TABLE orders (id TEXT PRIMARY KEY, email TEXT, total REAL, approved_by TEXT)")
    return folder / "hub.yaml"


def make_tokens(config: Path) -> dict[str, str]:
    """A token for each person of PEOPLE, made in the config's store before a hub runs."""
    loaded = load_config(config)

    async def main() -> dict[str, str]:
        backend = open_backend(loaded.config.hub.store, base_dir=loaded.base_dir, durable="normal")
        await backend.open()
        try:
            return {name: (await auth.create_token(backend, name, role, "test"))[0]  # type: ignore[arg-type]
                    for name, role in PEOPLE.items()}  # fmt: skip
        finally:
            await backend.close()

    return asyncio.run(main())


def erp_rows(folder: Path) -> list[tuple[str, float, str | None]]:
    with sqlite3.connect(folder / "erp.db", timeout=30) as db:
        return db.execute("SELECT id, total, approved_by FROM orders ORDER BY id").fetchall()


class ManualClock:
    """The hub's wall clock, moved by the test (`advance`); sleeps are real, and short."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(min(seconds, 0.05))
