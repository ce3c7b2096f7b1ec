"""The files connector as a sink: atomic files, name templates, batches, confinement."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path

import pytest

from interlace.connectors.files import FilesConnector, FilesSettings, FilesSinkOptions
from interlace.connectors.files.folder import LocalFolder
from interlace.connectors.files.sink import FolderSink
from interlace.errors import ConnectorError, DeliveryError
from interlace.formats import codec_for, parse_format
from interlace.message import Message


def sink(folder: Path, fmt: object = "jsonl", **options: object) -> FolderSink:
    connector = FilesConnector("out", FilesSettings.model_validate({"path": folder, "format": fmt}))
    made = connector.sink(FilesSinkOptions.model_validate(options))
    assert isinstance(made, FolderSink)
    return made


def message(body: object, **fields: object) -> Message:
    return Message.from_dict({"flow": "export", "body": body, **fields})


async def test_one_file_per_message_named_by_the_template(tmp_path: Path) -> None:
    out = sink(tmp_path, "csv", name="{date}/order-{order_no}-{message_id}{ext}")
    msg = message({"order_no": "A/../1", "total": "10.50"}, id="m1")
    result = await out.deliver(msg, "d1")
    [written] = list(tmp_path.rglob("*.csv"))
    assert written.name == "order-A%2F..%2F1-m1.csv"  # a value cannot add folders or climb out
    assert result == {"file": str(written.relative_to(tmp_path)), "records": 1}
    assert written.read_bytes() == b"order_no,total\r\nA/../1,10.50\r\n"
    await out.deliver(msg, "d1")  # a redelivery rewrites the same file
    assert len(list(tmp_path.rglob("*.csv"))) == 1
    assert not [p for p in tmp_path.rglob("*") if p.name.startswith(".interlace-tmp-")]


async def test_a_list_body_is_several_records_in_any_format(tmp_path: Path) -> None:
    fmt = {"copybook_text": "       01 R.\n          05 ID PIC 9(3).\n          05 AMT PIC S9(3)V99 COMP-3.\n"}
    out = sink(tmp_path, fmt, name="{message_id}{ext}")
    await out.deliver(message([{"ID": 1, "AMT": "1.25"}, {"ID": 2, "AMT": "-3.5"}], id="m2"), "d")
    data = (tmp_path / "m2.dat").read_bytes()
    codec = codec_for(parse_format(fmt))
    assert [r["ID"] for r in codec.values(io.BytesIO(data))] == [1, 2]


async def test_bad_bodies_and_templates_are_refused_without_retry(tmp_path: Path) -> None:
    out = sink(tmp_path, name="{customer}.jsonl")
    with pytest.raises(DeliveryError) as missing:
        await out.deliver(message({"id": 1}), "d")
    assert not missing.value.retryable and "customer" in str(missing.value)
    with pytest.raises(DeliveryError):
        await sink(tmp_path).deliver(message("text"), "d")
    fixed = sink(tmp_path, {"fields": [{"name": "n", "length": 2, "type": "int"}]})
    with pytest.raises(DeliveryError, match="does not fit"):
        await fixed.deliver(message({"n": 1000}), "d")


def test_templates_and_names_cannot_leave_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="inside"):
        FilesSinkOptions(name="../{message_id}.json")
    with pytest.raises(ValueError, match="inside"):
        FilesSinkOptions(name="/etc/{message_id}")
    folder = LocalFolder(tmp_path)
    for bad in ["../x", "/etc/passwd", "a/../../x", "", "C:evil", "a/./../../b"]:
        with pytest.raises(ConnectorError):
            folder.path(bad)
    (tmp_path / "link").symlink_to(tmp_path.parent)
    with pytest.raises(ConnectorError, match="outside"):
        folder.path("link/x")
    assert folder.path("sub/x.txt") == tmp_path.resolve() / "sub" / "x.txt"


async def test_batches_by_count_are_written_once_even_when_redelivered(tmp_path: Path) -> None:
    out = sink(tmp_path, name="batch-{message_id}{ext}", batch=3)
    results = [await out.deliver(message({"n": n}, id=f"m{n}"), f"d{n}") for n in (1, 2)]
    assert results == [{"staged": True}, {"staged": True}]
    assert not list(tmp_path.glob("*.jsonl"))
    assert (await out.deliver(message({"n": 3}, id="m3"), "d3"))["file"] == "batch-m1.jsonl"
    lines = (tmp_path / "batch-m1.jsonl").read_text().splitlines()
    assert [json.loads(line)["n"] for line in lines] == [1, 2, 3]
    assert await out.deliver(message({"n": 2}, id="m2"), "d2") == {"staged": False, "already_written": True}
    fresh = sink(tmp_path, name="batch-{message_id}{ext}", batch=3)  # a restarted hub remembers too
    assert (await fresh.deliver(message({"n": 1}, id="m1"), "d1"))["staged"] is False
    assert list(tmp_path.glob("*.jsonl")) == [tmp_path / "batch-m1.jsonl"]


async def test_a_flush_cut_short_is_finished_by_the_next_delivery(tmp_path: Path) -> None:
    out = sink(tmp_path, name="b-{message_id}{ext}", batch=2)
    await out.deliver(message({"n": 1}, id="m1"), "d1")
    staged = out._staged()
    out.folder.write_bytes(
        ".staging/batch-d1.manifest", json.dumps({"file": "b-m1.jsonl", "staged": [staged[0][0]]}).encode()
    )  # the crash came after the manifest, before the file
    await out.deliver(message({"n": 2}, id="m2"), "d2")
    assert [json.loads(x)["n"] for x in (tmp_path / "b-m1.jsonl").read_text().splitlines()] == [1]
    assert out._staged()[0][1]["delivery_id"] == "d2"


async def test_a_partial_batch_is_written_after_batch_seconds(tmp_path: Path) -> None:
    out = sink(tmp_path, name="t-{message_id}{ext}", batch=100, batch_seconds=0.2)
    await out.deliver(message({"n": 1}, id="m1"), "d1")
    await out.deliver(message({"n": 2}, id="m2"), "d2")
    assert not (tmp_path / "t-m1.jsonl").exists()
    for _ in range(50):
        await asyncio.sleep(0.05)
        if (tmp_path / "t-m1.jsonl").exists():
            break
    assert len((tmp_path / "t-m1.jsonl").read_text().splitlines()) == 2


async def test_closing_the_connector_writes_a_waiting_timed_batch(tmp_path: Path) -> None:
    connector = FilesConnector("out", FilesSettings.model_validate({"path": tmp_path}))
    out = connector.sink(FilesSinkOptions(name="c-{message_id}{ext}", batch=10, batch_seconds=3600))
    await out.deliver(message({"n": 1}, id="m1"), "d1")
    assert not (tmp_path / "c-m1.jsonl").exists()
    await connector.close()
    assert (tmp_path / "c-m1.jsonl").read_text() == '{"n": 1}\n'
