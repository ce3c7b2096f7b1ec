"""X12 is read as a stream: memory stays flat whatever the file's size, the documents of a big
interchange waiting for its IEA in a temporary file rather than in memory."""

from __future__ import annotations

from pathlib import Path

import pytest

from formats.x12.big_x12 import read_in_child, write_big


def test_a_few_megabytes_stream_in_flat_memory_with_the_documents_held_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "big.x12"
    sets, _ = write_big(path, 3 << 20)
    small = read_in_child(path, hold=1 << 20)  # most of the interchange waits on disk
    assert small["documents"] == sets and small["errors"] == 0 and small["acks"] == 1, small
    assert small["peak_mb"] < 100, small


@pytest.mark.long
def test_a_100_mb_file_streams_under_150_mb(tmp_path: Path) -> None:
    path = tmp_path / "big.x12"
    sets, _ = write_big(path, 100 << 20)
    assert path.stat().st_size >= 100 << 20
    found = read_in_child(path)
    assert found["documents"] == sets and found["errors"] == 0 and found["acks"] == 1
    assert found["peak_mb"] < 150, found
