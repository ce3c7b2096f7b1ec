"""The quickstart, run through the real CLI: an order POSTed to the shop webhook becomes a row in
the ERP's SQLite file and one POST at the CRM, and `interlace trace` shows it."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import time
from pathlib import Path

import httpx

from support import BIN, Crm, HubProcess, interlace

ORDER = {
    "id": "A-1001",
    "customer": {"email": "Ann@Example.test", "name": "Ann Lee"},
    "lines": [{"sku": "TEA-01", "qty": 2, "price": 4.5}, {"sku": "MUG-02", "qty": 1, "price": 12}],
}


def erp_rows(folder: Path) -> list[tuple[object, ...]]:
    db = folder / "erp.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as conn:
        try:
            return conn.execute("SELECT order_no, email, customer_name, total, line_count FROM orders").fetchall()
        except sqlite3.OperationalError:
            return []


def test_order_reaches_erp_and_crm(
    quickstart: tuple[Path, int, Crm], hub_process: list[HubProcess]
) -> None:
    config, port, crm = quickstart
    hub = HubProcess(config, port)
    hub_process.append(hub)
    hub.start()

    response = httpx.post(f"{hub.url}/hooks/shop/order.created", json=ORDER)
    assert response.status_code == 202, response.text
    message_id = response.json()["id"]

    deadline = time.monotonic() + 60  # a bound for a stuck hub, not a speed target: a busy machine is slow
    while time.monotonic() < deadline and not (erp_rows(config.parent) and crm.orders()):
        time.sleep(0.01)
    assert erp_rows(config.parent) == [("A-1001", "ann@example.test", "Ann Lee", 21, 2)]
    posts = crm.orders()
    assert len(posts) == 1
    assert posts[0]["order"] == {
        "order_no": "A-1001",
        "email": "ann@example.test",
        "customer_name": "Ann Lee",
        "total": 21,
        "line_count": 2,
    }
    assert posts[0]["idempotency_key"] == f"{message_id}:order-to-erp-and-crm:1"

    shown = interlace("trace", str(config), message_id, "--json", cwd=config.parent, check=True)
    stages = [(e["stage"], e["status"]) for e in json.loads(shown.stdout)]
    assert stages == [
        ("received", "received"),
        ("validate:order", "ok"),
        ("map", "ok"),
        ("deliver:erp", "ok"),
        ("deliver:crm", "ok"),
    ] or stages == [
        ("received", "received"),
        ("validate:order", "ok"),
        ("map", "ok"),
        ("deliver:crm", "ok"),
        ("deliver:erp", "ok"),
    ]
    by_stage = {e["stage"]: e for e in json.loads(shown.stdout)}
    assert by_stage["map"]["input"] == ORDER
    assert by_stage["map"]["output"]["total"] == 21
    assert by_stage["deliver:crm"]["output"] == {"status": 201}

    table = interlace("trace", str(config), message_id, cwd=config.parent, check=True)
    assert "deliver:erp" in table.stdout and "map" in table.stdout

    without_secret = {k: v for k, v in os.environ.items() if k != "CRM_TOKEN"}
    store_only = subprocess.run(
        [str(BIN / "interlace"), "trace", str(config), message_id], env=without_secret, capture_output=True, text=True
    )
    assert store_only.returncode == 0, "reading the store needs no system secret"
    refused = subprocess.run(
        [str(BIN / "interlace"), "validate", str(config)], env=without_secret, capture_output=True, text=True
    )
    assert refused.returncode == 2 and "CRM_TOKEN is not set" in refused.stderr


def test_webhook_refuses_bad_json_and_bad_orders(
    quickstart: tuple[Path, int, Crm], hub_process: list[HubProcess]
) -> None:
    config, port, _ = quickstart
    hub = HubProcess(config, port)
    hub_process.append(hub)
    hub.start()
    url = f"{hub.url}/hooks/shop/order.created"

    bad_json = httpx.post(url, content=b"{not json", headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400
    assert "not valid JSON" in bad_json.json()["error"]

    missing = httpx.post(url, json={"id": "A2", "customer": {"email": "a@x.test"}, "lines": []})
    assert missing.status_code == 422
    body = missing.json()
    assert body["entity"] == "order"
    assert any(d.startswith("lines:") for d in body["details"]), body

    unknown_event = httpx.post(f"{hub.url}/hooks/shop/order.deleted", json=ORDER)
    assert unknown_event.status_code == 404
    assert "order.deleted" in unknown_event.json()["error"]
