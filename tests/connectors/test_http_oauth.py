"""OAuth2, pagination and rate limits of the http connector, against a real authorization server
(authlib, in the test) and a real API that pages and rate-limits, with tokens in the real store."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from interlace.backends.sqlite import SqliteBackend
from interlace.config.loader import load_config
from interlace.connectors.http import HttpConnector
from interlace.connectors.http.oauth import OAuth2Error
from interlace.connectors.http.ratelimit import Limiter
from interlace.connectors.http.settings import HttpSettings, HttpTrigger, RateLimit
from interlace.errors import ConfigError, DeliveryError
from interlace.hub import StoreState
from interlace.message import Message

from cloud_support import CLIENT_ID, CLIENT_SECRET, ITEMS, Saas, StoreIngress, saas_server
from support import free_port

KEY = "a-long-random-token-key-for-tests"


@pytest.fixture
def saas() -> Iterator[tuple[Saas, str]]:
    with saas_server(redirect_uri=f"http://127.0.0.1:{free_port()}/callback") as running:
        yield running


@pytest.fixture
def backend(sqlite_store: SqliteBackend) -> SqliteBackend:
    return sqlite_store


class Clock:
    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def system(base: str, saas: Saas, grant: str = "client_credentials", **more: Any) -> dict[str, Any]:
    oauth2 = {
        "grant": grant, "token_url": f"{base}/token", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "scope": "orders items", "token_key": KEY,
    }  # fmt: skip
    if grant == "authorization_code":
        oauth2 |= {"authorize_url": f"{base}/authorize", "redirect_uri": saas.redirect_uri}
    return {"base_url": f"{base}/api", "auth": {"oauth2": oauth2 | more.pop("oauth2", {})}, **more}


def connector(settings: dict[str, Any], backend: SqliteBackend | None, clock: Clock | None = None) -> HttpConnector:
    made = HttpConnector("crm", HttpSettings.model_validate(settings))
    if backend is not None:
        made.use_state(StoreState(backend, "crm"))
    if clock is not None:
        assert made.tokens is not None
        made.tokens.clock = clock
    return made


async def deliver(conn: HttpConnector, n: int) -> Any:
    sink = conn.sink(conn.sink_options.model_validate({"path": "/orders"}))  # type: ignore[union-attr]
    return await sink.deliver(Message(flow="f", body={"order_no": n}), f"d{n}")


async def test_client_credentials_tokens_are_kept_encrypted_and_shared_across_restarts(
    saas: tuple[Saas, str], backend: SqliteBackend, tmp_path: Path
) -> None:
    server, base = saas
    first = connector(system(base, server), backend)
    assert await deliver(first, 1) == {"status": 201}
    assert await deliver(first, 2) == {"status": 201}
    await first.close()
    assert server.token_requests == ["client_credentials"]
    assert [o["order_no"] for o in server.orders.values()] == [1, 2]
    token = next(iter(server.tokens))
    raw = (tmp_path / "hub.db").read_bytes() + (tmp_path / "hub.db-wal").read_bytes()
    assert token.encode() not in raw  # sealed with Fernet, not stored in the clear
    with sqlite3.connect(tmp_path / "hub.db") as db:
        (value,) = db.execute("SELECT value FROM cursors WHERE name = 'state:crm:oauth2'").fetchone()
    assert '"sealed"' in value
    restarted = connector(system(base, server), backend)
    assert await deliver(restarted, 3) == {"status": 201}
    await restarted.close()
    assert server.token_requests == ["client_credentials"]  # the stored token, not a new one


async def test_a_token_is_refreshed_before_it_expires(saas: tuple[Saas, str], backend: SqliteBackend) -> None:
    server, base = saas
    clock = Clock()
    conn = connector(system(base, server, oauth2={"refresh_before": "2m"}), backend, clock)
    await deliver(conn, 1)
    clock.now += 3600 - 130  # not yet within two minutes of the expiry
    await deliver(conn, 2)
    assert server.token_requests == ["client_credentials"]
    clock.now += 20  # now within them
    await deliver(conn, 3)
    await conn.close()
    assert server.token_requests == ["client_credentials", "client_credentials"]
    assert not [c for c in server.api_calls if c[2] != 200]  # refreshed before, never refused


async def test_a_401_refreshes_once_and_sends_the_request_again(saas: tuple[Saas, str]) -> None:
    server, base = saas
    conn = connector(system(base, server, oauth2={"token_key": None}), None)  # tokens in memory only
    await deliver(conn, 1)
    server.revoke_all()
    assert await deliver(conn, 2) == {"status": 201}
    assert server.token_requests == ["client_credentials", "client_credentials"]
    assert len(server.orders) == 2
    # a server that refuses the fresh token too: one refresh, then the delivery fails (no loop)
    import authlib.oauth2.rfc6750.validator as validator

    real = validator.BearerTokenValidator.validate_token

    def refuse(self: Any, token: Any, scopes: Any, request: Any) -> None:
        from authlib.oauth2.rfc6750 import InvalidTokenError

        raise InvalidTokenError()

    validator.BearerTokenValidator.validate_token = refuse  # type: ignore[method-assign]
    try:
        with pytest.raises(DeliveryError, match="answered 401") as caught:
            await deliver(conn, 3)
    finally:
        validator.BearerTokenValidator.validate_token = real  # type: ignore[method-assign]
    await conn.close()
    assert not caught.value.retryable
    assert server.token_requests == ["client_credentials"] * 3


async def test_a_wrong_client_secret_is_a_clear_error_not_retried(saas: tuple[Saas, str]) -> None:
    server, base = saas
    conn = connector(system(base, server, oauth2={"client_secret": "wrong", "token_key": None}), None)
    with pytest.raises(OAuth2Error, match="token endpoint answered 401 invalid_client") as caught:
        await deliver(conn, 1)
    await conn.close()
    assert not caught.value.retryable
    assert CLIENT_SECRET not in str(caught.value)


async def person(url: str) -> None:
    """The person at the browser: opens the URL, says yes, and is sent back to the hub."""
    async with httpx.AsyncClient() as browser:
        answer = await browser.get(url)
        assert answer.status_code == 302, answer.text
        back = await browser.get(answer.headers["location"])
        assert back.status_code == 200, back.text


async def test_authorization_code_with_pkce_then_refresh_tokens_that_rotate(
    saas: tuple[Saas, str], backend: SqliteBackend
) -> None:
    server, base = saas
    clock = Clock()
    conn = connector(system(base, server, "authorization_code"), backend, clock)
    assert conn.tokens is not None
    with pytest.raises(OAuth2Error, match="run `interlace oauth login <config> crm`"):
        await deliver(conn, 0)
    tasks: list[asyncio.Task[None]] = []
    first = await conn.tokens.login(lambda url: tasks.append(asyncio.create_task(person(url))), timeout=60)
    await asyncio.gather(*tasks)
    assert first.refresh_token and server.token_requests == ["authorization_code"]
    await deliver(conn, 1)
    clock.now += 3600  # expired: the refresh token gets a new pair
    await deliver(conn, 2)
    await conn.close()
    assert server.token_requests == ["authorization_code", "refresh_token"]
    # a restart: the rotated refresh token is the stored one (the first was spent and revoked)
    later = Clock()
    later.now = clock.now + 3600
    restarted = connector(system(base, server, "authorization_code"), backend, later)
    await deliver(restarted, 3)
    await restarted.close()
    assert server.token_requests == ["authorization_code", "refresh_token", "refresh_token"]
    assert len(server.orders) == 3


@pytest.mark.parametrize(
    "pagination",
    [
        {"style": "cursor", "items": "data", "next_cursor": "meta.next", "size_param": "limit", "size": 4},
        {"style": "page", "items": "data", "size": 5},
        {"style": "offset", "items": "data", "size": 6},
        {"style": "link"},
    ],
    ids=lambda p: p["style"],
)
async def test_every_pagination_style_reads_every_record_once(
    pagination: dict[str, Any], saas: tuple[Saas, str], backend: SqliteBackend
) -> None:
    server, base = saas
    conn = connector(system(base, server, pagination=pagination), backend)
    records = await conn.list_records(f"/items/{pagination['style']}")
    assert records == ITEMS
    source = conn.source("f", HttpTrigger(path=f"/items/{pagination['style']}", key_field="id"))
    ingress = StoreIngress(backend)
    assert await source.poll(ingress) == len(ITEMS)  # type: ignore[attr-defined]
    assert await source.poll(ingress) == len(ITEMS)  # type: ignore[attr-defined]
    await conn.close()
    assert await backend.pending() == len(ITEMS)  # read twice, submitted once


async def test_a_rate_limit_keeps_the_api_from_refusing_and_a_429_is_waited_out(
    saas: tuple[Saas, str], backend: SqliteBackend
) -> None:
    server, base = saas
    server.per_second = 5
    paging = {"style": "page", "items": "data", "size": 2}  # 12 pages
    unlimited = connector(system(base, server, pagination=paging), backend)
    # two readers at once (24 requests, unpaced), so the API refuses some even on a slow machine
    both = await asyncio.gather(*(unlimited.list_records("/items/page") for _ in range(2)))
    await unlimited.close()
    assert both == [ITEMS, ITEMS]  # refused on the way, waited out, and nothing lost
    assert server.served_429 > 0
    assert unlimited.limiter.waited > 0.5  # the Retry-After (1 s from the refusal)
    server.served_429, server.api_calls = 0, []  # the window starts afresh
    limited = connector(system(base, server, pagination=paging, rate_limit={"per_second": 4}), backend)
    assert await limited.list_records("/items/page") == ITEMS
    await limited.close()
    assert server.served_429 == 0


async def test_the_limiter_spaces_requests_by_its_clock() -> None:
    now = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    limiter = Limiter(RateLimit(per_second=4, per_minute=60, burst=2), clock=lambda: now[0], sleep=sleep)
    times = []
    for _ in range(5):
        await limiter.acquire()
        times.append(now[0])
    assert times == [0.0, 0.0, 1.0, 2.0, 3.0]  # a burst of two, then the per-minute bucket's one a second
    limiter.pause(10)
    await limiter.acquire()
    assert now[0] == pytest.approx(13.0)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"pagination": {"style": "pages"}}, "does not match any of the expected tags: 'cursor', 'page', 'offset'"),
        (
            {"auth": {"oauth2": {"grant": "client_credentials", "token_url": "http://auth.example.com/token",
                                 "client_id": "a", "client_secret": "b"}}},
            "must be https \\(http only to localhost\\)",
        ),
        (
            {"auth": {"oauth2": {"grant": "authorization_code", "token_url": "https://a.example.com/token",
                                 "client_id": "a"}}},
            "needs authorize_url and token_key",
        ),
        ({"auth": {"oauth2": {"grant": "password", "token_url": "https://a.example.com/t", "client_id": "a"}}},
         "'client_credentials' or 'authorization_code'"),
        ({"rate_limit": {"burst": 3}}, "needs per_second or per_minute"),
        ({"auth": {"bearer": "x", "basic": {"username": "u", "password": "p"}}}, "one of bearer, basic or oauth2"),
    ],
)
def test_bad_settings_are_named_with_their_line(settings: dict[str, Any], message: str, tmp_path: Path) -> None:
    import json

    (tmp_path / "hub.yaml").write_text(
        "hub: {name: t}\n"
        "systems:\n"
        f"  crm: {json.dumps({'connector': 'http', 'base_url': 'https://crm.example.com/api', **settings})}\n"
        "  shop: {connector: webhook, path: /hooks/shop}\n"
        "flows:\n"
        "  f: {trigger: {system: shop, event: e}, deliver: {system: crm}}\n"
    )
    with pytest.raises(ConfigError, match=message) as caught:
        load_config(tmp_path / "hub.yaml")
    assert "hub.yaml:3: systems.crm" in str(caught.value)


async def test_two_processes_on_one_store_spend_a_rotating_refresh_token_once(
    saas: tuple[Saas, str], backend: SqliteBackend
) -> None:
    """Two hub processes share the store: the first to find the token expired refreshes it; the
    other takes the new one from the store instead of sending the refresh token it knows, which
    the server has revoked by then (a rotating refresh token is good once)."""
    server, base = saas
    clock = Clock()
    one = connector(system(base, server, "authorization_code"), backend, clock)
    two = connector(system(base, server, "authorization_code"), backend, clock)
    assert one.tokens is not None
    tasks: list[asyncio.Task[None]] = []
    await one.tokens.login(lambda url: tasks.append(asyncio.create_task(person(url))), timeout=60)
    await asyncio.gather(*tasks)
    await deliver(one, 1)
    await deliver(two, 2)  # the logged-in token, from the store
    clock.now += 3600
    await deliver(one, 3)  # refreshes: the first refresh token is spent
    await deliver(two, 4)  # finds the fresh pair stored
    await one.close()
    await two.close()
    assert server.token_requests == ["authorization_code", "refresh_token"]
    assert len(server.orders) == 4
