"""`interlace backfill`: golden records built from two real systems' current data with overlapping
keys (a PostgreSQL crm owning `name`, a MariaDB erp owning `tier`), through the real CLI, killed
part way (kill -9) and resumed: the right golden records, every conflict reported once, and the
resumed run does not read again what the first one wrote."""

from __future__ import annotations

import csv
import os
import signal
import sqlite3
import subprocess
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomysql
import asyncpg
import pytest

from entity_support import MYSQL_DSN, PG_DSN
from interlace.backends import open_backend

from support import BIN, interlace, require_service

CONFIG = """
hub: {{name: backfill, store: "sqlite:///hub.db"}}
owners: {{data-team: {{email: data@acme.test}}}}
systems:
  crm: {{connector: postgres, dsn: "{pg}"}}
  erp: {{connector: mysql, dsn: "{my}"}}
entities:
  customer:
    key: id
    schema:
      type: object
      required: [id, name]
      properties: {{id: {{type: integer}}, name: {{type: string}}, tier: {{type: string}}}}
    source_of_truth: crm
    owner: data-team
    fields: {{tier: {{owner: erp}}}}
    mode: integrate
    subscribers:
      crm:
        trigger: {{table: {crm}, cursor: updated_at, key: id}}
        deliver: {{table: {crm}, mode: upsert, key: id}}
      erp:
        trigger: {{table: {erp}, cursor: updated_at, key: id}}
        deliver: {{table: {erp}, mode: upsert, key: id}}
"""


def crm_rows(n: int) -> list[tuple[int, str, str]]:
    """Keys 0 .. 3n/4; the crm also holds a tier (not its field), differing from the erp's every 7th."""
    return [(i, f"name-{i}", f"t{i % 3}" if i % 7 else "crm-tier") for i in range(0, n * 3 // 4)]


def erp_rows(n: int) -> list[tuple[int, str, str]]:
    """Keys n/4 .. n; its names differ from the crm's every 10th key."""
    return [(i, f"name-{i}" if i % 10 else f"erp-name-{i}", f"t{i % 3}") for i in range(n // 4, n)]


def expected(n: int) -> tuple[dict[str, dict[str, Any]], set[tuple[str, str, str]]]:
    crm = {i: (name, tier) for i, name, tier in crm_rows(n)}
    erp = {i: (name, tier) for i, name, tier in erp_rows(n)}
    golden: dict[str, dict[str, Any]] = {}
    conflicts: set[tuple[str, str, str]] = set()
    for i in sorted(crm.keys() | erp.keys()):
        name = crm[i][0] if i in crm else erp[i][0]
        tier = erp[i][1] if i in erp else crm[i][1]
        golden[str(i)] = {"id": i, "name": name, "tier": tier}
        if i in crm and i in erp:
            if crm[i][0] != erp[i][0]:
                conflicts.add((str(i), "name", "erp"))
            if crm[i][1] != erp[i][1]:
                conflicts.add((str(i), "tier", "crm"))
    return golden, conflicts


class Tables:
    def __init__(self, pg: asyncpg.Connection, my: aiomysql.Connection) -> None:
        self.pg, self.my = pg, my
        suffix = uuid.uuid4().hex[:8]
        self.crm, self.erp = f"bf_crm_{suffix}", f"bf_erp_{suffix}"

    async def fill(self, n: int) -> None:
        await self.pg.execute(f"CREATE TABLE {self.crm} (id integer PRIMARY KEY, name text, tier text,"
                              " updated_at timestamptz NOT NULL DEFAULT now())")  # fmt: skip
        await self.pg.copy_records_to_table(self.crm, records=crm_rows(n), columns=["id", "name", "tier"])
        async with self.my.cursor() as cur:
            await cur.execute(f"CREATE TABLE {self.erp} (id INT PRIMARY KEY, name VARCHAR(64), tier VARCHAR(16),"
                              " updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6))")  # fmt: skip
            rows = erp_rows(n)
            for start in range(0, len(rows), 5000):
                await cur.executemany(f"INSERT INTO {self.erp} (id, name, tier) VALUES (%s, %s, %s)",
                                      rows[start : start + 5000])  # fmt: skip

    async def drop(self) -> None:
        await self.pg.execute(f"DROP TABLE IF EXISTS {self.crm}")
        async with self.my.cursor() as cur:
            await cur.execute(f"DROP TABLE IF EXISTS {self.erp}")


@pytest.fixture
async def tables() -> AsyncIterator[Tables]:
    require_service("postgres")
    require_service("mysql")
    pg = await asyncpg.connect(PG_DSN)
    my = await aiomysql.connect(host="127.0.0.1", port=3306, user="root", password="", db="test", autocommit=True)
    t = Tables(pg, my)
    try:
        yield t
    finally:
        await t.drop()
        await pg.close()
        my.close()


def cursor_state(store: Path) -> str | None:
    if not store.exists():
        return None
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT value FROM cursors WHERE name = 'backfill:customer'").fetchone()
    except sqlite3.OperationalError:  # the schema is not there yet
        return None
    return None if row is None else str(row[0])


def interrupted_backfill(config: Path, batch: int) -> str:
    """Start `interlace backfill`, kill -9 it once it has written some pages; its cursor then."""
    proc = subprocess.Popen(
        [str(BIN / "interlace"), "backfill", str(config), "customer", "--batch", str(batch)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=config.parent,
    )  # fmt: skip
    store = config.parent / "hub.db"
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            state = cursor_state(store)
            if state is not None and '"system":"' in state:  # part way through a system
                os.kill(proc.pid, signal.SIGKILL)
                break
            time.sleep(0.005)
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
    state = cursor_state(store)
    assert state is not None and '"finished":false' in state.replace(" ", ""), f"not interrupted part way: {state}"
    return state


async def backfill_and_check(tmp_path: Path, tables: Tables, n: int, batch: int) -> None:
    await tables.fill(n)
    config = tmp_path / "hub.yaml"
    config.write_text(CONFIG.format(pg=PG_DSN, my=MYSQL_DSN, crm=tables.crm, erp=tables.erp))
    interrupted_backfill(config, batch)

    report = tmp_path / "conflicts.csv"
    done = interlace("backfill", str(config), "customer", "--batch", str(batch), "--report", str(report),
                     cwd=tmp_path, check=True)  # fmt: skip
    assert "resumed" in done.stdout, done.stdout
    total_rows = len(crm_rows(n)) + len(erp_rows(n))
    read = sum(int(part.split()[-1]) for part in done.stdout.split("read ", 1)[1].split(" in ")[0].split(", "))
    assert 0 < read < total_rows, f"the resumed run read {read} of {total_rows} records: it did not resume"

    golden_expected, conflicts_expected = expected(n)
    with report.open() as fh:
        reported = [(r["key"], r["field"], r["system"]) for r in csv.DictReader(fh)]
    assert len(reported) == len(set(reported)), "a conflict was reported twice"
    assert set(reported) == conflicts_expected
    assert f"{len(conflicts_expected)} conflict(s); 0 incomplete" in done.stdout

    backend = open_backend(f"sqlite:///{tmp_path / 'hub.db'}")
    await backend.open()
    try:
        found: dict[str, dict[str, Any]] = {}
        after = None
        while page := await backend.golden_page("customer", after, 10_000):
            found.update((r.key, r.values) for r in page)
            after = page[-1].key
        assert len(found) == len(golden_expected) == n
        assert found == golden_expected
        sample = (await backend.golden("customer", [str(n // 2)]))[str(n // 2)]
        assert (sample.provenance["name"].system, sample.provenance["tier"].system) == ("crm", "erp")
    finally:
        await backend.close()

    # a finished backfill run again is a new run: it changes nothing and finds the same conflicts
    again = interlace("backfill", str(config), "customer", "--batch", str(batch * 10), cwd=tmp_path, check=True)
    assert "resumed" not in again.stdout and f"{len(conflicts_expected)} conflict(s)" in again.stdout


async def test_backfill_5000_records_interrupted_and_resumed(tmp_path: Path, tables: Tables) -> None:
    await backfill_and_check(tmp_path, tables, 5000, batch=50)


@pytest.mark.long
async def test_backfill_100000_records_interrupted_and_resumed(tmp_path: Path, tables: Tables) -> None:
    await backfill_and_check(tmp_path, tables, 100_000, batch=1000)
