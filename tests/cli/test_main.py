"""The `interlace` command itself: version, help, completion, usage errors, and output off a
terminal; and the store commands while the config on disk is broken."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path

from interlace import __version__

from support import QUICKSTART, ROOT, interlace


def test_version_and_short_help() -> None:
    assert interlace("--version", check=True).stdout.strip() == f"interlace {__version__}"
    assert interlace("version", check=True).stdout.strip() == f"interlace {__version__}"
    for command in ([], ["run"], ["dlq", "list"], ["check"]):
        short, long = interlace(*command, "-h"), interlace(*command, "--help")
        assert short.returncode == 0 and short.stdout == long.stdout and "Usage: interlace" in short.stdout


def test_shell_completion_script() -> None:
    script = interlace("--show-completion", "bash", check=True).stdout
    assert "complete" in script and "interlace" in script


def test_a_bad_choice_is_a_usage_error_naming_the_allowed_values() -> None:
    config = str(QUICKSTART / "hub.yaml")
    bogus = interlace("dlq", "list", config, "--status", "bogus")
    assert bogus.returncode == 2
    assert all(value in bogus.stderr for value in ("'open'", "'retried'", "'discarded'", "'all'")), bogus.stderr
    assert interlace("run", config, "--log-format", "xml").returncode == 2
    assert interlace("run", config, "--log-level", "loud").returncode == 2


def test_run_on_a_taken_port_exits_3_saying_so(tmp_path: Path) -> None:
    folder = tmp_path / "qs"
    shutil.copytree(QUICKSTART, folder, ignore=shutil.ignore_patterns("*.db*", ".interlace", "crm-orders.jsonl"))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        result = interlace(
            "run", str(folder / "hub.yaml"), "--port", str(port), env={"CRM_TOKEN": "t", "CRM_PORT": "9100"}
        )
    assert result.returncode == 3, result.stdout + result.stderr
    assert f"cannot listen on 127.0.0.1:{port}: the port is already in use" in result.stderr


def test_trace_and_dlq_read_the_store_while_the_config_is_broken(tmp_path: Path) -> None:
    folder = tmp_path / "qs"
    shutil.copytree(QUICKSTART, folder, ignore=shutil.ignore_patterns("*.db*", ".interlace", "crm-orders.jsonl"))
    config = folder / "hub.yaml"
    sent = interlace("send", str(config), "order-to-erp-and-crm", "-d", "@" + str(folder / "order.json"), check=True)
    message_id = sent.stdout.strip()
    config.write_text(config.read_text().replace("validate: order", "validate: nosuch") + "colour: red\n")
    assert interlace("validate", str(config)).returncode == 2
    traced = interlace("trace", str(config), message_id, "--json")
    assert traced.returncode == 0, traced.stderr
    assert json.loads(traced.stdout)[0]["stage"] == "received"
    assert "warning:" in traced.stderr and "2 problem(s)" in traced.stderr and ".interlace/hub.db" in traced.stderr
    listed = interlace("dlq", "list", str(config), "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == [], listed.stderr
    config.write_text("hub: {store: 42}\n")  # the store itself unreadable: nothing to fall back on
    refused = interlace("dlq", "list", str(config))
    assert refused.returncode == 2 and "hub.store" in refused.stderr


def test_every_exit_code_the_cli_uses_is_in_the_docs() -> None:
    import re

    from interlace.cli import main

    used = {0, 1, main.EXIT_PORT_TAKEN}  # 1 also for an unexpected error; 3 also uvicorn's failed start
    for source in (ROOT / "src" / "interlace" / "cli").glob("*.py"):
        used |= {int(code) for code in re.findall(r"Exit\((\d+)\)", source.read_text())}
    documented = set(map(int, re.findall(r"^\| `(\d+)` \|", (ROOT / "docs" / "configuration.md").read_text(), re.M)))
    assert used == {0, 1, 2, 3}
    assert used <= documented, used - documented


def test_the_docs_call_the_command_where_make_puts_it() -> None:
    """`make run` and `make setup` install `interlace` in .venv/bin, not on the PATH: a command
    line in the docs that starts with a bare `interlace` or `python` fails for a newcomer."""
    import re

    bare = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for n, line in enumerate(page.read_text().splitlines(), 1):
            if re.match(r"\s*\$ (interlace|python) ", line):
                bare.append(f"{page.name}:{n}: {line.strip()}")
    assert bare == []
