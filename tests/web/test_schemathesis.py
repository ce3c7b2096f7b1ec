"""Schemathesis against the OpenAPI document the hub serves (`/api/openapi.json`), on a real hub
process with exceptions, messages and a golden record in its store: generated calls to every
operation, valid and not, with an admin token. No call may be answered with a server error. The
examples are bounded and seeded so that the run stays short and says the same each time."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from console_support import make_tokens, write_hub

from support import BIN, HubProcess, free_port

EXAMPLES = "8"


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[tuple[HubProcess, dict[str, str]]]:
    config = write_hub(tmp_path)
    tokens = make_tokens(config)
    process = HubProcess(config, free_port())
    process.start(timeout=60)
    try:
        for event, body in (("order.created", {"id": "A1", "email": "a@x.test", "total": -1}),
                            ("order.paid", {"id": "A1"}),
                            ("customer.updated", {"email": "ann@x.test", "name": "Ann"})):  # fmt: skip
            assert httpx.post(f"{process.url}/hooks/shop/{event}", json=body).status_code == 202
        yield process, tokens
    finally:
        process.stop()


def test_no_generated_call_gets_a_server_error(hub: tuple[HubProcess, dict[str, str]], tmp_path: Path) -> None:
    process, tokens = hub
    run = subprocess.run(
        [str(BIN / "st"), "run", f"{process.url}/api/openapi.json", "--header",
         f"Authorization: Bearer {tokens['admin']}", "--checks", "not_a_server_error", "--max-examples", EXAMPLES,
         "--seed", "1", "--phases", "examples,coverage,fuzzing", "--workers", "1", "--request-timeout", "20",
         "--no-color", "--report-dir", str(tmp_path / "report")],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )  # fmt: skip
    print(run.stdout[-6000:])
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    assert "No issues found" in run.stdout or "passed" in run.stdout, run.stdout[-3000:]
