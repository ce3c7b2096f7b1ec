"""Reads a stream through a consumer group (XREADGROUP, then XACK once committed), or a pub/sub
channel (no acks: what arrives while the hub is down or the flow is full is not kept by Redis).

A stream reader first reads again what the group handed it before and it never acknowledged (a
crash between commit and ack: the idempotency key, `<stream>:<entry id>`, makes that a no-op),
and takes over entries another consumer of the group left unacknowledged for `claim_idle`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeout

from interlace.connectors.base import Incoming, Ingress
from interlace.connectors.broker.source import BrokerSource, commit, make_incoming
from interlace.connectors.redis.link import RedisLink
from interlace.connectors.redis.settings import RedisTrigger

if TYPE_CHECKING:
    import redis.asyncio as aioredis


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _entries(got: Any) -> list[Any]:
    """The entries of the one stream an XREADGROUP read (RESP2 answers a list, RESP3 a map)."""
    if not got:
        return []
    if isinstance(got, dict):
        value = next(iter(got.values()))
        return list(value[0]) if value and isinstance(value[0], list) else list(value)
    return list(got[0][1])


class _RedisSource(BrokerSource):
    def __init__(self, connector: RedisLink, flow: str, options: RedisTrigger) -> None:
        super().__init__(connector.system, flow)
        self.connector = connector
        self.options = options
        self._client: aioredis.Redis | None = None

    def is_transient(self, exc: BaseException) -> bool:
        if isinstance(exc, ResponseError):  # a restarted server without the group: make it again
            return "NOGROUP" in str(exc) or "LOADING" in str(exc)
        return isinstance(exc, RedisConnectionError | RedisTimeout | OSError)

    async def disconnect(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


class StreamSource(_RedisSource):
    @property
    def group(self) -> str:
        return self.options.group or f"interlace-{self.flow}"

    async def consume(self, ingress: Ingress) -> None:
        o = self.options
        assert o.stream is not None
        self._client = client = self.connector.open_client(block=o.block)
        try:
            await client.xgroup_create(o.stream, self.group, id="$" if o.start == "new" else "0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self.connected.set()
        after = "0"  # first what this consumer was handed before and did not acknowledge
        while True:
            got: Any = await client.xreadgroup(self.group, o.consumer, {o.stream: after}, count=o.batch)
            entries = _entries(got)
            if not entries:
                break
            await self._take(ingress, client, entries)
            after = _text(entries[-1][0])
        claim_due = self.clock()
        while True:
            if self.clock() >= claim_due:  # entries other consumers of the group left behind
                claim_due = self.clock() + o.claim_idle / 2
                claim_at = "0-0"
                while True:
                    claimed: Any = await client.xautoclaim(
                        o.stream, self.group, o.consumer, int(o.claim_idle * 1000), claim_at, count=o.batch
                    )
                    claim_at = _text(claimed[0])
                    if claimed[1]:
                        await self._take(ingress, client, claimed[1])
                    if claim_at == "0-0":
                        break
            got = await client.xreadgroup(
                self.group, o.consumer, {o.stream: ">"}, count=o.batch, block=int(o.block * 1000)
            )
            if got:
                await self._take(ingress, client, _entries(got))

    async def _take(self, ingress: Ingress, client: aioredis.Redis, entries: list[Any]) -> None:
        o = self.options
        assert o.stream is not None
        items: list[Incoming] = []
        ids = []
        for entry_id, fields in entries:
            ids.append(entry_id)
            if not fields:  # trimmed away while pending: nothing left to read
                continue
            field = o.field.encode()
            headers = {_text(k): _text(v) for k, v in fields.items() if k != field}
            payload = fields.get(field)
            if payload is None:  # not written by a hub: the entry's fields are the body
                payload, fmt = orjson.dumps(headers), "json"
                headers = {}
            else:
                fmt = o.format
            items.append(
                make_incoming(
                    payload,
                    fmt,  # type: ignore[arg-type]
                    event=o.stream,
                    headers={"x-redis-id": _text(entry_id), **headers},
                    broker_id=f"{o.stream}:{_text(entry_id)}",
                    dedupe=o.dedupe,
                    prefix=self.system,
                )
            )
        if items:
            await commit(ingress, self.flow, items)
        await client.xack(o.stream, self.group, *ids)
        self.acked += len(ids)


class PubSubSource(_RedisSource):
    async def consume(self, ingress: Ingress) -> None:
        o = self.options
        assert o.channel is not None
        self._client = client = self.connector.open_client(block=o.block)
        pubsub = client.pubsub(ignore_subscribe_messages=True)
        try:
            await (pubsub.psubscribe(o.channel) if o.pattern else pubsub.subscribe(o.channel))
            self.connected.set()
            while True:
                batch = []
                message = await pubsub.get_message(timeout=o.block)
                while message is not None:
                    batch.append(message)
                    if len(batch) >= o.batch:
                        break
                    message = await pubsub.get_message(timeout=0)
                if not batch:
                    continue
                items = [
                    make_incoming(
                        m["data"] if isinstance(m["data"], bytes) else str(m["data"]).encode(),
                        o.format,
                        event=_text(m["channel"]),
                        headers={},
                        broker_id=None,
                        dedupe=o.dedupe,
                        prefix=self.system,
                    )
                    for m in batch
                ]
                await commit(ingress, self.flow, items)
                self.acked += len(items)  # pub/sub has no acks: committed is all there is
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call]
