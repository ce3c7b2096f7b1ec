"""Sources that fail are started again: after a wait that grows with each failure in a row (with
jitter, engine/retry.py), so a source whose system is down does not spin and many restart apart;
one that ran at least the longest wait before failing starts again from the first."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from interlace.connectors.base import Ingress, Source
from interlace.engine.retry import backoff

SOURCE_RESTART = (1.0, 30.0)
"""A failed source is restarted after the first wait, doubled each failure in a row up to the
longest."""


async def run_source(
    flow: str,
    source: Source,
    ingress: Ingress,
    log: logging.Logger,
    *,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    clock: Callable[[], float] = time.monotonic,
    bounds: tuple[float, float] = SOURCE_RESTART,
) -> None:
    """Run `source` until it ends or is cancelled, restarting it when it fails."""
    failures = 0
    while True:
        started = clock()
        try:
            await source.run(ingress)
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            if clock() - started >= bounds[1]:
                failures = 0  # it ran well for a while: a new outage
            wait = backoff(failures, *bounds)
            failures += 1
            log.exception("source of flow %s failed (%d in a row); restarting in %.1fs", flow, failures, wait)
            await sleep(wait)
