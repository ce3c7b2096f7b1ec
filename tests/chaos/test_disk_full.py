"""The store's disk fills up while orders arrive. The hub must not acknowledge what it could not
write, must keep answering, and once space is back must take the rest and deliver every order it
acknowledged, before and after, once. The store lives on a 16 MiB tmpfs mounted by the test (it
runs as root; room for the store and its write-ahead log, which grows to 4 MiB between
checkpoints), filled to the last byte by a ballast file.

Found by this test: a refused write while leasing ended the worker loop for good, so the hub went
on answering 202 to orders it never delivered (until a restart); the worker now retries."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from chaos.harness import Chaos, order_bodies, seed


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 16 MiB filesystem of its own (tmpfs), unmounted afterwards."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(mount)], capture_output=True, text=True
    )
    if done.returncode != 0:
        reason = f"cannot mount a size-limited tmpfs for the store ({done.stderr.strip()}); it needs root"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and {reason}", pytrace=False)
        pytest.skip(reason)
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    """Write a ballast file until the filesystem refuses another byte."""
    ballast = folder / "ballast"
    chunk = b"\0" * 65536
    with ballast.open("wb", buffering=0) as f:
        with contextlib.suppress(OSError):
            while True:
                f.write(chunk)
        with contextlib.suppress(OSError):
            while True:
                f.write(b"\0")
    return ballast


def test_full_disk_refuses_orders_it_cannot_keep_and_loses_none(tmp_path: Path, small_disk: Path) -> None:
    run_seed = seed()
    chaos = Chaos(tmp_path, store=small_disk / "hub.db")
    try:
        chaos.hub.start()
        before = order_bodies(300)
        acked: set[str] = set()
        chaos.send_until_acked(before, acked)
        chaos.settle(timeout=120)

        ballast = fill(small_disk)
        during = order_bodies(1000, start=300)
        answered: dict[str, int] = {}
        chaos.send(during, answered)
        acked.update(k for k, s in answered.items() if s == 202)
        refused = {k: s for k, s in answered.items() if s != 202}
        health = httpx.get(f"{chaos.hub.url}/health", timeout=10)
        alive = chaos.hub.proc is not None and chaos.hub.proc.poll() is None

        ballast.unlink()
        if not alive:
            chaos.hub.kill()
            chaos.hub.start()
        everything = before | during
        chaos.send_until_acked(everything, acked)
        chaos.settle(timeout=300)
        chaos.hub.stop()
    finally:
        chaos.close()
    faults = [
        f"disk full: {len(refused)} of {len(during)} refused ({sorted(set(refused.values()))}), hub alive: {alive}"
    ]
    report = chaos.report("disk-full", run_seed, everything, acked, faults)
    report.publish(tmp_path)
    report.check()
    assert refused, "the full disk refused some orders (otherwise it was not full)"
    assert all(s >= 500 for s in refused.values()), f"a full store is the hub's problem, not the client's: {refused}"
    assert alive and health.status_code == 200, "the hub kept running and answering on a full disk"
