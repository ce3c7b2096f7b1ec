"""Publishes to JetStream and returns once the stream's PubAck came (the message is stored, and
replicated where the stream is); the delivery id goes as `Nats-Msg-Id`, so JetStream itself drops
a redelivery within the stream's duplicate window (effectively once). With `jetstream: false` a
core publish is flushed to the server, which is all core NATS can say (at most once)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any

from interlace.connectors.broker.payload import encode, render
from interlace.connectors.broker.twin import BrokerSink, Outgoing
from interlace.connectors.nats.link import NatsLink
from interlace.connectors.nats.settings import NatsDelivery
from interlace.errors import DeliveryError
from interlace.message import Message
from interlace.types import JSON

_FIELD = re.compile(r"\{[A-Za-z_][A-Za-z0-9_.]*\}")
FORBIDDEN = " \t\r\n*>"
"""A subject value from a body may not hold whitespace or wildcards (a `.` adds tokens, allowed)."""


class NatsSink(BrokerSink):
    def __init__(self, connector: NatsLink, options: NatsDelivery) -> None:
        self.connector = connector
        self.options = options
        self._made: object = None
        """The connection on which `create_stream` made sure of the stream."""

    async def _ensure_stream(self, client: Any) -> None:
        o = self.options
        if not o.create_stream or self._made is client:
            return
        import nats.js.errors
        from nats.js import api

        js = client.jetstream(timeout=self.connector.settings.timeout)
        try:
            await js.stream_info(o.stream)
        except nats.js.errors.NotFoundError:
            subject = _FIELD.sub("*", o.subject)
            await js.add_stream(name=o.stream, subjects=[subject], storage=api.StorageType.FILE)
        self._made = client

    def render(self, message: Message, delivery_id: str) -> Outgoing:
        o = self.options
        subject = render(o.subject, message.body, forbidden=FORBIDDEN, what="subject")
        headers = {k: render(v, message.body, what="header") for k, v in o.headers.items()}
        return Outgoing(subject, encode(message.body, o.format), headers, delivery_id)

    async def publish(self, batch: Sequence[Outgoing]) -> list[JSON | Exception]:
        o = self.options
        timeout = self.connector.settings.timeout
        try:
            client = await self.connector.client()
        except Exception as exc:
            error = DeliveryError(f"NATS: {type(exc).__name__}: {exc}")
            return [error for _ in batch]
        if not o.jetstream:
            try:
                for out in batch:
                    await client.publish(
                        out.destination, out.payload, headers={**out.headers, "Nats-Msg-Id": out.delivery_id}
                    )
                await client.flush(timeout=max(1, round(timeout)))
            except Exception as exc:
                error = DeliveryError(f"NATS: {type(exc).__name__}: {exc}")
                return [error for _ in batch]
            return [{"subject": out.destination} for out in batch]
        try:
            await self._ensure_stream(client)
        except Exception as exc:
            error = DeliveryError(f"NATS: making stream {o.stream!r}: {type(exc).__name__}: {exc}")
            return [error for _ in batch]
        js = client.jetstream(timeout=timeout)

        async def one(out: Outgoing) -> JSON:
            headers: dict[str, Any] = {**out.headers, "Nats-Msg-Id": out.delivery_id}
            try:
                future = await js.publish_async(out.destination, out.payload, stream=o.stream, headers=headers)
                ack = await asyncio.wait_for(future, timeout)
            except TimeoutError:
                raise DeliveryError(f"NATS: no PubAck for {out.destination!r} within {timeout:g}s") from None
            except Exception as exc:
                raise DeliveryError(f"NATS JetStream {out.destination!r}: {type(exc).__name__}: {exc}") from exc
            return {"stream": ack.stream, "seq": ack.seq, **({"repeat": True} if ack.duplicate else {})}

        answers = await asyncio.gather(*(one(out) for out in batch), return_exceptions=True)
        return [
            a if isinstance(a, Exception) or not isinstance(a, BaseException) else DeliveryError(str(a))
            for a in answers
        ]
