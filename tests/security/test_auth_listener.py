"""`hub.webhooks: {host, port}`: the webhooks (and /health) on a listener of their own, so the
admin API need not face partners. The main port then serves no webhook, the webhook port nothing
but webhooks and /health. A real `interlace run`."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.routing import Route

from interlace.config.loader import load_config
from interlace.hub import Hub, Supervisor
from interlace.web.app import build_webhook_app

from support import BIN, free_port, interlace, wait_http

CONFIG = """
hub: {name: two-ports, webhooks: {host: 127.0.0.1, port: HOOKS}}
owners: {ops: {email: ops@x.test}}
systems:
  shop: {connector: webhook}
  db: {connector: sqlite, path: ./out.db}
flows:
  orders:
    trigger: {system: shop, event: order}
    deliver: {system: db, table: orders, mode: insert}
    on_error: {owner: ops}
"""


def write(folder: Path, hooks: int) -> Path:
    (folder / "hub.yaml").write_text(CONFIG.replace("HOOKS", str(hooks)))
    return folder / "hub.yaml"


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """(main url, webhook url, an admin token) of a hub run with two listeners."""
    main, hooks = free_port(), free_port()
    config = write(tmp_path, hooks)
    token = interlace("token", "create", str(config), "--role", "admin", "--name", "a", check=True).stdout.strip()
    proc = subprocess.Popen(
        [str(BIN / "interlace"), "run", str(config), "--port", str(main), "--force"],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        wait_http(f"http://127.0.0.1:{main}/health", proc=proc)
        wait_http(f"http://127.0.0.1:{hooks}/health", proc=proc)
        yield f"http://127.0.0.1:{main}", f"http://127.0.0.1:{hooks}", token
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0].decode()
    assert f"webhook shop: POST http://127.0.0.1:{hooks}/hooks/shop" in out, out


def test_webhooks_on_their_own_port_and_the_api_only_on_the_main_one(running: tuple[str, str, str]) -> None:
    main, hooks, token = running
    auth = {"Authorization": f"Bearer {token}"}
    r = httpx.post(f"{hooks}/hooks/shop/order", json={"id": "A1"})
    assert r.status_code == 202, r.text
    assert httpx.get(f"{hooks}/health").json()["status"] == "ok"
    for path in ("/api/exceptions", "/metrics", "/api/tokens", f"/api/messages/{r.json()['id']}/trace"):
        assert httpx.get(hooks + path, headers=auth).status_code == 404, path
    assert httpx.post(f"{hooks}/api/exceptions/1/retry", headers=auth).status_code == 404

    assert httpx.post(f"{main}/hooks/shop/order", json={"id": "A2"}).status_code == 404
    assert httpx.get(f"{main}/api/exceptions").status_code == 401
    assert httpx.get(f"{main}/api/exceptions", headers=auth).status_code == 200
    assert httpx.get(f"{main}/api/messages/{r.json()['id']}/trace", headers=auth).status_code == 200


async def test_the_webhook_app_holds_only_webhooks_and_health(tmp_path: Path) -> None:
    hub = Hub(load_config(write(tmp_path, free_port())))
    paths = {r.path for r in build_webhook_app(hub).routes if isinstance(r, Route)}
    assert paths == {"/health", "/healthz", "/readyz", "/hooks/shop", "/hooks/shop/{event}"}
    main = {r.path for r in hub.app().routes if isinstance(r, Route)}
    assert not {p for p in main if p.startswith("/hooks")}


async def test_a_reload_that_moves_the_webhook_listener_is_refused(tmp_path: Path) -> None:
    config = write(tmp_path, free_port())
    supervisor = Supervisor(config, load_config(config), reload=False)
    write(tmp_path, free_port())
    assert await supervisor.reload() is False
    config.write_text(CONFIG.replace(", webhooks: {host: 127.0.0.1, port: HOOKS}", ""))
    assert await supervisor.reload() is False, "dropping the listener would leave the webhooks unserved"
    assert supervisor.reloads == 0
