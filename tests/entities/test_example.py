"""The runnable example of docs/entities.md (examples/entities/run.sh) runs as written: phase 1
interact, backfill, phase 2 integrate, with SQLite and a webhook only (nothing to install)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from support import BIN, ROOT, free_port


def test_the_entities_example_runs(tmp_path: Path) -> None:
    folder = tmp_path / "entities"
    shutil.copytree(ROOT / "examples" / "entities", folder, ignore=shutil.ignore_patterns(".interlace*", "*.db"))
    result = subprocess.run(
        ["bash", str(folder / "run.sh")],
        env={**os.environ, "INTERLACE_BIN": str(BIN), "PORT": str(free_port())},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "erp has: ann@acme.test | Ann Lee" in out
    assert "1 conflict(s); 0 incomplete" in out, "the backfill reports bob's two names"
    assert "the shop's points reached the crm: ann@acme.test | 120" in out
    assert "the golden record says who gave the points: 120 from shop" in out
    assert "the erp's rename was refused and set back: ann@acme.test | Ann Lee" in out
    assert "0 difference(s)" in out
