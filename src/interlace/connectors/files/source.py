"""Watches a folder and hands each complete file to the hub record by record.

A file is taken once it is complete (stable size and mtime across two polls, or a marker file).
Its records are submitted in batches; each batch stores the cursor (file, fingerprint, last
record number) in the same transaction, so after a crash the file resumes after the last stored
record, and each record's idempotency key makes a re-read record a no-op. Bad records are
appended (fsynced) to a hidden log in error/ as they are met; when the file is done they are
written to `error/<name>` (their raw bytes, after the CSV header if any) with
`error/<name>.report.json`, and the file
moves to `archive/`.

A file whose framing breaks (malformed or too deeply nested XML, a JSON array cut short), or whose
decoder fails in any other way, is not retried forever: the records before the break are
submitted, the whole file moves to `error/` beside its report, and the folder goes on with the
next file.
"""

from __future__ import annotations

import asyncio
import base64
import fnmatch
import json
import logging
from collections.abc import Iterator
from typing import Any

from interlace.connectors.base import Incoming, Ingress, Source
from interlace.connectors.bulk import EVENT, CsvChunk
from interlace.connectors.files import bulk
from interlace.connectors.files.folder import TEMP_PREFIX, Entry, Folder
from interlace.connectors.files.settings import FilesSourceOptions
from interlace.errors import ConnectorError, ParseError
from interlace.formats.base import Codec, Record, jsonable
from interlace.formats.csv import CsvFormat
from interlace.types import JSONObject

log = logging.getLogger(__name__)


def fingerprint(entry: Entry) -> str:
    """Tells two versions of a file with the same name apart (a nightly `export.csv`)."""
    return f"{entry.size:x}-{entry.mtime_ns:x}"


def _guarded(records: Iterator[Record], name: str) -> Iterator[Record]:
    """The codec's records, and, if the codec itself fails (a bug, a limit it does not know), one
    last error record saying so, instead of an exception that would stop the whole folder."""
    number = 0
    try:
        for record in records:
            number = record.number
            yield record
    except (ConnectorError, OSError):
        raise  # the folder, not the file: the source stops and is restarted
    except Exception as exc:
        log.exception("%s: the decoder failed after record %d", name, number)
        reason = f"cannot be read past here: {type(exc).__name__}: {exc}"
        yield Record(number + 1, None, error=ParseError(reason, file=name, record=number + 1), fatal=True)


def take(records: Iterator[Record], count: int) -> list[Record]:
    out = []
    for record in records:
        out.append(record)
        if len(out) >= count:
            break
    return out


class FolderSource(Source):
    def __init__(self, system: str, flow: str, folder: Folder, codec: Codec, options: FilesSourceOptions) -> None:
        self.system = system
        self.flow = flow
        self.folder = folder
        self.codec = codec
        self.options = options
        self.cursor_name = f"files:{system}:{flow}"
        self._seen: dict[str, tuple[int, int]] = {}

    async def run(self, ingress: Ingress) -> None:
        self.folder.bind(asyncio.get_running_loop())
        await asyncio.to_thread(self._prepare)
        cursor = await ingress.load_cursor(self.cursor_name)
        if isinstance(cursor, dict):
            entry = await asyncio.to_thread(self.folder.stat, str(cursor.get("file")))
            if entry is not None and fingerprint(entry) == cursor.get("fingerprint"):
                log.info("resuming %s after record %s", entry.name, cursor.get("record"))
                await self.process(ingress, entry, int(cursor.get("record") or 0))
        while True:
            await self.poll(ingress)
            await asyncio.sleep(self.options.poll_interval)

    def _prepare(self) -> None:
        self.folder.ensure()
        self.folder.ensure(self.options.archive)
        self.folder.ensure(self.options.error)

    async def poll(self, ingress: Ingress) -> int:
        """Process every file that is complete now; returns how many."""
        ready = await asyncio.to_thread(self.ready)
        for entry in ready:
            await self.process(ingress, entry, 0)
        return len(ready)

    def ready(self) -> list[Entry]:
        """The complete files, oldest name first."""
        entries = self.folder.list()
        names = {e.name for e in entries}
        marker = self.options.marker_suffix
        out = []
        seen: dict[str, tuple[int, int]] = {}
        for entry in entries:
            if entry.name.startswith(TEMP_PREFIX) or entry.name.endswith(marker):
                continue
            if not fnmatch.fnmatchcase(entry.name, self.options.pattern):
                continue
            if self.options.complete == "marker":
                if entry.name + marker in names:
                    out.append(entry)
                continue
            now = (entry.size, entry.mtime_ns)
            seen[entry.name] = now
            if self._seen.get(entry.name) == now:
                out.append(entry)
        self._seen = seen
        return out

    async def process(self, ingress: Ingress, entry: Entry, after: int) -> None:
        """Submit the file's records numbered above `after`, then archive it."""
        name = entry.name
        mark = fingerprint(entry)
        log_name = f"{self.options.error}/.{name}.{mark}.log"
        log.info("%s: reading %d bytes%s", name, entry.size, f" after record {after}" if after else "")
        submitted = failed = 0
        broken = False
        stream = await asyncio.to_thread(self.folder.open_read, name)
        try:
            records = _guarded(self.codec.read(stream, name=name), name)
            while batch := await asyncio.to_thread(take, records, self.options.batch_size):
                items: list[Incoming] = []
                bad: list[Record] = []
                for record in batch:
                    if record.number <= after:
                        continue
                    if record.error is not None:
                        bad.append(record)
                        broken = broken or record.fatal  # nothing after it can be read
                    else:
                        items.append(self._incoming(name, mark, record))
                if not items and not bad:
                    continue
                if bad:
                    await asyncio.to_thread(self.folder.append, log_name, _error_lines(bad))
                cursor = {"file": name, "fingerprint": mark, "record": batch[-1].number}
                await ingress.submit(self.flow, items, cursor=(self.cursor_name, cursor))
                submitted, failed = submitted + len(items), failed + len(bad)
        finally:
            await asyncio.to_thread(stream.close)
        await asyncio.to_thread(self._finish, name, log_name, broken)
        where = self.options.error if broken else self.options.archive
        log.info("%s: %d records submitted, %d bad, moved to %s/", name, submitted, failed, where)

    def _incoming(self, name: str, mark: str, record: Record) -> Incoming:
        body: JSONObject = jsonable(record.value)
        key = None
        if self.options.key_field is not None and body.get(self.options.key_field) is not None:
            key = str(body[self.options.key_field])
        return Incoming(
            body=body,
            event=self.options.event,
            key=key,
            headers={"file": name, "record": str(record.number)},
            idempotency_key=f"{name}:{mark}:{record.number}",
        )

    def _finish(self, name: str, log_name: str, broken: bool = False) -> None:
        logged = self.folder.read_bytes(log_name)
        if broken:
            failed = _read_log(logged or b"")
            for f in failed:
                f.pop("raw", None)
            moved = self.folder.move(name, f"{self.options.error}/{name}")
            report = {
                "file": name,
                "kept_as": moved,
                "failed": len(failed),
                "broken": "the file cannot be read past its last failed record: it is kept whole here; "
                "the records before that one were submitted",
                "records": failed,
            }
            self.folder.write_bytes(f"{moved}.report.json", json.dumps(report, indent=2).encode())
            self.folder.remove(log_name)
            log.error("%s: cannot be read to the end (%s); kept in %s", name, failed[-1]["message"], moved)
            if self.options.complete == "marker":
                self.folder.remove(name + self.options.marker_suffix)
            return
        if logged is not None:
            failed = _read_log(logged)
            with self.folder.open_read(name) as stream:
                raw = self.codec.preamble(stream)
            raws = [f.pop("raw", None) for f in failed]
            raw += b"".join(base64.b64decode(r) for r in raws if r is not None)
            report = {"file": name, "failed": len(failed), "records": failed}
            self.folder.write_bytes(f"{self.options.error}/{name}", raw)
            self.folder.write_bytes(f"{self.options.error}/{name}.report.json", json.dumps(report, indent=2).encode())
            self.folder.remove(log_name)
            log.warning("%s: %d bad records kept in %s/", name, len(failed), self.options.error)
        self.folder.move(name, f"{self.options.archive}/{name}")
        if self.options.complete == "marker":
            self.folder.remove(name + self.options.marker_suffix)


def _error_lines(bad: list[Record]) -> bytes:
    lines = []
    for record in bad:
        assert record.error is not None
        entry: dict[str, Any] = {
            "record": record.number,
            "offset": record.error.offset,
            "field": record.error.field,
            "message": record.error.reason,
            "raw": base64.b64encode(record.raw).decode() if record.raw is not None else None,
        }
        lines.append(json.dumps(entry) + "\n")
    return "".join(lines).encode()


def _read_log(data: bytes) -> list[dict[str, Any]]:
    """The logged failures, once each (a resumed file may log a record twice), in order."""
    by_record: dict[int, dict[str, Any]] = {}
    for line in data.splitlines():
        if line.strip():
            try:
                entry = json.loads(line)
            except ValueError:
                continue  # a line cut short by a crash; the record is logged again on resume
            by_record[int(entry["record"])] = entry
    return [by_record[n] for n in sorted(by_record)]


class BulkFolderSource(FolderSource):
    """`trigger: {system: drop, pattern: "*.csv", bulk: true, chunk: 50000}`: each complete CSV
    file is moved to archive/ and submitted as one message per chunk of rows (see `bulk.py`).

    The cursor holds the file, its fingerprint, its name in archive/ and the byte offset reached:
    stored before the move (so a crash right after it finds the file again) and with each chunk
    (in the transaction that stores the chunk), so a restart resumes after the last stored chunk."""

    def __init__(
        self, system: str, flow: str, folder: Folder, codec: Codec, options: FilesSourceOptions, config: CsvFormat
    ) -> None:
        super().__init__(system, flow, folder, codec, options)
        self.config = config
        self.dialect = bulk.dialect_of(config)

    async def run(self, ingress: Ingress) -> None:
        self.folder.bind(asyncio.get_running_loop())
        await asyncio.to_thread(self._prepare)
        cursor = await ingress.load_cursor(self.cursor_name)
        if isinstance(cursor, dict) and isinstance(cursor.get("archived"), str):
            await self._resume(ingress, cursor)
        while True:
            await self.poll(ingress)
            await asyncio.sleep(self.options.poll_interval)

    async def _resume(self, ingress: Ingress, cursor: dict[str, Any]) -> None:
        name, mark, archived = str(cursor.get("file")), cursor.get("fingerprint"), str(cursor["archived"])
        entry = await asyncio.to_thread(self.folder.stat, name)
        if cursor.get("offset") is None and entry is not None and fingerprint(entry) == mark:
            await self.process(ingress, entry, 0)  # stopped before the move
            return
        moved = await asyncio.to_thread(self.folder.stat, archived)
        if moved is not None and fingerprint(moved) == mark and not cursor.get("done"):
            offset = cursor.get("offset")
            log.info("resuming %s at byte %s", archived, offset)
            await self._load(ingress, name, archived, str(mark), offset if isinstance(offset, int) else None)

    async def process(self, ingress: Ingress, entry: Entry, after: int) -> None:
        name, mark = entry.name, fingerprint(entry)
        archived = await asyncio.to_thread(self._free, f"{self.options.archive}/{name}")
        intent = {"file": name, "fingerprint": mark, "archived": archived, "offset": None}
        await ingress.submit(self.flow, [], cursor=(self.cursor_name, intent))
        archived = await asyncio.to_thread(self.folder.move, name, archived)
        await self._load(ingress, name, archived, mark, None)

    def _free(self, target: str) -> str:
        stem, dot, ext = target.rpartition(".")
        if not dot or "/" in ext:
            stem, ext = target, ""
        final, n = target, 1
        while self.folder.exists(final):
            final = f"{stem}.{n}.{ext}" if ext else f"{stem}.{n}"
            n += 1
        return final

    async def _load(self, ingress: Ingress, name: str, archived: str, mark: str, offset: int | None) -> None:
        stream = await asyncio.to_thread(self.folder.open_read, archived)
        chunks = rows = 0
        try:
            try:
                columns, first = await asyncio.to_thread(bulk.header, stream, self.config)
            except (UnicodeDecodeError, ValueError) as exc:
                columns, first = [], 0
                log.error("%s: cannot read the header: %s", name, exc)
            if not columns:
                await asyncio.to_thread(self._refuse, name, archived)
                return
            quote = self.dialect.quote.encode()
            scan = bulk.scan(stream, first if offset is None else max(offset, first), self.options.chunk, quote)
            while (found := await asyncio.to_thread(next, scan, None)) is not None:
                start, end, count = found
                chunk = CsvChunk(self.system, archived, mark, start, end, count, tuple(columns), self.dialect)
                item = Incoming(
                    body=chunk.body(),
                    event=EVENT,
                    key=f"{archived}:{start}",
                    headers={"file": name},
                    idempotency_key=f"{self.system}:{archived}:{mark}:{start}-{end}",
                )
                cursor = {"file": name, "fingerprint": mark, "archived": archived, "offset": end}
                await ingress.submit(self.flow, [item], cursor=(self.cursor_name, cursor))
                chunks, rows = chunks + 1, rows + count
        finally:
            await asyncio.to_thread(stream.close)
        done = {"file": name, "fingerprint": mark, "archived": archived, "offset": None, "done": True}
        await ingress.submit(self.flow, [], cursor=(self.cursor_name, done))
        if self.options.complete == "marker":
            await asyncio.to_thread(self.folder.remove, name + self.options.marker_suffix)
        log.info("%s: %d rows submitted in %d chunks, archived as %s", name, rows, chunks, archived)

    def _refuse(self, name: str, archived: str) -> None:
        report = {"file": name, "failed": 1, "records": [{"record": 0, "message": "no readable CSV header"}]}
        self.folder.move(archived, f"{self.options.error}/{name}")
        self.folder.write_bytes(f"{self.options.error}/{name}.report.json", json.dumps(report, indent=2).encode())
