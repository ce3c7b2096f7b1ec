"""The sink the hub delivers through to a system an agent runs: it hands each delivery to the
agent's link (agent/links.py) and answers once the agent's own sink confirmed it, or fails when
no confirmation came within the agent's `confirm_within` (the flow's `on_error` retries it)."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import ClassVar

from interlace.agent.links import AgentDeliveryError, AgentLink
from interlace.connectors.base import Sink, deliver_through_many
from interlace.message import Message
from interlace.options import parse_duration
from interlace.types import JSON


class AgentSink(Sink):
    batched: ClassVar[bool] = True  # a batch goes down in one poll answer

    def __init__(self, link: AgentLink, flow: str, index: int) -> None:
        self.link = link
        self.flow = flow
        self.index = index

    async def deliver(self, message: Message, delivery_id: str) -> JSON:
        return await deliver_through_many(self, message, delivery_id)

    async def deliver_many(self, batch: Sequence[tuple[Message, str]]) -> list[JSON | Exception]:
        futures = [self.link.hand(self.flow, self.index, message, delivery_id) for message, delivery_id in batch]
        await asyncio.wait(futures, timeout=parse_duration(self.link.settings.confirm_within))
        results: list[JSON | Exception] = []
        for (_, delivery_id), future in zip(batch, futures, strict=True):
            if future.done() and not future.cancelled():
                error = future.exception()
                results.append(error if isinstance(error, Exception) else future.result())
                continue
            self.link.forget(delivery_id)
            results.append(
                AgentDeliveryError(
                    f"agent {self.link.name} ({self.link.state()}) did not confirm the delivery within "
                    f"{self.link.settings.confirm_within}"
                )
            )
        return results
