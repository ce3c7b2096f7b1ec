"""docs/hybrid.md: its example runs as written (the files written out from the page, its commands
run: trustme's certificates, `interlace check`, `interlace run`, `interlace agent`, the SQL), and
its reference names every setting of the models with the models' own descriptions."""

from __future__ import annotations

import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import BaseModel

from hybrid_support import AgentProcess, wait_for
from interlace.config.models import Agent, Tls

from support import HubProcess, free_port, interlace

DOC = Path(__file__).resolve().parents[2] / "docs" / "hybrid.md"


def blocks() -> dict[str, str]:
    """The page's code blocks that follow a `<!-- file: NAME -->` or `<!-- run -->` marker."""
    found = re.findall(r"<!-- (file: [\w.]+|run) -->\n```\w+\n(.*?)```", DOC.read_text(), re.S)
    return {marker.removeprefix("file: "): text for marker, text in found}


def commands(run: str) -> list[str]:
    return [line[2:].split("  #")[0].strip() for line in run.splitlines() if line.startswith("$ ")]


def expected_output(run: str, command_start: str) -> list[str]:
    """The lines the page shows after the command starting with `command_start`."""
    lines = run.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("$ " + command_start))
    out = []
    for line in lines[at + 1 :]:
        if line.startswith("$ "):
            break
        out.append(line)
    return out


@pytest.mark.parametrize("model", [Agent, Tls])
def test_reference_names_every_setting(model: type[BaseModel]) -> None:
    page = DOC.read_text()
    heading = "### `agents.NAME`" if model is Agent else "### `hub.tls`"
    section = page.split(heading, 1)[1].split("\n### ", 1)[0]
    for name, field in model.model_fields.items():
        assert f"| `{name}` |" in section, f"docs/hybrid.md does not describe {model.__name__}.{name}"
        if name != "description":
            assert field.description, f"{model.__name__}.{name} has no description for the reference"


@pytest.mark.timeout(180)
def test_the_example_runs_as_written(tmp_path: Path) -> None:
    files = blocks()
    run = files.pop("run")
    port = free_port()
    folder = tmp_path / "hybrid"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text.replace("8443", str(port)))
    steps = commands(run)
    assert steps.pop(0) == "mkdir hybrid/certs"
    (folder / "certs").mkdir()
    assert steps[0] == ".venv/bin/python -m trustme -q -d hybrid/certs -i 127.0.0.1"
    subprocess.run([sys.executable, *steps[0].split()[1:]], cwd=tmp_path, check=True, timeout=60)
    assert steps[1].startswith("export PLANT1_TOKEN=")
    env = {"PLANT1_TOKEN": "a-token-made-for-the-docs-test-0123"}
    assert steps[2] == ".venv/bin/interlace check --offline hybrid/hub.yaml"
    checked = interlace(*steps[2].split()[1:], cwd=tmp_path, env=env)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    config = folder / "hub.yaml"
    assert steps[3] == ".venv/bin/interlace run hybrid/hub.yaml &"
    hub = HubProcess(config, port, log=tmp_path / "hub.log", verify=str(folder / "certs" / "client.pem"), env=env)
    assert steps[4] == ".venv/bin/interlace agent hybrid/hub.yaml --name plant-1 &"
    agent = AgentProcess(config, "plant-1", tmp_path / "agent.log", env)
    try:
        hub.start()
        assert hub.port == port, "the port the config names was taken meanwhile"
        agent.start()
        insert = steps[5]
        assert insert.startswith('sqlite3 hybrid/plant.db "')
        with sqlite3.connect(folder / "plant.db", timeout=30) as db:
            db.executescript(files["plant.sql"])
            db.execute(insert.split('"', 1)[1].rstrip('"'))
        for command in steps[6:]:
            database, query = command.split(" ", 2)[1:]
            want = expected_output(run, command)

            def shown(database: str = database, query: str = query) -> list[str]:
                try:
                    with sqlite3.connect(tmp_path / database, timeout=30) as db:
                        rows = db.execute(query.strip('"')).fetchall()
                except sqlite3.OperationalError:  # its table is not made yet
                    return []
                return ["|".join(f"{v:g}" if isinstance(v, float) else str(v) for v in row) for row in rows]

            wait_for(f"{command} shows what the page says", lambda s=shown, w=want: s() == w, 90)
        assert agent.listening() == []
    except BaseException:
        for log in ("hub.log", "agent.log"):
            if (tmp_path / log).exists():
                print(f"--- {log}\n{(tmp_path / log).read_text(errors='replace')[-4000:]}")
        raise
    finally:
        agent.stop()
        hub.stop()
