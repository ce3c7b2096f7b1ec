"""Real services for the database connector tests, and an in-memory twin of the hub's ingress.

A test that needs PostgreSQL or MariaDB skips, saying why, when the service is not running;
under CI=true an absent service fails the test instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from interlace.connectors.base import Incoming
from interlace.connectors.mysql import MysqlConnector, MysqlSettings
from interlace.connectors.postgres import PostgresConnector, PostgresSettings
from interlace.connectors.sql.connector import SqlConnector
from interlace.connectors.sqlite import SqliteConnector, SqliteSettings
from interlace.message import Message
from interlace.types import JSON

from support import require_service

PG_DSN = os.environ.get("INTERLACE_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")
MYSQL_DSN = os.environ.get("INTERLACE_TEST_MYSQL_DSN", "mysql://root@127.0.0.1:3306/test")
ENGINES = ["sqlite", "postgres", "mysql"]


class MemoryIngress:
    """The hub's ingress, in memory: keeps submitted items and cursors; an item whose
    idempotency key was seen before is not kept again."""

    def __init__(self) -> None:
        self.items: list[tuple[str, Incoming]] = []
        self.cursors: dict[str, JSON] = {}
        self._seen: set[str] = set()
        self.submits = 0

    async def submit(
        self, flow: str, items: Sequence[Incoming], *, cursor: tuple[str, JSON] | None = None,
        validate: bool = False,
    ) -> list[str]:  # fmt: skip
        self.submits += 1
        ids = []
        for item in items:
            ids.append(uuid.uuid4().hex)
            if item.idempotency_key is not None:
                if item.idempotency_key in self._seen:
                    continue
                self._seen.add(item.idempotency_key)
            self.items.append((flow, item))
        if cursor is not None:
            self.cursors[cursor[0]] = cursor[1]
        return ids

    async def load_cursor(self, name: str) -> JSON:
        return self.cursors.get(name)

    def flows_for(self, system: str, event: str | None) -> list[str]:
        return []

    async def receive(self, system: str, event: str | None, item: Incoming) -> dict[str, str]:
        (message_id,) = await self.submit(f"{system}:{event}", [item])
        return {f"{system}:{event}": message_id}

    def take(self) -> list[tuple[Message, str]]:
        """Everything submitted so far as (message, delivery id), and forget it."""
        out = [
            (Message(flow=flow, event=item.event, key=item.key, body=item.body), f"d-{item.idempotency_key}")
            for flow, item in self.items
        ]
        self.items = []
        return out


class Engine:
    """One database engine under test: its connector and a few raw-SQL helpers."""

    def __init__(self, name: str, connector: SqlConnector) -> None:
        self.name = name
        self.connector = connector
        self.created: list[str] = []

    def table_name(self) -> str:
        return f"t_{uuid.uuid4().hex[:10]}"

    async def run(self, sql: str, *params: Any) -> int:
        """Run one statement, `?` standing for each parameter."""
        db = await self.connector.database()
        parts = sql.split("?")
        text = parts[0] + "".join(db.ph(i) + part for i, part in enumerate(parts[1:], 1))
        async with db.transaction() as tx:
            return await tx.execute(text, [db.adapt(p) for p in params])

    async def rows(self, table: str, order: str = "id") -> list[dict[str, Any]]:
        db = await self.connector.database()
        return await db.fetch(f"SELECT * FROM {db.q(table)} ORDER BY {db.q(order)}")

    async def create(self, table: str, columns: dict[str, str]) -> str:
        """CREATE TABLE with columns given as portable kinds: int, pk, text, decimal, datetime, bool."""
        types = _TYPES[self.name]
        defs = ", ".join(f"{name} {types[kind]}" for name, kind in columns.items())
        await self.run(f"CREATE TABLE {table} ({defs})")
        self.created.append(table)
        return table

    async def drop_created(self) -> None:
        for table in self.created:
            await self.run(f"DROP TABLE IF EXISTS {table}")


_TYPES = {
    "sqlite": {"pk": "INTEGER PRIMARY KEY", "int": "INTEGER", "text": "TEXT NOT NULL", "decimal": "DECIMAL(10,2)",
               "datetime": "DATETIME", "bool": "BOOLEAN", "key": "TEXT PRIMARY KEY"},
    "postgres": {"pk": "integer PRIMARY KEY", "int": "integer", "text": "text NOT NULL", "decimal": "numeric(10,2)",
                 "datetime": "timestamp", "bool": "boolean", "key": "text PRIMARY KEY"},
    "mysql": {"pk": "INT PRIMARY KEY", "int": "INT", "text": "VARCHAR(100) NOT NULL", "decimal": "DECIMAL(10,2)",
              "datetime": "DATETIME(6)", "bool": "TINYINT(1)", "key": "VARCHAR(64) PRIMARY KEY"},
}  # fmt: skip


def make_connector(name: str, tmp_path: Path) -> SqlConnector:
    if name == "sqlite":
        return SqliteConnector("lite", SqliteSettings(path=str(tmp_path / "lite.db")))
    require_service(name)
    if name == "postgres":
        return PostgresConnector("pg", PostgresSettings(dsn=PG_DSN))
    return MysqlConnector("my", MysqlSettings(dsn=MYSQL_DSN))


@pytest.fixture
def ingress() -> MemoryIngress:
    return MemoryIngress()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[Any]:
    """The real embedded store, open, in `tmp_path / "hub.db"`."""
    from interlace.backends.sqlite import SqliteBackend

    store = SqliteBackend(tmp_path / "hub.db")
    await store.open()
    yield store
    await store.close()


@pytest.fixture
def engines(tmp_path: Path) -> Iterator[Callable[[str], Engine]]:
    """`engines("postgres")`: an Engine, closed and its tables dropped after the test."""
    made: list[Engine] = []

    def make(name: str) -> Engine:
        folder = tmp_path / f"engine{len(made)}"
        folder.mkdir()
        engine = Engine(name, make_connector(name, folder))
        made.append(engine)
        return engine

    yield make


@pytest.fixture
async def cleanup(engines: Callable[[str], Engine]) -> AsyncIterator[list[Engine]]:
    """Engines appended here have their tables dropped and connections closed at the end."""
    used: list[Engine] = []
    yield used
    for engine in used:
        await engine.drop_created()
        await engine.connector.close()


@pytest.fixture(params=ENGINES)
async def engine(request: pytest.FixtureRequest, engines: Callable[[str], Engine],
                 cleanup: list[Engine]) -> Engine:  # fmt: skip
    """Each database engine in turn."""
    made = engines(request.param)
    cleanup.append(made)
    return made


@pytest.fixture
def pg_dsn() -> str:
    require_service("postgres")
    return PG_DSN
