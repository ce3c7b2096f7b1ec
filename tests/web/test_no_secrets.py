"""No secret value of the test config (the CRM's token from the environment, its API key from a
file) appears on any console page or in any API answer: every GET operation of the OpenAPI
document and every console page is fetched, with real ids, and grepped. A message that carries
the token in its body makes the test bite: the value is in the store's path, and must come out
masked."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

import httpx

from console_support import SECRETS, write_hub
from interlace.config.loader import load_config
from interlace.connectors.base import Incoming
from interlace.hub import Hub
from interlace.web import auth
from interlace.web.app import endpoints

from support import ROOT


async def test_no_secret_on_any_page_or_in_any_answer(tmp_path: Path) -> None:
    hub = Hub(load_config(write_hub(tmp_path)))
    await hub.start()
    try:
        token, _ = await auth.create_token(hub.backend, "admin-1", "admin", "test")
        leak = f"my token is {SECRETS['CRM_TOKEN']}"
        [order] = await hub.ingress.submit(
            "orders", [Incoming({"id": "S1", "email": "s@x.test", "total": -1, "note": leak}, event="order.created")]
        )
        await hub.ingress.submit("paid-to-crm", [Incoming({"id": "S1", "key": SECRETS["API_KEY"]}, event="order.paid")])
        await hub.ingress.submit("customer:from:shop", [Incoming({"email": "k@x.test", "name": SECRETS["API_KEY"]},
                                                                 event="customer.updated")])  # fmt: skip
        large = {"id": "S2", "email": "s@x.test", "total": 200_000, "note": leak}
        await hub.ingress.submit("orders", [Incoming(large, event="order.created")])  # waits in a task
        await hub.worker.drain()
        [first, *_] = await hub.backend.exceptions()
        [task] = await hub.backend.tasks()
        values = {"exception_id": str(first.id), "message_id": order, "entity": "customer", "key": "k@x.test",
                  "name": "crm", "task_id": str(task.id)}  # fmt: skip
        app = hub.app()
        seen: dict[str, str] = {}
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://hub",
                                     headers={"Authorization": f"Bearer {token}"}) as c:  # fmt: skip
            doc = (await c.get("/api/openapi.json")).json()
            for path, ops in doc["paths"].items():
                if "get" in ops:
                    values["name"] = "orders" if path.startswith("/api/flows") else "crm"
                    concrete = re.sub(r"\{(\w+)\}", lambda m: quote(values[m.group(1)], safe=""), path)
                    r = await c.get(concrete)
                    assert r.status_code == 200, (concrete, r.text)
                    seen[concrete] = r.text
            form = await c.get("/console/login")
            csrf = re.search(r'name="csrf" value="([^"]+)"', form.text)
            assert csrf
            r = await c.post("/console/login", data={"csrf": csrf.group(1), "token": token})
            assert r.status_code == 303
            for method, path in endpoints(app.routes):
                if method != "GET" or not path.startswith("/console") or path.endswith(("/events", "/static/{name}")):
                    continue
                values["name"] = "console.js"
                concrete = re.sub(r"\{(\w+)\}", lambda m: quote(values[m.group(1)], safe=""), path)
                r = await c.get(concrete)
                assert r.status_code == 200, (concrete, r.text[:500])
                seen[concrete] = r.text
            r = await c.get("/console/events", params={"once": "1"}, headers={"accept": "text/event-stream"})
            seen["/console/events"] = r.text
        assert len(seen) > 25
        for where, text in seen.items():
            for secret in SECRETS.values():
                assert secret not in text, f"{secret!r} is in {where}"
        assert "my token is ***" in seen[f"/api/messages/{order}/trace"], "the test bites: the value was there"
        assert "my token is ***" in seen[f"/console/messages/{order}"]
        assert "${env:CRM_TOKEN}" in seen["/api/config"]
        assert "my token is ***" in seen[f"/api/tasks/{task.id}"]
    finally:
        await hub.stop()


def test_the_test_config_keeps_its_secrets_by_reference() -> None:
    text = (ROOT / "tests" / "console_support.py").read_text()
    for secret in SECRETS.values():
        assert text.count(secret) == 1, "each secret is written once, in SECRETS, and reaches the hub by reference"
