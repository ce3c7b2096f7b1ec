"""The `sync` step that ends every inbound entity flow: it reads the golden record and decides
(with `plan.py`) what the change does. Its effects are committed with the message's ack."""

from __future__ import annotations

from interlace.backends.base import Backend, NewWork
from interlace.engine.steps import AsyncStep, Effects, Outcome
from interlace.entities.plan import Planner, change_of
from interlace.entities.rules import EntityRules
from interlace.errors import StepError
from interlace.message import Message


class Sync(AsyncStep):
    def __init__(self, rules: EntityRules, origin: str, backend: Backend, position: int) -> None:
        self.rules = rules
        self.origin = origin
        self.backend = backend
        self.name = f"sync:{rules.name}"
        self.planner = Planner(rules, origin, position, self.name)

    async def run(self, message: Message) -> Outcome:
        body = message.body
        if not isinstance(body, dict):
            raise StepError(f"a {self.rules.name} record must be an object, got {type(body).__name__}")
        key = self.rules.key_of(body)
        if key is None:
            raise StepError(f"a {self.rules.name} record needs its key {', '.join(self.rules.keys)}")
        if self.rules.mode == "interact":
            return self._pass_through(message, key)
        current = (await self.backend.golden(self.rules.name, [key])).get(key)
        if self.rules.is_delete(self.origin, message.event):
            return self.planner.delete(message, key, current)
        change = change_of(message, self.origin, self.rules.incoming(body, self.origin))
        return self.planner.change(message, key, current, change)

    def _pass_through(self, message: Message, key: str) -> Effects:
        """interact mode: the change goes to every other system as it is; no golden record."""
        values = self.rules.incoming(message.body, self.origin)
        delete = self.rules.is_delete(self.origin, message.event)
        outputs = []
        for system in self.planner.others():
            flow = self.rules.delete_flows[system] if delete else f"{self.rules.name}:to:{system}"
            child = message.child(f"to:{system}", self.rules.outgoing(values, system), flow=flow)
            child.event, child.key = ("delete" if delete else "upsert"), key
            outputs.append(NewWork(child))
        return Effects(outputs=outputs, summary={"key": key, "to": [w.message.flow for w in outputs]})
