"""Reads JetStream through a durable pull consumer: a fetched batch is acknowledged only after it
is committed to the store (and `in_progress` is sent while the flow is full, so the held batch is
not handed out again meanwhile). Unacknowledged messages are delivered again after `ack_wait` or a
reconnect; their stream sequence is the idempotency key. Core NATS (no `stream`) has no acks: what
arrives while the hub is down is not kept."""

from __future__ import annotations

import asyncio
from typing import Any

import nats.errors
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import api

from interlace.connectors.base import Ingress
from interlace.connectors.broker.source import BrokerSource, commit, make_incoming, take
from interlace.connectors.nats.link import NatsLink
from interlace.connectors.nats.settings import NatsTrigger


class NatsSource(BrokerSource):
    def __init__(self, connector: NatsLink, flow: str, options: NatsTrigger) -> None:
        super().__init__(connector.system, flow)
        self.connector = connector
        self.options = options
        self._client: NatsClient | None = None

    def is_transient(self, exc: BaseException) -> bool:
        if isinstance(exc, nats.js.errors.ServiceUnavailableError):  # JetStream starting up
            return True
        if isinstance(exc, nats.js.errors.APIError):
            return False
        return isinstance(exc, nats.errors.Error | OSError | ConnectionError | TimeoutError)

    async def disconnect(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            if not client.is_closed:
                await client.close()

    def _alive(self, client: NatsClient) -> None:
        if client.is_closed or not client.is_connected:
            raise ConnectionError("connection to NATS lost")

    async def consume(self, ingress: Ingress) -> None:
        self._client = client = await self.connector.connect()
        if self.options.stream is None:
            await self._core(ingress, client)
        else:
            await self._jetstream(ingress, client)

    async def _jetstream(self, ingress: Ingress, client: NatsClient) -> None:
        o = self.options
        assert o.stream is not None
        js = client.jetstream(timeout=self.connector.settings.timeout)
        if o.create_stream:
            try:
                await js.stream_info(o.stream)
            except nats.js.errors.NotFoundError:
                await js.add_stream(name=o.stream, subjects=[o.subject], storage=api.StorageType.FILE)
        durable = o.durable or f"interlace-{self.flow}"
        config = api.ConsumerConfig(
            durable_name=durable,
            ack_policy=api.AckPolicy.EXPLICIT,
            ack_wait=o.ack_wait,
            max_deliver=o.max_deliver,
            deliver_policy=api.DeliverPolicy.ALL if o.deliver == "all" else api.DeliverPolicy.NEW,
            filter_subject=o.subject,
        )
        sub = await js.pull_subscribe(o.subject, durable=durable, stream=o.stream, config=config)
        self.connected.set()
        while True:
            self._alive(client)
            try:
                messages = await sub.fetch(o.batch, timeout=1.0)
            except nats.errors.TimeoutError:
                continue
            items = [
                make_incoming(
                    m.data,
                    o.format,
                    event=m.subject,
                    headers=dict(m.headers or {}),
                    broker_id=f"{o.stream}:{m.metadata.sequence.stream}",
                    dedupe=o.dedupe,
                    prefix=self.system,
                )
                for m in messages
            ]

            async def working(held: list[Msg] = messages) -> None:
                await asyncio.gather(*(m.in_progress() for m in held))

            await commit(ingress, self.flow, items, keepalive=working, every=max(0.5, o.ack_wait / 3))
            for m in messages:
                await m.ack()
            await client.flush(timeout=max(1, round(self.connector.settings.timeout)))
            self.acked += len(messages)

    async def _core(self, ingress: Ingress, client: NatsClient) -> None:
        o = self.options
        inbox: asyncio.Queue[Msg] = asyncio.Queue(maxsize=10 * o.batch)
        await client.subscribe(o.subject, queue=o.queue or "", cb=inbox.put)
        self.connected.set()
        while True:
            self._alive(client)
            try:  # only the wait for the first is bounded: a batch being taken is never cut short
                first = await asyncio.wait_for(inbox.get(), 1.0)
            except TimeoutError:
                continue
            batch: list[Any] = await take(inbox, o.batch, first=first)
            items = [
                make_incoming(
                    m.data,
                    o.format,
                    event=m.subject,
                    headers=dict(m.headers or {}),
                    broker_id=(m.headers or {}).get("Nats-Msg-Id"),
                    dedupe=o.dedupe,
                    prefix=self.system,
                )
                for m in batch
            ]
            await commit(ingress, self.flow, items)
            self.acked += len(items)  # core NATS has no acks: committed is all there is
