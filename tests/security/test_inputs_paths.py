"""File connectors stay in their folder (issue 13, defect 12 and the confinement guard): file names
made from values never collide and never climb, and symbolic links that lead out are refused by the
source and by the sink. Real folders, real links."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from interlace.connectors.files import FilesConnector, FilesSettings, FilesSinkOptions, FilesSourceOptions
from interlace.connectors.files.folder import LocalFolder, PathRefused
from interlace.connectors.files.sink import FolderSink
from interlace.connectors.files.source import FolderSource
from interlace.errors import DeliveryError
from interlace.message import Message
from security.inputs_support import poll_twice


def connector(folder: Path) -> FilesConnector:
    return FilesConnector("drop", FilesSettings.model_validate({"path": folder, "format": "jsonl"}))


def sink(folder: Path, name: str = "{key}{ext}") -> FolderSink:
    made = connector(folder).sink(FilesSinkOptions(name=name))
    assert isinstance(made, FolderSink)
    return made


async def test_names_that_cleaned_alike_now_name_two_files(tmp_path: Path) -> None:
    out = sink(tmp_path / "out")
    keys = ["a/../../b", "a\\..\\..\\b", "a_.._.._b", "", "%", ".profile", "é"]
    names = []
    for n, key in enumerate(keys):
        result = await out.deliver(Message(flow="f", key=key, body={"n": n}), f"d{n}")
        names.append(result["file"])
    assert len(set(names)) == len(keys), names
    assert names[:2] == ["a%2F..%2F..%2Fb.jsonl", "a%5C..%5C..%5Cb.jsonl"]
    written = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert written == sorted(names) and not any(n.startswith(".") for n in written)
    assert not list(tmp_path.glob("b*")), "nothing climbed out of the folder"


async def test_the_sink_refuses_a_link_that_leads_out(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    victim = outside / "A1.jsonl"
    victim.write_text("precious\n")
    (out / "sub").symlink_to(outside, target_is_directory=True)
    (out / "A1.jsonl").symlink_to(victim)
    for template in ("sub/{key}{ext}", "{key}{ext}"):
        with pytest.raises(DeliveryError) as refused:
            await sink(out, template).deliver(Message(flow="f", key="A1", body={"n": 1}), "d1")
        assert not refused.value.retryable and "outside" in str(refused.value)
    assert victim.read_text() == "precious\n" and sorted(p.name for p in outside.iterdir()) == ["A1.jsonl"]


async def test_the_source_never_reads_through_a_link(tmp_path: Path) -> None:
    drop, outside = tmp_path / "drop", tmp_path / "outside"
    drop.mkdir()
    outside.mkdir()
    (outside / "secret.jsonl").write_text('{"secret": 1}\n')
    (drop / "real.jsonl").write_text('{"n": 1}\n')
    (drop / "evil.jsonl").symlink_to(outside / "secret.jsonl")
    (drop / "inner.jsonl").symlink_to(drop / "real.jsonl")
    source = connector(drop).source("f", FilesSourceOptions())
    assert isinstance(source, FolderSource)
    assert await poll_twice(source, tmp_path / "hub.db") == (1, [{"n": 1}])
    assert (outside / "secret.jsonl").read_text() == '{"secret": 1}\n'
    assert (drop / "evil.jsonl").is_symlink() and not (drop / "archive" / "evil.jsonl").exists()


async def test_the_source_refuses_an_archive_folder_that_leads_out(tmp_path: Path) -> None:
    drop, outside = tmp_path / "drop", tmp_path / "outside"
    drop.mkdir()
    outside.mkdir()
    (drop / "archive").symlink_to(outside, target_is_directory=True)
    source = connector(drop).source("f", FilesSourceOptions())
    assert isinstance(source, FolderSource)
    with pytest.raises(PathRefused, match="outside"):
        await asyncio.to_thread(source._prepare)


def test_a_link_is_refused_at_open_even_when_it_stays_inside(tmp_path: Path) -> None:
    """The check resolves links, then the open refuses one in the last part: a link swapped in
    between the two cannot lead out either."""
    (tmp_path / "real.jsonl").write_text("x\n")
    os.symlink(tmp_path / "real.jsonl", tmp_path / "link.jsonl")
    folder = LocalFolder(tmp_path)
    with folder.open_read("real.jsonl") as stream:
        assert stream.read() == b"x\n"
    with pytest.raises(PathRefused, match="symbolic link"):
        folder.open_read("link.jsonl")
    with pytest.raises(PathRefused, match="symbolic link"):
        folder.append("link.jsonl", b"more\n")
    assert (tmp_path / "real.jsonl").read_text() == "x\n"
