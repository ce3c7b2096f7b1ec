"""`interlace init`: the six answers become a config that validates, is ready and passes its tests."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from interlace.scaffold.answers import Answers
from interlace.scaffold.questions import ask

from support import BIN, interlace

ANSWERS = {
    "hub": "acme",
    "trigger": {"system": "shop", "event": "customer.created"},
    "entity": {"name": "customer", "key": "email", "source_of_truth": "shop"},
    "synced": ["email", "name", "points:integer"],
    "local": {"crm": ["notes"]},
    "required": ["email", "name"],
    "incomplete": "skip",
    "owner": {"name": "support", "email": "support@acme.test"},
    "gain": {"minutes_saved_per_message": 3, "description": "No more retyping"},
    "target": {"system": "crm", "connector": "sqlite", "path": "./crm.db", "table": "customers"},
}


def _ready(folder: Path) -> dict[str, Any]:
    hub = folder / "hub.yaml"
    interlace("validate", str(hub), check=True)
    checked = interlace("check", str(hub), "--offline", "--format", "json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report: dict[str, Any] = json.loads(checked.stdout)
    tested = interlace("test", str(hub))
    assert tested.returncode == 0, tested.stdout
    return report


@pytest.mark.parametrize("incomplete", ["skip", "park"])
def test_init_from_answers_is_ready_and_tested(tmp_path: Path, incomplete: str) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump({**ANSWERS, "incomplete": incomplete}))
    out = tmp_path / "hub"
    interlace("init", "--from", str(answers), "--dir", str(out), check=True)
    assert sorted(p.name for p in out.iterdir()) == ["crm-schema.sql", "customer.schema.json", "hub.yaml"]
    report = _ready(out)
    assert report["findings"] == []
    text = (out / "hub.yaml").read_text()
    assert "    - map: |\n        {\n          \"email\": email,\n" in text, text  # a block, not one escaped string
    assert "&id" not in text and "*id" not in text, text  # `expect` written out, not an alias of `given`
    config = yaml.safe_load(text)
    flow = config["flows"]["customer-to-crm"]
    assert flow["description"] == "Each customer.created event of shop reaches crm."
    assert flow["deliver"] == [{"system": "crm", "table": "customers", "mode": "upsert", "key": "email"}]
    assert config["entities"]["customer"]["local"] == {"crm": ["notes"]}
    assert [t["name"] for t in flow["tests"]] == ["a complete record", "an incomplete record"]
    schema = json.loads((out / "customer.schema.json").read_text())
    assert schema["required"] == ["email", "name"] and schema["properties"]["points"] == {"type": "integer"}


def test_init_http_target_is_ready(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump({"target": {"system": "crm", "connector": "http", "table": "orders"}}))
    interlace("init", "--from", str(answers), "--dir", str(tmp_path / "hub"), check=True)
    assert _ready(tmp_path / "hub")["counts"] == {"error": 0, "warning": 0, "info": 0}


def test_init_refuses_to_overwrite_and_unclear_answers(tmp_path: Path) -> None:
    answers = tmp_path / "answers.yaml"
    answers.write_text(yaml.safe_dump(ANSWERS))
    interlace("init", "--from", str(answers), "--dir", str(tmp_path), check=True)
    again = interlace("init", "--from", str(answers), "--dir", str(tmp_path))
    assert again.returncode == 2, again.stderr
    assert "hub.yaml, customer.schema.json and crm-schema.sql already exist in" in again.stderr.replace("\n", "")
    for change, reason in [
        ({"owner": {"name": "x", "email": None}}, "owner: Value error, an owner needs an email or a webhook"),
        ({"local": {"crm": ["name"]}}, "name cannot be both synced and local to crm"),
        ({"entity": {"name": "c", "key": "id", "source_of_truth": "shop"}}, "the key 'id' must be one of the synced"),
    ]:
        answers.write_text(yaml.safe_dump({**ANSWERS, **change}))
        refused = interlace("init", "--from", str(answers), "--dir", str(tmp_path / "other"))
        assert refused.returncode == 2 and reason in refused.stderr
    assert not (tmp_path / "other").exists()


def test_interactive_questions_become_answers() -> None:
    replies = {
        "Name of the hub": "acme",
        "  System the event comes from (a webhook)": "portal",
        "  Record (entity) name": "ticket",
        "  Field that identifies a record": "ref",
        "  Synced fields, name or name:type, comma separated": "ref, title, hours:number",
        "  Fields every record must have": "ref, title",
        "  Minutes of manual work saved per record": "5",
    }
    asked: list[str] = []
    said: list[str] = []

    def prompt(text: str, default: Any = None) -> Any:
        asked.append(text)
        return replies.get(text, default)

    answers = ask(prompt, said.append)
    assert said[0] == "1. Which event triggers the handoff?" and len(said) == 6
    assert answers.fields == {"ref": "string", "title": "string", "hours": "number"}
    assert answers.entity.source_of_truth == "portal" and answers.target.table == "tickets"
    assert answers.gain.minutes_saved_per_message == 5
    assert isinstance(answers, Answers) and answers.required_fields == ["ref", "title"]


def test_interactive_init_at_a_terminal_with_every_default(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN / "interlace"), "init", "--dir", str(tmp_path)],
        input="\n" * 20,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "5. Who owns the exceptions?" in result.stdout
    assert _ready(tmp_path)["findings"] == []
