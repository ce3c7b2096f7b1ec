"""The SSRF guard of HTTP deliveries, attacked one guard at a time against real HTTP servers on two
loopback addresses (127.0.0.1 plays the configured system, 127.0.0.2 a host it must not reach):
redirects elsewhere, a path that names another host, DNS answers that are private, and a DNS
answer that changes between connections. Host names are resolved through a fixed table (no DNS
server runs here); the connection then goes to the address the table gave, or nowhere."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from interlace.connectors.http import HttpConnector
from interlace.connectors.http.guard import AddressPolicy, check_target
from interlace.connectors.http.settings import HttpDelivery, HttpSettings
from interlace.errors import DeliveryError
from interlace.message import Message

from support import free_port, serve


class Server:
    """Records what reaches it; answers a redirect to `redirects[path]` when there is one."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []
        self.redirects: dict[str, tuple[int, str]] = {}

    def app(self) -> Starlette:
        async def anything(request: Request) -> Response:
            path = request.url.path
            self.seen.append({"method": request.method, "path": path, "body": await request.body(),
                              "key": request.headers.get("idempotency-key")})  # fmt: skip
            if path in self.redirects:
                status, location = self.redirects[path]
                return Response(status_code=status, headers={"Location": location})
            return JSONResponse({"ok": True})

        return Starlette(routes=[Route("/{path:path}", anything, methods=["GET", "POST", "PUT", "HEAD"])])


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[Server, Server, int]]:
    """The system on 127.0.0.1:P and the forbidden host on 127.0.0.2:P (the same port number)."""
    system, other = Server(), Server()
    port = free_port()
    with serve(system.app(), "127.0.0.1", port), serve(other.app(), "127.0.0.2", port):
        yield system, other, port


@pytest.fixture
def fresh(servers: tuple[Server, Server, int]) -> tuple[Server, Server, int]:
    for s in (servers[0], servers[1]):
        s.seen.clear()
        s.redirects.clear()
    return servers


def connector(base_url: str, names: dict[str, list[list[str]]] | None = None, **settings: Any) -> HttpConnector:
    c = HttpConnector("crm", HttpSettings.model_validate({"base_url": base_url, "timeout": 2, **settings}))
    if names is not None:
        table = {host: list(answers) for host, answers in names.items()}

        async def resolve(host: str, port: int) -> list[str]:
            answers = table[host]
            return answers.pop(0) if len(answers) > 1 else answers[0]  # each connection asks again

        c.resolve = resolve
    return c


async def deliver(c: HttpConnector, path: str = "/orders", body: Any = None) -> Any:
    sink = c.sink(HttpDelivery.model_validate({"path": path}))
    try:
        return await sink.deliver(Message(flow="f", body=body or {"id": "A1"}), "key-1")
    finally:
        await c.close()


async def test_a_redirect_on_the_same_host_is_followed_with_the_same_method_body_and_key(fresh: Any) -> None:
    system, _, port = fresh
    system.redirects["/api/orders"] = (307, "/api/v2/orders")
    assert await deliver(connector(f"http://127.0.0.1:{port}/api")) == {"status": 200}
    assert [(s["method"], s["path"], s["body"], s["key"]) for s in system.seen] == [
        ("POST", "/api/orders", b'{"id":"A1"}', "key-1"),
        ("POST", "/api/v2/orders", b'{"id":"A1"}', "key-1"),
    ]


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_a_redirect_to_another_host_is_refused_and_never_followed(fresh: Any, status: int) -> None:
    system, other, port = fresh
    system.redirects["/api/orders"] = (status, f"http://127.0.0.2:{port}/api/orders")
    with pytest.raises(DeliveryError, match=r"refused: a redirect goes to http://127\.0\.0\.2") as info:
        await deliver(connector(f"http://127.0.0.1:{port}/api"))
    assert not info.value.retryable
    assert len(system.seen) == 1 and other.seen == []


async def test_a_redirect_is_checked_at_every_hop(fresh: Any) -> None:
    system, other, port = fresh
    system.redirects["/api/orders"] = (302, "/api/step")
    system.redirects["/api/step"] = (302, f"http://127.0.0.2:{port}/api/x")
    with pytest.raises(DeliveryError, match="refused: a redirect"):
        await deliver(connector(f"http://127.0.0.1:{port}/api"))
    assert [s["path"] for s in system.seen] == ["/api/orders", "/api/step"] and other.seen == []


async def test_a_redirect_out_of_the_base_path_and_a_redirect_loop_are_refused(fresh: Any) -> None:
    system, _, port = fresh
    system.redirects["/api/orders"] = (307, "/admin/drop")
    with pytest.raises(DeliveryError, match="leaves the base path /api/"):
        await deliver(connector(f"http://127.0.0.1:{port}/api"))
    system.redirects["/api/orders"] = (307, "/api/orders")
    with pytest.raises(DeliveryError, match="more than 5 redirects"):
        await deliver(connector(f"http://127.0.0.1:{port}/api"))
    assert "/admin/drop" not in [s["path"] for s in system.seen]


async def test_a_path_template_that_names_another_host_stays_on_the_configured_one(fresh: Any) -> None:
    system, other, port = fresh
    for template in (f"//127.0.0.2:{port}/api/orders", f"http://127.0.0.2:{port}/api/orders", "@127.0.0.2/x"):
        try:
            await deliver(connector(f"http://127.0.0.1:{port}/api"), template)
        except DeliveryError as exc:
            assert "refused: the request" in str(exc)
    assert other.seen == []
    assert all(s["path"].startswith("/api/") for s in system.seen)


def test_a_url_on_another_origin_or_path_is_refused() -> None:
    base = httpx.URL("http://127.0.0.1:8000/api/")
    check_target(base, httpx.URL("http://127.0.0.1:8000/api/orders"), "the request")
    for url in ("http://127.0.0.2:8000/api/x", "https://127.0.0.1:8000/api/x", "http://127.0.0.1:8001/api/x",
                "http://127.0.0.1:8000/apix", "http://127.0.0.1:8000/admin"):  # fmt: skip
        with pytest.raises(DeliveryError, match="refused"):
            check_target(base, httpx.URL(url), "the request")


async def test_a_name_that_resolves_to_a_private_address_is_refused(fresh: Any) -> None:
    system, _, port = fresh
    names = {"crm.partner.example": [["127.0.0.1"]]}
    with pytest.raises(DeliveryError, match=r"crm\.partner\.example resolved to 127\.0\.0\.1, a loopback") as info:
        await deliver(connector(f"http://crm.partner.example:{port}/api", names))
    assert not info.value.retryable
    with pytest.raises(DeliveryError, match="allow_networks"):
        await deliver(connector(f"http://crm.partner.example:{port}/api", names, allow_networks=["10.0.0.0/8"]))
    assert system.seen == []
    # allowed by the config, the connection goes to the address the guard resolved
    assert await deliver(connector(f"http://crm.partner.example:{port}/api", names, allow_private=True))
    assert await deliver(connector(f"http://crm.partner.example:{port}/api", names, allow_networks=["127.0.0.0/8"]))
    assert len(system.seen) == 2


async def test_an_answer_that_changes_between_connections_is_checked_each_time(fresh: Any) -> None:
    """DNS rebinding: the first connection's answer was allowed, the next one's is not."""
    system, other, port = fresh
    names = {"crm.partner.example": [["127.0.0.2"], ["127.0.0.1"]]}
    c = connector(f"http://crm.partner.example:{port}/api", names, allow_networks=["127.0.0.2/32"])
    assert await deliver(c) == {"status": 200}  # closes the client: the next delivery connects anew
    with pytest.raises(DeliveryError, match=r"resolved to 127\.0\.0\.1"):
        await deliver(c)
    assert len(other.seen) == 1 and system.seen == []


async def test_a_mixed_answer_connects_only_to_its_allowed_addresses(fresh: Any) -> None:
    system, other, port = fresh
    names = {"crm.partner.example": [["127.0.0.1", "127.0.0.2"]]}
    c = connector(f"http://crm.partner.example:{port}/api", names, allow_networks=["127.0.0.2/32"])
    assert await deliver(c) == {"status": 200}
    assert len(other.seen) == 1 and system.seen == []


async def test_the_literal_loopback_base_url_and_localhost_are_allowed(fresh: Any) -> None:
    system, _, port = fresh
    assert await deliver(connector(f"http://127.0.0.1:{port}/api")) == {"status": 200}
    assert await deliver(connector(f"http://localhost:{port}/api")) == {"status": 200}
    assert len(system.seen) == 2


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "0.0.0.0", "::1",
     "fe80::1", "fc00::1", "::ffff:127.0.0.1", "::ffff:169.254.169.254"],
)  # fmt: skip
def test_every_non_public_range_is_refused_by_default(address: str) -> None:
    policy = AddressPolicy("crm.partner.example", allow_private=False, networks=[])
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    assert policy.refusal(ip) is not None
    assert AddressPolicy("crm.partner.example", allow_private=True, networks=[]).refusal(ip) is None


def test_public_addresses_pass() -> None:
    policy = AddressPolicy("crm.partner.example", allow_private=False, networks=[])
    for address in ("93.184.216.34", "2606:4700::1111"):
        assert policy.refusal(ipaddress.ip_address(address)) is None


async def test_a_mapped_private_answer_is_refused_end_to_end(fresh: Any) -> None:
    system, _, port = fresh
    names = {"crm.partner.example": [["::ffff:127.0.0.1"]]}
    with pytest.raises(DeliveryError, match="loopback"):
        await deliver(connector(f"http://crm.partner.example:{port}/api", names))
    assert system.seen == []


async def test_proxies_from_the_environment_are_not_used(fresh: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A proxy would be the peer the guard checks; the delivery goes straight to the system."""
    system, _, port = fresh
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.2:{port}")
    monkeypatch.setenv("ALL_PROXY", f"http://127.0.0.2:{port}")
    assert await deliver(connector(f"http://127.0.0.1:{port}/api")) == {"status": 200}
    assert len(system.seen) == 1
