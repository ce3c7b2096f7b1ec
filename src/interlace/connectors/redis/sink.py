"""Appends to a stream (XADD) or publishes on a channel (PUBLISH); a batch in one round trip.

XADD has no idempotency of its own, so each append runs as one Lua script that first looks for
the delivery id among those it appended in the last `remember` seconds: a redelivery of the same
delivery returns the entry id of the first append instead of appending again (effectively once).
The reply is the confirmation: the entry is in the server's memory (and in its append-only file,
under `appendfsync always`, before the reply)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from redis.exceptions import RedisError

from interlace.connectors.broker.payload import encode, render
from interlace.connectors.broker.twin import BrokerSink, Outgoing
from interlace.connectors.redis.link import RedisLink
from interlace.connectors.redis.settings import RedisDelivery
from interlace.errors import DeliveryError
from interlace.message import Message
from interlace.types import JSON

_APPEND = """
local seen = redis.call('GET', KEYS[2])
if seen then return {seen, 1} end
local args = {KEYS[1]}
if ARGV[2] ~= '' then
  table.insert(args, 'MAXLEN'); table.insert(args, '~'); table.insert(args, ARGV[2])
end
table.insert(args, '*')
for i = 3, #ARGV do table.insert(args, ARGV[i]) end
local id = redis.call('XADD', unpack(args))
redis.call('SET', KEYS[2], id, 'EX', ARGV[1])
return {id, 0}
"""


class RedisSink(BrokerSink):
    def __init__(self, connector: RedisLink, options: RedisDelivery) -> None:
        self.connector = connector
        self.options = options
        self._script: Any = None

    def render(self, message: Message, delivery_id: str) -> Outgoing:
        o = self.options
        target = render(o.stream or o.channel or "", message.body, forbidden="", what="stream")
        headers = {k: render(v, message.body, what="header") for k, v in o.headers.items()}
        return Outgoing(target, encode(message.body, o.format), headers, delivery_id)

    async def publish(self, batch: Sequence[Outgoing]) -> list[JSON | Exception]:
        o = self.options
        client = self.connector.client()
        pipe = client.pipeline(transaction=False)
        if o.stream is not None:
            if self._script is None:
                self._script = client.register_script(_APPEND)
            ttl, maxlen = str(max(1, round(o.remember))), str(o.maxlen or "")
            for out in batch:
                fields: list[Any] = [o.field, out.payload, "message_id", out.delivery_id]
                for k, v in out.headers.items():
                    fields += [k, v]
                keys = [out.destination, f"interlace:sent:{out.destination}:{out.delivery_id}"]
                await self._script(keys=keys, args=[ttl, maxlen, *fields], client=pipe)
        else:
            for out in batch:
                pipe.publish(out.destination, out.payload)
        try:
            answers = await pipe.execute(raise_on_error=False)
        except (RedisError, OSError) as exc:
            error = DeliveryError(f"redis: {type(exc).__name__}: {exc}")
            return [error for _ in batch]
        results: list[JSON | Exception] = []
        for out, answer in zip(batch, answers, strict=True):
            if isinstance(answer, Exception):
                results.append(DeliveryError(f"redis {out.destination}: {answer}"))
            elif o.stream is not None:
                entry, repeat = answer
                entry = entry.decode() if isinstance(entry, bytes) else str(entry)
                results.append({"stream": out.destination, "id": entry, **({"repeat": True} if repeat else {})})
            else:
                results.append({"channel": out.destination, "receivers": int(answer)})
        return results
