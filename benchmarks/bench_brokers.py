"""Which client library each broker connector is built on, by measurement: per broker, each
candidate publishes N messages the way a sink does (confirmed: publisher confirms, JetStream
PubAck, PUBACK, the XADD reply) and consumes them the way a source does (manual acks), against the
machine's own servers. Reported per candidate: messages/s (publish + consume of N, wall clock)
and CPU per message (this process's user+system time / N; the broker's own CPU is the same for
every candidate and not counted), as the median over interleaved rounds of the ratio to the
first candidate (the library the connector uses).

    .venv/bin/pip install -e '.[dev,bench]'
    .venv/bin/python benchmarks/bench_brokers.py [--messages 2000] [--rounds 5] [--write]

Runs only while /work/wt/QUIET does not exist (it waits), and prints the load beside its figures.
`--write` puts the table in docs/brokers.md.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import machine, write_section

QUIET = Path("/work/wt/QUIET")
DOC = Path(__file__).resolve().parent.parent / "docs" / "brokers.md"
PAYLOAD = b'{"id": "r000000", "sensor": "s1", "fahrenheit": 71.5, "site": "north", "line": 4, "ok": true}'
CHUNK = 100
"""Messages published together (a sink's batch) and acknowledged together (a source's batch)."""

Run = Callable[[int], Awaitable[None]]


def tag() -> str:
    return uuid.uuid4().hex[:10]


# -- RabbitMQ -------------------------------------------------------------------------------
AMQP = "amqp://guest:guest@127.0.0.1:5672/"


async def amqp_aio_pika(n: int) -> None:
    import aio_pika

    connection = await aio_pika.connect(AMQP)
    channel = await connection.channel(publisher_confirms=True)
    await channel.set_qos(prefetch_count=2 * CHUNK)
    queue = await channel.declare_queue(f"bench-{tag()}", durable=True, arguments={"x-queue-type": "quorum"})
    got = 0
    done = asyncio.Event()

    async def on_message(message: aio_pika.abc.AbstractIncomingMessage) -> None:
        nonlocal got
        orjson.loads(message.body)
        got += 1
        if got % CHUNK == 0 or got == n:
            await message.ack(multiple=True)
        if got == n:
            done.set()

    await queue.consume(on_message)
    for i in range(0, n, CHUNK):
        await asyncio.gather(
            *(channel.default_exchange.publish(aio_pika.Message(PAYLOAD), queue.name) for _ in range(min(CHUNK, n - i)))
        )
    await done.wait()
    await queue.delete(if_unused=False, if_empty=False)
    await connection.close()


async def amqp_aiormq(n: int) -> None:
    import aiormq

    connection = await aiormq.connect(AMQP)
    channel = await connection.channel(publisher_confirms=True)
    await channel.basic_qos(prefetch_count=2 * CHUNK)
    name = f"bench-{tag()}"
    await channel.queue_declare(name, durable=True, arguments={"x-queue-type": "quorum"})
    got = 0
    done = asyncio.Event()

    async def on_message(message: aiormq.abc.DeliveredMessage) -> None:
        nonlocal got
        orjson.loads(message.body)
        got += 1
        if got % CHUNK == 0 or got == n:
            await channel.basic_ack(message.delivery_tag, multiple=True)
        if got == n:
            done.set()

    await channel.basic_consume(name, on_message)
    for i in range(0, n, CHUNK):
        await asyncio.gather(*(channel.basic_publish(PAYLOAD, routing_key=name) for _ in range(min(CHUNK, n - i))))
    await done.wait()
    await channel.queue_delete(name)
    await connection.close()


async def amqp_faststream(n: int) -> None:
    from faststream import AckPolicy
    from faststream.rabbit import RabbitBroker, RabbitQueue

    broker = RabbitBroker(AMQP, log_level=40)
    queue = RabbitQueue(f"bench-{tag()}", durable=True, arguments={"x-queue-type": "quorum"})
    got = 0
    done = asyncio.Event()

    @broker.subscriber(queue, ack_policy=AckPolicy.ACK)
    async def handle(body: object) -> None:  # FastStream decodes the JSON
        nonlocal got
        got += 1
        if got == n:
            done.set()

    await broker.start()
    for i in range(0, n, CHUNK):
        await asyncio.gather(*(broker.publish(PAYLOAD, queue=queue) for _ in range(min(CHUNK, n - i))))
    await done.wait()
    await broker.stop()
    import aio_pika

    connection = await aio_pika.connect(AMQP)
    await (await connection.channel()).queue_delete(queue.name)
    await connection.close()


# -- NATS JetStream -------------------------------------------------------------------------
NATS = "nats://127.0.0.1:4222"


async def nats_py(n: int) -> None:
    import nats

    client = await nats.connect(NATS)
    js = client.jetstream()
    stream, subject = f"BENCH{tag()}", f"bench.{tag()}"
    await js.add_stream(name=stream, subjects=[subject])
    sub = await js.pull_subscribe(subject, durable="bench", stream=stream)
    for i in range(0, n, CHUNK):
        futures = [await js.publish_async(subject, PAYLOAD) for _ in range(min(CHUNK, n - i))]
        await asyncio.gather(*futures)
    got = 0
    while got < n:
        messages = await sub.fetch(CHUNK, timeout=5)
        for m in messages:
            orjson.loads(m.data)
            await m.ack()
        got += len(messages)
    await js.delete_stream(stream)
    await client.close()


async def nats_faststream(n: int) -> None:
    from faststream import AckPolicy
    from faststream.nats import JStream, NatsBroker, PullSub

    broker = NatsBroker(NATS, log_level=40)
    stream, subject = JStream(f"BENCH{tag()}", subjects=[f"bench.{tag()}"]), ""
    subject = stream.subjects[0]
    got = 0
    done = asyncio.Event()

    @broker.subscriber(
        subject, stream=stream, durable="bench", pull_sub=PullSub(batch_size=CHUNK), ack_policy=AckPolicy.ACK
    )
    async def handle(body: object) -> None:  # FastStream decodes the JSON
        nonlocal got
        got += 1
        if got == n:
            done.set()

    await broker.start()
    for i in range(0, n, CHUNK):
        await asyncio.gather(*(broker.publish(PAYLOAD, subject, stream=stream.name) for _ in range(min(CHUNK, n - i))))
    await done.wait()
    await broker.stop()
    import nats

    client = await nats.connect(NATS)
    await client.jetstream().delete_stream(stream.name)
    await client.close()


# -- Redis streams --------------------------------------------------------------------------
async def redis_py(n: int) -> None:
    import redis.asyncio as aioredis

    client = aioredis.Redis()
    stream = f"bench-{tag()}"
    await client.xgroup_create(stream, "g", id="0", mkstream=True)
    for i in range(0, n, CHUNK):
        pipe = client.pipeline(transaction=False)
        for _ in range(min(CHUNK, n - i)):
            pipe.xadd(stream, {"body": PAYLOAD})
        await pipe.execute()
    got = 0
    while got < n:
        answer = await client.xreadgroup("g", "c", {stream: ">"}, count=CHUNK, block=5000)
        entries = answer[0][1]
        for _, fields in entries:
            orjson.loads(fields[b"body"])
        await client.xack(stream, "g", *(e[0] for e in entries))
        got += len(entries)
    await client.delete(stream)
    await client.aclose()


async def redis_faststream(n: int) -> None:
    from faststream import AckPolicy
    from faststream.redis import RedisBroker, StreamSub

    broker = RedisBroker("redis://127.0.0.1:6379", log_level=40)
    stream = f"bench-{tag()}"
    got = 0
    done = asyncio.Event()

    @broker.subscriber(stream=StreamSub(stream, group="g", consumer="c", batch=False), ack_policy=AckPolicy.ACK)
    async def handle(body: object) -> None:  # FastStream decodes the JSON
        nonlocal got
        got += 1
        if got == n:
            done.set()

    await broker.start()
    for i in range(0, n, 10):  # its connection pool holds fewer than CHUNK publishes at once
        await asyncio.gather(*(broker.publish(PAYLOAD, stream=stream) for _ in range(min(10, n - i))))
    await done.wait()
    await broker.stop()
    import redis.asyncio as aioredis

    client = aioredis.Redis()
    await client.delete(stream)
    await client.aclose()


# -- MQTT -----------------------------------------------------------------------------------
async def mqtt_aiomqtt(n: int) -> None:
    import aiomqtt

    topic = f"bench/{tag()}"
    async with (
        aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5) as sub,
        aiomqtt.Client("127.0.0.1", 1883, protocol=aiomqtt.ProtocolVersion.V5, max_inflight_messages=CHUNK) as pub,
    ):
        await sub.subscribe(topic, qos=1)

        async def consume() -> None:
            got = 0
            async for message in sub.messages:
                orjson.loads(message.payload)  # type: ignore[arg-type]
                got += 1
                if got == n:
                    return

        task = asyncio.create_task(consume())
        for i in range(0, n, CHUNK):
            await asyncio.gather(*(pub.publish(topic, PAYLOAD, qos=1) for _ in range(min(CHUNK, n - i))))
        await task


async def mqtt_gmqtt(n: int) -> None:
    """gmqtt's publish returns at once (no awaitable PUBACK), so this run ends when the subscriber
    has every message: it does less than the others for the same count."""
    from gmqtt import Client

    topic = f"bench/{tag()}"
    got = 0
    done = asyncio.Event()
    subscribed = asyncio.Event()

    def on_message(client: object, t: str, payload: bytes, qos: int, properties: object) -> int:
        nonlocal got
        orjson.loads(payload)
        got += 1
        if got == n:
            done.set()
        return 0

    sub, pub = Client(f"s{tag()}"), Client(f"p{tag()}")
    sub.on_message = on_message
    sub.on_subscribe = lambda *_: subscribed.set()
    await sub.connect("127.0.0.1", 1883)
    sub.subscribe(topic, qos=1)
    await subscribed.wait()
    await pub.connect("127.0.0.1", 1883)
    step = 10  # its packet ids run out past the broker's receive maximum (Mosquitto's: 20)
    for i in range(0, n, step):
        for _ in range(min(step, n - i)):
            pub.publish(topic, PAYLOAD, qos=1)
        while got < i + min(step, n - i) and not done.is_set():
            await asyncio.sleep(0.001)
    await done.wait()
    await sub.disconnect()
    await pub.disconnect()


async def mqtt_faststream(n: int) -> None:
    from faststream.mqtt import MQTTBroker

    broker = MQTTBroker("127.0.0.1", port=1883, log_level=40)
    topic = f"bench/{tag()}"
    got = 0
    done = asyncio.Event()

    @broker.subscriber(topic, qos=1)
    async def handle(body: object) -> None:  # FastStream decodes the JSON
        nonlocal got
        got += 1
        if got == n:
            done.set()

    await broker.start()
    for i in range(0, n, CHUNK):
        await asyncio.gather(*(broker.publish(PAYLOAD, topic, qos=1) for _ in range(min(CHUNK, n - i))))
    await done.wait()
    await broker.stop()


CANDIDATES: dict[str, list[tuple[str, Run]]] = {
    "RabbitMQ (confirmed publish, quorum queue, manual acks)": [
        ("aio-pika", amqp_aio_pika), ("aiormq", amqp_aiormq), ("FastStream", amqp_faststream)],
    "NATS JetStream (PubAck, durable pull consumer, acks)": [("nats-py", nats_py), ("FastStream", nats_faststream)],
    "Redis streams (XADD, XREADGROUP, XACK)": [("redis-py", redis_py), ("FastStream", redis_faststream)],
    "MQTT (QoS 1 both ways)": [("aiomqtt", mqtt_aiomqtt), ("gmqtt", mqtt_gmqtt), ("FastStream", mqtt_faststream)],
}  # fmt: skip


async def measure(run: Run, n: int) -> tuple[float, float]:
    """(messages/s, CPU microseconds per message) of one run."""
    while QUIET.exists():
        await asyncio.sleep(5)
    cpu, wall = time.process_time(), time.perf_counter()
    await asyncio.wait_for(run(n), 300)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return n / wall, cpu / n * 1e6


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--only", help="one broker: rabbit, nats, redis or mqtt")
    parser.add_argument("--write", action="store_true", help="put the table in docs/brokers.md")
    args = parser.parse_args()
    while QUIET.exists():
        print("waiting: /work/wt/QUIET exists (someone is benchmarking)", file=sys.stderr)
        await asyncio.sleep(10)
    start = machine()
    lines = [
        f"{args.messages} messages of {len(PAYLOAD)} bytes per run, {args.rounds} interleaved rounds; {start};"
        f" `python benchmarks/bench_brokers.py --messages {args.messages} --rounds {args.rounds}`.",
        "",
        "| broker | client | msgs/s (median) | CPU µs/msg (median) | throughput ratio | CPU ratio |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for broker, candidates in CANDIDATES.items():
        if args.only and args.only.lower() not in broker.lower():
            continue
        rates: dict[str, list[float]] = {name: [] for name, _ in candidates}
        cpus: dict[str, list[float]] = {name: [] for name, _ in candidates}
        failed: dict[str, str] = {}
        for r in range(args.rounds):
            order = candidates[r % len(candidates) :] + candidates[: r % len(candidates)]  # rotate who goes first
            for name, run in order:
                if name in failed:
                    continue
                try:
                    rate, cpu = await measure(run, args.messages)
                except Exception as exc:
                    failed[name] = f"{type(exc).__name__}: {exc}"
                    continue
                rates[name].append(rate)
                cpus[name].append(cpu)
        base = candidates[0][0]
        for name, _ in candidates:
            if name in failed or not rates[name]:
                lines.append(f"| {broker} | {name} | failed: {failed.get(name, '?')[:80]} | | | |")
                continue
            ratio = statistics.median(a / b for a, b in zip(rates[name], rates[base], strict=False))
            cpu_ratio = statistics.median(a / b for a, b in zip(cpus[name], cpus[base], strict=False))
            lines.append(
                f"| {broker} | {name} | {statistics.median(rates[name]):,.0f} | {statistics.median(cpus[name]):,.0f}"
                f" | {ratio:.2f} | {cpu_ratio:.2f} |"
            )
        print("\n".join(lines[-len(candidates) :]), flush=True)
    lines.append("")
    lines.append(f"Load average at the end: {' '.join(Path('/proc/loadavg').read_text().split()[:3])}.")
    text = "\n".join(lines)
    print(text)
    if args.write:
        write_section("brokers", text, DOC)


if __name__ == "__main__":
    asyncio.run(main())
