"""The hub's end of the agents' links: each agent's link state, the deliveries waiting for it, and
the HTTP routes the agent calls (agent/wire.py says what they carry).

A delivery to a system an agent runs waits here (agent/sink.py) until the agent's poll takes it
and a later poll reports its result; the worker's lease on the item is kept meanwhile, so the
item is settled only once the agent's sink confirmed. Link state is kept in the process the
agent is connected to (`interlace run`, or `serve` with workers in the same process)."""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from interlace.agent import wire
from interlace.config.models import Agent, HubConfig
from interlace.connectors.base import Incoming, Ingress
from interlace.errors import DeliveryError
from interlace.message import Message
from interlace.types import JSON, JSONObject

log = logging.getLogger("interlace.agent")

SEEN_FOR = 5.0
"""An agent whose last request ended this many seconds ago, with none open, counts as disconnected."""
DISCONNECT_CHECK = 1.0
"""How often a waiting poll looks whether its agent hung up (a cut link frees it at once)."""


class AgentDeliveryError(DeliveryError):
    """An agent's sink refused a delivery, or the agent did not confirm it in time."""


@dataclass
class Handoff:
    """One delivery waiting for an agent: handed out with a poll, settled by a later one."""

    id: str
    flow: str
    index: int
    message: Message
    done: asyncio.Future[JSON]

    def wire(self) -> dict[str, Any]:
        return {"id": self.id, "flow": self.flow, "index": self.index, "message": wire.dump(self.message)}


@dataclass
class AgentLink:
    """One agent's link, as the hub sees it."""

    name: str
    settings: Agent
    systems: list[str]
    clock: Callable[[], float] = time.time
    queue: deque[Handoff] = field(default_factory=deque)
    """Deliveries waiting to be handed out, oldest first."""
    handed: dict[str, Handoff] = field(default_factory=dict)
    """Deliveries in the last poll's answer, whose results the next poll brings."""
    waiting: dict[str, Handoff] = field(default_factory=dict)
    """Every delivery not yet settled (queued or handed), by delivery id."""
    open_requests: int = 0
    connected_at: float | None = None
    last_seen: float | None = None
    disconnected_at: float | None = None
    uplinked: int = 0
    delivered: int = 0
    failed: int = 0
    buffered: int | None = None
    """Messages waiting in the agent's buffer, as its last poll said."""
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _generation: int = 0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    # -- state -----------------------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        """A request of the agent is open, or one ended a moment ago and the link did not break off
        since (the agent polls again at once: between two polls it delivers)."""
        if self.open_requests > 0:
            return True
        recent = self.last_seen is not None and self.clock() - self.last_seen < SEEN_FOR
        return recent and self.disconnected_at is None

    def state(self) -> str:
        if self.connected:
            return "connected"
        return "never connected" if self.last_seen is None else "disconnected"

    def _began(self) -> None:
        now = self.clock()
        if not self.connected:
            self.connected_at = now
            self.disconnected_at = None
            log.info("agent %s connected", self.name)
        self.open_requests += 1
        self.last_seen = now

    def _ended(self) -> None:
        self.open_requests -= 1
        self.last_seen = self.clock()

    def hung_up(self) -> None:
        """The agent's request broke off (its link was cut)."""
        if self.disconnected_at is None:
            self.disconnected_at = self.clock()
            log.warning("agent %s: its link broke off", self.name)

    def view(self) -> JSONObject:
        return {
            "name": self.name,
            "description": self.settings.description,
            "systems": list(self.systems),
            "state": self.state(),
            "connected_at": self.connected_at,
            "last_seen": self.last_seen,
            "disconnected_at": None if self.connected else (self.disconnected_at or self.last_seen),
            "uplinked": self.uplinked,
            "delivered": self.delivered,
            "failed": self.failed,
            "waiting": len(self.waiting),
            "open_requests": self.open_requests,
            "buffered": self.buffered,
        }

    # -- deliveries down -------------------------------------------------------------------------
    def release(self) -> None:
        """End a waiting poll now, answered empty."""
        self._generation += 1
        self._arrived.set()

    def hand(self, flow: str, index: int, message: Message, delivery_id: str) -> asyncio.Future[JSON]:
        """Queue a delivery for the agent; the future ends with its result. The same delivery
        queued again while it waits (a second lease of its item) shares the first one's future."""
        found = self.waiting.get(delivery_id)
        if found is not None and not found.done.done():
            return found.done
        handoff = Handoff(delivery_id, flow, index, message, asyncio.get_running_loop().create_future())
        self.waiting[delivery_id] = handoff
        self.queue.append(handoff)
        self._arrived.set()
        return handoff.done

    def forget(self, delivery_id: str) -> None:
        """A delivery no longer waited for (its confirmation came too late): dropped from the link."""
        handoff = self.waiting.pop(delivery_id, None)
        if handoff is not None:
            self.handed.pop(delivery_id, None)
            if not handoff.done.done():
                handoff.done.cancel()

    def _settle(self, results: Sequence[Any]) -> None:
        for r in results:
            if not isinstance(r, dict) or not isinstance(r.get("id"), str):
                continue
            handoff = self.waiting.pop(r["id"], None)
            self.handed.pop(r["id"], None)
            if handoff is None or handoff.done.done():
                continue  # already given up on (the agent's sink dedupes the retry)
            if "error" in r:
                self.failed += 1
                retryable = r.get("retryable") is not False
                handoff.done.set_exception(AgentDeliveryError(f"agent {self.name}: {r['error']}", retryable=retryable))
            else:
                self.delivered += 1
                handoff.done.set_result(r.get("result"))

    async def poll(
        self, results: Sequence[Any], wait: float, limit: int, hung_up: Callable[[], Awaitable[bool]]
    ) -> list[Handoff]:
        """Settle `results`, then the next deliveries for the agent (waiting up to `wait` s for one).
        A newer poll of the same agent (it reconnected) ends this one at once, answered empty."""
        self._generation += 1
        mine = self._generation
        self._arrived.set()  # wakes an older poll still waiting: it gives way to this one
        async with self._lock:
            self._settle(results)
            for handoff in reversed(self.handed.values()):  # answered before, never reported: lost
                if not handoff.done.done():
                    self.queue.appendleft(handoff)
            self.handed.clear()
            deadline = time.monotonic() + wait
            while mine == self._generation:
                while self.queue and self.queue[0].done.done():
                    self.queue.popleft()
                left = deadline - time.monotonic()
                if self.queue or left <= 0:
                    break
                if await hung_up():
                    self.hung_up()
                    return []
                self._arrived.clear()
                try:
                    await asyncio.wait_for(self._arrived.wait(), min(left, DISCONNECT_CHECK))
                except TimeoutError:
                    pass
            if mine != self._generation:
                return []
            taken: list[Handoff] = []
            while self.queue and len(taken) < limit:
                handoff = self.queue.popleft()
                if not handoff.done.done():
                    taken.append(handoff)
                    self.handed[handoff.id] = handoff
            return taken


class AgentLinks:
    """Every agent of the config, by name."""

    def __init__(self, config: HubConfig) -> None:
        self.links: dict[str, AgentLink] = {}
        self.configure(config)

    def configure(self, config: HubConfig) -> None:
        """Take a (reloaded) config: links of agents it keeps stay as they are."""
        for name, settings in config.agents.items():
            systems = [s for s, system in config.systems.items() if system.agent == name]
            link = self.links.get(name)
            if link is None:
                self.links[name] = AgentLink(name, settings, systems)
            else:
                link.settings, link.systems = settings, systems
        for name in [n for n in self.links if n not in config.agents]:
            del self.links[name]

    def release(self) -> None:
        """Answer every waiting poll now, empty (the hub is stopping)."""
        for link in self.links.values():
            link.release()

    def __getitem__(self, name: str) -> AgentLink:
        return self.links[name]

    def views(self) -> list[JSONObject]:
        return [link.view() for link in self.links.values()]

    def routes(self, ingress: Ingress, config: Callable[[], HubConfig]) -> list[BaseRoute]:
        """The routes agents call; `config` answers the running config (a reload changes it)."""
        return [
            Route(wire.PREFIX + "/{agent}/messages", self._endpoint(self._messages, ingress, config), methods=["POST"]),
            Route(wire.PREFIX + "/{agent}/poll", self._endpoint(self._poll, ingress, config), methods=["POST"]),
        ]

    def _admitted(self, request: Request) -> AgentLink | None:
        link = self.links.get(request.path_params["agent"])
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if link is None or scheme.lower() != "bearer" or not token or not link.settings.token:
            return None
        if not hmac.compare_digest(token.encode(), link.settings.token.encode()):
            return None
        return link

    def _endpoint(
        self,
        handler: Callable[[AgentLink, Any, Request, Ingress, HubConfig], Awaitable[Response]],
        ingress: Ingress,
        config: Callable[[], HubConfig],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def endpoint(request: Request) -> Response:
            link = self._admitted(request)
            if link is None:  # an unknown agent is told no more than a wrong token
                return JSONResponse({"error": "unknown agent or wrong token"}, status_code=401,
                                    headers={"WWW-Authenticate": 'Bearer realm="interlace-agent"'})  # fmt: skip
            try:
                payload = orjson.loads(await request.body())
            except orjson.JSONDecodeError as exc:
                return JSONResponse({"error": f"not JSON: {exc}"}, status_code=400)
            if not isinstance(payload, dict):
                return JSONResponse({"error": "the body must be a JSON object"}, status_code=400)
            link._began()
            try:
                return await handler(link, payload, request, ingress, config())
            finally:
                link._ended()

        return endpoint

    async def _messages(
        self, link: AgentLink, payload: Mapping[str, Any], request: Request, ingress: Ingress, config: HubConfig
    ) -> Response:
        raw = payload.get("messages")
        if not isinstance(raw, list):
            return JSONResponse({"error": "`messages` must be a list"}, status_code=400)
        by_flow: dict[str, list[Incoming]] = {}
        for data in raw:
            try:
                message = wire.load(data)
            except ValueError as exc:
                return JSONResponse({"error": f"not a message: {exc}"}, status_code=400)
            flow = config.flows.get(message.flow)
            if flow is None or flow.trigger.system not in link.systems:
                why = f"flow {message.flow!r} is not triggered by a system of agent {link.name}"
                return JSONResponse({"error": why}, status_code=409)
            by_flow.setdefault(message.flow, []).append(
                Incoming(message.body, event=message.event, key=message.key, headers=dict(message.headers),
                         idempotency_key=wire.idempotency_key(link.name, message.id))
            )  # fmt: skip
        for flow_name, items in by_flow.items():  # committed (or waiting while the flow is full) first
            await ingress.submit(flow_name, items)
        link.uplinked += len(raw)
        return JSONResponse({"accepted": len(raw)})

    async def _poll(
        self, link: AgentLink, payload: Mapping[str, Any], request: Request, ingress: Ingress, config: HubConfig
    ) -> Response:
        results = payload.get("results") or []
        wait = payload.get("wait", wire.WAIT)
        limit = payload.get("limit", wire.BATCH)
        if not isinstance(results, list) or not isinstance(wait, int | float) or not isinstance(limit, int):
            return JSONResponse({"error": "`results` is a list, `wait` a number, `limit` an integer"}, status_code=400)
        buffered = payload.get("buffered")
        if isinstance(buffered, int):
            link.buffered = buffered
        handed = await link.poll(results, max(0.0, min(float(wait), 60.0)), max(1, min(limit, 5000)),
                                 request.is_disconnected)  # fmt: skip
        return Response(orjson.dumps({"deliveries": [h.wire() for h in handed]}), media_type="application/json")
