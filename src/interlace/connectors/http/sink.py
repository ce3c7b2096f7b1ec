"""Delivers a message as an HTTP request, with an Idempotency-Key header so a retried delivery
is not counted twice by a target that honours it."""

from __future__ import annotations

import re
from base64 import b64encode
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from interlace.connectors.base import Connector, Options, Sink, Source, State
from interlace.connectors.http import pages
from interlace.connectors.http.guard import (
    AddressPolicy,
    Resolver,
    check_target,
    dot_segment,
    guarded_transport,
    system_resolver,
)
from interlace.connectors.http.oauth import OAuth2Auth, TokenSource
from interlace.connectors.http.ratelimit import LimitedTransport, Limiter, retry_after
from interlace.connectors.http.settings import HttpDelivery, HttpSettings, HttpTrigger
from interlace.connectors.http.source import ListSource
from interlace.errors import DeliveryError
from interlace.message import Message
from interlace.observability.redaction import remember
from interlace.observability.tracing import outgoing_headers
from interlace.types import JSON

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")
MAX_REDIRECTS = 5
FOLLOWED = frozenset({301, 302, 307, 308})


def render_path(template: str, body: JSON) -> str:
    """Fill {field} (dotted for nested fields) from the body, each value URL-escaped so it cannot
    change the path's shape. A value that is, or decodes to, a `.` or `..` segment is refused (not
    retryable): escaping leaves dots as they are, and a server (or httpx) would climb the path."""

    def value(match: re.Match[str]) -> str:
        current: Any = body
        for part in match.group(1).split("."):
            if not isinstance(current, dict) or part not in current:
                raise DeliveryError(f"path field {match.group(1)!r} is not in the message", retryable=False)
            current = current[part]
        text = str(current)
        if dot_segment(text):
            raise DeliveryError(
                f"path field {match.group(1)!r} is {text[:50]!r}, a dot segment that would change the path",
                retryable=False,
            )
        return quote(text, safe="")

    path = _FIELD.sub(value, template)
    if dot_segment(path.split("?", 1)[0]):
        raise DeliveryError(f"the path {path[:100]!r} has a dot segment", retryable=False)
    return path


class HttpSink(Sink):
    def __init__(self, connector: HttpConnector, options: HttpDelivery) -> None:
        self.connector = connector
        self.options = options

    async def deliver(self, message: Message, delivery_id: str) -> JSON:
        client = self.connector.client()
        path = render_path(self.options.path, message.body)
        headers = {**self.options.headers, "Idempotency-Key": delivery_id, "X-Interlace-Message": message.id}
        outgoing_headers(headers)  # the delivery span's `traceparent`, when the hub traces
        body = message.body if self.options.method != "DELETE" else None
        target: httpx.URL | str = path
        for _hop in range(MAX_REDIRECTS + 1):
            request = client.build_request(self.options.method, target, json=body, headers=headers)
            check_target(client.base_url, request.url, "the request" if target is path else "a redirect")
            try:
                response = await client.send(request)
            except httpx.HTTPError as exc:
                raise DeliveryError(f"{self.options.method} {path}: {type(exc).__name__}: {exc}") from exc
            location = response.headers.get("location")
            if response.status_code not in FOLLOWED or location is None:
                break
            # Followed with the same method, body and Idempotency-Key, and only while it stays on the
            # configured host (checked above on the next turn): a redirect elsewhere is refused.
            target = response.url.join(location)
        else:
            raise DeliveryError(f"{self.options.method} {path}: more than {MAX_REDIRECTS} redirects", retryable=False)
        if response.is_success or response.status_code == 303:  # 303: done; the answer is elsewhere
            return {"status": response.status_code}
        snippet = response.text[:300]
        retryable = response.status_code == 429 or response.status_code >= 500 or response.status_code == 408
        raise DeliveryError(
            f"{self.options.method} {path} answered {response.status_code}: {snippet}",
            retryable=retryable,
            retry_after=retry_after(response) if retryable else None,
        )


class HttpConnector(Connector):
    name: ClassVar[str] = "http"
    settings_model: ClassVar[type[Options]] = HttpSettings
    sink_options: ClassVar[type[Options] | None] = HttpDelivery
    source_options: ClassVar[type[Options] | None] = HttpTrigger
    can_list_records: ClassVar[bool] = True
    settings: HttpSettings

    def __init__(self, system: str, settings: Any) -> None:
        super().__init__(system, settings)
        self._client: httpx.AsyncClient | None = None
        self.resolve: Resolver = system_resolver
        """How host names become addresses (tests put a fixed table here: no DNS server runs)."""
        self.limiter = Limiter(self.settings.rate_limit)
        """The system's rate limit, shared by its deliveries, its sources and `list_records`."""
        oauth2 = self.settings.auth.oauth2 if self.settings.auth is not None else None
        self.tokens: TokenSource | None = (
            TokenSource(system, oauth2, timeout=self.settings.timeout) if oauth2 is not None else None
        )

    def use_state(self, state: State) -> None:
        if self.tokens is not None:
            self.tokens.state = state

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            s = self.settings
            auth: httpx.Auth | None = None
            headers = dict(s.headers)
            if s.auth is not None and s.auth.bearer is not None:
                headers["Authorization"] = f"Bearer {s.auth.bearer}"
                remember(s.auth.bearer)  # also when written in the config itself, not by reference
            if s.auth is not None and s.auth.basic is not None:
                auth = httpx.BasicAuth(s.auth.basic.username, s.auth.basic.password)
                remember(s.auth.basic.password)
                remember(b64encode(f"{s.auth.basic.username}:{s.auth.basic.password}".encode()).decode())
            if self.tokens is not None:
                auth = OAuth2Auth(self.tokens)
            base = httpx.URL(s.base_url)
            policy = AddressPolicy(base.host, allow_private=s.allow_private, networks=s.allow_networks)
            self._client = httpx.AsyncClient(
                base_url=base,
                headers=headers,
                auth=auth,
                timeout=s.timeout,
                follow_redirects=False,  # deliver() follows them, checking each hop
                transport=LimitedTransport(guarded_transport(policy, self.resolve), self.limiter),
                trust_env=False,  # no proxy from the environment: the guard checks the real peer
            )
        return self._client

    def sink(self, options: Any) -> Sink:
        return HttpSink(self, options)

    def source(self, flow: str, options: Any) -> Source:
        opts = options if isinstance(options, HttpTrigger) else HttpTrigger.model_validate(options or {})
        return ListSource(self.system, self.settings, self.client, flow, opts)

    async def list_records(self, path: str) -> JSON:
        """GET `path` (below `base_url`): its JSON answer; with `pagination`, the records of every page."""
        style = self.settings.pagination
        if style is None:
            response = await pages.fetch(self.client(), path, None)
            data: JSON = response.json()
            return data
        records: list[JSON] = []
        async for page in pages.read(self.client(), path, {}, style):
            records.extend(page)
        return records

    async def probe(self) -> None:
        try:
            # reachability only: no token is fetched (and none is needed) to answer a HEAD
            await self.client().request("HEAD", "", auth=httpx.Auth())
        except httpx.HTTPError as exc:
            from interlace.errors import ConnectorError

            raise ConnectorError(f"{self.settings.base_url} is unreachable: {exc}") from exc

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
