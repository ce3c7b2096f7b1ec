"""Kill -9 in the middle of a file, restart: every record is enqueued exactly once."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).parent

RUNNER = """
import asyncio, sys
from pathlib import Path
sys.path.insert(0, {here!r})
from test_files_source import StoreIngress
from interlace.backends.sqlite import SqliteBackend
from interlace.connectors.files import FilesConnector, FilesSettings, FilesSourceOptions

async def main() -> None:
    drop, db = Path(sys.argv[1]), Path(sys.argv[2])
    backend = SqliteBackend(db)
    await backend.open()
    fmt = {{"fields": [{{"name": "n", "length": 9, "type": "int"}}, {{"name": "pad", "length": 11}}]}}
    connector = FilesConnector("drop", FilesSettings.model_validate({{"path": drop, "format": fmt}}))
    source = connector.source("load", FilesSourceOptions(batch_size=1000, poll_interval=0.05))
    task = asyncio.create_task(source.run(StoreIngress(backend)))
    while not (drop / "archive" / "big.txt").exists():
        await asyncio.sleep(0.05)
    task.cancel()
    await backend.close()

asyncio.run(main())
"""


def count(db: Path) -> tuple[int, int]:
    if not db.exists():
        return 0, 0
    try:
        with sqlite3.connect(db, timeout=5) as conn:
            row = conn.execute(
                "SELECT count(*), count(DISTINCT json_extract(message, '$.body.n')) FROM work"
            ).fetchone()
            return int(row[0]), int(row[1])
    except sqlite3.OperationalError:
        return 0, 0


def run_crash_test(tmp_path: Path, records: int) -> None:
    drop = tmp_path / "drop"
    drop.mkdir()
    with (drop / "big.txt").open("wb") as f:
        for n in range(1, records + 1):
            f.write(b"%09d%s\n" % (n, b"x" * 11))
    script = tmp_path / "runner.py"
    script.write_text(RUNNER.format(here=str(HERE)))
    db = tmp_path / "hub.db"
    args = [sys.executable, str(script), str(drop), str(db)]
    env = {**os.environ, "PYTHONPATH": str(HERE)}
    first = subprocess.Popen(args, env=env)
    deadline = time.monotonic() + 120
    while count(db)[0] < records // 3:
        assert first.poll() is None, "the first run ended before it was killed"
        assert time.monotonic() < deadline, "the first run made no progress"
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    killed_at = count(db)[0]
    assert 0 < killed_at < records
    second = subprocess.run(args, env=env, timeout=300)
    assert second.returncode == 0
    total, distinct = count(db)
    assert (total, distinct) == (records, records)
    assert (drop / "archive" / "big.txt").exists()


def test_kill_9_mid_file_then_restart_delivers_each_record_once(tmp_path: Path) -> None:
    run_crash_test(tmp_path, 30_000)


@pytest.mark.long
def test_kill_9_in_a_500000_record_file(tmp_path: Path) -> None:
    run_crash_test(tmp_path, 500_000)
