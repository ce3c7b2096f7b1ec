"""Writes what `interlace init` produces: hub.yaml, the entity's JSON Schema, a setup script for a
SQLite target, and a flow test (in hub.yaml) built from a sample record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from interlace.scaffold.answers import Answers
from interlace.types import JSON, JSONObject

_SAMPLES: dict[str, JSON] = {"string": "example", "number": 12.5, "integer": 3, "boolean": True}
_SQL_TYPES = {"string": "TEXT", "number": "REAL", "integer": "INTEGER", "boolean": "INTEGER"}


class ScaffoldError(Exception):
    """`interlace init` would overwrite a file."""


class _Dumper(yaml.SafeDumper):
    """YAML as a person writes it: a multi-line text (a mapping) as a `|` block, and a value
    used twice (a test's `given` and `expect`) written out twice, not as an `&id001` anchor."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


def _text(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style="|" if "\n" in text else None)


_Dumper.add_representer(str, _text)


def schema(answers: Answers) -> JSONObject:
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": answers.entity.name,
        "type": "object",
        "required": answers.required_fields,
        "properties": {name: {"type": kind} for name, kind in answers.fields.items()},
    }


def sample(answers: Answers) -> JSONObject:
    out: JSONObject = {}
    for name, kind in answers.fields.items():
        out[name] = f"{answers.entity.name.upper()}-1" if name == answers.entity.key else _SAMPLES[kind]
    return out


def mapping(answers: Answers) -> str:
    lines = [f'  "{name}": {name}' for name in answers.fields]
    return "{\n" + ",\n".join(lines) + "\n}\n"


def config(answers: Answers, schema_file: str) -> dict[str, Any]:
    a = answers
    steps: list[JSONObject] = []
    if a.incomplete == "skip":
        steps.append({"filter": " and ".join(f"$exists({f})" for f in a.required_fields)})
    steps += [{"validate": a.entity.name}, {"map": mapping(a)}]
    owner = {k: v for k, v in (("email", a.owner.email), ("webhook", a.owner.webhook)) if v}
    entity: JSONObject = {
        "key": a.entity.key,
        "schema": schema_file,
        "source_of_truth": a.entity.source_of_truth,
        "owner": a.owner.name,
        "mode": "interact",
    }
    if a.local:
        entity["local"] = a.local
    gain: JSONObject = {"minutes_saved_per_message": a.gain.minutes_saved_per_message}
    if a.gain.description:
        gain["description"] = a.gain.description
    return {
        "hub": {"name": a.hub, "store": "sqlite:///.interlace/hub.db"},
        "owners": {a.owner.name: owner},
        "systems": {a.trigger.system: {"connector": "webhook"}, a.target.system: _target_system(a)},
        "entities": {a.entity.name: entity},
        "flows": {
            a.flow_name: {
                "description": f"Each {a.trigger.event} event of {a.trigger.system} reaches {a.target.system}.",
                "trigger": {"system": a.trigger.system, "event": a.trigger.event},
                "steps": steps,
                "deliver": [_delivery(a)],
                "on_error": {"retry": {"attempts": 5, "backoff": "1s..5m"}, "owner": a.owner.name},
                "gain": gain,
                "tests": _tests(a),
            }
        },
    }


def _tests(a: Answers) -> list[JSONObject]:
    given = sample(a)
    tests: list[JSONObject] = [{"name": "a complete record", "given": given, "expect": given}]
    if len(a.required_fields) > 1:
        incomplete = {a.entity.key: given[a.entity.key]}
        outcome: JSONObject = {"expect": None} if a.incomplete == "skip" else {"expect_exception": "ValidationFailed"}
        tests.append({"name": "an incomplete record", "given": incomplete, **outcome})
    return tests


def _target_system(a: Answers) -> JSONObject:
    if a.target.connector == "sqlite":
        return {"connector": "sqlite", "path": a.target.path, "setup": f"./{a.target.system}-schema.sql"}
    return {"connector": "http", "base_url": a.target.base_url}


def _delivery(a: Answers) -> JSONObject:
    if a.target.connector == "sqlite":
        return {"system": a.target.system, "table": a.target.table, "mode": "upsert", "key": a.entity.key}
    return {"system": a.target.system, "method": "POST", "path": f"/{a.target.table}"}


def setup_sql(a: Answers) -> str:
    columns = [
        f"  {name} {_SQL_TYPES[kind]}{' PRIMARY KEY' if name == a.entity.key else ''}"
        for name, kind in a.fields.items()
    ]
    return f"CREATE TABLE IF NOT EXISTS {a.target.table} (\n" + ",\n".join(columns) + "\n);\n"


def scaffold(answers: Answers, folder: Path, *, overwrite: bool = False) -> list[Path]:
    """Write the files into `folder`; returns their paths. Refuses to overwrite unless told."""
    schema_name = f"{answers.entity.name}.schema.json"
    files: dict[str, str] = {
        "hub.yaml": _header(answers)
        + yaml.dump(config(answers, f"./{schema_name}"), Dumper=_Dumper, sort_keys=False, width=100),
        schema_name: json.dumps(schema(answers), indent=2) + "\n",
    }
    if answers.target.connector == "sqlite":
        files[f"{answers.target.system}-schema.sql"] = setup_sql(answers)
    existing = [name for name in files if (folder / name).exists()]
    if existing and not overwrite:
        names = existing[0] if len(existing) == 1 else f"{', '.join(existing[:-1])} and {existing[-1]}"
        verb = "already exists" if len(existing) == 1 else "already exist"
        raise ScaffoldError(f"{names} {verb} in {folder} (use --force to overwrite)")
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text)
    return [folder / name for name in files]


def _header(a: Answers) -> str:
    return (
        f"# {a.hub}: written by `interlace init`. Check it with `interlace check hub.yaml --offline`,\n"
        f"# try its flow with `interlace test hub.yaml`, run it with `interlace run hub.yaml`.\n"
    )
