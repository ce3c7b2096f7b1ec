"""Every endpoint of the admin API (web/api.py), its answers and its refusals by role; the CLI's
dlq/trace/entity commands give the same answers (one query layer, web/queries.py)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from console_support import SECRETS, write_hub
from interlace.config.loader import load_config
from interlace.connectors.base import Incoming
from interlace.hub import Hub
from interlace.web import auth

from support import interlace


class Served:
    def __init__(self, hub: Hub, tokens: dict[str, str], folder: Path) -> None:
        self.hub, self.tokens, self.folder = hub, tokens, folder

    def client(self, role: str | None = "admin") -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {self.tokens[role]}"} if role else {}
        return httpx.AsyncClient(transport=httpx.ASGITransport(app=self.hub.app()), base_url="http://hub",
                                 headers=headers)  # fmt: skip


async def submit(hub: Hub, flow: str, event: str, body: dict[str, Any]) -> None:
    await hub.ingress.submit(flow, [Incoming(body, event=event)])


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[Served]:
    hub = Hub(load_config(write_hub(tmp_path)))
    await hub.start()
    tokens = {}
    for role in ("viewer", "operator", "admin"):
        tokens[role], _ = await auth.create_token(hub.backend, f"{role}-1", role, "test")  # type: ignore[arg-type]
    await submit(hub, "orders", "order.created", {"id": "A1", "email": "a@x.test", "total": -5})
    await submit(hub, "orders", "order.created", {"id": "A2", "email": "b@x.test", "total": 5})
    await submit(hub, "paid-to-crm", "order.paid", {"id": "A2"})
    await submit(hub, "customer:from:shop", "customer.updated", {"email": "ann@x.test", "name": "Ann"})
    await hub.worker.drain()
    try:
        yield Served(hub, tokens, tmp_path)
    finally:
        await hub.stop()


async def test_openapi_document_lists_every_api_route(served: Served) -> None:
    async with served.client("viewer") as c:
        doc = (await c.get("/api/openapi.json")).json()
    assert doc["openapi"].startswith("3.1")
    documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
    from interlace.web.app import endpoints

    served_routes = {(m, p) for m, p in endpoints(served.hub.app().routes) if p.startswith("/api")}
    assert documented == served_routes
    retry = doc["paths"]["/api/exceptions/{exception_id}/retry"]["post"]
    assert "operator" in retry["description"] and {"400", "401", "403", "404"} <= set(retry["responses"])


async def test_systems_flows_and_messages(served: Served) -> None:
    async with served.client("viewer") as c:
        systems = {s["name"]: s for s in (await c.get("/api/systems")).json()["systems"]}
        assert systems["shop"]["triggers"] == ["orders", "paid-to-crm"] and systems["shop"]["health"]["status"] == "up"
        assert systems["crm"]["health"]["status"] == "down" and "unreachable" in systems["crm"]["health"]["error"]
        assert (await c.get("/api/systems/erp")).json()["receives"] == ["orders"]
        assert (await c.get("/api/systems/nope")).status_code == 404

        flows = {f["name"]: f for f in (await c.get("/api/flows")).json()["flows"]}
        orders = flows["orders"]
        figures = (orders["received"], orders["delivered"], orders["exceptions"], orders["open_exceptions"])
        assert figures == (2, 1, 1, 1)
        assert orders["error_rate"] == 0.5 and orders["backlog"] == 0 and set(orders["rate"]) == {"in", "out", "failed"}
        assert (await c.get("/api/flows/orders")).json()["name"] == "orders"
        assert (await c.get("/api/flows/nope")).status_code == 404

        messages = (await c.get("/api/messages", params={"flow": "orders", "limit": 1})).json()["messages"]
        assert len(messages) == 1 and messages[0]["body"] == {"id": "A2", "email": "b@x.test", "total": 5}
        assert (await c.get("/api/messages", params={"limit": 0})).status_code == 400
        assert (await c.get("/api/messages", params={"limit": "x"})).status_code == 400
        trace = (await c.get(f"/api/messages/{messages[0]['id']}/trace")).json()["trace"]
        assert [t["stage"] for t in trace] == ["received", "validate:order", "task:order", "map", "deliver:erp"]
        assert trace[-1]["status"] == "ok" and trace[-1]["since_start"] >= trace[1]["since_start"] >= 0
        assert (await c.get("/api/messages/nope/trace")).status_code == 404


async def test_exceptions_by_owner_and_their_actions_one_and_in_bulk(served: Served) -> None:
    async with served.client("viewer") as viewer, served.client("operator") as operator:
        listed = (await viewer.get("/api/exceptions")).json()["exceptions"]
        pairs = sorted((e["flow"], e["owner"]) for e in listed)
        assert pairs == [("orders", "finance-ops"), ("paid-to-crm", "sales-ops")]
        mine = (await viewer.get("/api/exceptions", params={"owner": "finance-ops"})).json()["exceptions"]
        assert [e["flow"] for e in mine] == ["orders"]
        assert (await viewer.get("/api/exceptions", params={"flow": "paid-to-crm"})).json()["exceptions"][0][
            "owner"] == "sales-ops"  # fmt: skip
        assert (await viewer.get("/api/exceptions", params={"status": "bogus"})).status_code == 400
        owners = {o["owner"]: o for o in (await viewer.get("/api/owners")).json()["owners"]}
        assert owners["finance-ops"]["count"] == 1
        assert owners["finance-ops"]["contact"] == {"email": "finance@acme.test"}
        detail = (await viewer.get(f"/api/exceptions/{mine[0]['id']}")).json()
        assert detail["message"]["body"]["total"] == -5 and detail["history"]
        assert (await viewer.get("/api/exceptions/999")).status_code == 404
        assert (await viewer.get("/api/exceptions/0")).status_code == 400
        assert (await viewer.get(f"/api/exceptions/{2**70}")).status_code == 400

        # edit the body and retry: delivered
        assert (await viewer.post(f"/api/exceptions/{mine[0]['id']}/retry", json={})).status_code == 403
        corrected = {**detail["message"]["body"], "total": 7}
        r = await operator.post(f"/api/exceptions/{mine[0]['id']}/retry", json={"body": corrected})
        assert r.status_code == 200 and r.json()["edited"] is True
        await served.hub.worker.drain()
        assert (await viewer.get("/api/flows/orders")).json()["delivered"] == 2
        assert (await operator.post(f"/api/exceptions/{mine[0]['id']}/retry")).status_code == 404

        # in bulk: retry by owner (the CRM is still down: parked again), then discard by ids
        assert (await operator.post("/api/exceptions/retry", json={})).status_code == 400
        assert (await operator.post("/api/exceptions/retry", json={"ids": ["x"]})).status_code == 400
        r = await operator.post("/api/exceptions/retry", json={"owner": "sales-ops"})
        assert r.status_code == 200 and len(r.json()["done"]) == 1
        await served.hub.worker.drain()
        again = (await viewer.get("/api/exceptions", params={"owner": "sales-ops"})).json()["exceptions"]
        r = await operator.post("/api/exceptions/discard", json={"ids": [again[0]["id"], 999]})
        assert r.json() == {"done": [again[0]["id"]], "not_open": [999]}
        assert (await viewer.get("/api/exceptions")).json()["exceptions"] == []
        assert (await operator.post(f"/api/exceptions/{again[0]['id']}/discard")).status_code == 404

    lines = [(e.actor, e.action, e.outcome) for e in await served.hub.backend.audit_log()]
    assert ("operator-1", "exception.discard", "ok") in lines
    assert ("viewer-1", f"POST /api/exceptions/{mine[0]['id']}/retry", "denied") in lines


async def test_entities_golden_records_gain_and_config(served: Served) -> None:
    async with served.client("viewer") as c:
        entities = {e["name"]: e for e in (await c.get("/api/entities")).json()["entities"]}
        assert entities["customer"]["mode"] == "integrate" and entities["customer"]["source_of_truth"] == "shop"
        assert entities["order"]["schema"]["required"] == ["id", "email", "total"]
        assert (await c.get("/api/entities/customer")).json()["records"][0]["key"] == "ann@x.test"
        assert (await c.get("/api/entities/nope")).status_code == 404
        golden = (await c.get("/api/entities/customer/ann@x.test")).json()
        assert golden["values"] == {"email": "ann@x.test", "name": "Ann"}
        assert golden["provenance"]["name"]["system"] == "shop" and golden["history"][0]["kind"] == "applied"
        assert (await c.get("/api/entities/customer/nobody")).status_code == 404
        assert (await c.get("/api/entities/nope/x")).status_code == 404

        gain = (await c.get("/api/gain")).json()
        orders = next(f for f in gain["flows"] if f["flow"] == "orders")
        assert (orders["handled"], orders["minutes_saved"], orders["cost_saved"]) == (1, 4.0, 1.5)
        assert gain["total"]["exceptions"] == 2 and len(gain["by_day"]) == 1
        assert (await c.get("/api/gain", params={"all": "true"})).json()["total"] == gain["total"]
        assert (await c.get("/api/gain", params={"since": "2026-13-01"})).status_code == 400
        assert (await c.get("/api/gain", params={"days": 3, "all": "true"})).status_code == 400

        config = (await c.get("/api/config")).json()["config"]
        assert config["systems"]["crm"]["auth"] == {"bearer": "${env:CRM_TOKEN}"}
        assert config["flows"]["orders"]["gain"]["minutes_saved_per_message"] == 4


async def test_admin_routes_refuse_an_operator(served: Served) -> None:
    async with served.client("operator") as operator, served.client("admin") as admin:
        for method, path in (("GET", "/api/audit"), ("GET", "/api/tokens"), ("POST", "/api/tokens"),
                             ("DELETE", "/api/tokens/viewer-1")):  # fmt: skip
            assert (await operator.request(method, path, json={"name": "x", "role": "viewer"})).status_code == 403, path
        assert (await admin.get("/api/audit", params={"limit": 2})).json()["audit"][0]["action"]
        assert (await admin.get("/api/audit", params={"limit": -1})).status_code == 400
        names = [t["name"] for t in (await admin.get("/api/tokens")).json()["tokens"]]
        assert names == ["viewer-1", "operator-1", "admin-1"]
        assert (await admin.post("/api/tokens", json={"name": " ", "role": "viewer"})).status_code == 400
        assert (await admin.post("/api/tokens", content=b'{"name": "\\ud800", "role": "viewer"}')).status_code == 400


def test_the_cli_and_the_api_give_the_same_answers(tmp_path: Path) -> None:
    import asyncio

    config = write_hub(tmp_path)

    async def api() -> tuple[Any, Any, Any, Any, Any]:
        hub = Hub(load_config(config))
        await hub.start()
        try:
            token, _ = await auth.create_token(hub.backend, "v", "viewer", "test")
            await submit(hub, "orders", "order.created", {"id": "A1", "email": "a@x.test", "total": -5})
            await submit(hub, "customer:from:shop", "customer.updated", {"email": "ann@x.test", "name": "Ann"})
            await hub.worker.drain()
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=hub.app()), base_url="http://hub",
                                         headers={"Authorization": f"Bearer {token}"}) as c:  # fmt: skip
                listed = (await c.get("/api/exceptions")).json()["exceptions"]
                shown = (await c.get(f"/api/exceptions/{listed[0]['id']}")).json()
                trace = (await c.get(f"/api/messages/{listed[0]['message_id']}/trace")).json()["trace"]
                golden = (await c.get("/api/entities/customer/ann@x.test")).json()
                gain = (await c.get("/api/gain")).json()
                return listed, shown, trace, golden, gain
        finally:
            await hub.stop()

    listed, shown, trace, golden, gain = asyncio.run(api())
    assert json.loads(interlace("dlq", "list", str(config), "--json", check=True).stdout) == listed
    assert json.loads(interlace("dlq", "show", str(config), str(listed[0]["id"]), check=True).stdout) == shown
    assert json.loads(interlace("trace", str(config), listed[0]["message_id"], "--json", check=True).stdout) == trace
    entity = interlace("entity", "show", str(config), "customer", "ann@x.test", "--json", check=True, cwd=tmp_path)
    assert json.loads(entity.stdout) == golden
    assert json.loads(interlace("gain", str(config), "--json", check=True).stdout) == gain
    for secret in SECRETS.values():
        assert secret not in json.dumps([listed, shown, trace, golden])


async def test_every_operation_admits_its_role_and_refuses_the_one_below(served: Served) -> None:
    from interlace.web.api import Api
    from interlace.web.rates import RateMeter
    from interlace.web.systems import SystemHealth

    below = {"viewer": None, "operator": "viewer", "admin": "operator"}
    values = {"exception_id": "999", "message_id": "nope", "entity": "customer", "key": "ann@x.test",
              "name": "nobody"}  # fmt: skip
    operations = Api(served.hub, RateMeter(), SystemHealth({})).operations()
    assert len(operations) >= 22
    for op in operations:
        path = "/api" + op.path
        for name, value in values.items():
            path = path.replace("{" + name + "}", value)
        body = {"ids": [999]} if op.path.endswith(("/retry", "/discard")) and "{" not in op.path else None
        if op.path == "/tokens" and op.method == "POST":
            body = {"name": f"made-{op.method}", "role": "viewer"}
        async with served.client(op.role) as allowed:
            r = await allowed.request(op.method, path, json=body)
            assert r.status_code not in (401, 403, 500), (op.method, path, r.status_code, r.text)
        weaker = below[op.role]
        async with served.client(weaker) as refused:
            r = await refused.request(op.method, path, json=body)
            assert r.status_code == (401 if weaker is None else 403), (op.method, path, weaker, r.text)
