"""Bulk load CSV -> PostgreSQL: a `files` trigger with `bulk: true` submits one message per chunk
of a file (a byte range of the archived file); the postgres sink streams it with COPY (FORMAT
csv), effectively once per chunk; the config checks keep it to flows it can serve; a kill -9 of
`interlace run` mid-file loses and repeats nothing."""

from __future__ import annotations

import csv
import io
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from interlace.config.loader import load_config
from interlace.connectors import bulk as shared_bulk
from interlace.connectors.files import FilesConnector, FilesSettings, FilesSourceOptions
from interlace.connectors.files import bulk as csv_bulk
from interlace.connectors.postgres import PostgresConnector, PostgresSettings
from interlace.connectors.sql.options import SqlSinkOptions
from interlace.errors import ConfigError, DeliveryError
from interlace.formats.csv import CsvFormat
from interlace.message import Message

from .conftest import MemoryIngress
from support import HubProcess, free_port

ROWS = 20_000


def _name(i: int) -> str:
    """Awkward values: commas, quotes and newlines inside quoted fields, now and then."""
    if i % 7 == 0:
        return f'line one of {i}\nline "two", with a comma'
    if i % 5 == 0:
        return f"{i}, comma"
    return f"row {i}"


HEADER = ("id", "name", "qty", "note")


def write_csv(path: Path, rows: int, *, first: int = 1, header: tuple[str, ...] = HEADER) -> None:
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\r\n")
    writer.writerow(header)
    for i in range(first, first + rows):
        values = {"id": i, "name": _name(i), "qty": i % 97, "note": "ignored", "price": f"{i / 100:.2f}"}
        writer.writerow([values[h] for h in header])
    path.write_bytes(text.getvalue().encode())


@pytest.fixture
async def pg(pg_dsn: str) -> AsyncIterator[tuple[asyncpg.Connection, str]]:
    conn = await asyncpg.connect(pg_dsn)
    dst = f"bulkcsv_{uuid.uuid4().hex[:8]}"
    await conn.execute(f"CREATE TABLE {dst} (id bigint PRIMARY KEY, name text, qty integer, loaded timestamptz "
                       "DEFAULT now())")  # fmt: skip
    try:
        yield conn, dst
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {dst}")
        await conn.close()


async def _chunks(source: Any, ingress: MemoryIngress) -> list[tuple[Message, str]]:
    await source.poll(ingress)  # seen once
    await source.poll(ingress)  # stable: taken
    return [
        (Message(flow="load", source="drop", event=item.event, key=item.key, body=item.body),
         f"d-{item.idempotency_key}")
        for _, item in ingress.items
    ]  # fmt: skip


def _expected(i: int) -> tuple[int, str, int]:
    return i, _name(i), i % 97


async def test_a_csv_file_lands_every_row_exactly_once(
    tmp_path: Path, pg: tuple[asyncpg.Connection, str], pg_dsn: str
) -> None:
    conn, dst = pg
    drop = tmp_path / "drop"
    drop.mkdir()
    write_csv(drop / "orders.csv", ROWS)
    files = FilesConnector("drop", FilesSettings.model_validate({"path": drop, "format": "csv"}))
    target = PostgresConnector("erp", PostgresSettings(dsn=pg_dsn))
    try:
        source = files.source("load", FilesSourceOptions(bulk=True, chunk=3_000, pattern="*.csv"))
        ingress = MemoryIngress()
        chunks = await _chunks(source, ingress)
        assert len(chunks) == 7  # 6 x 3,000 + 2,000: one message per chunk, not per row
        assert not (drop / "orders.csv").exists() and (drop / "archive" / "orders.csv").exists()
        first = chunks[0][0]
        assert first.event == "chunk" and shared_bulk.kind_of(first) == "csv"
        assert first.body["file"] == "archive/orders.csv" and first.body["rows"] == 3000
        assert first.body["columns"] == ["id", "name", "qty", "note"]
        assert first.body["start"] == len(b"id,name,qty,note\r\n")
        ends = [m.body["end"] for m, _ in chunks]
        assert [m.body["start"] for m, _ in chunks[1:]] == ends[:-1]  # contiguous
        assert ends[-1] == (drop / "archive" / "orders.csv").stat().st_size
        assert ingress.cursors["files:drop:load"]["done"] is True

        sink = target.sink(SqlSinkOptions(table=dst, mode="insert"))  # `note` is not a column: staged
        results = await sink.deliver_many(chunks)
        assert [r["rows"] for r in results] == [3000] * 6 + [2000]
        assert {r["status"] for r in results} == {"inserted"}
        got = [tuple(r) for r in await conn.fetch(f"SELECT id, name, qty FROM {dst} ORDER BY id")]
        assert got == [_expected(i) for i in range(1, ROWS + 1)]
    finally:
        await target.close()
        await files.close()


async def test_a_chunk_delivered_twice_adds_nothing_and_upserts_work(
    tmp_path: Path, pg: tuple[asyncpg.Connection, str], pg_dsn: str
) -> None:
    conn, dst = pg
    drop = tmp_path / "drop"
    drop.mkdir()
    write_csv(drop / "a.csv", 5_000, header=("qty", "id", "name"))  # any column order
    files = FilesConnector("drop", FilesSettings.model_validate({"path": drop, "format": "csv"}))
    target = PostgresConnector("erp", PostgresSettings(dsn=pg_dsn))
    try:
        source = files.source("load", FilesSourceOptions(bulk=True, chunk=5_000))
        (chunk,) = await _chunks(source, MemoryIngress())
        sink = target.sink(SqlSinkOptions(table=dst, mode="insert"))
        assert (await sink.deliver(*chunk))["status"] == "inserted"
        assert (await sink.deliver(*chunk))["status"] == "duplicate"
        assert [r["status"] for r in await sink.deliver_many([chunk, chunk])] == ["duplicate", "duplicate"]
        assert await conn.fetchval(f"SELECT count(*) FROM {dst}") == 5_000

        await conn.execute(f"UPDATE {dst} SET name = 'old'")
        upsert = target.sink(SqlSinkOptions(table=dst, mode="upsert", key="id"))
        result = await upsert.deliver(chunk[0], chunk[1] + "-upsert")
        assert result["status"] == "upserted" and result["rows"] == 5_000
        assert await conn.fetchval(f"SELECT count(*) FROM {dst} WHERE name = 'old'") == 0
        assert await conn.fetchval(f"SELECT count(*) FROM {dst}") == 5_000
    finally:
        await target.close()
        await files.close()


async def test_a_chunk_outside_the_folder_or_of_a_changed_file_is_refused(
    tmp_path: Path, pg: tuple[asyncpg.Connection, str], pg_dsn: str
) -> None:
    conn, dst = pg
    drop = tmp_path / "drop"
    drop.mkdir()
    write_csv(drop / "a.csv", 100)
    outside = tmp_path / "secret.csv"
    write_csv(outside, 100, first=1000)
    (drop / "link.csv").symlink_to(outside)
    files = FilesConnector("drop", FilesSettings.model_validate({"path": drop, "format": "csv"}))
    target = PostgresConnector("erp", PostgresSettings(dsn=pg_dsn))
    try:
        source = files.source("load", FilesSourceOptions(bulk=True, pattern="a.csv"))
        (chunk,) = await _chunks(source, MemoryIngress())
        message, delivery = chunk
        sink = target.sink(SqlSinkOptions(table=dst, mode="insert"))
        for bad in ("../secret.csv", str(outside), "link.csv", "archive/../../secret.csv"):
            forged = message.replace(body={**message.body, "file": bad})
            with pytest.raises(DeliveryError) as caught:
                await sink.deliver(forged, delivery + bad)
            assert not caught.value.retryable
        other = message.replace(source="elsewhere")  # must come from the system it names
        with pytest.raises(DeliveryError, match="came from"):
            await sink.deliver(other, delivery + "x")
        unknown = message.replace(source="nope", body={**message.body, "system": "nope"})
        with pytest.raises(DeliveryError, match="no local files system"):
            await sink.deliver(unknown, delivery + "y")
        (drop / "archive" / "a.csv").write_bytes(b"id,name\n1,changed\n")
        with pytest.raises(DeliveryError, match="changed since"):
            await sink.deliver(message, delivery)
        assert await conn.fetchval(f"SELECT count(*) FROM {dst}") == 0
    finally:
        await target.close()
        await files.close()


async def test_a_failing_chunk_fails_alone(tmp_path: Path, pg: tuple[asyncpg.Connection, str], pg_dsn: str) -> None:
    conn, dst = pg
    drop = tmp_path / "drop"
    drop.mkdir()
    write_csv(drop / "a.csv", 300)
    data = (drop / "a.csv").read_bytes().replace(b"\r\n251,row 251,", b"\r\n251,row 251,notanumber")
    (drop / "a.csv").write_bytes(data + b"\r\n\r\n")  # blank lines at the end are skipped
    files = FilesConnector("drop", FilesSettings.model_validate({"path": drop, "format": "csv"}))
    target = PostgresConnector("erp", PostgresSettings(dsn=pg_dsn))
    try:
        chunks = await _chunks(files.source("load", FilesSourceOptions(bulk=True, chunk=100)), MemoryIngress())
        assert [m.body["rows"] for m, _ in chunks] == [100, 100, 100]
        results = await target.sink(SqlSinkOptions(table=dst, mode="insert")).deliver_many(chunks)
        assert isinstance(results[2], DeliveryError) and not results[2].retryable
        assert await conn.fetchval(f"SELECT count(*) FROM {dst}") == 200
    finally:
        await target.close()
        await files.close()


CONFIG = """\
hub: {name: t}
owners: {ops: {email: ops@example.test}}
systems:
  drop: {connector: files, path: ./drop, format: csv}
  remote: {connector: files, sftp: {host: example.test, username: u}, format: csv}
  feed: {connector: files, path: ./feed}
  erp: {connector: postgres, dsn: "postgresql://postgres@127.0.0.1:5432/test"}
  lite: {connector: sqlite, path: ./lite.db}
flows:
  ok:
    trigger: {system: drop, pattern: "*.csv", bulk: true, chunk: 50000}
    deliver: {system: erp, table: dst, mode: upsert, key: id}
  over-sftp:
    trigger: {system: remote, bulk: true}
    deliver: {system: erp, table: dst}
  not-csv:
    trigger: {system: feed, bulk: true}
    deliver: {system: erp, table: dst}
  with-steps:
    trigger: {system: drop, bulk: true}
    steps:
      - map: '{"id": id}'
    deliver: {system: erp, table: dst}
  to-sqlite:
    trigger: {system: drop, bulk: true}
    deliver: {system: lite, table: dst}
  escaped:
    trigger: {system: drop, bulk: true, format: {type: csv, escapechar: "\\\\"}}
    deliver: {system: erp, table: dst}
"""


def test_the_loader_refuses_bulk_csv_flows_it_cannot_serve(tmp_path: Path) -> None:
    path = tmp_path / "hub.yaml"
    path.write_text(CONFIG)
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    found = {(p.path, p.line): p.message for p in caught.value.problems}
    assert "not over sftp" in found.pop(("flows.over-sftp.trigger.bulk", 14))
    assert "loads CSV files, not jsonl" in found.pop(("flows.not-csv.trigger.bulk", 17))
    assert found.pop(("flows.with-steps.steps", 21)).startswith("a `bulk: true` trigger moves chunks")
    assert "only deliver to postgres, not sqlite" in found.pop(("flows.to-sqlite.deliver[0].system", 26))
    assert "escapechar" in found.pop(("flows.escaped.trigger.format", 28))
    assert found == {}, found  # the flow `ok` passes
    assert FilesSourceOptions(bulk=True).chunk == 50_000
    with pytest.raises(ValueError):
        FilesSourceOptions(bulk=True, chunk=0)


def test_the_scan_keeps_quoted_newlines_inside_their_row() -> None:
    data = b'id,name\r\n1,"a\r\nb"\r\n2,"say ""hi""\nthere"\n\n3,c\n4,"d"'
    header, start = csv_bulk.header(io.BytesIO(data), CsvFormat())
    assert header == ["id", "name"] and start == 9
    chunks = list(csv_bulk.scan(io.BytesIO(data), start, 2, b'"'))
    assert [c[2] for c in chunks] == [2, 2]
    rows = [list(csv.reader(io.StringIO(data[s:e].decode()))) for s, e, _ in chunks]
    assert rows == [[["1", "a\r\nb"], ["2", 'say "hi"\nthere']], [["3", "c"], ["4", "d"]]]


HUB = """
hub: {{name: bulkcsv, port: {port}, lease: 5s, workers: 2}}
owners: {{ops: {{email: ops@example.test}}}}
systems:
  drop: {{connector: files, path: ./drop, format: csv}}
  erp: {{connector: postgres, dsn: "{dsn}"}}
flows:
  load:
    trigger: {{system: drop, pattern: "*.csv", bulk: true, chunk: {chunk}, poll_interval: 0.1}}
    deliver: {{system: erp, table: {dst}, mode: insert}}
    on_error: {{retry: {{attempts: 20, backoff: "100ms..1s"}}, owner: ops}}
"""


async def _rows(conn: asyncpg.Connection, table: str) -> tuple[int, int]:
    total, distinct = await conn.fetchrow(f"SELECT count(*), count(DISTINCT id) FROM {table}")
    return int(total), int(distinct)


async def _wait(conn: asyncpg.Connection, table: str, at_least: int, timeout: float) -> tuple[int, int]:
    deadline = time.monotonic() + timeout
    seen = await _rows(conn, table)
    while seen[0] < at_least and time.monotonic() < deadline:
        time.sleep(0.02)
        seen = await _rows(conn, table)
    return seen


async def test_kill_9_during_a_bulk_csv_load_loses_and_repeats_nothing(tmp_path: Path, pg_dsn: str) -> None:
    rows, chunk = 200_000, 2_000
    dst = f"bulkcsvk_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(pg_dsn)
    try:
        await conn.execute(f"CREATE TABLE {dst} (id integer, name text, qty integer)")  # no unique key
        (tmp_path / "drop").mkdir()
        write_csv(tmp_path / "drop" / "big.csv", rows, header=("id", "name", "qty"))
        port = free_port()
        config = tmp_path / "hub.yaml"
        config.write_text(HUB.format(port=port, dsn=pg_dsn, dst=dst, chunk=chunk))

        hub = HubProcess(config, port)
        hub.start()
        try:
            assert (await _wait(conn, dst, rows // 10, timeout=60))[0] >= rows // 10, "the load did not start"
        finally:
            hub.kill()  # SIGKILL, mid-file
        assert (await _rows(conn, dst))[0] < rows, "the load finished before the kill: nothing was tested"

        hub = HubProcess(config, port)
        hub.start()
        try:
            await _wait(conn, dst, rows, timeout=120)
            time.sleep(1.5)  # anything delivered twice would arrive now
        finally:
            hub.stop()
        assert await _rows(conn, dst) == (rows, rows)
        assert await conn.fetchval(f"SELECT count(*) FROM {dst} WHERE name = 'row 1' OR name LIKE 'line one%'") > 0
        assert (tmp_path / "drop" / "archive" / "big.csv").exists()
    finally:
        await conn.execute(f"DROP TABLE IF EXISTS {dst}")
        await conn.close()


async def test_a_restart_resumes_after_the_last_stored_chunk(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    write_csv(drop / "a.csv", 1_000)
    files = FilesConnector("drop", FilesSettings.model_validate({"path": drop, "format": "csv"}))
    options = FilesSourceOptions(bulk=True, chunk=300)
    whole = MemoryIngress()
    chunks = await _chunks(files.source("load", options), whole)
    keys = [item.idempotency_key for _, item in whole.items]
    assert len(keys) == 4
    stop = chunks[1][0].body
    # killed after the second chunk was stored: the cursor names the archived file and its offset
    cursor = {"file": "a.csv", "fingerprint": stop["fingerprint"], "archived": "archive/a.csv", "offset": stop["end"]}
    again = MemoryIngress()
    await files.source("load", options)._resume(again, cursor)  # type: ignore[attr-defined]
    assert [item.idempotency_key for _, item in again.items] == keys[2:]
    # killed between storing the intent and the move: the file is still where it was
    (drop / "archive" / "a.csv").rename(drop / "a.csv")
    cursor = {**cursor, "offset": None}
    third = MemoryIngress()
    await files.source("load", options)._resume(third, cursor)  # type: ignore[attr-defined]
    assert [item.idempotency_key for _, item in third.items] == keys
    await files.close()
