"""New objects under a prefix, found by polling the bucket's listing, read record by record.

The cursor (stored with each batch of records, in the same transaction) says what was read:
- `watermark`: the newest LastModified of an object read so far;
- `recent`: {key: [etag, last_modified]} of every object read whose LastModified is within
  `settle` seconds of the watermark;
- `current`: the object being read and its last submitted record, while one is.

An object is new when it is not in `recent` with the same ETag and its LastModified is at least
`watermark - settle`. An object's LastModified is when its upload started, and it shows up in a
listing only once the upload is complete; `settle` (15 minutes by default) is how much later
than its LastModified an object may appear and still be found. Older objects fall out of
`recent`, so the cursor stays small however big the bucket grows. A rewritten object gets a new
ETag and a new LastModified, and is read again.

After a restart the source resumes `current` after its last submitted record (if the object still
has that ETag), then lists again: nothing is missed, and no object is read twice. Each record's
idempotency key (bucket, key, ETag, record number) makes a record re-read by a crash between two
batches a no-op.
"""

from __future__ import annotations

import asyncio
import base64
import fnmatch
import json
import logging
import tempfile
from dataclasses import dataclass, field
from typing import IO, Any

from interlace.connectors.base import Incoming, Ingress, Source
from interlace.connectors.files.source import take
from interlace.connectors.s3.client import S3Client, S3Error, S3Object, SqsQueue
from interlace.connectors.s3.settings import S3SourceOptions
from interlace.errors import ConnectorError
from interlace.formats.base import Codec, Record, jsonable
from interlace.types import JSON, JSONObject

log = logging.getLogger(__name__)
SPOOL = 8 * 1024 * 1024
"""An object up to this size is read in memory; a larger one goes to a temporary file."""


@dataclass
class Seen:
    watermark: float | None = None
    recent: dict[str, tuple[str, float]] = field(default_factory=dict)

    @classmethod
    def load(cls, value: JSON) -> Seen:
        if not isinstance(value, dict):
            return cls()
        recent = value.get("recent")
        mark = value.get("watermark")
        return cls(
            watermark=float(mark) if isinstance(mark, int | float) else None,
            recent={
                str(k): (str(v[0]), float(v[1]))
                for k, v in (recent.items() if isinstance(recent, dict) else [])
                if isinstance(v, list) and len(v) == 2
            },
        )

    def is_new(self, obj: S3Object, settle: float) -> bool:
        if self.recent.get(obj.key, ("",))[0] == obj.etag:
            return False
        return self.watermark is None or obj.last_modified >= self.watermark - settle

    def add(self, obj: S3Object, settle: float) -> None:
        self.recent[obj.key] = (obj.etag, obj.last_modified)
        self.watermark = max(self.watermark or obj.last_modified, obj.last_modified)
        floor = self.watermark - settle
        self.recent = {k: v for k, v in self.recent.items() if v[1] >= floor}

    def dump(self, current: JSONObject | None = None) -> JSONObject:
        return {
            "watermark": self.watermark,
            "recent": {k: [etag, at] for k, (etag, at) in sorted(self.recent.items())},
            "current": current,
        }


class BucketSource(Source):
    def __init__(
        self, system: str, flow: str, client: S3Client, codec: Codec, options: S3SourceOptions, root: str
    ) -> None:
        self.system = system
        self.flow = flow
        self.client = client
        self.codec = codec
        self.options = options
        self.prefix = root + options.prefix
        self.errors = root + options.error_prefix
        self.cursor_name = f"s3:{system}:{flow}"
        self.seen = Seen()
        self.queue: SqsQueue | None = None
        if options.notifications is not None:
            self.queue = SqsQueue(client.settings, options.notifications, lambda: client.http, clock=client.clock)
        self.listings = 0
        """Listings done (and their objects read) so far."""

    async def run(self, ingress: Ingress) -> None:
        cursor = await ingress.load_cursor(self.cursor_name)
        self.seen = Seen.load(cursor)
        current = cursor.get("current") if isinstance(cursor, dict) else None
        if isinstance(current, dict) and isinstance(current.get("key"), str):
            obj = await self.client.head(current["key"])
            if obj is not None and obj.etag == current.get("etag"):
                log.info("resuming s3://%s/%s after record %s", self.client.bucket, obj.key, current.get("record"))
                await self.process(ingress, obj, int(current.get("record") or 0))
        if self.queue is None:
            while True:
                await self.poll(ingress)
                await asyncio.sleep(self.options.poll_interval)
        wake = asyncio.Event()
        handles: list[str] = []
        listener = asyncio.create_task(self._listen(self.queue, wake, handles), name=f"s3-notifications:{self.flow}")
        try:
            while True:
                wake.clear()
                announced, handles[:] = list(handles), []  # what arrived before this listing began
                await self.poll(ingress)
                if announced:  # read (and its cursor stored): the notifications are done with
                    await self.queue.delete(announced)
                try:
                    await asyncio.wait_for(wake.wait(), self.options.poll_interval)
                except TimeoutError:
                    pass
        finally:
            listener.cancel()

    async def _listen(self, queue: SqsQueue, wake: asyncio.Event, handles: list[str]) -> None:
        """Long-poll the queue; each notification wakes the listing. A failure is logged and the
        queue asked again later: the timed listing goes on meanwhile."""
        while True:
            try:
                got = await queue.receive(20)
            except (ConnectorError, OSError) as exc:
                log.warning("s3 notifications of %s: %s; asking again in 30s", self.flow, exc)
                await asyncio.sleep(30)
                continue
            if got:
                handles.extend(handle for handle, _keys in got)
                wake.set()

    async def new_objects(self) -> list[S3Object]:
        """The objects to read now, oldest first."""
        found = []
        async for obj in self.client.list(self.prefix):
            name = obj.key[len(self.prefix) :]
            if obj.key.endswith("/") or (self.errors and obj.key.startswith(self.errors)):
                continue  # a folder marker, or a report of ours
            if fnmatch.fnmatchcase(name, self.options.pattern) and self.seen.is_new(obj, self.options.settle):
                found.append(obj)
        return sorted(found, key=lambda o: (o.last_modified, o.key))

    async def poll(self, ingress: Ingress) -> int:
        """Read every new object; returns how many."""
        objects = await self.new_objects()
        for obj in objects:
            await self.process(ingress, obj, 0)
        self.listings += 1
        return len(objects)

    async def process(self, ingress: Ingress, obj: S3Object, after: int) -> None:
        """Submit the object's records numbered above `after`; then remember it (and delete it)."""
        stream: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=SPOOL)  # noqa: SIM115 (closed below)
        bad: list[Record] = []
        submitted = 0
        try:
            try:
                await self.client.download(obj.key, stream, etag=obj.etag)
            except S3Error as exc:
                if exc.status in (404, 412):  # deleted or rewritten since the listing: the next one finds it
                    where = f"s3://{self.client.bucket}/{obj.key}"
                    log.info("%s changed since the listing (%s): left to the next one", where, exc.code)
                    return
                raise
            await asyncio.to_thread(stream.seek, 0)
            records = self.codec.read(stream, name=obj.key)  # type: ignore[arg-type]
            while batch := await asyncio.to_thread(take, records, self.options.batch_size):
                items = []
                for record in batch:
                    if record.number <= after:
                        continue
                    if record.error is not None:
                        bad.append(record)
                    else:
                        items.append(self._incoming(obj, record))
                if not items:
                    continue
                current: JSONObject = {"key": obj.key, "etag": obj.etag, "record": batch[-1].number}
                await ingress.submit(self.flow, items, cursor=(self.cursor_name, self.seen.dump(current)))
                submitted += len(items)
        finally:
            await asyncio.to_thread(stream.close)
        if bad:
            await self._report(obj, bad)
        self.seen.add(obj, self.options.settle)
        await ingress.submit(self.flow, [], cursor=(self.cursor_name, self.seen.dump()))
        if self.options.after == "delete":
            await self.client.delete(obj.key)
        log.info("s3://%s/%s: %d records submitted, %d bad", self.client.bucket, obj.key, submitted, len(bad))

    def _incoming(self, obj: S3Object, record: Record) -> Incoming:
        body: JSONObject = jsonable(record.value)
        key = None
        if self.options.key_field is not None and body.get(self.options.key_field) is not None:
            key = str(body[self.options.key_field])
        return Incoming(
            body=body,
            event=self.options.event,
            key=key,
            headers={"bucket": self.client.bucket, "object": obj.key, "etag": obj.etag, "record": str(record.number)},
            idempotency_key=f"s3:{self.client.bucket}/{obj.key}:{obj.etag}:{record.number}",
        )

    async def _report(self, obj: S3Object, bad: list[Record]) -> None:
        """The object's bad records, kept beside the bucket's input under the error prefix."""
        records: list[dict[str, Any]] = []
        for record in bad:
            assert record.error is not None
            records.append({
                "record": record.number,
                "offset": record.error.offset,
                "field": record.error.field,
                "message": record.error.reason,
                "raw": base64.b64encode(record.raw).decode() if record.raw is not None else None,
            })  # fmt: skip
        report = {"bucket": self.client.bucket, "key": obj.key, "etag": obj.etag, "failed": len(bad)}
        report["records"] = records
        name = f"{self.errors}{obj.key[len(self.prefix):]}.report.json"
        await self.client.put(name, json.dumps(report, indent=2).encode(), "application/json")
        log.warning("s3://%s/%s: %d bad records, reported in %s", self.client.bucket, obj.key, len(bad), name)
