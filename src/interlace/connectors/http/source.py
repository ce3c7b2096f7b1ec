"""An http system as a source: GET a list every `poll_interval`, every page of it, and submit
each record not seen before, or changed since.

A record is known by its idempotency key: the path, its `key_field` value (or, without one, the
record itself) and a digest of its content. The store keeps every key it was given, so an
unchanged record read again is not submitted again, a changed one is, and a restart (which reads
the list again) neither misses nor repeats one.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable

import httpx

from interlace.connectors.base import Incoming, Ingress, Source
from interlace.connectors.http import pages
from interlace.connectors.http.settings import HttpSettings, HttpTrigger
from interlace.types import JSON

log = logging.getLogger(__name__)
BATCH = 500


def digest(record: JSON) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:32]


class ListSource(Source):
    def __init__(
        self, system: str, settings: HttpSettings, client: Callable[[], httpx.AsyncClient], flow: str,
        options: HttpTrigger,
    ) -> None:  # fmt: skip
        self.system = system
        self.settings = settings
        self.client = client
        self.flow = flow
        self.options = options

    async def run(self, ingress: Ingress) -> None:
        while True:
            await self.poll(ingress)
            await asyncio.sleep(self.options.poll_interval)

    async def poll(self, ingress: Ingress) -> int:
        """Read the whole list once; returns how many records it had."""
        o = self.options
        style = o.pagination or self.settings.pagination
        limit = self.settings.rate_limit
        seen = 0
        batch: list[Incoming] = []
        async for page in pages.read(
            self.client(), o.path, o.params, style, max_wait=limit.max_wait if limit else 300.0
        ):
            for record in page:
                batch.append(self.incoming(record))
            seen += len(page)
            if len(batch) >= BATCH:
                await ingress.submit(self.flow, batch)
                batch = []
        if batch:
            await ingress.submit(self.flow, batch)
        log.debug("%s %s: %d records read", self.system, o.path, seen)
        return seen

    def incoming(self, record: JSON) -> Incoming:
        o = self.options
        key = None
        if o.key_field is not None and isinstance(record, dict) and record.get(o.key_field) is not None:
            key = str(record[o.key_field])
        content = digest(record)
        return Incoming(
            body=record,
            event=o.event,
            key=key,
            headers={"path": o.path},
            idempotency_key=f"http:{self.system}:{o.path}:{key or ''}:{content}",
        )
