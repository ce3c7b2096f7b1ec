"""A hub for the console and admin API tests: a shop webhook, an ERP (SQLite, whose CHECK refuses
a negative total, so such an order is parked and can be corrected and retried), a CRM over HTTP
that is down (its token and API key are the secrets no page or answer may show), and a customer
entity in integrate mode whose golden record the shop's webhook feeds. An order over 100,000 waits for a person of
finance-ops (the operator token) to approve it."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

from interlace.backends import open_backend
from interlace.config.loader import load_config
from interlace.web import auth

from support import closed_port

SECRETS = {"CRM_TOKEN": "crm-token-5f2a9c81-console", "API_KEY": "apikey-77be1d04-console"}

CONFIG = """
hub: {name: acme, poll: 50ms, lease: 10s}
owners:
  finance-ops: {email: finance@acme.test, members: [operator-1]}
  sales-ops: {email: sales@acme.test}
systems:
  shop: {connector: webhook, description: the web shop}
  erp: {connector: sqlite, path: ./erp.db}
  crm:
    connector: http
    base_url: "http://127.0.0.1:CRM_PORT/api"
    auth: {bearer: "${env:CRM_TOKEN}"}
    headers: {X-Api-Key: "${file:./api.key}"}
  crm_db: {connector: sqlite, path: ./crm.db}
entities:
  order:
    key: id
    schema:
      type: object
      required: [id, email, total]
      properties:
        id: {type: string}
        email: {type: string}
        total: {type: number, description: "the order's total, in EUR"}
        express: {type: boolean}
  customer:
    key: email
    schema:
      type: object
      required: [email, name]
      properties: {email: {type: string}, name: {type: string}, tier: {type: [string, "null"]}}
    source_of_truth: shop
    owner: sales-ops
    mode: integrate
    subscribers:
      shop: {trigger: {event: customer.updated}}
      crm_db: {deliver: {table: customers, mode: upsert, key: email}}
flows:
  orders:
    description: shop orders into the ERP
    trigger: {system: shop, event: order.created}
    steps:
      - validate: order
      - task: {entity: order, when: total > 100000, owner: finance-ops, deadline: 4h, default: reject,
               editable: [total]}
      - map: '{"id": id, "email": email, "total": total}'
    deliver: {system: erp, table: orders, mode: insert}
    on_error: {owner: finance-ops, retry: {attempts: 1}}
    gain: {minutes_saved_per_message: 4, cost_saved_per_message: 1.5}
  paid-to-crm:
    trigger: {system: shop, event: order.paid}
    deliver: {system: crm, path: /payments}
    on_error: {owner: sales-ops, retry: {attempts: 1}}
    gain: {minutes_saved_per_message: 2}
"""


def write_hub(folder: Path) -> Path:
    """The config, its ERP and CRM databases and its API key file, in `folder`; the CRM_TOKEN
    environment variable set for this process (and the hubs it starts)."""
    with closed_port() as port:
        (folder / "hub.yaml").write_text(CONFIG.replace("CRM_PORT", str(port)))
    with sqlite3.connect(folder / "erp.db") as db:
        db.execute("CREATE TABLE orders (id TEXT PRIMARY KEY, email TEXT, total REAL CHECK (total >= 0))")
    with sqlite3.connect(folder / "crm.db") as db:
        db.execute("CREATE TABLE customers (email TEXT PRIMARY KEY, name TEXT, tier TEXT)")
    (folder / "api.key").write_text(SECRETS["API_KEY"] + "\n")
    os.environ["CRM_TOKEN"] = SECRETS["CRM_TOKEN"]
    return folder / "hub.yaml"


def make_tokens(config: Path) -> dict[str, str]:
    """A token of each role, made in the config's store before a hub runs."""
    loaded = load_config(config)

    async def main() -> dict[str, str]:
        backend = open_backend(loaded.config.hub.store, base_dir=loaded.base_dir, durable="normal")
        await backend.open()
        try:
            made = {}
            for role in ("viewer", "operator", "admin"):
                made[role], _ = await auth.create_token(backend, f"{role}-1", role, "test")  # type: ignore[arg-type]
            return made
        finally:
            await backend.close()

    return asyncio.run(main())
