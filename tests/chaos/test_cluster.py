"""Scale-out under faults: two `interlace serve` and three `interlace worker` processes on one
PostgreSQL store. Orders arrive through both serve processes while one worker is SIGKILLed (its
leased items are taken over when their lease runs out) and another is restarted (SIGTERM: it
settles what it holds, then starts again). After the run every acknowledged order is in the SQL
table exactly once and reached the HTTP receiver under one Idempotency-Key: none lost, none twice.

The same with RabbitMQ as the bus (a node of the test's own, on ports the OS gave, never the
machine's shared one), restarted midway as well: the store keeps every item, so what the bus
held when it went down is delivered from its quorum queue or published again by the relay.

Replay a run's orders with CHAOS_SEED=N (the report prints N)."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backends.stores import drop_schema, pg_url
from chaos.harness import Chaos, order_bodies, seed

from private_brokers import RabbitNode
from support import HubProcess, WorkerProcess, free_port, post_orders, require_service


@pytest.fixture
def cluster_chaos(tmp_path: Path) -> Iterator[Chaos]:
    require_service("postgres")
    schema = f"t_{uuid.uuid4().hex}"
    world = Chaos(tmp_path, store_url=pg_url(schema))
    try:
        yield world
    finally:
        world.close()
        asyncio.run(drop_schema(schema))


@pytest.fixture
def bus_chaos(tmp_path: Path) -> Iterator[tuple[Chaos, RabbitNode]]:
    require_service("postgres")
    node = RabbitNode(tmp_path / "rabbit").start()
    schema = f"t_{uuid.uuid4().hex}"
    try:
        world = Chaos(tmp_path, store_url=pg_url(schema), bus=f"amqp://127.0.0.1:{node.port}/")
        try:
            yield world, node
        finally:
            world.close()
            asyncio.run(drop_schema(schema))
    finally:
        node.stop()


class Cluster:
    def __init__(self, chaos: Chaos, serves: int = 2, workers: int = 3) -> None:
        config, folder = chaos.folder / "hub.yaml", chaos.folder
        self.serves = [
            HubProcess(config, free_port(), log=folder / f"serve-{i}.log", command="serve") for i in range(serves)
        ]
        self.workers = [WorkerProcess(config, folder / f"worker-{i}.log") for i in range(workers)]
        chaos.hub = self.serves[0]  # the harness reads /health and resends through the first

    def start(self) -> None:
        """Start every process at once (each start waits for its /health)."""
        from concurrent.futures import ThreadPoolExecutor

        with ThreadPoolExecutor(len(self.serves) + len(self.workers)) as pool:
            started = [pool.submit(p.start, timeout=120) for p in [*self.serves, *self.workers]]
            for future in started:
                future.result()

    def stop(self) -> None:
        for worker in self.workers:
            worker.kill()
        for serve in self.serves:
            serve.kill()


def accepted(chaos: Chaos, client: httpx.Client | None = None) -> int:
    get = client.get if client is not None else httpx.get
    return int(get(f"{chaos.receiver.url}/_stats", timeout=10).json()["accepted"])


def wait_accepted(chaos: Chaos, n: int, timeout: float) -> None:
    # one client for the whole wait: a client per look loads the CA bundle each time, and that
    # CPU is taken from the senders in this same process
    deadline = time.monotonic() + timeout
    with httpx.Client() as client:
        while accepted(chaos, client) < n:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the receiver accepted {accepted(chaos)} of {n} orders within {timeout:.0f}s")
            time.sleep(0.05)


def run(chaos: Chaos, folder: Path, scenario: str, orders: int, bus: RabbitNode | None = None) -> None:
    run_seed = seed(1)
    cluster = Cluster(chaos)
    cluster.start()
    try:
        bodies = order_bodies(orders)
        ids = list(bodies)
        answered: dict[str, int] = {}
        faults: list[str] = []

        def inject() -> None:
            wait_accepted(chaos, orders // 4, timeout=max(300.0, orders / 20))
            cluster.workers[0].kill()
            faults.append(f"SIGKILL of worker 0 after {accepted(chaos)} arrivals at the receiver")
            wait_accepted(chaos, orders // 2, timeout=max(300.0, orders / 20))
            assert cluster.workers[1].stop() == 0, "a worker stops cleanly on SIGTERM"
            cluster.workers[1].start(timeout=120)
            faults.append(f"restart of worker 1 after {accepted(chaos)} arrivals at the receiver")
            if bus is not None:
                wait_accepted(chaos, orders * 5 // 8, timeout=max(300.0, orders / 20))
                arrived = accepted(chaos)
                bus.restart()
                faults.append(f"restart of the RabbitMQ node after {arrived} arrivals at the receiver")

        async def scenario_run() -> None:
            sending = [
                post_orders(f"{serve.url}/hooks/shop", {k: bodies[k] for k in ids[i :: len(cluster.serves)]}, 25,
                            answered, idempotency=True, timeout=30)
                for i, serve in enumerate(cluster.serves)
            ]  # fmt: skip
            await asyncio.gather(*sending, asyncio.to_thread(inject))

        asyncio.run(scenario_run())
        acked = {k for k, s in answered.items() if s == 202}
        chaos.send_until_acked(bodies, acked, timeout=max(300.0, orders / 20))  # a 429 is 'not now'
        chaos.settle(timeout=max(300.0, orders / 20))
        report = chaos.report(scenario, run_seed, bodies, acked, faults)
        report.publish(folder)
        report.check()
        assert report.acknowledged == orders and report.lost == 0
        assert len(faults) == (2 if bus is None else 3)
        assert not report.exceptions, "nothing was parked: every order was delivered"
        for sink in report.sinks:
            assert sink.delivered == orders, f"{sink.name}: {sink.delivered} of {orders} delivered"
    finally:
        cluster.stop()


def test_two_serves_three_workers_a_worker_killed_and_one_restarted(cluster_chaos: Chaos, tmp_path: Path) -> None:
    run(cluster_chaos, tmp_path, "cluster", orders=1000)  # 50,000: -m long


@pytest.mark.long
def test_50k_orders_on_two_serves_three_workers_with_a_kill_and_a_restart(
    cluster_chaos: Chaos, tmp_path: Path
) -> None:
    run(cluster_chaos, tmp_path, "cluster-long", orders=50_000)


@pytest.mark.long  # a node of its own takes 10-15 s to start and as long to restart: 2 minutes in all
def test_rabbitmq_bus_two_serves_three_workers_a_kill_a_restart_and_a_broker_restart(
    bus_chaos: tuple[Chaos, RabbitNode], tmp_path: Path
) -> None:
    chaos, node = bus_chaos
    run(chaos, tmp_path, "cluster-rabbitmq", orders=2000, bus=node)


@pytest.mark.long
def test_50k_orders_on_the_rabbitmq_bus_with_a_kill_a_restart_and_a_broker_restart(
    bus_chaos: tuple[Chaos, RabbitNode], tmp_path: Path
) -> None:
    chaos, node = bus_chaos
    run(chaos, tmp_path, "cluster-rabbitmq-long", orders=50_000, bus=node)
