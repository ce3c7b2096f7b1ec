"""docs/cloud.md: its reference names every setting of the cloud connectors' models, and every
config it shows loads as it is written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from interlace.config.loader import load_config
from interlace.connectors.http.settings import (
    CursorPages,
    HttpTrigger,
    LinkPages,
    OAuth2,
    OffsetPages,
    PagePages,
    RateLimit,
)
from interlace.connectors.s3.settings import S3Settings, S3SinkOptions, S3SourceOptions
from interlace.testing.runner import run_tests

from support import interlace

DOC = Path(__file__).resolve().parents[2] / "docs" / "cloud.md"
MODELS: dict[str, list[type[BaseModel]]] = {
    "Object storage (`s3`)": [S3Settings, S3SourceOptions, S3SinkOptions],
    "SaaS APIs (`http`): OAuth2, pagination, rate limits": [
        OAuth2, CursorPages, PagePages, OffsetPages, LinkPages, RateLimit, HttpTrigger,
    ],
}


def section(title: str) -> str:
    return DOC.read_text().split(f"## {title}", 1)[1].split("\n## ", 1)[0]


@pytest.mark.parametrize("title", MODELS)
def test_reference_names_every_setting(title: str) -> None:
    text = section(title)
    for model in MODELS[title]:
        for name, field in model.model_fields.items():
            assert f"| `{name}` |" in text, f"docs/cloud.md: {title} does not describe {model.__name__}.{name}"
            assert field.description, f"{model.__name__}.{name} has no description for the reference"


def configs() -> list[str]:
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.S)
    return [b for b in blocks if "systems:" in b]


@pytest.mark.parametrize("block", range(len(configs())))
def test_every_config_shown_loads(block: int, tmp_path: Path) -> None:
    text = configs()[block]
    if not text.startswith("hub:"):
        text = "hub: {name: docs}\n" + text
    (tmp_path / "hub.yaml").write_text(text)
    stand_ins = {"${env:LAKE_ENDPOINT}": "http://127.0.0.1:9000", "${env:CRM_URL}": "http://127.0.0.1:9100",
                 "${env:LOGIN_PORT}": "8765"}  # fmt: skip
    loaded = load_config(tmp_path / "hub.yaml", missing_secret=lambda ref: stand_ins.get(ref, "placeholder-secret"))
    assert loaded.config.flows
    results = run_tests(loaded)  # `interlace test`: the flow's own tests, against the in-memory twins
    assert all(r.ok for r in results), results
    assert len(results) == text.count("- given:")


def test_the_check_example_says_what_the_page_shows(tmp_path: Path) -> None:
    text = section("SaaS APIs (`http`): OAuth2, pagination, rate limits").split("### Checks", 1)[1]
    config = re.search(r"```text\n(.*?)```", text, re.S)
    shown = re.search(r"```console\n\$ .venv/bin/interlace check hub.yaml\n(.*?)```", text, re.S)
    assert config is not None and shown is not None
    (tmp_path / "hub.yaml").write_text(config.group(1))
    result = interlace("check", "hub.yaml", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout + result.stderr == shown.group(1)
