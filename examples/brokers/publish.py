"""Publishes sensor readings to the example's MQTT topic (QoS 1), then shows what reached the
Redis streams. Run beside `interlace run examples/brokers/hub.yaml`:

    .venv/bin/python examples/brokers/publish.py --count 20
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time

import aiomqtt
import redis.asyncio as aioredis


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1883)
    args = parser.parse_args()
    rng = random.Random()
    stamp = int(time.time())
    async with aiomqtt.Client(args.host, args.port, protocol=aiomqtt.ProtocolVersion.V5) as client:
        for n in range(args.count):
            sensor = f"s{n % 3}"
            body = {"id": f"r{stamp}-{n}", "sensor": sensor, "fahrenheit": rng.randint(0, 90)}
            await client.publish(f"plant/{sensor}/reading", json.dumps(body), qos=1)
    print(f"published {args.count} readings")
    redis = aioredis.Redis()
    for _ in range(50):  # the hub delivers within moments; give it up to 5 s
        if await redis.xlen("readings") >= args.count:
            break
        await asyncio.sleep(0.1)
    for stream in ("readings", "alerts"):
        entries = await redis.xrevrange(stream, count=3)
        print(f"{stream}: {await redis.xlen(stream)} entries; latest:")
        for _, fields in entries:
            print("  ", fields[b"body"].decode())
    await redis.aclose()


if __name__ == "__main__":
    asyncio.run(main())
