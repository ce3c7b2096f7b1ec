"""Where an HTTP delivery may go (no SSRF): only to the configured base_url's scheme, host and
port, only along the base path, and only to addresses the config allows.

The address check happens at connect time, on every connection: the host name is resolved once
by the guard, each answer is checked, and the connection is made to the checked address itself
(not to the name again), so a DNS answer that changes between a check and a connect (rebinding)
cannot slip through. TLS still verifies the certificate against the host name.

Allowed: public addresses; the address a base_url names literally (`http://127.0.0.1:9100`);
loopback for a base_url on `localhost`; networks listed in `allow_networks`; everything with
`allow_private: true`. Refused otherwise: private, loopback, link-local (cloud metadata at
169.254.169.254), shared, reserved and unspecified addresses.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any
from urllib.parse import unquote

import httpcore
import httpx

from interlace.errors import DeliveryError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]
"""(host, port) -> the addresses the name stands for."""

DEFAULT_PORTS = {"http": 80, "https": 443}


async def system_resolver(host: str, port: int) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _address(text: str) -> IPAddress | None:
    try:
        ip = ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


class AddressPolicy:
    def __init__(self, base_host: str, *, allow_private: bool, networks: Sequence[IPNetwork]) -> None:
        self.base_host = base_host
        self.allow_private = allow_private
        self.networks = list(networks)
        self.named = _address(base_host)
        self.localhost = base_host.lower() == "localhost" or base_host.lower().endswith(".localhost")

    def refusal(self, ip: IPAddress) -> str | None:
        """None when `ip` may be connected to, else why not."""
        if self.allow_private or ip.is_global or any(ip in n for n in self.networks):
            return None
        if ip == self.named or (self.localhost and ip.is_loopback):
            return None
        kind = next(
            (k for k, bad in (("loopback", ip.is_loopback), ("link-local", ip.is_link_local),
                              ("unspecified", ip.is_unspecified), ("private", ip.is_private)) if bad),
            "non-public",
        )  # fmt: skip
        return (
            f"{self.base_host} resolved to {ip}, a {kind} address; only public addresses are allowed unless"
            " the system sets allow_private: true or lists the network in allow_networks"
        )


class GuardedNetwork(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that resolves, checks, and connects to the checked address."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend, policy: AddressPolicy, resolve: Resolver) -> None:
        self.inner = inner
        self.policy = policy
        self.resolve = resolve

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        literal = _address(host)
        if literal is not None:
            candidates = [literal]
        else:
            try:
                answers = await asyncio.wait_for(self.resolve(host, port), timeout)
            except (OSError, TimeoutError) as exc:
                raise DeliveryError(f"cannot resolve {host}: {exc}") from exc
            candidates = [ip for ip in map(_address, answers) if ip is not None]
        allowed = [ip for ip in candidates if self.policy.refusal(ip) is None]
        if not allowed:
            reason = self.policy.refusal(candidates[0]) if candidates else f"{host} has no address"
            raise DeliveryError(f"refused: {reason}", retryable=False)
        error: Exception | None = None
        for ip in allowed:
            try:
                stream = await self.inner.connect_tcp(str(ip), port, timeout, local_address, socket_options)
            except Exception as exc:  # the next address, as a resolver-driven connect would
                error = exc
                continue
            peer = _address(str((stream.get_extra_info("server_addr") or ("",))[0]))
            if peer is not None and self.policy.refusal(peer) is not None:
                await stream.aclose()
                raise DeliveryError(f"refused: connected to {peer}, not an allowed address", retryable=False)
            return stream
        assert error is not None
        raise error

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise DeliveryError("HTTP deliveries do not use unix sockets", retryable=False)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


def guarded_transport(policy: AddressPolicy, resolve: Resolver) -> httpx.AsyncHTTPTransport:
    transport = httpx.AsyncHTTPTransport()
    pool = transport._pool
    # httpx builds its connection pool without a way to pass a network backend; the pool hands its
    # backend to every connection it opens, so swapping it here guards every connection.
    assert hasattr(pool, "_network_backend"), "httpx/httpcore changed: the SSRF guard cannot attach"
    pool._network_backend = GuardedNetwork(pool._network_backend, policy, resolve)
    return transport


def origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port or DEFAULT_PORTS.get(url.scheme)


def check_target(base: httpx.URL, url: httpx.URL, what: str) -> None:
    """Refuse (not retryable) a request or redirect that leaves the base URL's origin or path."""
    if origin(url) != origin(base):
        raise DeliveryError(
            f"refused: {what} goes to {url.scheme}://{url.host}:{url.port or ''}, not to the configured"
            f" {base.scheme}://{base.host}:{base.port or ''}",
            retryable=False,
        )
    prefix = base.raw_path.split(b"?", 1)[0].rstrip(b"/") + b"/"
    path = url.raw_path.split(b"?", 1)[0]
    if not (path + b"/").startswith(prefix):
        raise DeliveryError(f"refused: {what} leaves the base path {prefix.decode()}", retryable=False)


def dot_segment(value: str) -> bool:
    """Whether `value`, decoded as many times as a lenient server might, has a `.` or `..` segment."""
    for _ in range(4):
        if any(part in (".", "..") for part in value.replace("\\", "/").split("/")):
            return True
        decoded = unquote(value)
        if decoded == value:
            return False
        value = decoded
    return True  # still encoded after four rounds: no honest value looks like this
