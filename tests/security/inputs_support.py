"""What the input-hardening tests share: a source's view of the hub over the real SQLite store."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

from connectors.test_files_source import StoreIngress
from interlace.backends.sqlite import SqliteBackend
from interlace.connectors.files.source import FolderSource

__all__ = ["StoreIngress", "poll_twice", "stored"]


def stored(backend: Any) -> list[Any]:
    """The messages a SQLite backend holds, oldest first."""
    with sqlite3.connect(backend.path) as conn:
        return [json.loads(r[0]) for r in conn.execute("SELECT message FROM work ORDER BY id")]


async def poll_twice(source: FolderSource, db: Path) -> tuple[int, list[Any]]:
    """Two polls of a source into a fresh store at `db` (the second sees the files as complete):
    how many files the second took, and the bodies stored."""
    backend = SqliteBackend(db)
    await backend.open()
    try:
        await asyncio.to_thread(source._prepare)
        ingress = StoreIngress(backend)
        await source.poll(ingress)
        taken = await source.poll(ingress)
        return taken, [m["body"] for m in stored(backend)]
    finally:
        await backend.close()
