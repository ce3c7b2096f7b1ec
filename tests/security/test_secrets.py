"""Defect 4: a failing system that echoes the hub's credentials back in its error body. No secret
value of the config appears in the store file, the hub's log, an API answer, `dlq list/show` or
`trace`, also after a rotation (new values, hub restarted: the old ones are then unknown to every
process, so only scrubbing before storing keeps them out). Real processes, real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from interlace.observability import redaction
from interlace.observability.redaction import scrub_text

from support import BIN, free_port, interlace, serve, wait_http

CONFIG = """
hub: {name: secrets}
owners: {ops: {email: ops@x.test}}
systems:
  shop: {connector: webhook}
  crm:
    connector: http
    base_url: "http://127.0.0.1:CRM_PORT/api"
    auth: {bearer: "${env:CRM_TOKEN}"}
    headers: {X-Api-Key: "${file:./api.key}"}
flows:
  orders:
    trigger: {system: shop, event: order}
    deliver: {system: crm, path: /orders}
    on_error: {owner: ops, retry: {attempts: 2, backoff: 10ms}}
"""

tries: dict[str, int] = {}


async def echo(request: Request) -> PlainTextResponse:
    """Says no, quoting what it was sent: 503 first (a retry), then 400 (parked)."""
    key = request.headers.get("idempotency-key", "")
    tries[key] = tries.get(key, 0) + 1
    auth, api_key = request.headers.get("authorization", ""), request.headers.get("x-api-key", "")
    text = (f"denied: Authorization: {auth}; api_key={api_key}; token {auth.removeprefix('Bearer ')}"
            f" and key {api_key} are not valid here ({json.dumps({'apiKey': api_key})})")  # fmt: skip
    return PlainTextResponse(text, status_code=503 if tries[key] == 1 else 400)


@pytest.fixture(scope="module")
def crm_port() -> Iterator[int]:
    with serve(Starlette(routes=[Route("/{path:path}", echo, methods=["POST"])])) as port:
        yield port


class Hub:
    def __init__(self, config: Path, port: int, env: dict[str, str]) -> None:
        self.config, self.port, self.url = config, port, f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            [str(BIN / "interlace"), "run", str(config), "--port", str(port), "--log-level", "debug", "--force"],
            cwd=config.parent, env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_http(self.url + "/health", proc=self.proc)

    def stop(self) -> str:
        self.proc.terminate()
        try:
            return self.proc.communicate(timeout=20)[0].decode()
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.communicate()[0].decode()


def wait_parked(url: str, token: str, count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = httpx.get(f"{url}/api/exceptions", headers={"Authorization": f"Bearer {token}"}).json()["exceptions"]
        if len(found) >= count:
            return list(found)
        time.sleep(0.1)
    raise TimeoutError(f"{count} exception(s) not parked within 30 s")


def everything(folder: Path, config: Path, url: str | None, token: str, env: dict[str, str]) -> dict[str, str]:
    """Every place a secret could show: the store's files, the API's answers, the CLI's output."""
    store = b"".join(p.read_bytes() for p in sorted((folder / ".interlace").glob("hub.db*")))
    seen = {"store": store.decode("latin-1")}
    listed = json.loads(interlace("dlq", "list", str(config), "--status", "all", "--json", env=env, check=True).stdout)
    for e in listed:
        seen[f"dlq show {e['id']}"] = interlace("dlq", "show", str(config), str(e["id"]), env=env, check=True).stdout
        seen[f"trace {e['message_id']}"] = interlace("trace", str(config), str(e["message_id"]), "--json",
                                                     env=env, check=True).stdout  # fmt: skip
        if url is not None:
            auth = {"Authorization": f"Bearer {token}"}
            seen[f"GET exception {e['id']}"] = httpx.get(f"{url}/api/exceptions/{e['id']}", headers=auth).text
            seen[f"GET trace {e['id']}"] = httpx.get(f"{url}/api/messages/{e['message_id']}/trace", headers=auth).text
    seen["dlq list"] = json.dumps(listed)
    if url is not None:
        auth = {"Authorization": f"Bearer {token}"}
        seen["GET exceptions"] = httpx.get(f"{url}/api/exceptions?status=all", headers=auth).text
    return seen


def assert_absent(secrets: list[str], places: dict[str, str]) -> None:
    for name, text in places.items():
        for secret in secrets:
            assert secret not in text, f"{secret!r} is in {name}"


def test_no_secret_is_stored_answered_printed_or_logged_also_after_a_rotation(tmp_path: Path, crm_port: int) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text(CONFIG.replace("CRM_PORT", str(crm_port)))
    old = {"token": "crm-token-OLD-5f2a9c81", "key": "apikey-OLD-77be1d04"}
    new = {"token": "crm-token-NEW-0c3e6b27", "key": "apikey-NEW-19ad5f6e"}
    (tmp_path / "api.key").write_text(old["key"] + "\n")
    viewer = interlace("token", "create", str(config), "--role", "viewer", "--name", "t", check=True).stdout.strip()

    port = free_port()
    hub = Hub(config, port, {"CRM_TOKEN": old["token"]})
    try:
        r = httpx.post(f"{hub.url}/hooks/shop/order", json={"id": "A1"})
        assert r.status_code == 202, r.text
        [parked] = wait_parked(hub.url, viewer, 1)
        # the echo did reach the store, masked: the test would pass vacuously otherwise
        assert "denied: Authorization: Bearer ***; api_key=***" in str(parked["reason"])
        seen = everything(tmp_path, config, hub.url, viewer, {"CRM_TOKEN": ""})
    finally:
        logs = hub.stop()
    assert_absent(list(old.values()), {**seen, "hub log": logs})

    # rotation: new values, the hub restarted; the old values are now unknown to every process
    (tmp_path / "api.key").write_text(new["key"] + "\n")
    hub = Hub(config, port, {"CRM_TOKEN": new["token"]})
    try:
        assert httpx.post(f"{hub.url}/hooks/shop/order", json={"id": "A2"}).status_code == 202
        wait_parked(hub.url, viewer, 2)
        seen = everything(tmp_path, config, hub.url, viewer, {"CRM_TOKEN": new["token"]})
    finally:
        logs = hub.stop()
    assert_absent([*old.values(), *new.values()], {**seen, "hub log": logs})
    assert_absent([*old.values(), *new.values()], everything(tmp_path, config, None, viewer, {"CRM_TOKEN": ""}))
    assert tries and all(n == 2 for n in tries.values()), "each delivery was retried once, then parked"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer abc.def-ghi", "Authorization: Bearer ***"),
        ('{"authorization": "Basic dXNlcjpwYXNz"}', '{"authorization": "Basic ***"}'),
        ("proxy-authorization=xyz123", "proxy-authorization=***"),
        ("sent bearer eyJhbGciOi.eyJzdWIi.sig to us", "sent bearer *** to us"),
        ("GET /x?api_key=k-123&id=1", "GET /x?api_key=***&id=1"),
        ('{"client_secret": "s3cr3t", "id": 1}', '{"client_secret": "***", "id": 1}'),
        ("X-Api-Key: AKIA123 rejected", "X-Api-Key: *** rejected"),
        ("password=hunter2;", "password=***;"),
        ("csrf_token: abc", "csrf_token: ***"),
        ("the token expired", "the token expired"),
        ("Basic authentication is off", "Basic authentication is off"),
        ("order 17 has no customer", "order 17 has no customer"),
    ],
)
def test_credential_shapes_are_masked_and_plain_text_is_left_alone(
    text: str, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(redaction, "_ordered", [])  # only the shapes: no secret values of other tests
    assert scrub_text(text) == expected


def test_a_remembered_value_is_masked_wherever_it_appears_but_not_a_very_short_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(redaction, "_known", set())
    monkeypatch.setattr(redaction, "_ordered", [])
    redaction.remember("s3cr3t-value")
    redaction.remember("s3cr3t-value-longer")
    redaction.remember("p")
    assert scrub_text("got s3cr3t-value-longer and s3cr3t-value, path ok") == "got *** and ***, path ok"
    assert redaction.scrub({"a": ["x s3cr3t-value"], "n": 1}) == {"a": ["x ***"], "n": 1}
