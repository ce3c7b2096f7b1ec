"""MariaDB and MySQL through aiomysql: a connection pool; `executemany` of an INSERT is sent as
one multi-row statement."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import aiomysql

from interlace.connectors.sql.database import Database, Row, Tx
from interlace.connectors.sql.schema import Column, Family, Table
from interlace.errors import ConnectorError

_FAMILIES: dict[str, Family] = {
    "tinyint": "int", "smallint": "int", "mediumint": "int", "int": "int", "bigint": "int", "year": "int",
    "decimal": "decimal", "float": "float", "double": "float",
    "date": "date", "datetime": "datetime", "timestamp": "datetime", "time": "time", "json": "json",
    "char": "text", "varchar": "text", "tinytext": "text", "text": "text", "mediumtext": "text",
    "longtext": "text", "enum": "text", "set": "text",
    "binary": "bytes", "varbinary": "bytes", "tinyblob": "bytes", "blob": "bytes", "mediumblob": "bytes",
    "longblob": "bytes", "uuid": "uuid",
}  # fmt: skip

_MULTI_STATEMENTS = 1 << 16
"""pymysql.constants.CLIENT.MULTI_STATEMENTS: lets the setup script hold several statements."""

_RETRY_CODES = {1040, 1053, 1205, 1213, 1927, 2002, 2003, 2006, 2013, 2055}
"""Too many connections, shutdown, lock wait timeout, deadlock, killed, connection lost."""

_COLUMNS = """
SELECT COLUMN_NAME AS name, DATA_TYPE AS data_type, COLUMN_TYPE AS type, IS_NULLABLE = 'YES' AS nullable,
       (COLUMN_DEFAULT IS NOT NULL AND COLUMN_DEFAULT <> 'NULL') OR EXTRA LIKE '%%auto_increment%%'
         OR EXTRA LIKE '%%GENERATED%%' AS has_default
FROM information_schema.COLUMNS
WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s
ORDER BY ORDINAL_POSITION
"""
_PRIMARY_KEY = """
SELECT COLUMN_NAME AS name FROM information_schema.KEY_COLUMN_USAGE
WHERE TABLE_SCHEMA = COALESCE(%s, DATABASE()) AND TABLE_NAME = %s AND CONSTRAINT_NAME = 'PRIMARY'
ORDER BY ORDINAL_POSITION
"""
_TABLES = """
SELECT TABLE_NAME AS name FROM information_schema.TABLES
WHERE TABLE_SCHEMA = DATABASE() AND TABLE_TYPE = 'BASE TABLE' AND TABLE_NAME NOT LIKE '\\\\_interlace\\\\_%%'
ORDER BY TABLE_NAME
"""


def family(data_type: str, column_type: str) -> Family:
    if column_type.lower().startswith("tinyint(1)"):
        return "bool"
    return _FAMILIES.get(data_type.lower(), "other")


class MysqlTx(Tx):
    def __init__(self, cursor: aiomysql.DictCursor) -> None:
        self.cursor = cursor

    async def execute(self, sql: str, params: Sequence[Any] = ()) -> int:
        if sql.startswith(("CREATE", "DROP")):
            with warnings.catch_warnings():  # "already exists" / "does not exist" notes of IF [NOT] EXISTS
                warnings.simplefilter("ignore", aiomysql.Warning)
                return int(await self.cursor.execute(sql, tuple(params) if params else None))
        return int(await self.cursor.execute(sql, tuple(params) if params else None))

    async def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        await self.cursor.executemany(sql, rows)

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        await self.cursor.execute(sql, tuple(params) if params else None)
        return list(await self.cursor.fetchall())


class MysqlDatabase(Database):
    quote_char = "`"

    def __init__(
        self, *, host: str, port: int, user: str, password: str, database: str | None,
        setup: str | None = None, pool: int = 5,
    ) -> None:  # fmt: skip
        self._connect = {"host": host, "port": port, "user": user, "password": password, "db": database}
        self.setup = setup
        self.pool_size = pool
        self._pool: aiomysql.Pool | None = None

    def ph(self, n: int) -> str:
        return "%s"

    @property
    def pool(self) -> aiomysql.Pool:
        if self._pool is None:
            raise ConnectorError("mysql: not open")
        return self._pool

    async def open(self) -> None:
        if self.setup:
            try:
                await self._run_script(self.setup)
            except aiomysql.MySQLError as exc:
                raise ConnectorError(f"mysql: the setup script failed: {exc}") from exc
        try:
            self._pool = await aiomysql.create_pool(
                minsize=1, maxsize=self.pool_size, autocommit=True, charset="utf8mb4", **self._connect
            )
        except aiomysql.MySQLError as exc:
            raise ConnectorError(f"mysql: {exc}") from exc

    async def _run_script(self, script: str) -> None:
        conn = await aiomysql.connect(
            autocommit=True, charset="utf8mb4", client_flag=_MULTI_STATEMENTS, **self._connect
        )
        try:
            async with conn.cursor() as cur:
                await cur.execute(script)
                while await cur.nextset():
                    pass
        finally:
            conn.close()

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            pool.close()
            await pool.wait_closed()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[MysqlTx]:
        async with self.pool.acquire() as conn:
            await conn.begin()
            try:
                async with conn.cursor(aiomysql.DictCursor) as cur:
                    yield MysqlTx(cur)
            except BaseException:
                await conn.rollback()
                raise
            await conn.commit()

    async def fetch(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        async with self.pool.acquire() as conn, conn.cursor(aiomysql.DictCursor) as cur:
            await cur.execute(sql, tuple(params) if params else None)
            return list(await cur.fetchall())

    async def table(self, name: str) -> Table:
        schema, _, bare = name.rpartition(".")
        rows = await self.fetch(_COLUMNS, [schema or None, bare])
        if not rows:
            raise ConnectorError(f"mysql: no table {name!r}")
        columns = [
            Column(r["name"], r["type"], family(r["data_type"], r["type"]), bool(r["nullable"]),
                   bool(r["has_default"]))
            for r in rows
        ]  # fmt: skip
        pk = [r["name"] for r in await self.fetch(_PRIMARY_KEY, [schema or None, bare])]
        return Table(name, columns, pk)

    async def tables(self) -> list[Table]:
        return await self.described([r["name"] for r in await self.fetch(_TABLES)])

    def is_database_error(self, exc: BaseException) -> bool:
        return isinstance(exc, aiomysql.MySQLError | OSError)

    def is_retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, aiomysql.InterfaceError | OSError):
            return True
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        return code in _RETRY_CODES
