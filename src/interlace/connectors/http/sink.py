"""Delivers a message as an HTTP request, with an Idempotency-Key header so a retried delivery
is not counted twice by a target that honours it."""

from __future__ import annotations

import re
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from interlace.connectors.base import Connector, Options, Sink
from interlace.connectors.http.settings import HttpDelivery, HttpSettings
from interlace.errors import DeliveryError
from interlace.message import Message
from interlace.types import JSON

_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_.]*)\}")


def render_path(template: str, body: JSON) -> str:
    """Fill {field} (dotted for nested fields) from the body, each value URL-escaped so it cannot
    change the path's shape."""

    def value(match: re.Match[str]) -> str:
        current: Any = body
        for part in match.group(1).split("."):
            if not isinstance(current, dict) or part not in current:
                raise DeliveryError(f"path field {match.group(1)!r} is not in the message", retryable=False)
            current = current[part]
        return quote(str(current), safe="")

    return _FIELD.sub(value, template)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            import time

            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
        except (TypeError, ValueError):
            return None


class HttpSink(Sink):
    def __init__(self, connector: HttpConnector, options: HttpDelivery) -> None:
        self.connector = connector
        self.options = options

    async def deliver(self, message: Message, delivery_id: str) -> JSON:
        client = self.connector.client()
        path = render_path(self.options.path, message.body)
        headers = {**self.options.headers, "Idempotency-Key": delivery_id, "X-Interlace-Message": message.id}
        try:
            response = await client.request(
                self.options.method,
                path,
                json=message.body if self.options.method != "DELETE" else None,
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise DeliveryError(f"{self.options.method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.is_success:
            return {"status": response.status_code}
        snippet = response.text[:300]
        retryable = response.status_code == 429 or response.status_code >= 500 or response.status_code == 408
        raise DeliveryError(
            f"{self.options.method} {path} answered {response.status_code}: {snippet}",
            retryable=retryable,
            retry_after=_retry_after(response) if retryable else None,
        )


class HttpConnector(Connector):
    name: ClassVar[str] = "http"
    settings_model: ClassVar[type[Options]] = HttpSettings
    sink_options: ClassVar[type[Options] | None] = HttpDelivery
    settings: HttpSettings

    def __init__(self, system: str, settings: Any) -> None:
        super().__init__(system, settings)
        self._client: httpx.AsyncClient | None = None

    def client(self) -> httpx.AsyncClient:
        if self._client is None:
            s = self.settings
            auth: httpx.Auth | None = None
            headers = dict(s.headers)
            if s.auth is not None and s.auth.bearer is not None:
                headers["Authorization"] = f"Bearer {s.auth.bearer}"
            if s.auth is not None and s.auth.basic is not None:
                auth = httpx.BasicAuth(s.auth.basic.username, s.auth.basic.password)
            self._client = httpx.AsyncClient(
                base_url=s.base_url,
                headers=headers,
                auth=auth,
                timeout=s.timeout,
                follow_redirects=False,
            )
        return self._client

    def sink(self, options: Any) -> Sink:
        return HttpSink(self, options)

    async def probe(self) -> None:
        try:
            await self.client().request("HEAD", "")
        except httpx.HTTPError as exc:
            from interlace.errors import ConnectorError

            raise ConnectorError(f"{self.settings.base_url} is unreachable: {exc}") from exc

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
