"""In-memory twins of the systems a flow delivers to: they record what would be delivered."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar

from interlace.connectors.base import Sink
from interlace.message import Message
from interlace.types import JSON


@dataclass
class MemorySink(Sink):
    """Stands in for one system: every delivery is kept, nothing leaves the process."""

    system: str
    received: list[JSON] = field(default_factory=list)
    delivery_ids: list[str] = field(default_factory=list)
    twin: Sink | None = None
    """The connector's own in-memory twin of this delivery (`Connector.twin`): run first, so the
    test fails where the real sink would refuse the message."""

    async def deliver(self, message: Message, delivery_id: str) -> JSON:
        if self.twin is not None:
            await self.twin.deliver(message, delivery_id)
        self.received.append(message.body)
        self.delivery_ids.append(delivery_id)
        return {"fake": self.system}


@dataclass
class MemoryTables:
    """Stands in for the database systems an `enrich` step reads: a test's `lookups:` (table ->
    rows), answered by equality on the looked-up columns."""

    tables: dict[str, list[dict[str, JSON]]] = field(default_factory=dict)
    can_look_up: ClassVar[bool] = True
    """Declared like a connector's (connectors/base.py): every system can be looked up in a test."""

    async def lookup(self, table: str, where: dict[str, JSON]) -> dict[str, JSON] | None:
        for row in self.tables.get(table, []):
            if all(row.get(column) == value for column, value in where.items()):
                return row
        return None
