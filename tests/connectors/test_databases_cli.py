"""`interlace inspect`, `interlace db install-capture` and `interlace validate --live` against a
real PostgreSQL, through the real CLI."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg
import pytest

from interlace.mapping.shape import constructed_fields

from support import interlace

PG = "postgresql://postgres@127.0.0.1:5432/test"

CONFIG = """
owners: {{ops: {{email: ops@x.test}}}}
systems:
  shop: {{connector: webhook}}
  crm: {{connector: postgres, dsn: "{dsn}"}}
flows:
  orders:
    trigger: {{system: shop}}
    steps:
      - map: '{{"order_no": id, "email": customer.email, "colour": "red"}}'
    deliver: {{system: crm, table: {table}, mode: upsert, key: order_no}}
    on_error: {{owner: ops}}
"""


def run_sql(sql: str) -> None:
    async def go() -> None:
        conn = await asyncpg.connect(PG)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(go())


@pytest.fixture
def table(service: Callable[[str], None]) -> Iterator[str]:
    service("postgres")
    name = f"orders_{uuid.uuid4().hex[:8]}"
    run_sql(f"CREATE TABLE {name} (order_no text PRIMARY KEY, email text, placed_at timestamptz NOT NULL)")
    yield name
    run_sql(f"DROP TABLE IF EXISTS {name} CASCADE")


def test_inspect_lists_columns(tmp_path: Path, table: str) -> None:
    (tmp_path / "hub.yaml").write_text(CONFIG.format(dsn=PG, table=table))
    shown = interlace("inspect", str(tmp_path / "hub.yaml"), "crm", "--json", check=True)
    [info] = [t for t in json.loads(shown.stdout) if t["name"] == table]
    assert info["primary_key"] == ["order_no"]
    assert {c["name"]: c["nullable"] for c in info["columns"]} == {"order_no": False, "email": True, "placed_at": False}
    text = interlace("inspect", str(tmp_path / "hub.yaml"), "crm", check=True).stdout
    assert "placed_at" in text and "NOT NULL" in text
    assert interlace("inspect", str(tmp_path / "hub.yaml"), "shop").returncode == 2


def test_validate_live_warns_of_missing_and_unknown_columns(tmp_path: Path, table: str) -> None:
    (tmp_path / "hub.yaml").write_text(CONFIG.format(dsn=PG, table=table))
    offline = interlace("validate", str(tmp_path / "hub.yaml"), check=True)
    assert "warning" not in offline.stderr
    live = interlace("validate", str(tmp_path / "hub.yaml"), "--live", check=True)
    assert "colour" in live.stderr, live.stderr
    assert "placed_at" in live.stderr, live.stderr


def test_install_capture(tmp_path: Path, table: str) -> None:
    (tmp_path / "hub.yaml").write_text(CONFIG.format(dsn=PG, table=table))
    first = interlace("db", "install-capture", str(tmp_path / "hub.yaml"), "crm", table, check=True)
    assert f"capture installed on crm.{table}" in first.stdout
    again = interlace("db", "install-capture", str(tmp_path / "hub.yaml"), "crm", table)
    assert again.returncode == 0, "installing twice is safe"


def test_constructed_fields() -> None:
    assert constructed_fields('{"a": x, "b": {"c": 1}, "d": "e,f"}') == ["a", "b", "d"]
    assert constructed_fields('lines.{"a": 1}') is None
    assert constructed_fields("{k: 1}") is None
