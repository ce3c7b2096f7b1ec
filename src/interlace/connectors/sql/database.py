"""The one interface each engine implements over its native async driver.

Statements are written once, in `source.py`, `sink.py` and `lookup.py`, using `q()` for names and
`ph()` for placeholders; an engine's `database.py` supplies connections, transactions and
introspection, and its `sink.py` and `source.py` the few statements whose syntax differs
(upsert, change capture).
"""

from __future__ import annotations

import itertools
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, ClassVar

from interlace.connectors.sql.identifiers import quote
from interlace.connectors.sql.schema import Table
from interlace.errors import ConnectorError

Row = dict[str, Any]

DELIVERED = "_interlace_delivered"
"""Delivery ids of rows written in `insert` mode, committed with the rows (effectively-once)."""
OUTBOX = "_interlace_outbox"
"""Changes captured by triggers installed with `install_capture`."""


class Tx(ABC):
    """Statements inside one transaction."""

    _savepoints = itertools.count()

    @abstractmethod
    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one statement; the number of rows it affected."""

    @abstractmethod
    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]: ...

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested scope: an error inside undoes only what the scope did."""
        name = f"interlace_sp{next(self._savepoints)}"
        await self.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            await self.execute(f"ROLLBACK TO SAVEPOINT {name}")
            raise
        await self.execute(f"RELEASE SAVEPOINT {name}")


class Database(ABC):
    """A connection pool to one database system."""

    quote_char: ClassVar[str] = '"'

    def q(self, name: str) -> str:
        """A validated, quoted table or column name."""
        return quote(name, self.quote_char)

    @abstractmethod
    def ph(self, n: int) -> str:
        """The placeholder for the n-th (1-based) parameter of a statement."""

    def phs(self, count: int, start: int = 1) -> str:
        return ", ".join(self.ph(i) for i in range(start, start + count))

    @abstractmethod
    async def open(self) -> None:
        """Connect, and run the system's `setup` script if it has one."""

    @abstractmethod
    async def close(self) -> None: ...

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Tx]: ...

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self.transaction() as tx:
            return await tx.fetch(sql, params)

    @abstractmethod
    async def table(self, name: str) -> Table:
        """Columns, types, nullability and primary key of one table; ConnectorError if absent."""

    @abstractmethod
    async def tables(self) -> list[Table]:
        """Every user table (not Interlace's own `_interlace_*` tables)."""

    async def described(self, names: Sequence[str]) -> list[Table]:
        """`table()` of each name listed, leaving out a table dropped since it was listed (on a
        server others use, listing and describing are not one snapshot)."""
        found = []
        for name in names:
            try:
                found.append(await self.table(name))
            except ConnectorError:
                continue
        return found

    @abstractmethod
    def is_retryable(self, exc: BaseException) -> bool:
        """Whether trying again may help (lost connection, deadlock) or not (bad data)."""

    @abstractmethod
    def is_database_error(self, exc: BaseException) -> bool:
        """Whether `exc` came from the driver or the server (not from Interlace's own code)."""

    async def lock_for_ddl(self, tx: Tx) -> None:
        """Serialise Interlace's own `CREATE ... IF NOT EXISTS` statements across connections, on
        engines where two running at once can fail (PostgreSQL: a unique violation in its
        catalog). Held until `tx` ends; the default does nothing."""

    def adapt(self, value: Any) -> Any:
        """A coerced value in the form the driver binds (SQLite has no date or decimal type)."""
        return value
