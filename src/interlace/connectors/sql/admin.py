"""What the CLI calls for a database system: `interlace inspect SYSTEM` and
`interlace db install-capture SYSTEM TABLE`.

Each takes the system's validated settings (a `SqliteSettings`, `PostgresSettings` or
`MysqlSettings`), opens a connection of its own and closes it again.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from interlace.connectors import registry
from interlace.connectors.sql.connector import SqlConnector
from interlace.connectors.sql.schema import Table, column_warnings
from interlace.connectors.sql.settings import SqlSettings
from interlace.errors import ConnectorError


@asynccontextmanager
async def connected(settings: SqlSettings, system: str = "system") -> AsyncIterator[SqlConnector]:
    """A connector for `settings`, open for the block and closed after it."""
    found = registry.get(settings.connector_name)
    assert found is not None and issubclass(found, SqlConnector), f"no database connector {settings.connector_name!r}"
    connector = found(system, settings)
    try:
        await connector.probe()
        yield connector
    finally:
        await connector.close()


async def install_capture(settings: SqlSettings, table: str, system: str = "system") -> list[str]:
    """Create the change outbox and the triggers that feed it from `table` (idempotent: run it
    again after the table's columns change). Returns the statements it ran."""
    async with connected(settings, system) as connector:
        return await connector.install_capture(table)


async def inspect(settings: SqlSettings, system: str = "system") -> list[Table]:
    """Every user table with its columns (name, type, nullable, default) and primary key.
    `[t.as_dict() for t in ...]` gives JSON for `--json` output."""
    async with connected(settings, system) as connector:
        return await connector.inspect()


async def check_columns(settings: SqlSettings, table: str, written: list[str], system: str = "system") -> list[str]:
    """`interlace validate`'s warnings for a delivery writing the columns `written` into
    `table`: columns that do not exist, NOT NULL columns without a default it omits, or the
    table missing altogether."""
    async with connected(settings, system) as connector:
        try:
            info = await connector.table(table)
        except ConnectorError as exc:
            return [str(exc)]
        return column_warnings(info, written)
