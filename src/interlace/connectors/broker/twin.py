"""A broker sink split in two: `render` (pure: a message becomes what would be published) and
`publish` (the network: send, and wait for the broker's confirmation). The in-memory twin that
`interlace test` delivers to runs the same `render` and keeps the result, so a flow test fails
where the real delivery would refuse (a topic field missing from the body, a body that is not
the format's), and shows exactly what would have gone out."""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from interlace.connectors.base import Sink, deliver_through_many
from interlace.connectors.broker.payload import Format, decode
from interlace.message import Message
from interlace.types import JSON


@dataclass
class Outgoing:
    """One message as a broker would receive it."""

    destination: str
    """The exchange and routing key, subject, topic or stream it goes to."""
    payload: bytes
    headers: dict[str, str] = field(default_factory=dict)
    delivery_id: str = ""
    """The hub's name for this delivery: sent along as the message id, for the consumer to dedupe."""

    def body(self, fmt: Format = "json") -> JSON:
        return decode(self.payload, fmt)[0]


class BrokerSink(Sink):
    """Renders then publishes; a batch is published at once and its confirmations awaited together."""

    batched: ClassVar[bool] = True

    @abstractmethod
    def render(self, message: Message, delivery_id: str) -> Outgoing: ...

    @abstractmethod
    async def publish(self, batch: Sequence[Outgoing]) -> list[JSON | Exception]:
        """Send each, and return once the broker confirmed it (or the exception it failed with)."""

    async def deliver(self, message: Message, delivery_id: str) -> JSON:
        return await deliver_through_many(self, message, delivery_id)

    async def deliver_many(self, batch: Sequence[tuple[Message, str]]) -> list[JSON | Exception]:
        rendered: list[Outgoing | Exception] = []
        for message, delivery_id in batch:
            try:
                rendered.append(self.render(message, delivery_id))
            except Exception as exc:  # this item is refused; the others go on
                rendered.append(exc)
        ready = [r for r in rendered if isinstance(r, Outgoing)]
        results = iter(await self.publish(ready) if ready else [])
        return [r if isinstance(r, Exception) else next(results) for r in rendered]


@dataclass
class TwinSink(Sink):
    """The in-memory twin of a `BrokerSink`: the real `render`, no network."""

    real: BrokerSink
    published: list[Outgoing] = field(default_factory=list)

    async def deliver(self, message: Message, delivery_id: str) -> JSON:
        out = self.real.render(message, delivery_id)
        self.published.append(out)
        return {"twin": out.destination}
