"""The redis connector against the Redis server on 127.0.0.1:6379: streams through a consumer
group (ack after commit, re-read after a crash, paused while the flow is full), effectively-once
XADD, pub/sub, the in-memory twin and the probes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import orjson
import pytest
import redis.asyncio as aioredis

from interlace.connectors.broker.twin import TwinSink
from interlace.connectors.redis import RedisConnector, RedisDelivery, RedisSettings, RedisTrigger
from interlace.errors import ConnectorError, DeliveryError
from interlace.message import Message

from broker_support import TestIngress, need, stop, unique, until
from private_brokers import RedisServer

pytestmark = pytest.mark.service
URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
async def raw() -> AsyncIterator[aioredis.Redis]:
    need("redis")
    client = aioredis.Redis.from_url(URL)
    made: list[str] = []
    client.made = made  # type: ignore[attr-defined]
    yield client
    if made:
        await client.delete(*made)
    await client.aclose()


def connector() -> RedisConnector:
    return RedisConnector("cache", RedisSettings(url=URL))


async def pending(raw: aioredis.Redis, stream: str, group: str) -> int:
    return int((await raw.xpending(stream, group))["pending"])


async def test_stream_source_acks_after_commit(raw: aioredis.Redis) -> None:
    stream = unique("orders")
    raw.made.append(stream)  # type: ignore[attr-defined]
    c = connector()
    source = c.source("f", RedisTrigger(stream=stream, start="all", batch=3))
    for n in range(7):
        await raw.xadd(stream, {"body": orjson.dumps({"n": n}), "origin": "shop"})
    await raw.xadd(stream, {"plain": "fields"})  # not written by a hub: its fields are the body
    ingress = TestIngress()
    task = asyncio.create_task(source.run(ingress))
    await until(lambda: len(ingress.items) == 8, what="8 entries")
    assert ingress.bodies() == [{"n": n} for n in range(7)] + [{"plain": "fields"}]
    assert ingress.items[0].headers["origin"] == "shop" and ingress.items[0].event == stream
    await until(lambda: _zero(raw, stream), what="all acked")
    await stop(task)
    await c.close()


async def _zero(raw: aioredis.Redis, stream: str) -> bool:
    return await pending(raw, stream, "interlace-f") == 0


async def test_crash_between_commit_and_ack_delivers_again_once(raw: aioredis.Redis) -> None:
    stream = unique("orders")
    raw.made.append(stream)  # type: ignore[attr-defined]
    c = connector()
    options = RedisTrigger(stream=stream, start="all", batch=10)
    for n in range(5):
        await raw.xadd(stream, {"body": orjson.dumps({"n": n})})
    ingress = TestIngress()
    ingress.crash_after_commit = 1
    with pytest.raises(RuntimeError, match="died after its commit"):
        await c.source("f", options).run(ingress)
    assert len(ingress.items) == 5 and await pending(raw, stream, "interlace-f") == 5, "committed, not acked"
    task = asyncio.create_task(c.source("f", options).run(ingress))  # the hub restarts the source
    await until(lambda: _zero(raw, stream), what="the re-read entries acked")
    assert ingress.bodies() == [{"n": n} for n in range(5)], "read twice, kept once"
    assert ingress.submits == 2
    await stop(task)
    await c.close()


async def test_full_flow_pauses_the_source(raw: aioredis.Redis) -> None:
    stream = unique("orders")
    raw.made.append(stream)  # type: ignore[attr-defined]
    c = connector()
    ingress = TestIngress()
    ingress.room.clear()  # the flow is at its bound
    for n in range(10):
        await raw.xadd(stream, {"body": orjson.dumps({"n": n})})
    task = asyncio.create_task(c.source("f", RedisTrigger(stream=stream, start="all", batch=4)).run(ingress))
    await until(lambda: ingress.waiting == 1, what="the source waiting on the full flow")
    info = await raw.xinfo_groups(stream)
    assert info[0]["pending"] == 4, "one batch taken, not acknowledged; the rest left in the stream"
    assert ingress.items == []
    ingress.room.set()
    await until(lambda: len(ingress.items) == 10, what="all 10 after the flow has room")
    await until(lambda: _zero(raw, stream), what="all acked")
    await stop(task)
    await c.close()


async def test_stream_sink_is_effectively_once(raw: aioredis.Redis) -> None:
    stream = unique("out")
    raw.made.append(stream)  # type: ignore[attr-defined]
    c = connector()
    sink = c.sink(RedisDelivery(stream=stream, headers={"kind": "{kind}"}))
    batch = [(Message(flow="f", body={"n": n, "kind": "order"}), f"d{n}") for n in range(5)]
    first = await sink.deliver_many(batch)
    again = await sink.deliver_many(batch[:3])  # the worker redelivers after a lost ack
    assert all(isinstance(r, dict) and "repeat" not in r for r in first)
    assert [r["id"] for r in again] == [r["id"] for r in first[:3]] and all(r["repeat"] for r in again)  # type: ignore[index]
    entries = await raw.xrange(stream)
    assert [orjson.loads(f[b"body"])["n"] for _, f in entries] == [0, 1, 2, 3, 4]
    assert entries[0][1][b"message_id"] == b"d0" and entries[0][1][b"kind"] == b"order"
    bad = await sink.deliver_many([(Message(flow="f", body={"n": 1}), "d9")])
    assert isinstance(bad[0], DeliveryError) and "'kind' is not in the message" in str(bad[0])
    raw.made.extend(f"interlace:sent:{stream}:d{n}" for n in (0, 1, 2, 3, 4))  # type: ignore[attr-defined]
    await c.close()


async def test_pubsub_round_trip(raw: aioredis.Redis) -> None:
    channel = unique("news")
    c = connector()
    ingress = TestIngress()
    source = c.source("f", RedisTrigger(channel=channel))
    task = asyncio.create_task(source.run(ingress))
    await until(source.connected.is_set, what="subscribed")
    results = await c.sink(RedisDelivery(channel=channel)).deliver_many(
        [(Message(flow="f", body={"n": n}), f"d{n}") for n in range(3)]
    )
    assert [r["receivers"] for r in results] == [1, 1, 1]  # type: ignore[index]
    await until(lambda: len(ingress.items) == 3, what="3 published messages")
    assert ingress.bodies() == [{"n": 0}, {"n": 1}, {"n": 2}] and ingress.items[0].event == channel
    await stop(task)
    await c.close()


async def test_twin_renders_without_a_server() -> None:
    c = RedisConnector("cache", RedisSettings(url="redis://127.0.0.1:1/0"))
    twin = c.twin(RedisDelivery(stream="orders.{region}"))
    assert isinstance(twin, TwinSink)
    await twin.deliver(Message(flow="f", body={"region": "eu", "n": 1}), "d1")
    assert twin.published[0].destination == "orders.eu" and twin.published[0].body() == {"region": "eu", "n": 1}
    with pytest.raises(DeliveryError, match="'region' is not in the message"):
        await twin.deliver(Message(flow="f", body={}), "d2")


async def test_probes(raw: aioredis.Redis) -> None:
    c = connector()
    await c.probe()
    await c.probe_use("sink", RedisDelivery(stream=unique("s")))
    await c.probe_use("source", RedisTrigger(stream=unique("s")))
    await c.close()
    user = unique("reader")
    await raw.execute_command(
        "ACL", "SETUSER", user, "on", ">pw", "~*", "+@read", "+ping", "+acl|whoami", "+acl|dryrun"
    )
    try:
        limited = RedisConnector("cache", RedisSettings(url=f"redis://{user}:pw@127.0.0.1:6379/0"))
        with pytest.raises(ConnectorError, match=r"may not (XADD|EVALSHA)"):
            await limited.probe_use("sink", RedisDelivery(stream="s"))
        await limited.close()
    finally:
        await raw.execute_command("ACL", "DELUSER", user)
    down = RedisConnector("cache", RedisSettings(url="redis://127.0.0.1:1/0", timeout=1))
    with pytest.raises(ConnectorError, match="not reachable"):
        await down.probe()
    await down.close()


async def test_stream_source_reconnects_after_a_server_restart(tmp_path: Path) -> None:
    server = RedisServer(tmp_path / "redis").start()  # the test's own: it is restarted
    url = f"redis://127.0.0.1:{server.port}/0"
    raw = aioredis.Redis.from_url(url)
    c = RedisConnector("cache", RedisSettings(url=url, timeout=2))
    ingress = TestIngress()
    source = c.source("f", RedisTrigger(stream="orders", start="all", batch=5, block="200ms"))
    task = asyncio.create_task(source.run(ingress))
    try:
        for n in range(10):
            await raw.xadd("orders", {"body": orjson.dumps({"n": n})})
        await until(lambda: source.acked == 10, what="the first 10")
        await asyncio.to_thread(server.restart)  # appendonly: the stream and its group survive
        raw = aioredis.Redis.from_url(url)
        for n in range(10, 20):
            await raw.xadd("orders", {"body": orjson.dumps({"n": n})})
        await until(lambda: len(ingress.items) == 20, what="the 10 written after the restart")
        assert ingress.bodies() == [{"n": n} for n in range(20)]
    finally:
        await stop(task)
        await c.close()
        await raw.aclose()
        server.stop()
