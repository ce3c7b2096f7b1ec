"""The NATS connector: one connection for deliveries (made again when lost), one per source."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from interlace.connectors.base import Connector, Options, Sink, Source
from interlace.connectors.broker.payload import has_fields
from interlace.connectors.broker.twin import TwinSink
from interlace.connectors.nats.settings import NatsDelivery, NatsSettings, NatsTrigger
from interlace.errors import ConnectorError
from interlace.observability.redaction import remember

if TYPE_CHECKING:  # the client library is imported on first use: a hub without NATS never loads it
    from nats.aio.client import Client as NatsClient

    from interlace.connectors.nats.sink import NatsSink


async def _quiet(exc: Exception) -> None:
    """nats-py's error callback: a lost connection surfaces where it is used, not as a log line."""


class NatsConnector(Connector):
    name: ClassVar[str] = "nats"
    settings_model: ClassVar[type[Options]] = NatsSettings
    source_options: ClassVar[type[Options] | None] = NatsTrigger
    sink_options: ClassVar[type[Options] | None] = NatsDelivery
    settings: NatsSettings

    def __init__(self, system: str, settings: Any) -> None:
        super().__init__(system, settings)
        self._client: NatsClient | None = None
        self._opening = asyncio.Lock()
        for secret in (settings.token, urlsplit(settings.url).password):
            if secret:
                remember(secret)

    async def connect(self) -> NatsClient:
        import nats

        s = self.settings
        # bounded here too: nats-py goes on trying a server that refuses, whatever connect_timeout says
        client: NatsClient = await asyncio.wait_for(nats.connect(
            servers=[s.url],
            token=s.token,
            connect_timeout=max(1, round(s.timeout)),
            allow_reconnect=False,  # the source reconnects, and redeliveries come from the broker
            max_reconnect_attempts=0,
            error_cb=_quiet,
            name=f"interlace:{self.system}",
        ), s.timeout)  # fmt: skip
        return client

    async def client(self) -> NatsClient:
        if self._client is None or self._client.is_closed:
            async with self._opening:
                if self._client is None or self._client.is_closed:
                    self._client = await self.connect()
        return self._client

    def source(self, flow: str, options: NatsTrigger) -> Source:
        from interlace.connectors.nats.source import NatsSource

        return NatsSource(self, flow, options)

    def sink(self, options: NatsDelivery) -> NatsSink:
        from interlace.connectors.nats.sink import NatsSink

        return NatsSink(self, options)

    def twin(self, options: NatsDelivery) -> Sink:
        return TwinSink(self.sink(options))

    async def probe(self) -> None:
        try:
            client = await self.client()
            await client.flush(timeout=max(1, round(self.settings.timeout)))
        except Exception as exc:
            raise ConnectorError(
                f"{self.system}: NATS at {_where(self.settings.url)}: {str(exc) or type(exc).__name__}"
            ) from exc

    async def probe_use(self, role: str, options: Any) -> None:
        """JetStream: the stream a trigger reads exists (unless the hub makes it), and a stream takes
        the subject a delivery publishes to."""
        js = (await self.client()).jetstream(timeout=self.settings.timeout)
        try:
            if role == "source":
                assert isinstance(options, NatsTrigger)
                if options.stream is not None and not options.create_stream:
                    await js.stream_info(options.stream)
            else:
                assert isinstance(options, NatsDelivery)
                if options.jetstream and not has_fields(options.subject):
                    found = await js.find_stream_name_by_subject(options.subject)
                    if options.stream is not None and found != options.stream:
                        raise ConnectorError(
                            f"subject {options.subject!r} is in stream {found!r}, not {options.stream!r}"
                        )
        except ConnectorError as exc:
            raise ConnectorError(f"{self.system}: {exc}") from exc
        except Exception as exc:
            raise ConnectorError(f"{self.system}: JetStream: {str(exc) or type(exc).__name__}") from exc

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            if not client.is_closed:
                await client.close()


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 4222}"
