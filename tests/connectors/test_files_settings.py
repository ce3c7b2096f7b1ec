"""What hub.yaml may say to a files system, its triggers and deliveries (and what it may not)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import ValidationError

from interlace.connectors.files import FilesConnector, FilesSettings, FilesSinkOptions, FilesSourceOptions
from interlace.formats.copybook import CopybookFormat
from interlace.formats.csv import CsvFormat
from interlace.formats.jsonl import JsonLinesFormat

SYSTEM = """
path: ./drop/stock
format: {copybook: ./stock.cpy, encoding: cp037, record_format: rdw}
"""


def test_paths_are_taken_from_the_config_folder_and_formats_have_short_forms(tmp_path: Path) -> None:
    settings = FilesSettings.model_validate(yaml.safe_load(SYSTEM), context={"base_dir": tmp_path})
    assert settings.path == tmp_path / "drop" / "stock"
    assert isinstance(settings.format, CopybookFormat)
    assert settings.format.copybook == tmp_path / "stock.cpy"
    assert isinstance(FilesSettings.model_validate({"path": "x", "format": "csv"}).format, CsvFormat)
    assert isinstance(FilesSettings.model_validate({"path": "x"}).format, JsonLinesFormat)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"format": "csv"}, "exactly one of path"),
        ({"path": "x", "sftp": {"host": "h", "username": "u"}}, "exactly one of path"),
        ({"path": "x", "format": "excel"}, "does not match any of the expected tags"),
        ({"path": "x", "format": {"type": "csv", "delimter": ";"}}, "Extra inputs"),
        ({"path": "x", "format": {"type": "xml"}}, "record_path"),
        ({"path": "x", "colour": "red"}, "Extra inputs"),
    ],
)
def test_mistakes_in_a_system_are_refused(data: dict[str, object], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        FilesSettings.model_validate(data)


def test_trigger_and_delivery_options() -> None:
    trigger = FilesSourceOptions.model_validate(
        yaml.safe_load('{pattern: "*.DAT", complete: marker, batch_size: 1000, format: jsonl}')
    )
    assert trigger.complete == "marker" and isinstance(trigger.format, JsonLinesFormat)
    for bad in ({"archive": "../elsewhere"}, {"error": "/tmp"}, {"batch_size": 0}, {"complete": "eventually"}):
        with pytest.raises(ValidationError):
            FilesSourceOptions.model_validate(bad)
    delivery = FilesSinkOptions.model_validate(yaml.safe_load('{name: "{date}/{order_no}{ext}", batch: 100}'))
    assert delivery.batch == 100
    with pytest.raises(ValidationError):
        FilesSinkOptions.model_validate({"name": "   "})


def test_the_connector_declares_its_models() -> None:
    assert FilesConnector.name == "files"
    assert FilesConnector.settings_model is FilesSettings
    assert FilesConnector.source_options is FilesSourceOptions
    assert FilesConnector.sink_options is FilesSinkOptions
    schema = FilesSettings.model_json_schema()
    assert {"path", "sftp", "format"} <= set(schema["properties"])
