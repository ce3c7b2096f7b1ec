"""What a flow may say to a database source or sink, and the errors it gets otherwise."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from interlace.connectors.mysql import MysqlSettings
from interlace.connectors.sql.options import SqlSinkOptions, SqlSourceOptions
from interlace.options import parse_duration


def test_source_options() -> None:
    opts = SqlSourceOptions.model_validate(
        {"table": "t", "cursor": "updated_at", "key": "id", "every": "500ms", "batch": 50}
    )
    assert (opts.every, opts.keys, opts.batch) == (0.5, ["id"], 50)
    assert SqlSourceOptions(table="t", capture=True).keys == []


@pytest.mark.parametrize(
    ("given", "message"),
    [
        ({"table": "t"}, "needs a `cursor`"),
        ({"table": "t", "query": "SELECT 1", "cursor": "id"}, "exactly one of"),
        ({"query": "SELECT 1", "capture": True}, "give `table`"),
        ({"table": "t; DROP TABLE t", "cursor": "id"}, "not a valid"),
        ({"table": "t", "cursor": "id", "every": "soon"}, "not a duration"),
        ({"table": "t", "cursor": "id", "colour": "red"}, "Extra inputs"),
    ],
)
def test_bad_source_options(given: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        SqlSourceOptions.model_validate(given)


def test_sink_options() -> None:
    opts = SqlSinkOptions.model_validate({"table": "orders", "mode": "upsert", "key": "order_no"})
    assert opts.keys == ["order_no"]
    assert SqlSinkOptions(table="t", key=["a", "b"], mode="delete").keys == ["a", "b"]
    with pytest.raises(ValidationError, match="needs `key`"):
        SqlSinkOptions(table="orders", mode="upsert")
    with pytest.raises(ValidationError, match="not a valid SQL name"):
        SqlSinkOptions(table="orders", mode="upsert", key="order no")
    with pytest.raises(ValidationError):
        SqlSinkOptions.model_validate({"table": "orders", "mode": "merge"})


@pytest.mark.parametrize(("text", "seconds"), [("5s", 5.0), ("2m", 120.0), ("1h", 3600.0), ("250ms", 0.25), (3, 3.0)])
def test_durations(text: str | float, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_mysql_settings_from_dsn() -> None:
    s = MysqlSettings(dsn="mysql://app:p%40ss@db.example:3307/shop")
    assert (s.host, s.port, s.user, s.password, s.database) == ("db.example", 3307, "app", "p@ss", "shop")
    explicit = MysqlSettings.model_validate({"dsn": "mysql://app@db.example/shop", "password": "secret"})
    assert (explicit.user, explicit.password) == ("app", "secret")
    with pytest.raises(ValidationError, match="mysql://"):
        MysqlSettings(dsn="postgresql://x@y/z")
