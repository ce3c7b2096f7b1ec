"""What the database connectors (`sqlite`, `postgres`, `mysql`) share: options, identifiers, type
coercion, the polling and capture sources, the sink, lookups and introspection.

Functions for the CLI and the engine:
- `install_capture(settings, table)`: `interlace db install-capture SYSTEM TABLE`;
- `inspect(settings)`: `interlace inspect SYSTEM`;
- `check_columns(settings, table, columns)`: `interlace validate` warnings;
- `SqlConnector.lookup(table, where)` (or a `Lookup`): the `enrich` step.
"""

from __future__ import annotations

from interlace.connectors.sql.admin import check_columns, connected, inspect, install_capture
from interlace.connectors.sql.coerce import ValueNotStorable
from interlace.connectors.sql.connector import SqlConnector
from interlace.connectors.sql.lookup import Lookup
from interlace.connectors.sql.options import SqlSinkOptions, SqlSourceOptions
from interlace.connectors.sql.schema import Column, Table
from interlace.connectors.sql.settings import SqlSettings

__all__ = [
    "Column", "Lookup", "SqlConnector", "SqlSettings", "SqlSinkOptions", "SqlSourceOptions", "Table",
    "ValueNotStorable", "check_columns", "connected", "inspect", "install_capture",
]  # fmt: skip
