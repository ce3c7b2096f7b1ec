"""Cron triggers: each tick enqueues one message, named by flow and tick so that two hub
processes sharing a store fire it once."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from croniter import croniter

from interlace.connectors.base import Incoming
from interlace.engine.ingress import HubIngress

log = logging.getLogger("interlace.schedule")


async def run_schedule(ingress: HubIngress, flow: str, cron: str, body: object) -> None:
    it = croniter(cron, datetime.now(UTC))
    while True:
        tick: datetime = it.get_next(datetime)
        await asyncio.sleep(max(0.0, tick.timestamp() - time.time()))
        stamp = tick.isoformat()
        item = Incoming(
            body=body if body is not None else {"tick": stamp},
            event="schedule",
            idempotency_key=f"schedule:{stamp}",
        )
        try:
            await ingress.submit(flow, [item])
        except Exception:
            log.exception("schedule of flow %s could not enqueue tick %s", flow, stamp)
