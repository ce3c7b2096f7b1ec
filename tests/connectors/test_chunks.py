"""One bulk mechanism (connectors/bulk.py): one chunk format for every kind, one registry of the
systems chunks come from. The real loads are in test_bulk.py and test_bulk_csv.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from interlace.connectors import bulk as shared_bulk
from interlace.connectors.files.folder import LocalFolder
from interlace.errors import DeliveryError
from interlace.message import Message
from interlace.types import JSONObject

CSV_BODY: JSONObject = {
    "system": "drop", "file": "archive/a.csv", "fingerprint": "1-2", "start": 0, "end": 10, "rows": 2,
    "columns": ["id", "name"], "delimiter": ",", "quote": '"', "encoding": "UTF8",
}  # fmt: skip


def _message(body: JSONObject, source: str = "drop", event: str = "chunk") -> Message:
    return Message(id="m", flow="f", source=source, event=event, body=body)


def test_every_kind_of_chunk_is_one_format() -> None:
    dialect = shared_bulk.Dialect(",", '"', "UTF8")
    csv = shared_bulk.CsvChunk("drop", "archive/a.csv", "1-2", 0, 10, 2, ("id", "name"), dialect)
    assert csv.body() == {"interlace_chunk": 1, "kind": "csv", **CSV_BODY}
    assert shared_bulk.kind_of(_message(csv.body())) == "csv"
    assert shared_bulk.parse_csv_chunk(_message(csv.body())) == csv
    rows = {**shared_bulk.envelope("rows", "legacy"), "table": "t"}
    assert shared_bulk.kind_of(_message(rows, "legacy")) == "rows"
    assert shared_bulk.chunk_system(_message(rows, "legacy"), "rows") == "legacy"


def test_chunks_stored_before_the_one_format_are_still_read() -> None:
    old_csv = _message({"interlace_csv_chunk": 1, **CSV_BODY})
    assert shared_bulk.kind_of(old_csv) == "csv"
    assert shared_bulk.parse_csv_chunk(old_csv).file == "archive/a.csv"
    old_rows = _message({"interlace_chunk": 1, "system": "legacy", "table": "t"}, "legacy")
    assert shared_bulk.kind_of(old_rows) == "rows"


def test_what_is_not_a_chunk_or_not_a_valid_one() -> None:
    assert shared_bulk.kind_of(_message({"interlace_chunk": 1, **CSV_BODY}, event="row")) is None
    assert shared_bulk.kind_of(_message({"id": 1})) is None
    assert not shared_bulk.is_chunk(_message({"id": 1}))
    with pytest.raises(ValueError, match="came from 'shop'"):
        shared_bulk.chunk_system(_message({"interlace_chunk": 1, "kind": "csv", **CSV_BODY}, "shop"), "csv")
    with pytest.raises(ValueError, match="not 'rows'"):
        shared_bulk.chunk_system(_message({"interlace_chunk": 1, "kind": "csv", **CSV_BODY}), "rows")
    with pytest.raises(ValueError, match="chunk format 2 is not 1"):
        shared_bulk.chunk_system(_message({"interlace_chunk": 2, "kind": "csv", **CSV_BODY}), "csv")
    with pytest.raises(DeliveryError, match="not a valid CSV chunk"):
        shared_bulk.parse_csv_chunk(_message({"interlace_chunk": 1, "kind": "csv", **CSV_BODY, "start": "x"}))


def test_one_registry_finds_the_system_a_chunk_came_from(tmp_path: Path) -> None:
    folder = LocalFolder(tmp_path)
    shared_bulk.register("csv", "drop-registry", folder)
    assert shared_bulk.find("csv", "drop-registry") is folder
    assert shared_bulk.find("rows", "drop-registry") is None
    assert shared_bulk.find("csv", "drop-registry", "another database") is None
