"""Every connector declares what it can do on the `Connector` interface (connectors/base.py): the
hub, the loader and `entity diff` read the declarations and never probe with `hasattr`."""

from __future__ import annotations

from pathlib import Path

import pytest

from interlace.config.loader import load_config
from interlace.connectors import registry
from interlace.connectors.base import Connector
from interlace.errors import ConfigError


@pytest.mark.parametrize("name", sorted(registry.connectors()))
def test_a_declared_capability_is_one_the_connector_has(name: str) -> None:
    cls = registry.connectors()[name]
    assert cls.can_look_up == (cls.lookup is not Connector.lookup), name
    assert cls.can_list_records == (cls.list_records is not Connector.list_records), name


def test_the_built_in_capabilities() -> None:
    found = registry.connectors()
    assert {n for n, c in found.items() if c.can_look_up} >= {"sqlite", "postgres", "mysql"}
    assert {n for n, c in found.items() if c.can_list_records} >= {"http"}
    assert not found["files"].can_look_up and not found["webhook"].can_look_up


def test_an_enrich_step_naming_a_system_that_cannot_be_looked_up_is_refused(tmp_path: Path) -> None:
    (tmp_path / "hub.yaml").write_text(
        "hub: {name: t}\n"
        "systems:\n"
        "  drop: {connector: files, path: ./drop}\n"
        "  shop: {connector: webhook, path: /hooks/shop}\n"
        "flows:\n"
        "  f:\n"
        "    trigger: {system: shop, event: e}\n"
        "    steps: [{enrich: {system: drop, table: t, where: {id: id}, into: x}}]\n"
        "    deliver: {system: drop}\n"
    )
    with pytest.raises(ConfigError, match="system 'drop' \\(files\\) cannot be looked up"):
        load_config(tmp_path / "hub.yaml")
