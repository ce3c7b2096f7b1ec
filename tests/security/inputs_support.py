"""What the input-hardening tests share: a source's view of the hub over the real SQLite store."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from connectors.test_files_source import StoreIngress

__all__ = ["StoreIngress", "stored"]


def stored(backend: Any) -> list[Any]:
    """The messages a SQLite backend holds, oldest first."""
    with sqlite3.connect(backend.path) as conn:
        return [json.loads(r[0]) for r in conn.execute("SELECT message FROM work ORDER BY id")]
