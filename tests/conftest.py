"""Fixtures shared by every test."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from support import QUICKSTART, Crm, HubProcess, free_port, require_service


@pytest.fixture
def quickstart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, int, Crm]]:
    """A copy of the quickstart in a temp folder, on free ports, with its CRM running.
    Yields (config path, hub port, crm)."""
    folder = tmp_path / "quickstart"
    shutil.copytree(QUICKSTART, folder, ignore=shutil.ignore_patterns("*.db*", ".interlace", "crm-orders.jsonl"))
    hub_port, crm_port = free_port(), free_port()
    config = folder / "hub.yaml"
    config.write_text(config.read_text().replace("port: 8080", f"port: {hub_port}"))
    monkeypatch.setenv("CRM_PORT", str(crm_port))  # for the hub and the CLI the test runs
    monkeypatch.setenv("CRM_TOKEN", "test-token")
    crm = Crm(folder, crm_port, "test-token")
    crm.start()
    try:
        yield config, hub_port, crm
    finally:
        crm.stop()


@pytest.fixture
def hub_process() -> Iterator[list[HubProcess]]:
    """Collects started hubs and stops them after the test."""
    started: list[HubProcess] = []
    yield started
    for hub in started:
        hub.kill()


@pytest.fixture
def service() -> Callable[[str], None]:
    """`service("postgres")`: the test needs that service (skip, or fail under CI=true)."""
    return require_service
