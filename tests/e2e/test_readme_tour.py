"""The README's five-minute tour, followed as written: its ```sh commands are read from README.md
(so this test breaks when the README drifts from what works) and run one by one with bash, from
a copy of the repository root, on free ports chosen through INTERLACE_PORT and CRM_PORT as the
README says. Step 4 stops the CRM that `make run` started, watches the order get parked, brings
the CRM back with the README's own command and retries the exception.

`make run` itself is run as its recipe (`PATH="$PWD/.venv/bin:$PATH" bash examples/quickstart/run.sh`):
the copy shares this checkout's virtualenv, which `make` must not reinstall from the copy.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from support import ROOT, free_port

TIMEOUT = 120.0
"""How long a command may take to show what the README says it shows (the CRM retries take
about 10 s; a loaded machine is slower). A bound for a stuck hub, not a speed target."""


def tour_steps(readme: str) -> dict[int, list[str]]:
    """Step number -> the shell commands of its ```sh blocks (continuation lines joined, output
    comments dropped)."""
    section = readme.split("## A five-minute tour", 1)[1].split("\n## ", 1)[0]
    steps: dict[int, list[str]] = {}
    for match in re.finditer(r"^(\d+)\. (.*?)(?=^\d+\. |\Z)", section, re.S | re.M):
        commands: list[str] = []
        for block in re.findall(r"```sh\n(.*?)```", match.group(2), re.S):
            lines = [line.strip() for line in re.sub(r"\\\n\s*", " ", block).splitlines()]
            commands += [line for line in lines if line and not line.startswith("#")]
        steps[int(match.group(1))] = commands
    return steps


class Tour:
    """A copy of the repository root with this checkout's virtualenv, and the processes the
    tour starts there."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.env = {
            **os.environ,
            "INTERLACE_PORT": str(free_port()),
            "CRM_PORT": str(free_port()),
            "PATH": f"{root / '.venv' / 'bin'}:{os.environ['PATH']}",
        }
        self.env.pop("CRM_TOKEN", None)  # the quickstart's own default, as for a newcomer
        self.started: list[subprocess.Popen[str]] = []
        self.log = root / "tour.log"

    def background(self, command: str) -> subprocess.Popen[str]:
        proc = subprocess.Popen(
            ["bash", "-c", command], cwd=self.root, env=self.env, text=True, start_new_session=True,
            stdout=self.log.open("a"), stderr=subprocess.STDOUT,
        )  # fmt: skip
        self.started.append(proc)
        return proc

    def run(self, command: str, until: Callable[[str], bool] = lambda out: True) -> str:
        """Run `command` until its output shows what the README says (`until`), or fail."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            done = subprocess.run(["bash", "-c", command], cwd=self.root, env=self.env, capture_output=True, text=True)
            output = done.stdout + done.stderr
            if done.returncode == 0 and until(output):
                return output
            if time.monotonic() > deadline:
                raise AssertionError(f"{command!r} exited {done.returncode} and printed:\n{output}\n{self.hub_log()}")
            time.sleep(0.5)

    def hub_log(self) -> str:
        return "--- make run printed:\n" + (self.log.read_text() if self.log.exists() else "")

    def wait_port(self, name: str) -> None:
        url = f"http://127.0.0.1:{self.env[name]}/"
        deadline = time.monotonic() + TIMEOUT
        while time.monotonic() < deadline:
            try:
                httpx.head(url, timeout=1.0)
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"nothing answers on {url}\n{self.hub_log()}")

    def stop(self) -> None:
        for proc in reversed(self.started):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()


@pytest.fixture
def tour(tmp_path: Path) -> Iterator[Tour]:
    root = tmp_path / "interlace"
    root.mkdir()
    shutil.copy(ROOT / "README.md", root / "README.md")
    shutil.copytree(
        ROOT / "examples" / "quickstart", root / "examples" / "quickstart",
        ignore=shutil.ignore_patterns("*.db*", ".interlace", "crm-orders.jsonl", "__pycache__"),
    )  # fmt: skip
    (root / ".venv").symlink_to(ROOT / ".venv")
    started = Tour(root)
    try:
        yield started
    finally:
        started.stop()


def test_the_readme_tour_runs_as_written(tour: Tour) -> None:
    readme = (tour.root / "README.md").read_text()
    assert "make run" in readme
    steps = tour_steps(readme)
    assert {1, 2, 3, 4} <= set(steps), steps

    tour.background('PATH="$PWD/.venv/bin:$PATH" bash examples/quickstart/run.sh')  # what `make run` runs
    tour.wait_port("CRM_PORT")
    tour.wait_port("INTERLACE_PORT")

    (send,) = steps[1]
    answer = json.loads(tour.run(send))
    message_id = answer["id"]
    assert answer["ids"] == {"order-to-erp-and-crm": message_id}

    erp, crm = steps[2]
    assert "sqlite3" not in erp.split()[0], "step 2 needs no sqlite3 program"
    assert "'A-1001', 'ann@example.test', 'Ann Lee'" in tour.run(erp, until=lambda out: "A-1001" in out)
    assert '"order_no": "A-1001"' in tour.run(crm, until=lambda out: "A-1001" in out)
    assert not (tour.root / "crm-orders.jsonl").exists(), "the CRM writes beside itself, not into the cwd"

    (trace,) = steps[3]
    shown = tour.run(trace.replace("<id>", message_id), until=lambda out: "deliver:crm" in out)
    assert f"trace of {message_id}" in shown and "deliver:erp" in shown

    stop_crm, send_again, dlq_list, dlq_show, crm_back, dlq_retry, crm_log = steps[4]
    assert stop_crm.startswith("kill ") and crm_back.endswith("&"), steps[4]
    tour.run(stop_crm)
    second = json.loads(tour.run(send_again))["id"]
    listed = tour.run(dlq_list, until=lambda out: "1 exception(s)" in out)
    assert second in listed and "order-desk" in listed and "deliver:crm" in listed
    parked = json.loads(tour.run(dlq_show))
    assert parked["owner"] == "order-desk" and parked["stage"] == "deliver:crm" and parked["status"] == "open"
    assert [h["status"] for h in parked["history"] if h["stage"] == "deliver:crm"] == ["retry"] * 3 + ["failed"]
    tour.background(crm_back.removesuffix("&"))
    tour.wait_port("CRM_PORT")
    assert "1: requeued" in tour.run(dlq_retry)
    delivered = tour.run(crm_log, until=lambda out: "A-1002" in out)
    assert [json.loads(line)["order"]["order_no"] for line in delivered.splitlines()] == ["A-1001", "A-1002"]
