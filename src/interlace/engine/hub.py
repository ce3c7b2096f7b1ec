"""The hub: builds connectors, flows, the ingress and the worker from a loaded config, and runs
them (with the web server) in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from interlace.backends import open_backend
from interlace.backends.base import Backend
from interlace.config.loader import LoadedConfig
from interlace.config.models import parse_duration
from interlace.connectors import registry
from interlace.connectors.base import Connector
from interlace.engine.flows import CompiledFlow, Delivery
from interlace.engine.ingress import HubIngress
from interlace.engine.schedule import run_schedule
from interlace.engine.steps import build_step
from interlace.engine.worker import Worker

log = logging.getLogger("interlace.hub")


class Hub:
    def __init__(self, loaded: LoadedConfig, *, backend: Backend | None = None) -> None:
        self.loaded = loaded
        cfg = loaded.config
        self.settings = cfg.hub
        self.backend = backend or open_backend(
            cfg.hub.store, base_dir=loaded.base_dir, durable=cfg.hub.durable
        )
        self.connectors: dict[str, Connector] = {}
        for name, system in cfg.systems.items():
            cls = registry.get(system.connector)
            assert cls is not None, "the loader checked every connector"
            self.connectors[name] = cls(name, loaded.system_settings[name])
        self.flows: dict[str, CompiledFlow] = {}
        for name, flow in cfg.flows.items():
            steps = [build_step(s, loaded.schemas) for s in flow.steps]
            deliveries = [
                Delivery(d.system, self.connectors[d.system].sink(loaded.delivery_options[(name, i)]))
                for i, d in enumerate(flow.deliver)
            ]
            self.flows[name] = CompiledFlow(name, flow, steps, deliveries)
        self.ingress = HubIngress(self.backend, self.flows, trace=cfg.hub.trace)
        limits = {name: asyncio.Semaphore(s.concurrency) for name, s in cfg.systems.items()}
        self.worker = Worker(
            self.backend,
            self.flows,
            limits,
            concurrency=cfg.hub.workers,
            lease=parse_duration(cfg.hub.lease),
            poll=parse_duration(cfg.hub.poll),
            trace=cfg.hub.trace,
        )
        self._tasks: list[asyncio.Task[Any]] = []

    async def start(self, *, workers: bool = True, sources: bool = True) -> None:
        """Open the store and start the worker, the sources and the schedules in the background."""
        await self.backend.open()
        if hasattr(self.backend, "on_new_work"):
            self.backend.on_new_work = self.worker.wakeup.set
        if workers:
            self._tasks.append(asyncio.create_task(self.worker.run(), name="worker"))
        if sources:
            for name, flow in self.flows.items():
                trigger = flow.config.trigger
                if trigger.schedule is not None:
                    coro = run_schedule(self.ingress, name, trigger.schedule, trigger.body)
                    self._tasks.append(asyncio.create_task(coro, name=f"schedule:{name}"))
                elif trigger.system is not None:
                    source = self.connectors[trigger.system].source(
                        name, self.loaded.trigger_options.get(name)
                    )
                    if source is not None:
                        self._tasks.append(
                            asyncio.create_task(self._run_source(name, source), name=f"source:{name}")
                        )

    async def _run_source(self, flow: str, source: Any) -> None:
        while True:
            try:
                await source.run(self.ingress)
                return
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("source of flow %s failed; restarting in 5s", flow)
                await asyncio.sleep(5)

    async def stop(self) -> None:
        await self.worker.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for connector in self.connectors.values():
            with contextlib.suppress(Exception):
                await connector.close()
        await self.backend.close()

    def app(self) -> Any:
        from interlace.web.app import build_app

        return build_app(self)

    async def serve(self, *, host: str | None = None, port: int | None = None, ready: Any = None) -> None:
        """Run everything until SIGINT/SIGTERM: web server (webhooks, API, metrics), worker,
        sources and schedules."""
        import uvicorn

        await self.start()
        config = uvicorn.Config(
            self.app(),
            host=host or self.settings.host,
            port=port if port is not None else self.settings.port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        server = uvicorn.Server(config)
        if ready is not None:
            self._tasks.append(asyncio.create_task(_announce(server, ready)))
        try:
            await server.serve()
        finally:
            await self.stop()


async def _announce(server: Any, ready: Any) -> None:
    while not server.started:
        await asyncio.sleep(0.01)
    ready()
