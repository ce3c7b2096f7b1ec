"""`interlace diff OLD NEW`: what a config change will do, secrets redacted."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from interlace.config.diff import diff_files
from readiness.configs import clear

from support import interlace


def _pair(tmp_path: Path) -> tuple[Path, Path]:
    old = clear()
    old["systems"]["crm"] = {"connector": "http", "base_url": "http://u:hunter2@crm/api", "auth": {"bearer": "s3cret"}}
    old["entities"]["order"]["fields"] = {"total": {"owner": "shop"}}
    new = clear()
    new["systems"]["crm"] = {"connector": "http", "base_url": "http://u:hunter3@crm/api", "auth": {"bearer": "t0ken"}}
    new["entities"]["order"]["fields"] = {"total": {"owner": "erp"}}
    new["flows"]["orders"]["steps"][1]["map"] = '{"order_no": id}'
    new["flows"]["orders"]["on_error"]["retry"] = {"attempts": 9}
    new["flows"]["refunds"] = {**new["flows"]["orders"], "trigger": {"system": "shop", "event": "refund"}}
    paths = []
    for name, data in (("old.yaml", old), ("new.yaml", new)):
        (tmp_path / name).write_text(yaml.safe_dump(data))
        paths.append(tmp_path / name)
    return paths[0], paths[1]


def test_diff_names_flows_mappings_owners_and_systems(tmp_path: Path) -> None:
    old, new = _pair(tmp_path)
    changes = {(c.area, c.action, c.path) for c in diff_files(old, new)}
    assert changes == {
        ("flow", "added", "flows.refunds"),
        ("mapping", "changed", "flows.orders.steps[1].map"),
        ("flow", "changed", "flows.orders.on_error"),
        ("field-owner", "changed", "entities.order.fields.total"),
        ("system", "changed", "systems.crm.base_url"),
        ("system", "changed", "systems.crm.auth"),
    }


def test_diff_cli_redacts_secrets(tmp_path: Path) -> None:
    old, new = _pair(tmp_path)
    text = interlace("diff", str(old), str(new), check=True).stdout
    assert "entities.order.fields.total: shop -> erp" in text
    assert "hunter" not in text and "s3cret" not in text and "t0ken" not in text
    data = json.loads(interlace("diff", str(old), str(new), "--json", check=True).stdout)
    auth = next(c for c in data if c["path"] == "systems.crm.auth")
    assert auth["old"] == {"bearer": "***"} and auth["new"] == "(a secret changed)"
    url = next(c for c in data if c["path"] == "systems.crm.base_url")
    assert url["old"] == "http://u:***@crm/api"
    assert interlace("diff", str(old), str(old), check=True).stdout == "no changes\n"
