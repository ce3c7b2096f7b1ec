"""The files connector as a source, against the real SQLite store (no fake ingress)."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from interlace.backends.base import NewWork
from interlace.backends.sqlite import SqliteBackend
from interlace.connectors.base import Incoming
from interlace.connectors.files import FilesConnector, FilesSettings, FilesSourceOptions
from interlace.connectors.files.source import FolderSource
from interlace.message import Message
from interlace.types import JSON


class StoreIngress:
    """What a source sees of the hub, over the real backend: durable submit with cursor."""

    def __init__(self, backend: SqliteBackend, fail_after: int | None = None) -> None:
        self.backend = backend
        self.fail_after = fail_after
        self.calls = 0

    async def submit(
        self, flow: str, items: Sequence[Incoming], *, cursor: tuple[str, JSON] | None = None, validate: bool = False
    ) -> list[str]:
        if self.fail_after is not None and self.calls >= self.fail_after:
            raise ConnectionError("the store went away")
        self.calls += 1
        work = [
            NewWork(
                Message(flow=flow, body=i.body, key=i.key, event=i.event, headers=i.headers),
                idempotency_key=f"{flow}:{i.idempotency_key}",
            )
            for i in items
        ]
        return await self.backend.enqueue(work, cursor=cursor)

    async def load_cursor(self, name: str) -> JSON:
        return await self.backend.load_cursor(name)

    def flows_for(self, system: str, event: str | None) -> list[str]:
        return []

    async def receive(self, system: str, event: str | None, item: Incoming) -> dict[str, str]:
        return {}


@pytest.fixture
def backend(sqlite_store: SqliteBackend) -> SqliteBackend:
    return sqlite_store


def stored(db: Path) -> list[JSON]:
    with sqlite3.connect(db) as conn:
        return [json.loads(r[0]) for r in conn.execute("SELECT message FROM work ORDER BY id")]


def connector(folder: Path, fmt: object) -> FilesConnector:
    return FilesConnector("drop", FilesSettings.model_validate({"path": folder, "format": fmt}))


FIXED = {
    "fields": [
        {"name": "id", "length": 5, "type": "int"},
        {"name": "amount", "length": 7, "type": "decimal", "decimals": 2},
    ]
}


async def test_a_stable_file_is_submitted_then_archived(tmp_path: Path, backend: SqliteBackend) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "orders.csv").write_text("id,email\nA1,a@x.test\nA2,b@x.test\n")
    (drop / "notes.txt").write_text("not a csv")
    source = connector(drop, "csv").source("orders", FilesSourceOptions(pattern="*.csv", key_field="id"))
    assert isinstance(source, FolderSource)
    ingress = StoreIngress(backend)
    await asyncio.to_thread(source._prepare)
    assert await source.poll(ingress) == 0  # first sight: not known to be complete yet
    assert await source.poll(ingress) == 1
    messages = stored(tmp_path / "hub.db")
    assert [m["body"] for m in messages] == [{"id": "A1", "email": "a@x.test"}, {"id": "A2", "email": "b@x.test"}]
    assert [m["key"] for m in messages] == ["A1", "A2"]
    assert messages[0]["headers"] == {"file": "orders.csv", "record": "1"}
    assert (drop / "archive" / "orders.csv").exists() and not (drop / "orders.csv").exists()
    assert (drop / "notes.txt").exists()
    cursor = await backend.load_cursor("files:drop:orders")
    assert cursor["file"] == "orders.csv" and cursor["record"] == 2


async def test_a_growing_file_waits_and_a_marker_file_releases_it(tmp_path: Path, backend: SqliteBackend) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    source = connector(drop, "jsonl").source("f", FilesSourceOptions(complete="marker"))
    assert isinstance(source, FolderSource)
    (drop / "a.jsonl").write_text('{"n": 1}\n')
    ingress = StoreIngress(backend)
    assert await source.poll(ingress) == 0
    assert await source.poll(ingress) == 0
    (drop / "a.jsonl.done").write_text("")
    assert await source.poll(ingress) == 1
    assert not (drop / "a.jsonl.done").exists()
    stable = connector(drop, "jsonl").source("g", FilesSourceOptions())
    assert isinstance(stable, FolderSource)
    (drop / "b.jsonl").write_text('{"n": 1}\n')
    assert stable.ready() == []
    with (drop / "b.jsonl").open("a") as f:
        f.write('{"n": 2}\n')
    assert stable.ready() == []  # it grew since the last poll
    assert [e.name for e in stable.ready()] == ["b.jsonl"]


async def test_bad_records_go_to_error_with_a_report_and_the_good_ones_are_delivered(
    tmp_path: Path, backend: SqliteBackend
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "pay.txt").write_bytes(b"000010001250\n00002000x250\n000030000001\n0000400000\n1234567890123\n")
    source = connector(drop, FIXED).source("pay", FilesSourceOptions(batch_size=2))
    assert isinstance(source, FolderSource)
    entry = source.folder.stat("pay.txt")
    assert entry is not None
    await asyncio.to_thread(source._prepare)
    await source.process(StoreIngress(backend), entry, 0)
    bodies = [m["body"] for m in stored(tmp_path / "hub.db")]
    assert bodies == [{"id": 1, "amount": "12.50"}, {"id": 3, "amount": "0.01"}, {"id": 4, "amount": "0.00"}]
    assert (drop / "error" / "pay.txt").read_bytes() == b"00002000x250\n1234567890123\n"
    report = json.loads((drop / "error" / "pay.txt.report.json").read_text())
    assert report["failed"] == 2
    assert [(r["record"], r["offset"], r["field"]) for r in report["records"]] == [(2, 13 + 5, "amount"), (5, 50, None)]
    assert (drop / "archive" / "pay.txt").exists()
    assert sorted(p.name for p in (drop / "error").iterdir()) == ["pay.txt", "pay.txt.report.json"]


async def test_a_failure_mid_file_resumes_after_the_last_stored_batch_exactly_once(
    tmp_path: Path, backend: SqliteBackend
) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    lines = [json.dumps({"n": n}) for n in range(1, 1001)]
    lines[499] = "{broken"
    (drop / "big.jsonl").write_text("\n".join(lines) + "\n")
    options = FilesSourceOptions(batch_size=64, poll_interval=0.01)
    first = connector(drop, "jsonl").source("big", options)
    assert isinstance(first, FolderSource)
    entry = first.folder.stat("big.jsonl")
    assert entry is not None
    await asyncio.to_thread(first._prepare)
    with pytest.raises(ConnectionError):
        await first.process(StoreIngress(backend, fail_after=9), entry, 0)
    assert len(stored(tmp_path / "hub.db")) == 9 * 64 - 1
    # Restart: a new source finds the cursor and goes on from record 577.
    second = connector(drop, "jsonl").source("big", options)
    task = asyncio.create_task(second.run(StoreIngress(backend)))
    for _ in range(200):
        await asyncio.sleep(0.02)
        if (drop / "archive" / "big.jsonl").exists():
            break
    task.cancel()
    numbers = [m["body"]["n"] for m in stored(tmp_path / "hub.db")]
    assert sorted(numbers) == [n for n in range(1, 1001) if n != 500]
    report = json.loads((drop / "error" / "big.jsonl.report.json").read_text())
    assert [r["record"] for r in report["records"]] == [500]


async def test_a_record_read_twice_is_enqueued_once(tmp_path: Path, backend: SqliteBackend) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.jsonl").write_text('{"n": 1}\n{"n": 2}\n')
    source = connector(drop, "jsonl").source("f", FilesSourceOptions())
    assert isinstance(source, FolderSource)
    entry = source.folder.stat("a.jsonl")
    assert entry is not None
    await asyncio.to_thread(source._prepare)
    ingress = StoreIngress(backend)
    records = list(source.codec.read(source.folder.open_read("a.jsonl"), name="a.jsonl"))
    item = source._incoming("a.jsonl", "x", records[0])
    assert item.idempotency_key == "a.jsonl:x:1"
    await ingress.submit("f", [item, item])
    await source.process(ingress, entry, 0)
    assert len(stored(tmp_path / "hub.db")) == 3  # 1 from the doubled submit, then 1 and 2 of the file
