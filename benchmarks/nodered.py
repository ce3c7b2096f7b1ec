"""Node-RED 4 for the benchmarks that compare with it: installed with npm into a scratch folder
(benchmarks/.node-red, not committed), started on a flows file from benchmarks/nodered/ on a port
the OS chose, stopped afterwards.

    with NodeRed("webhook-flows.json") as red:
        ...  # POST http://127.0.0.1:{red.port}/hooks/shop
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from types import TracebackType

import httpx

HERE = Path(__file__).resolve().parent
SCRATCH = HERE / ".node-red"
FLOWS = HERE / "nodered"
VERSION = "4"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def install() -> Path:
    """The node-red executable, installed first when missing (npm, a few hundred MB once)."""
    red = SCRATCH / "node_modules" / ".bin" / "node-red"
    if not red.exists():
        if shutil.which("npm") is None:
            raise RuntimeError("npm is not on the PATH: Node.js 20 and npm are needed to run Node-RED")
        SCRATCH.mkdir(parents=True, exist_ok=True)
        print(f"installing node-red@{VERSION} into {SCRATCH} ...", flush=True)
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund", "--prefix", str(SCRATCH), f"node-red@{VERSION}"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return red


class NodeRed:
    """One Node-RED process running `flows` (a file name in benchmarks/nodered/)."""

    def __init__(self, flows: str, *, port: int | None = None) -> None:
        self.flows = FLOWS / flows
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self._dir: tempfile.TemporaryDirectory[str] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> NodeRed:
        red = install()
        self._dir = tempfile.TemporaryDirectory(prefix="interlace-nodered-")
        user = Path(self._dir.name)
        flows = user / "flows.json"
        shutil.copy(self.flows, flows)
        env = {
            **os.environ,
            "NODE_RED_PORT": str(self.port),
            "NODE_RED_FLOWS": str(flows),
            "NODE_RED_USER_DIR": str(user),
        }
        self.proc = subprocess.Popen(
            [str(red), "--settings", str(FLOWS / "settings.js"), "--userDir", str(user)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"node-red exited with code {self.proc.returncode}")
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/", timeout=0.5)
                return self
            except httpx.HTTPError:
                time.sleep(0.2)
        raise TimeoutError("node-red did not answer")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self._dir is not None:
            self._dir.cleanup()

    def __enter__(self) -> NodeRed:
        return self.start()

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stop()
