"""The brokers' acceptance run: readings published to MQTT go through `interlace run` (a real hub
process), are mapped, and are published to RabbitMQ (a quorum queue), NATS JetStream and a Redis
stream; midway each of the test's own brokers is restarted (mosquitto, the source; nats-server and
redis-server, two of the sinks), and every reading the publisher had acknowledged (PUBACK) arrives
at all three, none twice at JetStream or Redis. RabbitMQ is the machine's shared server (its own
node is restarted in the long variant only: a node takes seconds to start), with a queue of the
test's own."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import aio_pika
import aiomqtt
import nats
import orjson
import pytest
import redis.asyncio as aioredis

from broker_support import need, until
from private_brokers import Mosquitto, NatsServer, RedisServer
from support import HubProcess, free_port

pytestmark = pytest.mark.service
RABBIT = "amqp://guest:guest@127.0.0.1:5672/"

CONFIG = """
hub: {{name: brokers-e2e, store: "sqlite:///hub.db", workers: 32}}
owners: {{ops: {{email: ops@x.test}}}}
systems:
  plant: {{connector: mqtt, port: {mqtt}, timeout: 5s}}
  rabbit: {{connector: amqp, timeout: 5s}}        # the default URL: guest on 127.0.0.1:5672
  bus: {{connector: nats, url: "nats://127.0.0.1:{nats}", timeout: 5s}}
  cache: {{connector: redis, url: "redis://127.0.0.1:{redis}/0", timeout: 5s}}
flows:
  readings:
    # dedupe: content: these publishers send no message id, so a reading the broker sends again after
    # a restart (committed, its PUBACK not yet sent) is recognised by its content
    trigger: {{system: plant, topic: "{tag}/+/reading", client_id: "hub-{tag}", batch: 50, dedupe: content}}
    steps:
      - map: '{{"id": id, "sensor": sensor, "celsius": (fahrenheit - 32) * 5 / 9}}'
    deliver:
      - {{system: rabbit, routing_key: "{queue}"}}
      - {{system: bus, subject: "readings.{tag}.{{sensor}}"}}
      - {{system: cache, stream: "readings-{tag}"}}
    on_error: {{retry: {{attempts: 200, backoff: "100ms..1s"}}, owner: ops}}
"""


async def publish(port: int, tag: str, first: int, count: int, acked: set[str]) -> None:
    """Publish readings first..first+count at QoS 1, recording each one the broker PUBACKed;
    connects again after a lost connection (a reading then unacknowledged is sent again)."""
    n = first
    while n < first + count:
        try:
            async with aiomqtt.Client("127.0.0.1", port, protocol=aiomqtt.ProtocolVersion.V5, timeout=5) as client:
                while n < first + count:
                    body = {"id": f"r{n}", "sensor": f"s{n % 3}", "fahrenheit": 32 + n}
                    await client.publish(f"{tag}/s{n % 3}/reading", orjson.dumps(body), qos=1)
                    acked.add(f"r{n}")
                    n += 1
        except aiomqtt.MqttError:
            await asyncio.sleep(0.1)  # the broker is restarting: try again


async def rabbit_ids(queue: str) -> list[str]:
    connection = await aio_pika.connect(RABBIT)
    try:
        channel = await connection.channel()
        q = await channel.get_queue(queue)
        out = []
        while (message := await q.get(fail=False, no_ack=True)) is not None:
            out.append(orjson.loads(message.body)["id"])
        return out
    finally:
        await connection.close()


async def jetstream_ids(port: int, stream: str) -> list[str]:
    client = await nats.connect(f"nats://127.0.0.1:{port}")
    try:
        js = client.jetstream()
        total = (await js.stream_info(stream)).state.messages
        return [orjson.loads((await js.get_msg(stream, seq)).data)["id"] for seq in range(1, total + 1)]
    finally:
        await client.close()


async def redis_ids(port: int, stream: str) -> list[str]:
    client = aioredis.Redis(port=port)
    try:
        return [orjson.loads(fields[b"body"])["id"] for _, fields in await client.xrange(stream)]
    finally:
        await client.aclose()


async def run_flow(tmp_path: Path, count: int, rounds: int, hub_process: list[HubProcess]) -> None:
    need("rabbitmq")
    tag = f"e2e{uuid.uuid4().hex[:10]}"
    queue, stream = f"readings-{tag}", f"READINGS_{tag}"
    mqtt, bus, cache = (Mosquitto(tmp_path / "mqtt").start(), NatsServer(tmp_path / "nats").start(),
                        RedisServer(tmp_path / "redis").start())  # fmt: skip
    brokers = [mqtt, bus, cache]
    connection = await aio_pika.connect(RABBIT)
    channel = await connection.channel()
    await channel.declare_queue(queue, durable=True, arguments={"x-queue-type": "quorum"})
    client = await nats.connect(f"nats://127.0.0.1:{bus.port}")
    await until(lambda: _stream(client, stream, tag), what="the JetStream stream made")
    await client.close()
    folder = tmp_path / "hub"
    folder.mkdir()
    config = folder / "hub.yaml"
    config.write_text(CONFIG.format(mqtt=mqtt.port, nats=bus.port, redis=cache.port, tag=tag, queue=queue))
    hub = HubProcess(config, free_port(), log=folder / "hub.log")
    hub_process.append(hub)
    try:
        hub.start(timeout=60)
        acked: set[str] = set()
        per_round = count // (rounds * len(brokers) + 1)
        sent = 0
        for _ in range(rounds):
            for broker in brokers:  # a broker restarts while readings flow
                await publish(mqtt.port, tag, sent, per_round, acked)
                sent += per_round
                await asyncio.to_thread(broker.restart)
        await publish(mqtt.port, tag, sent, count - sent, acked)

        async def all_there() -> bool:
            have = await redis_ids(cache.port, f"readings-{tag}")
            return set(have) >= acked and set(await jetstream_ids(bus.port, stream)) >= acked

        await until(all_there, timeout=120 + count / 20, what="every acknowledged reading at Redis and JetStream")
        got_rabbit: list[str] = []

        async def rabbit_has_all() -> bool:
            got_rabbit.extend(await rabbit_ids(queue))
            return set(got_rabbit) >= acked

        await until(rabbit_has_all, timeout=60, what="every acknowledged reading at RabbitMQ")
        at_redis, at_js = await redis_ids(cache.port, f"readings-{tag}"), await jetstream_ids(bus.port, stream)
        assert len(acked) == count
        assert len(at_redis) == len(set(at_redis)) == count, "Redis: each reading once (XADD deduplicated)"
        assert len(at_js) == len(set(at_js)) == count, "JetStream: each reading once (Nats-Msg-Id)"
        assert set(got_rabbit) == acked, "RabbitMQ: every reading (at least once)"
        assert all(b.restarts == rounds for b in brokers)
    finally:
        hub.stop()
        for broker in brokers:
            broker.stop()
        await channel.queue_delete(queue)
        await connection.close()


async def _stream(client: nats.NATS, stream: str, tag: str) -> bool:
    try:
        await client.jetstream().add_stream(name=stream, subjects=[f"readings.{tag}.>"])
        return True
    except Exception:  # JetStream still starting
        return False


async def test_mqtt_to_rabbitmq_jetstream_and_redis_through_broker_restarts(
    tmp_path: Path, hub_process: list[HubProcess]
) -> None:
    await run_flow(tmp_path, count=300, rounds=1, hub_process=hub_process)


@pytest.mark.long
async def test_many_readings_through_repeated_broker_restarts(tmp_path: Path, hub_process: list[HubProcess]) -> None:
    await run_flow(tmp_path, count=20_000, rounds=3, hub_process=hub_process)
