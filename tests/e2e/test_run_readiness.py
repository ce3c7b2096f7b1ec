"""`interlace run` refuses a config that `interlace check` finds errors in, unless --force."""

from __future__ import annotations

import subprocess
from pathlib import Path

from support import BIN, free_port, wait_http

UNOWNED = """
hub: {{name: unowned, port: {port}}}
systems:
  shop: {{connector: webhook}}
flows:
  orders:
    trigger: {{system: shop}}
"""


def test_run_refuses_errors_and_force_overrides(tmp_path: Path) -> None:
    port = free_port()
    config = tmp_path / "hub.yaml"
    config.write_text(UNOWNED.format(port=port))
    refused = subprocess.run([str(BIN / "interlace"), "run", str(config)], capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2
    assert "not ready to run" in refused.stderr and "failure-no-owner" in refused.stderr

    forced = subprocess.Popen(
        [str(BIN / "interlace"), "run", str(config), "--force"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/health", proc=forced)
    finally:
        forced.terminate()
        forced.wait(timeout=20)
