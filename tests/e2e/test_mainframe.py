"""The mainframe example through the real CLI: `interlace inspect-file` shows the copybook's
offset table and the bad record; `interlace run` loads the EBCDIC extract into SQLite, keeps the
bad record in error/ with a report, and archives the file."""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from support import ROOT, HubProcess, free_port, interlace


def test_mainframe_extract_to_database(tmp_path: Path, hub_process: list[HubProcess]) -> None:
    folder = tmp_path / "mainframe"
    shutil.copytree(ROOT / "examples" / "mainframe", folder)
    subprocess.run([sys.executable, "make_sample.py", "--bad"], cwd=folder, check=True, capture_output=True)

    shown = interlace(
        "inspect-file",
        "drop/STOCK.DAT",
        "--config",
        "hub.yaml",
        "--system",
        "warehouse",
        "--limit",
        "3",
        cwd=folder,
        check=True,
    )
    assert "QTY-ON-HAND" in shown.stdout and "REDEFINES REC-BODY" in shown.stdout
    records = [json.loads(line) for line in shown.stdout.splitlines() if line.startswith("{")]
    assert records[0]["rec_body"]["item_no"] == "IT00000001"
    assert records[2]["$error"]["field"] == "REC-BODY.QTY-ON-HAND" and records[2]["$error"]["offset"] == 198

    hub = HubProcess(folder / "hub.yaml", free_port())
    hub_process.append(hub)
    hub.start()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not (folder / "drop" / "archive" / "STOCK.DAT").exists():
        time.sleep(0.1)
    count = 0
    while time.monotonic() < deadline:
        with sqlite3.connect(folder / "stock.db") as conn:
            try:
                count = conn.execute("SELECT count(*) FROM stock").fetchone()[0]
            except sqlite3.OperationalError:
                count = 0
        if count == 24:
            break
        time.sleep(0.1)
    assert count == 24, "25 good records, less the trailer"
    report = json.loads((folder / "drop" / "error" / "STOCK.DAT.report.json").read_text())
    assert report["failed"] == 1 and report["records"][0]["record"] == 3
    assert len((folder / "drop" / "error" / "STOCK.DAT").read_bytes()) == 80
