"""examples/mainframe (the docs/files.md walk-through) loads and reads as documented."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from interlace.config.loader import load_config
from interlace.connectors import registry
from interlace.connectors.files import FilesConnector
from interlace.connectors.files.settings import FilesSettings
from interlace.formats.inspect import inspect_file

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "mainframe"


@pytest.fixture
def example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "mainframe"
    shutil.copytree(EXAMPLE, folder, ignore=shutil.ignore_patterns("drop", "*.db*", ".interlace"))
    found = {**registry.connectors(), "files": FilesConnector}  # until the entry point is installed
    monkeypatch.setattr(registry, "connectors", lambda: found)
    monkeypatch.setattr(registry, "get", found.get)
    return folder


def test_the_example_config_loads_and_its_sample_reads(example: Path) -> None:
    subprocess.run([sys.executable, str(example / "make_sample.py"), "--bad"], check=True, capture_output=True)
    loaded = load_config(example / "hub.yaml")
    settings = loaded.system_settings["warehouse"]
    assert isinstance(settings, FilesSettings)
    assert settings.path == example / "drop"
    records, table = inspect_file(example / "drop" / "STOCK.DAT", settings.format, limit=100)
    assert len(records) == 26
    assert records[0]["rec_body"]["item_no"] == "IT00000001" and records[0]["stock_line"] is True
    assert records[0]["rec_body"]["unit_price"] == "1.11"
    assert records[2]["$error"]["field"] == "REC-BODY.QTY-ON-HAND" and records[2]["$error"]["offset"] == 2 * 80 + 38
    assert records[-1] == {
        "rec_type": "T",
        "stock_line": False,
        "trailer_line": True,
        "trailer_body": {"record_count": 25},
    }
    assert table is not None and table[0]["length"] == 80


def test_the_example_flow_maps_a_stock_line_to_a_row(example: Path) -> None:
    from interlace.config.models import FilterStep, MapStep
    from interlace.mapping.jsonata import compile_expression

    subprocess.run([sys.executable, str(example / "make_sample.py")], check=True, capture_output=True)
    loaded = load_config(example / "hub.yaml")
    settings = loaded.system_settings["warehouse"]
    assert isinstance(settings, FilesSettings)
    records, _ = inspect_file(example / "drop" / "STOCK.DAT", settings.format, limit=100)
    steps = loaded.config.flows["stock-to-db"].steps
    assert isinstance(steps[0], FilterStep) and isinstance(steps[1], MapStep)
    keep = compile_expression(steps[0].filter)
    kept = [r for r in records if keep.evaluate(r)]
    assert len(kept) == 25  # the trailer is dropped
    row = compile_expression(steps[1].map).evaluate(kept[0])
    assert row == {
        "item_no": "IT00000001",
        "description": "NUT M6",
        "warehouse": "OSL",
        "qty": 37,
        "unit_price": "1.11",
        "counted_on": "2026-11-26",
        "active": True,
    }
