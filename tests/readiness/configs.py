"""A clear config (no findings) and helpers to write variants of it."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from interlace.config.loader import LoadedConfig
from interlace.readiness.loading import load_for_check
from interlace.readiness.report import Report, run_checks

CLEAR: dict[str, Any] = {
    "hub": {"name": "clear"},
    "owners": {"ops": {"email": "ops@x.test"}},
    "systems": {
        "shop": {"connector": "webhook"},
        "erp": {"connector": "sqlite", "path": "./erp.db"},
    },
    "entities": {
        "order": {
            "key": "id",
            "schema": {
                "type": "object",
                "required": ["id"],
                "properties": {
                    "id": {"type": "string"},
                    "total": {"type": "number"},
                    "lines": {"type": "array", "items": {"type": "object", "properties": {"qty": {"type": "integer"}}}},
                },
            },
            "source_of_truth": "shop",
            "owner": "ops",
        }
    },
    "flows": {
        "orders": {
            "trigger": {"system": "shop", "event": "order.created"},
            "steps": [{"validate": "order"}, {"map": '{"order_no": id, "total": total, "qty": $sum(lines.qty)}'}],
            "deliver": {"system": "erp", "table": "orders", "mode": "upsert", "key": "order_no"},
            "on_error": {"owner": "ops"},
            "gain": {"minutes_saved_per_message": 2},
            "tests": [{"given": {"id": "A", "total": 3}, "expect": {"order_no": "A", "total": 3, "qty": 0}}],
        }
    },
}


def clear() -> dict[str, Any]:
    return copy.deepcopy(CLEAR)


def write(folder: Path, config: dict[str, Any], text_edit: tuple[str, str] | None = None) -> Path:
    text = yaml.safe_dump(config, sort_keys=False)
    if text_edit is not None:
        assert text_edit[0] in text, text
        text = text.replace(*text_edit)
    path = folder / "hub.yaml"
    path.write_text(text)
    return path


def load(path: Path) -> LoadedConfig:
    return load_for_check(path)[0]


def check(path: Path, *, offline: bool = True) -> Report:
    loaded, unset = load_for_check(path)
    return run_checks(loaded, offline=offline, timeout=2.0, unset_secrets=unset)


def kinds(report: Report) -> set[str]:
    return {f.kind for f in report.findings}
