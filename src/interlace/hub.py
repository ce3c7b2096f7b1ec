"""The hub: builds connectors, flows, the ingress and the worker from a loaded config, and runs
them (with the web server) in one process."""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from interlace.agent.links import AgentLinks
from interlace.agent.sink import AgentSink
from interlace.backends import open_backend
from interlace.backends.base import Backend, ConfigVersion
from interlace.config.loader import LoadedConfig
from interlace.connectors import registry
from interlace.connectors.base import Connector, Sink
from interlace.engine.flows import CompiledFlow, Delivery
from interlace.engine.ingress import HubIngress
from interlace.engine.leader import Leadership
from interlace.engine.processes import Helpers
from interlace.engine.restart import SOURCE_RESTART as SOURCE_RESTART
from interlace.engine.restart import run_source
from interlace.engine.schedule import Clock, SystemClock, run_schedule
from interlace.engine.tasks import TaskSweep, build_steps, task_steps
from interlace.engine.worker import Worker
from interlace.entities.flows import compile_entity_flows
from interlace.notify import Notifier
from interlace.notify.notifier import channels_of
from interlace.observability.logging import RequestLog, logs_requests
from interlace.observability.tracing import Tracer
from interlace.options import parse_duration
from interlace.types import JSON, JSONObject
from interlace.web.app import FastPaths, build_webhook_app

log = logging.getLogger("interlace.hub")
T = TypeVar("T")

PULSE = 1.0
"""Seconds between the event loop's pulses: how late one comes is the loop's lag (/healthz)."""


class StoreState:
    """One system's own records (`Connector.use_state`), kept in the store's cursor table under
    `state:<system>:<name>`, written in a transaction of their own."""

    def __init__(self, backend: Backend, system: str) -> None:
        self.backend = backend
        self.system = system

    async def load(self, name: str) -> JSON:
        return await self.backend.load_cursor(f"state:{self.system}:{name}")

    async def save(self, name: str, value: JSON) -> None:
        await self.backend.enqueue([], cursor=(f"state:{self.system}:{name}", value))


class Hub:
    def __init__(
        self,
        loaded: LoadedConfig,
        *,
        backend: Backend | None = None,
        clock: Clock | None = None,
        agents: AgentLinks | None = None,
    ) -> None:
        self.loaded = loaded
        self.clock: Clock = clock or SystemClock()
        """The wall clock of tasks' deadlines and of notices (tests move one of their own)."""
        cfg = loaded.config
        self.settings = cfg.hub
        self.backend = backend or open_backend(
            cfg.hub.store, base_dir=loaded.base_dir, durable=cfg.hub.durable, bus=cfg.hub.bus
        )
        self.connectors: dict[str, Connector] = {}
        for name, system in cfg.systems.items():
            cls = registry.get(system.connector)
            assert cls is not None, "the loader checked every connector"
            self.connectors[name] = cls(name, loaded.system_settings[name])
        self.agents = agents or AgentLinks(cfg)
        """The links of the agents that run some systems inside their networks (agent/links.py)."""
        self.agents.configure(cfg)
        self.flows: dict[str, CompiledFlow] = {}
        for name, flow in cfg.flows.items():
            steps = build_steps(flow, loaded.schemas, self.connectors, self.clock)
            deliveries = [Delivery(d.system, self._sink(name, i)) for i, d in enumerate(flow.deliver)]
            self.flows[name] = CompiledFlow(name, flow, steps, deliveries)
        self.flows.update(compile_entity_flows(loaded, self.connectors, self.backend))
        bounds = {
            name: (cfg.flows[name].max_pending if name in cfg.flows else None) or cfg.hub.max_pending
            for name in self.flows
        }
        self.ingress = HubIngress(self.backend, self.flows, trace=cfg.hub.trace, bounds=bounds)
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
        self.worker.on_settled = self.ingress.progress.set
        self.notifier = Notifier(self.backend, cfg, clock=self.clock.time)
        waiting = task_steps(self.flows)
        self.task_sweep = (
            TaskSweep(self.backend, waiting, channels_of(cfg), self.clock,
                      context={"hub": cfg.hub.name, "link": cfg.hub.notify.link})
            if waiting else None
        )  # fmt: skip
        self.tracer: Tracer | None = None
        self.started = False
        self.loop_lag = 0.0
        self.leadership: Leadership | None = None
        self.config_digest = ""
        """The SHA-256 of the config text this hub runs (set by the Supervisor; /health shows it)."""
        self._tasks: list[asyncio.Task[Any]] = []
        self._sources: list[asyncio.Task[Any]] = []
        self._sleep = asyncio.sleep
        self._clock = time.monotonic

    def _sink(self, flow: str, index: int) -> Sink:
        """The sink of a flow's delivery: through its agent's link when an agent runs the system."""
        system = self.loaded.config.flows[flow].deliver[index].system
        agent = self.loaded.config.systems[system].agent
        if agent is not None:
            return AgentSink(self.agents[agent], flow, index)
        return self.connectors[system].sink(self.loaded.delivery_options[(flow, index)])

    def agent_views(self) -> list[JSONObject]:
        """Each agent: its systems and its link state (the API's /agents, the console)."""
        return self.agents.views()

    def run_here(self, system: str | None) -> bool:
        """Whether this hub runs the system itself (not an agent of it)."""
        return system is None or self.loaded.config.systems[system].agent is None

    async def start(
        self, *, workers: bool = True, sources: bool = True, open_backend: bool = True, lead: bool | None = None
    ) -> None:
        """Open the store and start the worker, the sources and the schedules in the background.
        `lead`: run the sources only while holding the store's leader lease (engine/leader.py);
        None: when the store is shared across machines."""
        if open_backend:
            await self.backend.open()
        for name, connector in self.connectors.items():  # a reload's hub too: the store is open by now
            connector.use_state(StoreState(self.backend, name))
        tracing = self.settings.tracing
        if tracing is not None:  # without it no span is ever made: ingress and worker keep tracer None
            self.tracer = Tracer(
                tracing.endpoint, tracing.service_name or self.settings.name, headers=tracing.headers,
                sample=tracing.sample,
            )  # fmt: skip
            self.worker.tracer = self.ingress.tracer = self.tracer
        self._tasks.append(asyncio.create_task(self._pulse(), name="loop-pulse"))
        self.backend.on_new_work = self.worker.wakeup.set if workers else None
        if workers:
            self.backend.claim_arrivals(self.worker.owner, self.worker.lease)
            self._tasks.append(asyncio.create_task(self.worker.run(), name="worker"))
        if sources and self.notifier.enabled:  # one process of `--processes N` tells the owners
            self._tasks.append(asyncio.create_task(self.notifier.run(), name="notifier"))
        if sources:
            if lead if lead is not None else self.backend.shared:
                self.leadership = Leadership(
                    self.backend,
                    self.worker.owner,
                    parse_duration(self.settings.leader_lease),
                    gained=self._start_sources,
                    lost=self._stop_sources,
                )
                self._tasks.append(asyncio.create_task(self.leadership.run(), name="leadership"))
            else:
                await self._start_sources()
        self.started = True

    async def _start_sources(self) -> None:
        if self.task_sweep is not None:  # with the sources: on the leader only
            self._sources.append(asyncio.create_task(self.task_sweep.run(), name="task-sweep"))
        for name, flow in self.flows.items():
            trigger = flow.config.trigger
            if trigger.schedule is not None:
                coro = run_schedule(self.ingress, name, trigger.schedule, trigger.body)
                self._sources.append(asyncio.create_task(coro, name=f"schedule:{name}"))
            elif trigger.system is not None and self.run_here(trigger.system):
                source = self.connectors[trigger.system].source(name, self.loaded.trigger_options.get(name))
                if source is not None:
                    self._sources.append(asyncio.create_task(self._run_source(name, source), name=f"source:{name}"))

    async def _stop_sources(self) -> None:
        tasks, self._sources = self._sources, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("%s failed while it stopped", task.get_name())

    async def _pulse(self) -> None:
        while True:
            before = time.monotonic()
            await asyncio.sleep(PULSE)
            self.loop_lag = max(0.0, time.monotonic() - before - PULSE)

    def liveness(self) -> JSONObject:
        """/healthz: the event loop answers (this runs on it; `loop_lag_ms` says how late its last
        pulse came), and the loops that must not end have not: the worker's dispatch and lease
        heartbeat, the store's writer, the schedules, the notifier. A source that ended is not a
        failure (a failing one is restarted, see _run_source)."""
        tasks = {t.get_name(): "ended" if t.done() else "running" for t in [*self._tasks, *self._sources]}
        essential = [n for n in tasks if n in ("worker", "notifier", "loop-pulse") or n.startswith("schedule:")]
        down = [n for n in essential if tasks[n] != "running"]
        if "worker" in tasks and not self.worker.heartbeat_alive():
            down.append("lease-heartbeat")
        if self.started and not self.backend.alive():
            down.append("store")
        if not self.started:
            down.append("hub (not started)")
        return {
            "status": "down" if down else "ok",
            "hub": self.settings.name,
            "down": down,
            "loop_lag_ms": round(self.loop_lag * 1000, 1),
            "tasks": tasks,
        }

    async def _run_source(self, flow: str, source: Any) -> None:
        await run_source(flow, source, self.ingress, log, sleep=self._sleep, clock=self._clock)

    async def stop(self, *, close_backend: bool = True) -> None:
        """Stop taking work, let running items settle, stop sources; the store stays open for a
        successor when `close_backend` is False (a config reload)."""
        self.started = False
        await self.worker.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
            except Exception:
                log.exception("%s failed while the hub stopped", task.get_name())
        self._tasks.clear()
        await self._stop_sources()
        if self.leadership is not None:
            await self.leadership.resign()  # a successor takes over now, not when the lease runs out
            self.leadership = None
        for connector in self.connectors.values():
            try:
                await connector.close()
            except Exception:
                log.exception("closing system %s failed", connector.system)
        if self.tracer is not None:  # export what is left, then stop the exporter's thread
            tracer, self.tracer = self.tracer, None
            self.worker.tracer = self.ingress.tracer = None
            await asyncio.to_thread(tracer.shutdown)
        if close_backend:
            await self.backend.close()

    def app(self) -> Any:
        from interlace.web.app import build_app

        return build_app(self, extra=self.agents.routes(self.ingress, lambda: self.loaded.config))

class _Dispatch:
    """The ASGI app the web server runs: forwards to the current hub's app, so that a config
    reload swaps routes without closing the listening socket."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)

    def endpoint(self, scope: Any) -> Any:
        """The current app's webhook endpoint for `scope`, to run directly (web/protocol.py), or
        None. None too while requests are logged, so that each one has its line (RequestLog)."""
        app = self.app
        if not isinstance(app, FastPaths) or logs_requests():
            return None
        return app.endpoint(scope)


class Supervisor:
    """Runs a hub from a config file until SIGINT/SIGTERM, reloading it when the file changes.

    A reload builds the new hub first (a config with problems is refused and the old one keeps
    running), then stops the old worker after its running items settle and starts the new one on
    the same store. Nothing in flight is lost: queued work stays in the store, and items of a flow
    the new config no longer has are parked as exceptions, not dropped."""

    def __init__(
        self,
        path: Path,
        loaded: LoadedConfig,
        *,
        reload: bool = True,
        check_every: float = 1.0,
        workers: bool = True,
        lead: bool | None = None,
    ) -> None:
        self.path = path
        self.hub = Hub(loaded)
        self.hub.config_digest = config_digest(path.read_bytes()) if path.exists() else ""
        self.reload_enabled = reload
        self.check_every = check_every
        self.reloads = 0
        self.sources = True
        self.workers = workers
        self.lead = lead
        self.config_version = 0
        """The newest config version published in the store when this process started or last
        looked: only a later one is taken (a process started later runs its own file)."""
        self._dispatch: _Dispatch | None = None
        self._webhooks: _Dispatch | None = None  # the partners' listener, with `hub.webhooks`
        self._health: _Dispatch | None = None  # a worker's /health listener

    def _stamp(self) -> float:
        try:
            return self.path.stat().st_mtime
        except OSError:
            return 0.0

    async def reload(self, text: str | None = None) -> bool:
        """Load the config file again (or `text`, a version published in the store, read against
        the file's folder) and swap hubs; False, with the reason logged, when it is refused."""
        from interlace.config.loader import load_config
        from interlace.errors import ConfigError

        try:
            raw = text.encode() if text is not None else self.path.read_bytes()
            loaded = load_config(self.path, text=text)
            new = Hub(loaded, backend=self.hub.backend, clock=self.hub.clock, agents=self.hub.agents)
        except (ConfigError, OSError) as exc:
            log.error("config change refused, still running the previous config:\n%s", exc)
            return False
        if loaded.config.hub.webhooks != self.hub.settings.webhooks:  # its socket is open: a restart moves it
            log.error("config change refused: hub.webhooks changed; restart the hub to move the listener")
            return False
        await self.hub.stop(close_backend=False)
        await new.start(open_backend=False, sources=self.sources, workers=self.workers, lead=self.lead)
        new.config_digest = config_digest(raw)
        self.hub = new
        if self._dispatch is not None:
            self._dispatch.app = new.app()
        if self._webhooks is not None:
            self._webhooks.app = build_webhook_app(new)
        if self._health is not None:
            from interlace.web.app import build_health_app

            self._health.app = build_health_app(new)
        self.reloads += 1
        log.info("config reloaded from %s (%d flows)", "the store" if text is not None else self.path, len(new.flows))
        return True

    async def _watch(self) -> None:
        """Reload when the file changes, or when a config version is published in the store
        (`interlace reload`, from this machine or another): announced by the store where it can
        (PostgreSQL's NOTIFY), and looked for every `check_every` seconds in any case."""
        seen = self._stamp()
        published = asyncio.Event()
        self.hub.backend.on_config = published.set
        latest = await self._latest()
        self.config_version = latest.version if latest is not None else 0
        while True:
            try:
                await asyncio.wait_for(published.wait(), self.check_every)
            except TimeoutError:
                pass
            published.clear()
            stamp = self._stamp()
            if stamp != seen:
                seen = stamp
                await self.reload()
            latest = await self._latest()
            if latest is not None and latest.version > self.config_version:
                self.config_version = latest.version
                if latest.hash != self.hub.config_digest:
                    log.info("config version %d published by %s: reloading", latest.version, latest.published_by)
                    await self.reload(latest.text)

    async def _latest(self) -> ConfigVersion | None:
        try:
            return await self.hub.backend.latest_config()
        except Exception:
            log.warning("could not read the published config versions", exc_info=True)
            return None

    async def serve(
        self,
        *,
        host: str | None = None,
        port: int | None = None,
        ready: Any = None,
        sockets: list[socket.socket] | None = None,
        sources: bool = True,
        helpers: Helpers | None = None,
    ) -> None:
        """Serve until stopped: the main listener, and the webhooks' own when `hub.webhooks` is
        set. `sockets`: already bound sockets for them, in that order (shared by the processes of
        `--processes N`, see engine/processes.py). `sources` False: a helper process, which runs
        webhooks and workers but leaves pollers and schedules to the first process."""
        import uvicorn

        from interlace.web.protocol import protocol_for

        settings = self.hub.settings
        self.sources = sources
        await self.hub.start(sources=sources, workers=self.workers, lead=self.lead)
        self._dispatch = _Dispatch(self.hub.app())
        listeners = [(self._dispatch, host or settings.host, port if port is not None else settings.port)]
        if settings.webhooks is not None:
            self._webhooks = _Dispatch(build_webhook_app(self.hub))
            listeners.append((self._webhooks, settings.webhooks.host, settings.webhooks.port))
        tls: dict[str, Any] = {}
        if settings.tls is not None:  # the main listener only: partners' webhooks keep their own
            base = self.hub.loaded.base_dir
            tls = {"ssl_certfile": str(base / settings.tls.cert), "ssl_keyfile": str(base / settings.tls.key)}
        servers = [  # log_config=None: uvicorn's lines go through the hub's (redacting) log handler
            uvicorn.Server(
                uvicorn.Config(  # RequestLog: one debug line per request, in the process's log format
                    RequestLog(app),
                    host=h,
                    port=p,
                    http=protocol_for(app.endpoint),
                    log_level="warning",
                    lifespan="off",
                    access_log=False,
                    log_config=None,
                    **(tls if i == 0 else {}),
                )
            )
            for i, (app, h, p) in enumerate(listeners)
        ]
        tasks: list[asyncio.Task[Any]] = []
        if ready is not None:
            tasks.append(asyncio.create_task(_announce(servers, ready)))
        if self.hub.agents.links:
            tasks.append(asyncio.create_task(self._release_agents(servers), name="agents-at-exit"))
        if self.reload_enabled:
            tasks.append(asyncio.create_task(self._watch(), name="config-watch"))
        if helpers is not None:
            helpers.start()
            tasks.append(asyncio.create_task(helpers.watch(), name="helper-processes"))
        running = [
            asyncio.create_task(server.serve(sockets=[sockets[i]] if sockets else None))
            for i, server in enumerate(servers)
        ]
        try:
            await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for server in servers:  # one stopped (a signal, a port in use): stop the other too
                server.should_exit = True
            await asyncio.gather(*running, return_exceptions=True)
            for task in tasks:
                task.cancel()
            if helpers is not None:
                await asyncio.to_thread(helpers.stop)
            await self.hub.stop()
        for task in running:
            task.result()  # a listener that failed fails the command


    async def _release_agents(self, servers: list[Any]) -> None:
        """Once the server is stopping, answer the agents' waiting polls at once: it waits for open
        requests to end, and a long poll would hold it for its whole wait."""
        while not any(server.should_exit for server in servers):
            await asyncio.sleep(0.2)
        self.hub.agents.release()

    async def work(self, *, host: str | None = None, port: int | None = None, ready: Any = None) -> None:
        """The worker role (`interlace worker`): steps and deliveries, no sources and no API, until
        SIGINT/SIGTERM; with `port`, /health (and /metrics with `hub.open_metrics`) on it."""
        import signal

        import uvicorn

        from interlace.web.app import build_health_app

        self.sources = False
        await self.hub.start(sources=False, workers=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        tasks: list[asyncio.Task[Any]] = []
        server = None
        if self.reload_enabled:
            tasks.append(asyncio.create_task(self._watch(), name="config-watch"))
        waiting: list[asyncio.Task[Any]] = [asyncio.create_task(stop.wait())]
        if port is not None:
            self._health = _Dispatch(build_health_app(self.hub))
            config = uvicorn.Config(
                self._health, host=host or "127.0.0.1", port=port, log_level="warning", lifespan="off",
                access_log=False, log_config=None,
            )  # fmt: skip
            server = uvicorn.Server(config)
            waiting.append(asyncio.create_task(server.serve(), name="health"))  # it ends on SIGINT/SIGTERM too
            tasks.append(asyncio.create_task(_announce([server], ready or (lambda: None))))
        elif ready is not None:
            ready()
        try:
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            if server is not None:
                server.should_exit = True
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*waiting[1:], return_exceptions=True)
            waiting[0].cancel()
            await self.hub.stop()
        for task in waiting[1:]:
            task.result()  # a health listener that failed (its port taken) fails the command


def config_digest(text: bytes) -> str:
    """What names a config's version: the SHA-256 of its file's bytes."""
    import hashlib

    return hashlib.sha256(text).hexdigest()


def run_event_loop(main: Coroutine[Any, Any, T]) -> T:
    """Run the hub's main coroutine on uvloop (libuv's event loop: about twice the requests per
    second of asyncio's own loop for the same app on this kind of work)."""
    import uvloop

    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


async def _announce(servers: list[Any], ready: Any) -> None:
    while not all(server.started for server in servers):
        await asyncio.sleep(0.01)
    ready()
