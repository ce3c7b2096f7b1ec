"""The hub of docs/approvals.md's example: shop orders into an ERP (SQLite); an order over 10,000
waits for a manager (alice or bob), then a director (carol) when the managers' hour has passed;
after the directors' hour too it is rejected by default. Only `total` and `express` may be edited. A
rejected order is an exception of finance-ops. Tokens are made for each person, and for dave,
an operator who is in no group."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from interlace.backends import open_backend
from interlace.config.loader import load_config
from interlace.web import auth

DOC = Path(__file__).resolve().parent.parent / "docs" / "approvals.md"


def doc_config() -> str:
    """The example config of docs/approvals.md (the block after its `approvals example` mark)."""
    text = DOC.read_text()
    return text.split("<!-- approvals example", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]


CONFIG = doc_config()

PEOPLE = {"alice": "operator", "bob": "operator", "carol": "operator", "dave": "operator", "viewer": "viewer"}


def write_hub(folder: Path, smtp_port: int = 2525) -> Path:
    assert "port: 2525," in CONFIG
    (folder / "hub.yaml").write_text(CONFIG.replace("port: 2525,", f"port: {smtp_port},"))
    with sqlite3.connect(folder / "erp.db") as db:
        db.execute("CREATE TABLE orders (id TEXT PRIMARY KEY, email TEXT, total REAL, approved_by TEXT)")
    return folder / "hub.yaml"


def make_tokens(config: Path) -> dict[str, str]:
    """A token for each person of PEOPLE, made in the config's store before a hub runs."""
    loaded = load_config(config)

    async def main() -> dict[str, str]:
        backend = open_backend(loaded.config.hub.store, base_dir=loaded.base_dir, durable="normal")
        await backend.open()
        try:
            return {name: (await auth.create_token(backend, name, role, "test"))[0]  # type: ignore[arg-type]
                    for name, role in PEOPLE.items()}  # fmt: skip
        finally:
            await backend.close()

    return asyncio.run(main())


def erp_rows(folder: Path) -> list[tuple[str, float, str | None]]:
    with sqlite3.connect(folder / "erp.db", timeout=30) as db:
        return db.execute("SELECT id, total, approved_by FROM orders ORDER BY id").fetchall()


class ManualClock:
    """The hub's wall clock, moved by the test (`advance`); sleeps are real, and short."""

    def __init__(self, now: float) -> None:
        self.now = now

    def time(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(min(seconds, 0.05))
