"""Writes messages to files in the folder, atomically, one per message or in batches.

A message body that is an object is one record; a list of objects is several. With `batch: 1`
each delivery writes its file (temp + rename) before it returns; the name comes from the
template, so a redelivery rewrites the same file rather than adding one.

With a larger batch, each delivery is first staged durably as `.staging/<delivery_id>.json`
(the same name on redelivery), and once `batch` are staged (or the oldest has waited
`batch_seconds`) they are written as one file. A manifest names the batch before its file is
written, so a crash mid-flush finishes the same batch on the next call, and the delivered ids
are remembered in `.staging/flushed.log` so a late redelivery is not written twice.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import string
import time
from collections.abc import Mapping
from typing import Any

from interlace.connectors.base import Sink
from interlace.connectors.files.folder import Folder, PathRefused
from interlace.connectors.files.settings import FilesSinkOptions
from interlace.errors import ConnectorError, DeliveryError
from interlace.formats.base import Codec
from interlace.message import Message
from interlace.types import JSON, JSONObject

STAGING = ".staging"
_UNSAFE = re.compile(r"[^A-Za-z0-9._@+=-]")
_REMEMBERED = 100_000
EXTENSIONS = {
    "csv": ".csv",
    "json": ".json",
    "jsonl": ".jsonl",
    "xml": ".xml",
    "fixedwidth": ".txt",
    "copybook": ".dat",
    "x12": ".x12",
    "edifact": ".edi",
}


def _percent(match: re.Match[str]) -> str:
    return "".join(f"%{byte:02X}" for byte in match.group().encode("utf-8", "surrogatepass"))


def _safe(value: Any) -> str:
    """`value` as one file-name part: letters, digits and `._@+=-` stay, every other character
    becomes `%XX` of its UTF-8 bytes (`%` too), a leading dot `%2E`, and "" is `%`. No two values
    give the same part (`a/../b` is `a%2F..%2Fb`, `a\\..\\b` is `a%5C..%5Cb`), and none holds a
    `/` or starts with a dot."""
    text = _UNSAFE.sub(_percent, str(value))
    if text.startswith("."):
        return "%2E" + text[1:]
    return text or "%"


def file_name(template: str, message: Message, delivery_id: str, ext: str) -> str:
    """Fill the template; each value is made one file-name part, without collisions (`_safe`).
    Dates are the message's creation time, so a redelivery on another day still names the same file."""
    stamp = time.gmtime(message.created_at)
    fields: dict[str, Any] = {}
    if isinstance(message.body, dict):
        fields.update({str(k): v for k, v in message.body.items() if not isinstance(v, dict | list)})
    fields.update(
        message_id=message.id,
        delivery_id=delivery_id,
        flow=message.flow,
        key=message.key or "",
        date=time.strftime("%Y-%m-%d", stamp),
        time=time.strftime("%H%M%S", stamp),
    )
    out = []
    for literal, field, spec, _conv in string.Formatter().parse(template):
        out.append(literal)
        if field is None:
            continue
        if field == "ext":
            out.append(ext)
            continue
        if field not in fields:
            raise DeliveryError(f"file name template: no field {field!r} in the message", retryable=False)
        out.append(_safe(format(fields[field], spec or "")))
    return "".join(out)


def records_of(body: JSON) -> list[JSONObject]:
    if isinstance(body, dict):
        return [body]
    if isinstance(body, list) and all(isinstance(b, dict) for b in body):
        return body
    raise DeliveryError(f"a files sink writes objects; the body is a {type(body).__name__}", retryable=False)


def encode(codec: Codec, records: list[JSONObject]) -> bytes:
    """`records` written by the codec as one document; a record it cannot write is not retryable."""
    out = io.BytesIO()
    with codec.writer(out) as writer:
        for record in records:
            try:
                writer.write(record)
            except ValueError as exc:
                raise DeliveryError(f"cannot write the record: {exc}", retryable=False) from None
    return out.getvalue()


class FolderSink(Sink):
    def __init__(self, folder: Folder, codec: Codec, options: FilesSinkOptions, ext: str) -> None:
        self.folder = folder
        self.codec = codec
        self.options = options
        self.ext = ext
        self._lock = asyncio.Lock()
        self._flushed: dict[str, None] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Future[None] | None = None

    def encode(self, records: list[JSONObject]) -> bytes:
        return encode(self.codec, records)

    async def deliver(self, message: Message, delivery_id: str) -> JSON:
        records = records_of(message.body)
        self.folder.bind(asyncio.get_running_loop())
        if self.options.batch == 1:
            name = file_name(self.options.name, message, delivery_id, self.ext)
            data = self.encode(records)
            await asyncio.to_thread(self._write, name, data)
            return {"file": name, "records": len(records)}
        async with self._lock:
            result, wait = await asyncio.to_thread(self._stage, message, delivery_id)
        if wait is not None and self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(wait, self._on_timer)
        return result

    def _on_timer(self) -> None:
        self._timer = None
        self._flushing = asyncio.ensure_future(self.flush_due())

    def _write(self, name: str, data: bytes) -> None:
        try:
            self.folder.write_bytes(name, data)
        except PathRefused as exc:
            raise DeliveryError(str(exc), retryable=False) from None
        except (ConnectorError, OSError) as exc:  # a full disk, a lost SFTP connection: try again later
            raise DeliveryError(f"cannot write {name}: {exc}") from None

    # -- batches ----------------------------------------------------------------------------

    def _staged_name(self, delivery_id: str) -> str:
        return f"{STAGING}/{_safe(delivery_id)}.json"

    def _load_flushed(self) -> dict[str, None]:
        if self._flushed is None:
            data = self.folder.read_bytes(f"{STAGING}/flushed.log") or b""
            lines = data.decode().splitlines()[-_REMEMBERED:]
            self._flushed = dict.fromkeys(lines)
        return self._flushed

    def _stage(self, message: Message, delivery_id: str) -> tuple[JSON, float | None]:
        """Stage one delivery; returns the result and, if a partial batch waits, how long until due."""
        self.folder.ensure(STAGING)
        self._recover()
        if delivery_id in self._load_flushed():
            return {"staged": False, "already_written": True}, None
        entry = {"delivery_id": delivery_id, "message": message.to_dict(), "at": time.time()}
        self.folder.write_bytes(self._staged_name(delivery_id), json.dumps(entry).encode())
        staged = self._staged()
        if len(staged) >= self.options.batch:
            name = self._flush(staged[: self.options.batch])
            return {"staged": True, "file": name}, None
        if self.options.batch_seconds is None:
            return {"staged": True}, None
        waited = time.time() - staged[0][1]["at"]
        if waited >= self.options.batch_seconds:
            return {"staged": True, "file": self._flush(staged)}, None
        return {"staged": True}, self.options.batch_seconds - waited

    async def close(self) -> None:
        """Stop the timer; a timed batch is written now rather than wait for the next start."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self.options.batch > 1 and self.options.batch_seconds is not None:
            await self.flush_due()

    async def flush_due(self) -> None:
        """Write whatever is staged now (the batch_seconds timer calls this)."""
        async with self._lock:
            await asyncio.to_thread(self._flush_all)

    def _flush_all(self) -> None:
        self.folder.ensure(STAGING)
        self._recover()
        staged = self._staged()
        if staged:
            self._flush(staged)

    def _staged(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for entry in self.folder.list(STAGING):
            if entry.name.endswith(".json"):
                data = self.folder.read_bytes(entry.name)
                try:
                    out.append((entry.name, json.loads(data or b"")))
                except ValueError:
                    continue
        return sorted(out, key=lambda item: (item[1].get("at", 0), item[0]))

    def _flush(self, staged: list[tuple[str, dict[str, Any]]]) -> str:
        first = Message.from_dict(staged[0][1]["message"])
        name = file_name(self.options.name, first, staged[0][1]["delivery_id"], self.ext)
        manifest = {"file": name, "staged": [n for n, _ in staged]}
        manifest_name = f"{STAGING}/batch-{_safe(staged[0][1]['delivery_id'])}.manifest"
        self.folder.write_bytes(manifest_name, json.dumps(manifest).encode())
        self._complete(manifest_name, manifest)
        return name

    def _complete(self, manifest_name: str, manifest: Mapping[str, Any]) -> None:
        names: list[str] = list(manifest["staged"])
        entries = []
        for name in names:
            data = self.folder.read_bytes(name)
            if data is not None:
                entries.append(json.loads(data))
        if len(entries) == len(names):  # else the file was written and removal had begun
            records: list[JSONObject] = []
            for entry in entries:
                records.extend(records_of(entry["message"]["body"]))
            self._write(str(manifest["file"]), self.encode(records))
        flushed = self._load_flushed()
        self.folder.append(f"{STAGING}/flushed.log", "".join(f"{e['delivery_id']}\n" for e in entries).encode())
        for entry in entries:
            flushed[entry["delivery_id"]] = None
        if len(flushed) > 2 * _REMEMBERED:  # keep the memory of written ids bounded
            kept = list(flushed)[-_REMEMBERED:]
            self.folder.write_bytes(f"{STAGING}/flushed.log", "".join(f"{i}\n" for i in kept).encode())
            self._flushed = dict.fromkeys(kept)
        for name in names:
            self.folder.remove(name)
        self.folder.remove(manifest_name)

    def _recover(self) -> None:
        for entry in self.folder.list(STAGING):
            if entry.name.endswith(".manifest"):
                data = self.folder.read_bytes(entry.name)
                if data is not None:
                    self._complete(entry.name, json.loads(data))
