"""`interlace agent`: runs the systems the config assigns to one agent, inside their network, and
talks to the hub over connections it opens itself (it listens on no port).

- Its sources submit to an ingress over an embedded SQLite store (backends/sqlite.py, the hub's
  own store): what they read is durable there before their cursor moves, and waits there while
  the link is down (up to the agent's `buffer` per flow; then the sources pause).
- The uplink leases what the buffer holds, sends it to the hub, and acks it in the buffer only
  once the hub answered that it committed it. A batch whose answer was lost in a cut is sent
  again; the hub knows each message by its agent-side id and does not enqueue it twice.
- The downlink long-polls the hub for the deliveries to the agent's systems, delivers them with
  the agent's own sinks and reports each result with the next poll. The hub settles a delivery
  only when that report arrives; a delivery whose report was lost is handed out again, and the
  sink recognises its delivery id (at-least-once, effectively-once at the sink).
- Both reconnect after a failure with exponential backoff and jitter.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import time
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import httpx
import orjson

from interlace.agent import wire
from interlace.backends import open_backend
from interlace.backends.base import Backend, Settle
from interlace.config.loader import LoadedConfig
from interlace.config.models import Agent, backoff_bounds
from interlace.connectors import registry
from interlace.connectors.base import Connector, Sink
from interlace.engine.flows import CompiledFlow
from interlace.engine.ingress import HubIngress
from interlace.engine.restart import run_source
from interlace.engine.retry import backoff
from interlace.types import JSON

log = logging.getLogger("interlace.agent")

LEASE = 60.0
"""Seconds the uplink holds a batch of the buffer while it sends it. A send that failed gives the
batch back at once, so an agent killed while its link is down leaves nothing leased to its
successor; one killed mid-send leaves its batch leased this long at most."""
IDLE = 0.5
"""Seconds the uplink waits for new messages before looking in the buffer again."""


class Refused(Exception):
    """The hub answered the agent with an error status."""

    def __init__(self, what: str, status: int, text: str) -> None:
        self.status = status
        super().__init__(f"the hub refused {what}: {status} {text[:300]}")


def default_store(name: str) -> str:
    return f"sqlite:///.interlace/agent-{name}.db"


def client_for(settings: Agent, url: str, base_dir: Any) -> httpx.AsyncClient:
    """The HTTP client of the link: the hub's certificate checked against the agent's `ca`."""
    verify: ssl.SSLContext | bool = True
    if settings.ca is not None:
        verify = ssl.create_default_context(cafile=str(base_dir / settings.ca))
    return httpx.AsyncClient(
        base_url=url.rstrip("/"),
        verify=verify,
        headers={"Authorization": f"Bearer {settings.token or ''}", "Content-Type": "application/json"},
        timeout=httpx.Timeout(30.0, read=wire.WAIT + 30.0),
    )


class AgentRunner:
    def __init__(self, loaded: LoadedConfig, name: str, *, url: str | None = None, owner: str | None = None) -> None:
        cfg = loaded.config
        self.loaded = loaded
        self.name = name
        self.settings = cfg.agents[name]
        self.url = url or self.settings.url
        self.systems = [s for s, system in cfg.systems.items() if system.agent == name]
        self.connectors: dict[str, Connector] = {}
        for system in self.systems:
            cls = registry.get(cfg.systems[system].connector)
            assert cls is not None, "the loader checked every connector"
            self.connectors[system] = cls(system, loaded.system_settings[system])
        self.up_flows = [f for f, flow in cfg.flows.items() if flow.trigger.system in self.connectors]
        self.sinks: dict[tuple[str, int], tuple[str, Sink]] = {}
        for flow_name, flow in cfg.flows.items():
            for i, delivery in enumerate(flow.deliver):
                if delivery.system in self.connectors:
                    sink = self.connectors[delivery.system].sink(loaded.delivery_options[(flow_name, i)])
                    self.sinks[flow_name, i] = (delivery.system, sink)
        self.limits = {s: asyncio.Semaphore(cfg.systems[s].concurrency) for s in self.systems}
        self.store: Backend = open_backend(
            self.settings.store or default_store(name), base_dir=loaded.base_dir, durable=cfg.hub.durable
        )
        buffered = {f: CompiledFlow(f, cfg.flows[f], [], []) for f in self.up_flows}
        self.ingress = HubIngress(self.store, buffered, trace=False, bounds={f: self.settings.buffer for f in buffered})
        self.owner = f"agent:{name}:{os.getpid()}"
        self.client = client_for(self.settings, self.url, loaded.base_dir)
        self.up = False
        self.uplinked = 0
        self.delivered = 0
        self._new = asyncio.Event()
        self._tasks: list[asyncio.Task[Any]] = []
        self._sleep: Callable[[float], Any] = asyncio.sleep

    # -- running ---------------------------------------------------------------------------------
    async def start(self) -> None:
        await self.store.open()
        self.store.on_new_work = self._new.set
        for flow in self.up_flows:
            system = self.loaded.config.flows[flow].trigger.system
            assert system is not None
            source = self.connectors[system].source(flow, self.loaded.trigger_options.get(flow))
            if source is not None:
                running = run_source(flow, source, self.ingress, log, sleep=self._sleep)
                self._tasks.append(asyncio.create_task(running, name=f"source:{flow}"))
        self._tasks.append(asyncio.create_task(self._uplink(), name="uplink"))
        # polled even with no sink: an open poll is how the hub knows the link is up
        self._tasks.append(asyncio.create_task(self._downlink(), name="downlink"))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        for connector in self.connectors.values():
            try:
                await connector.close()
            except Exception:
                log.exception("closing system %s failed", connector.system)
        await self.client.aclose()
        await self.store.close()

    def _link(self, up: bool, exc: BaseException | None = None) -> None:
        if up and not self.up:
            log.info("agent %s: link to the hub %s is up", self.name, self.url)
        elif not up and self.up:
            log.warning("agent %s: link to the hub is down (%s); buffering", self.name, exc)
        self.up = up

    async def _post(self, what: str, path: str, payload: dict[str, Any]) -> Any:
        response = await self.client.post(path, content=orjson.dumps(payload))
        if response.status_code != 200:
            raise Refused(what, response.status_code, response.text)
        return response.json()

    async def _failed(self, what: str, failures: int, exc: Exception) -> None:
        self._link(False, exc)
        wait = backoff(failures, *backoff_bounds(self.settings.reconnect))  # with jitter: engine/retry.py
        if isinstance(exc, Refused):
            log.error("agent %s: %s; trying again in %.1fs", self.name, exc, wait)
        else:
            log.debug("agent %s: %s failed (%s); trying again in %.1fs", self.name, what, exc, wait)
        await self._sleep(wait)

    # -- up: the buffer to the hub ---------------------------------------------------------------
    async def _uplink(self) -> None:
        failures = 0
        while True:
            items = await self.store.lease(self.owner, wire.BATCH, LEASE)
            if not items:
                self._new.clear()
                try:
                    await asyncio.wait_for(self._new.wait(), IDLE)
                except TimeoutError:
                    pass
                continue
            payload = {"messages": [wire.dump(item.message) for item in items]}
            try:
                await self._post("messages", wire.messages_path(self.name), payload)
            except (httpx.HTTPError, Refused, ValueError) as exc:
                now = time.time()  # given back, due at once: the next try leases the same batch
                await self.store.settle([Settle(item, retry_at=now) for item in items])
                await self._failed("sending messages", failures, exc)
                failures += 1
                continue
            failures = 0
            self._link(True)
            await self.store.settle([Settle(item) for item in items])  # the hub committed them: acked
            self.uplinked += len(items)
            self.ingress.progress.set()

    # -- down: the hub's deliveries to the agent's systems ---------------------------------------
    async def _downlink(self) -> None:
        results: list[dict[str, JSON]] = []
        failures = 0
        while True:
            buffered = await self.store.pending()
            payload = {"results": results, "wait": wire.WAIT, "limit": wire.BATCH, "buffered": buffered}
            try:
                answer = await self._post("a poll", wire.poll_path(self.name), payload)
                deliveries = answer["deliveries"]
            except (httpx.HTTPError, Refused, ValueError, KeyError, TypeError) as exc:
                await self._failed("polling", failures, exc)
                failures += 1
                continue  # the same results go with the next try
            failures = 0
            self._link(True)
            results = await self._deliver(deliveries)

    async def _deliver(self, deliveries: list[dict[str, Any]]) -> list[dict[str, JSON]]:
        """Deliver what a poll brought with the agent's sinks: one result per delivery."""
        groups: dict[tuple[str, int], list[tuple[str, Any]]] = defaultdict(list)
        results: list[dict[str, JSON]] = []
        for d in deliveries:
            key = (str(d.get("flow")), int(d.get("index", -1)))
            if key not in self.sinks:
                why = f"agent {self.name} has no delivery {key[1]} of flow {key[0]!r} (is its config the hub's?)"
                results.append({"id": d.get("id"), "error": why})
                continue
            groups[key].append((str(d["id"]), wire.load(d["message"])))
        answers = await asyncio.gather(*(self._deliver_group(key, group) for key, group in groups.items()))
        for answer in answers:
            results.extend(answer)
        return results

    async def _deliver_group(self, key: tuple[str, int], group: list[tuple[str, Any]]) -> list[dict[str, JSON]]:
        system, sink = self.sinks[key]
        limit = self.limits[system]
        batch = [(message, delivery_id) for delivery_id, message in group]
        if sink.batched:
            async with limit:
                try:
                    outcome = await sink.deliver_many(batch)
                except Exception as exc:  # the whole batch failed (a lost connection)
                    outcome = [exc] * len(batch)
        else:

            async def one(message: Any, delivery_id: str) -> JSON | Exception:
                async with limit:
                    try:
                        return await sink.deliver(message, delivery_id)
                    except Exception as exc:
                        return exc

            outcome = list(await asyncio.gather(*(one(m, d) for m, d in batch)))
        results: list[dict[str, JSON]] = []
        for (delivery_id, _), result in zip(group, outcome, strict=True):
            if isinstance(result, Exception):
                retryable = getattr(result, "retryable", True)  # a DeliveryError says; anything else may pass
                results.append({"id": delivery_id, "error": f"{type(result).__name__}: {result}",
                                "retryable": bool(retryable)})  # fmt: skip
            else:
                self.delivered += 1
                results.append({"id": delivery_id, "result": result})
        return results
