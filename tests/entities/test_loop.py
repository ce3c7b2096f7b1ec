"""No ping-pong: two real systems (PostgreSQL and MariaDB) both send and receive the same entity,
and 1,000 updates are made in them as fast as they go. Every write either system receives is
logged by a trigger in the system itself: no update reaches a system more than once, none comes
back to the system it was made in, and both end equal to the golden record."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiomysql
import asyncpg
import pytest

from entity_support import MYSQL_DSN, PG_DSN, eventually, running_hub

from support import free_port, require_service

RECORDS = 100
UPDATES = 1000

CONFIG = """
hub: {{name: loop, store: "sqlite:///hub.db", poll: 20ms}}
systems:
  a: {{connector: postgres, dsn: "{pg}"}}
  b: {{connector: mysql, dsn: "{my}"}}
entities:
  account:
    key: id
    schema: {{type: object, required: [id, name], properties: {{id: {{type: integer}}, name: {{type: string}}}}}}
    mode: integrate
    subscribers:
      a:
        trigger: {{table: {t}, cursor: updated_at, key: id, every: 50ms}}
        deliver: {{table: {t}, mode: upsert, key: id}}
      b:
        trigger: {{table: {t}, cursor: updated_at, key: id, every: 50ms}}
        deliver: {{table: {t}, mode: upsert, key: id}}
"""


class Systems:
    def __init__(self, pg: asyncpg.Connection, my: aiomysql.Connection, table: str) -> None:
        self.pg, self.my, self.table = pg, my, table

    async def mysql(self, sql: str, *args: Any) -> list[tuple[Any, ...]]:
        async with self.my.cursor() as cur:
            await cur.execute(sql, args)
            return list(await cur.fetchall())

    async def create(self) -> None:
        t = self.table
        await self.pg.execute(
            f"CREATE TABLE {t} (id integer PRIMARY KEY, name text NOT NULL,"
            " updated_at timestamptz NOT NULL DEFAULT clock_timestamp())"
        )
        await self.pg.execute(f"CREATE TABLE {t}_log (n bigserial PRIMARY KEY, id integer, name text)")
        await self.pg.execute(
            f"CREATE FUNCTION {t}_touch() RETURNS trigger LANGUAGE plpgsql AS"
            " $$ BEGIN NEW.updated_at = clock_timestamp(); RETURN NEW; END $$"
        )
        await self.pg.execute(
            f"CREATE FUNCTION {t}_audit() RETURNS trigger LANGUAGE plpgsql AS"
            f" $$ BEGIN INSERT INTO {t}_log (id, name) VALUES (NEW.id, NEW.name); RETURN NULL; END $$"
        )
        await self.pg.execute(f"CREATE TRIGGER touch BEFORE UPDATE ON {t} FOR EACH ROW EXECUTE FUNCTION {t}_touch()")
        await self.pg.execute(
            f"CREATE TRIGGER audit AFTER INSERT OR UPDATE ON {t} FOR EACH ROW EXECUTE FUNCTION {t}_audit()"
        )
        await self.mysql(
            f"CREATE TABLE {t} (id INT PRIMARY KEY, name VARCHAR(64) NOT NULL,"
            " updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) ON UPDATE CURRENT_TIMESTAMP(6))"
        )
        await self.mysql(f"CREATE TABLE {t}_log (n BIGINT AUTO_INCREMENT PRIMARY KEY, id INT, name VARCHAR(64))")
        for op in ("INSERT", "UPDATE"):
            await self.mysql(
                f"CREATE TRIGGER {t}_{op.lower()} AFTER {op} ON {t} FOR EACH ROW"
                f" INSERT INTO {t}_log (id, name) VALUES (NEW.id, NEW.name)"
            )

    async def drop(self) -> None:
        t = self.table
        for table in (t, f"{t}_log"):
            await self.pg.execute(f"DROP TABLE IF EXISTS {table}")
            await self.mysql(f"DROP TABLE IF EXISTS {table}")
        await self.pg.execute(f"DROP FUNCTION IF EXISTS {t}_touch()")
        await self.pg.execute(f"DROP FUNCTION IF EXISTS {t}_audit()")

    async def rows(self) -> tuple[dict[int, str], dict[int, str]]:
        a = {r["id"]: r["name"] for r in await self.pg.fetch(f"SELECT id, name FROM {self.table}")}
        b = {r[0]: r[1] for r in await self.mysql(f"SELECT id, name FROM {self.table}")}
        return a, b

    async def logs(self) -> tuple[list[str], list[str]]:
        a = [r["name"] for r in await self.pg.fetch(f"SELECT name FROM {self.table}_log ORDER BY n")]
        b = [r[0] for r in await self.mysql(f"SELECT name FROM {self.table}_log ORDER BY n")]
        return a, b


@pytest.fixture
async def systems() -> AsyncIterator[Systems]:
    require_service("postgres")
    require_service("mysql")
    pg = await asyncpg.connect(PG_DSN)
    my = await aiomysql.connect(host="127.0.0.1", port=3306, user="root", password="", db="test", autocommit=True)
    s = Systems(pg, my, f"acct_{uuid.uuid4().hex[:8]}")
    await s.create()
    try:
        yield s
    finally:
        await s.drop()
        await pg.close()
        my.close()


async def test_a_thousand_updates_both_ways_never_bounce(tmp_path: Path, systems: Systems) -> None:
    config = tmp_path / "hub.yaml"
    config.write_text(CONFIG.format(pg=PG_DSN, my=MYSQL_DSN, t=systems.table))
    t = systems.table
    async with running_hub(config, free_port()) as hub:
        # half the accounts are born in a, half in b
        for i in range(RECORDS):
            if i % 2 == 0:
                await systems.pg.execute(f"INSERT INTO {t} (id, name) VALUES ($1, $2)", i, f"a-new-{i}")
            else:
                await systems.mysql(f"INSERT INTO {t} (id, name) VALUES (%s, %s)", i, f"b-new-{i}")

        async def both_have_all() -> bool:
            a, b = await systems.rows()
            return len(a) == RECORDS and a == b

        await eventually(both_have_all, timeout=60, what="every account in both systems")

        # 1,000 updates: even accounts change in a, odd ones in b, each to a value never used before
        for n in range(UPDATES):
            i = (n * 7) % RECORDS
            if i % 2 == 0:
                await systems.pg.execute(f"UPDATE {t} SET name = $1 WHERE id = $2", f"a-{n}", i)
            else:
                await systems.mysql(f"UPDATE {t} SET name = %s WHERE id = %s", f"b-{n}", i)
        last = {(n * 7) % RECORDS: n for n in range(UPDATES)}
        expected = {i: f"{'a' if i % 2 == 0 else 'b'}-{n}" for i, n in last.items()}

        async def converged() -> bool:
            a, b = await systems.rows()
            return a == b == expected

        await eventually(converged, timeout=90, what="both systems at the last update")
        await hub.worker.drain(timeout=30)
        await asyncio.sleep(1.0)  # time for any echo to come back, if one were to
        assert await hub.backend.pending() == 0, "nothing keeps circulating"
        golden = await hub.backend.golden_page("account", None, 1000)
        assert {int(r.key): r.values["name"] for r in golden} == expected
        counts = {c.flow: c.delivered for c in await hub.backend.counts()}
        half = RECORDS // 2 + UPDATES // 2
        assert counts["account:to:a"] <= half and counts["account:to:b"] <= half, "at most one delivery per change"

    log_a, log_b = await systems.logs()
    # every value a system received from the hub came from the other system, exactly once
    from_b_in_a = Counter(v for v in log_a if v.startswith("b-"))
    from_a_in_b = Counter(v for v in log_b if v.startswith("a-"))
    assert from_b_in_a and from_a_in_b
    assert max(from_b_in_a.values()) == 1, "an update reached system a twice"
    assert max(from_a_in_b.values()) == 1, "an update reached system b twice"
    # none bounced: each value made in a system was written there once (by the test), never again
    own_a = Counter(v for v in log_a if v.startswith("a-"))
    own_b = Counter(v for v in log_b if v.startswith("b-"))
    assert len(own_a) + len(own_b) == UPDATES + RECORDS
    assert max(own_a.values()) == 1 and max(own_b.values()) == 1, "an update bounced back to its origin"
    # and every last value crossed over
    assert all(expected[i] in (from_b_in_a if i % 2 else from_a_in_b) for i in expected)
