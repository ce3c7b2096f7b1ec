"""Defect 1 of issue 13, through a real hub watching a real folder: a record nested 1,000 deep
(XML or JSON) is refused with a ParseError naming the byte, the file is set aside in error/ with
its report, and the files after it in the same folder are still read. Before the fix the decoder
raised RecursionError, the source died, restarted every 5 s on the same file, and every other
file waited forever."""

from __future__ import annotations

import asyncio
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import pytest

from interlace.config.loader import load_config
from interlace.connectors.files import FilesConnector, FilesSettings, FilesSourceOptions
from interlace.connectors.files.source import FolderSource
from interlace.errors import ParseError
from interlace.formats import Record, codec_for, parse_format
from interlace.formats.base import lines
from interlace.formats.jsonl import JsonLinesCodec
from interlace.hub import Hub
from security.inputs_support import poll_twice, stored

CONFIG = """
hub: {name: deep}
systems:
  drop: {connector: files, path: ./drop, format: {type: xml, record_path: orders/order}}
flows:
  orders: {trigger: {system: drop, pattern: "*.xml", poll_interval: 0.02}}
"""

DEEP_XML = b"<orders><order><id>1</id></order><order>" + b"<x>" * 1000 + b"y" + b"</x>" * 1000 + b"</order></orders>"


def test_every_json_and_xml_decoder_refuses_deep_nesting_with_a_position() -> None:
    cases = {
        "xml": ({"type": "xml", "record_path": "orders/order"}, DEEP_XML, 2),
        "json": ("json", b'[{"id": 1}, {"v": ' + b"[" * 1000 + b"]" * 1000 + b"}]", 2),
        "jsonl": ("jsonl", b'{"id": 1}\n{"v": ' + b"[" * 100_000 + b"]" * 100_000 + b'}\n{"id": 3}\n', 2),
    }
    for name, (fmt, data, bad) in cases.items():
        records = list(codec_for(parse_format(fmt)).read(io.BytesIO(data), name=f"in.{name}"))
        assert records[0].value is not None and records[0].value["id"] in ("1", 1), name
        error = records[bad - 1].error
        assert isinstance(error, ParseError), name
        assert "nested deeper than" in error.reason and error.offset is not None and error.offset > 0, name
        assert error.file == f"in.{name}" and error.record == bad, name


async def test_a_deep_xml_file_goes_to_error_and_the_next_file_is_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "hub.yaml").write_text(CONFIG)
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a-deep.xml").write_bytes(DEEP_XML)
    (drop / "b-good.xml").write_bytes(b"<orders><order><id>2</id></order><order><id>3</id></order></orders>")
    hub = Hub(load_config(tmp_path / "hub.yaml"))
    caplog.set_level(logging.INFO)
    await hub.start(workers=False)
    try:
        for _ in range(500):
            if (drop / "archive" / "b-good.xml").exists():
                break
            await asyncio.sleep(0.02)
    finally:
        await hub.stop()
    assert (drop / "archive" / "b-good.xml").exists(), "the file after the deep one was read"
    assert (drop / "error" / "a-deep.xml").read_bytes() == DEEP_XML, "the deep file is kept whole in error/"
    assert not (drop / "a-deep.xml").exists() and not (drop / "archive" / "a-deep.xml").exists()
    report = json.loads((drop / "error" / "a-deep.xml.report.json").read_text())
    assert report["failed"] == 1 and report["records"][0]["record"] == 2
    assert "nested deeper than" in report["records"][0]["message"] and report["records"][0]["offset"] > 0
    assert "restarting" not in caplog.text, "the source never died"
    bodies = sorted(str(m["body"]) for m in stored(hub.backend))
    assert bodies == sorted(str({"id": n}) for n in ("1", "2", "3")), "the record before the break went in"


class _PluginCodec(JsonLinesCodec):
    """A user's codec with a bug: it fails with an exception it does not turn into a ParseError."""

    def read(self, stream: BinaryIO, *, name: str = "<stream>") -> Iterator[Record]:
        for record in super().read(stream, name=name):
            if record.value == {"n": 2}:
                raise KeyError("a bug in the codec")
            yield record


async def test_a_codec_that_fails_does_not_stop_the_folder(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / "a.jsonl").write_text('{"n": 1}\n{"n": 2}\n{"n": 3}\n')
    (drop / "b.jsonl").write_text('{"n": 4}\n')
    connector = FilesConnector("drop", FilesSettings.model_validate({"path": drop, "format": "jsonl"}))
    source = connector.source("f", FilesSourceOptions(poll_interval=0.01))
    assert isinstance(source, FolderSource)
    source.codec = _PluginCodec()
    assert await poll_twice(source, tmp_path / "hub.db") == (2, [{"n": 1}, {"n": 4}])
    assert (drop / "error" / "a.jsonl").read_bytes() == b'{"n": 1}\n{"n": 2}\n{"n": 3}\n'
    report = json.loads((drop / "error" / "a.jsonl.report.json").read_text())
    assert report["records"][0]["record"] == 2 and "KeyError" in report["records"][0]["message"]
    assert (drop / "archive" / "b.jsonl").exists()


@pytest.mark.parametrize(
    ("fmt", "name", "data", "bad"),
    [
        ("csv", "big-field.csv", b"id,note\n1,a\n2," + b"x" * 140_000 + b"\n3,c\n", 2),
        ({"type": "json"}, "cut.json", b'[{"id": 1}, {"id": 2}, {"id": ', 3),
        (
            {
                "copybook_text": "       01  R.\n           05  ID PIC 9(4).\n",
                "encoding": "ascii",
                "record_format": "rdw",
            },
            "bad-rdw.dat",
            b"\x00\x08\x00\x000001" + b"\x00\x02\x00\x00" + b"\x00\x08\x00\x000003",
            2,
        ),
    ],
)
async def test_a_file_whose_reader_cannot_go_on_is_kept_whole(
    tmp_path: Path, fmt: object, name: str, data: bytes, bad: int
) -> None:
    """Before, the records after such an error were dropped without a word and the file archived."""
    drop = tmp_path / "drop"
    drop.mkdir()
    (drop / name).write_bytes(data)
    connector = FilesConnector("drop", FilesSettings.model_validate({"path": drop, "format": fmt}))
    source = connector.source("f", FilesSourceOptions())
    assert isinstance(source, FolderSource)
    taken, bodies = await poll_twice(source, tmp_path / "hub.db")
    assert taken == 1 and len(bodies) == bad - 1
    assert (drop / "error" / name).read_bytes() == data and not (drop / "archive" / name).exists()
    report = json.loads((drop / "error" / f"{name}.report.json").read_text())
    assert report["records"][-1]["record"] == bad and "broken" in report


def test_a_line_past_the_limit_is_refused_before_it_is_held() -> None:
    stream = io.BytesIO(b"ab\n" + b"x" * 10 + b"\ncd")
    got = []
    with pytest.raises(ParseError) as refused:
        for line in lines(stream, name="f", limit=8):
            got.append(line)
    assert got == [b"ab\n"] and refused.value.offset == 3 and "longer than 8 bytes" in str(refused.value)
    assert stream.tell() <= 3 + 9, "no more than the limit was read of the long line"
    assert list(lines(io.BytesIO(b"12345678\nabc"), name="f", limit=8)) == [b"12345678\n", b"abc"]


async def test_a_file_with_a_line_of_65_mib_is_kept_whole_in_error(tmp_path: Path) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    with (drop / "huge.jsonl").open("wb") as f:
        f.write(b'{"n": 1}\n{"n": "')
        f.write(b"x" * (65 << 20))
    connector = FilesConnector("drop", FilesSettings.model_validate({"path": drop, "format": "jsonl"}))
    source = connector.source("f", FilesSourceOptions())
    assert isinstance(source, FolderSource)
    assert await poll_twice(source, tmp_path / "hub.db") == (1, [{"n": 1}])
    assert (drop / "error" / "huge.jsonl").stat().st_size == 9 + 7 + (65 << 20)
    report = json.loads((drop / "error" / "huge.jsonl.report.json").read_text())
    assert "longer than" in report["records"][-1]["message"]
