"""`interlace check` (and every command that loads the config) on the agent sections: each problem
named with its path and line, in words that say what to do."""

from __future__ import annotations

from pathlib import Path

import pytest

from interlace.config.loader import load_config
from interlace.errors import ConfigError

from support import interlace

BASE = """
hub: {name: central}
owners: {ops: {email: ops@x.test}}
agents:
  plant-1: {url: "https://127.0.0.1:8443", token: "plant-1-token-0123456789"}
systems:
  plant: {connector: sqlite, path: ./plant.db, agent: plant-1}
  central: {connector: sqlite, path: ./central.db}
flows:
  up:
    trigger: {system: plant, table: readings, cursor: id}
    deliver: {system: central, table: readings}
    on_error: {owner: ops}
"""


def problems(folder: Path, text: str) -> list[str]:
    (folder / "hub.yaml").write_text(text)
    try:
        load_config(folder / "hub.yaml")
    except ConfigError as exc:
        return [f"{p.path}: {p.message}" for p in exc.problems]
    return []


def test_the_base_config_is_valid(tmp_path: Path) -> None:
    assert problems(tmp_path, BASE) == []


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("agent: plant-1}", "agent: plant-9}"), "systems.plant.agent: no agent named 'plant-9'"),
        ((', token: "plant-1-token-0123456789"', ""), "agents.plant-1.token: agent 'plant-1' has no token"),
        (('"plant-1-token-0123456789"', '"short"'), "agents.plant-1.token: the token of agent 'plant-1' is too short"),
        (('"plant-1-token-0123456789"', '"${env:INTERLACE_TEST_UNSET_TOKEN}"'),
         "agents.plant-1.token: environment variable INTERLACE_TEST_UNSET_TOKEN is not set"),
        (('token: "plant-1', 'ca: ./nope.pem, token: "plant-1'),
         "agents.plant-1.ca: CA certificate './nope.pem' is not a file"),
        (('token: "plant-1', 'reconnect: soon, token: "plant-1'), "agents.plant-1.reconnect: "),
        (("hub: {name: central}", "hub: {name: central, tls: {cert: ./hub.pem, key: ./hub-key.pem}}"),
         "hub.tls.cert: certificate './hub.pem' is not a file"),
        (('url: "https://127.0.0.1:8443"', 'url: "http://hub.example:8080"'),
         "agents.plant-1.url: an agent's link to another machine must be https"),
        (("plant: {connector: sqlite, path: ./plant.db, agent: plant-1}",
          "plant: {connector: webhook, agent: plant-1}"),
         "systems.plant.agent: system 'plant' (webhook) receives by listening; an agent opens no listening socket"),
        (("agents:\n", "agents:\n  idle: {url: \"https://127.0.0.1:8443\", token: \"idle-token-0123456789\"}\n"),
         "agents.idle: agent 'idle' runs no system"),
    ],
)  # fmt: skip
def test_each_problem_is_named(tmp_path: Path, change: tuple[str, str], expected: str) -> None:
    old, new = change
    assert old in BASE
    found = problems(tmp_path, BASE.replace(old, new))
    assert any(p.startswith(expected) for p in found), f"{expected!r} not among {found}"


def test_check_lists_the_agent_problems_with_their_lines(tmp_path: Path) -> None:
    text = BASE.replace("agent: plant-1}", "agent: plant-9}").replace(', token: "plant-1-token-0123456789"', "")
    (tmp_path / "hub.yaml").write_text(text)
    result = interlace("check", "--offline", str(tmp_path / "hub.yaml"))
    assert result.returncode == 2, result.stdout + result.stderr
    said = result.stdout + result.stderr
    assert "hub.yaml:7: systems.plant.agent: no agent named 'plant-9'" in said, said
    assert "hub.yaml:5: agents.plant-1.token: agent 'plant-1' has no token" in said, said
