"""`interlace run --processes N`: one machine's cores working the same flows.

The first process binds the listening sockets (the main one, and the webhooks' own when
`hub.webhooks` is set) and runs everything (webhooks, API, workers, sources, schedules); it starts
N-1 helper processes that inherit the sockets and run webhooks and workers only, over the same
store. The store is what they share: a work item is leased by
one process at a time (its lease is a write in the store), idempotency keys and flow bounds are
checked inside the store's transactions, so the delivery guarantee is the same as with one
process. A helper that dies is started again; helpers die with the first process (Linux
PR_SET_PDEATHSIG), so `kill -9` of it leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

log = logging.getLogger("interlace.processes")

_PR_SET_PDEATHSIG = 1


def bind(host: str, port: int) -> socket.socket:
    """The listening socket all processes accept on (OSError when the port is taken)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def die_with_parent(parent: int) -> None:
    """Ask the kernel to kill this process when its parent dies (a helper outliving the first
    process would keep serving a config nobody supervises)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)


class Helpers:
    """The helper processes of one `interlace run --processes N`."""

    def __init__(self, config: Path, count: int, sockets: list[socket.socket], args: list[str]) -> None:
        self.config = config
        self.count = count
        self.sockets = sockets
        self.args = args
        self.procs: list[subprocess.Popen[bytes]] = []
        self._stopping = False

    def _spawn(self) -> subprocess.Popen[bytes]:
        fds = [sock.fileno() for sock in self.sockets]
        cmd = [sys.executable, "-c", "from interlace.cli.main import main; main()", "run", str(self.config)]
        for fd in fds:  # the listeners' sockets, in the order the hub serves them
            cmd += ["--listen-fd", str(fd)]
        cmd += ["--parent", str(os.getpid()), *self.args]
        return subprocess.Popen(cmd, pass_fds=fds)

    def start(self) -> None:
        self.procs = [self._spawn() for _ in range(self.count)]

    async def watch(self, every: float = 1.0) -> None:
        """Start again any helper that exited while the hub runs."""
        while not self._stopping:
            await asyncio.sleep(every)
            for i, proc in enumerate(self.procs):
                code = proc.poll()
                if code is not None and not self._stopping:
                    log.error("helper process %d exited with code %s; starting it again", proc.pid, code)
                    self.procs[i] = self._spawn()

    def stop(self, grace: float = 20.0) -> None:
        """Ask every helper to finish its running items and exit; kill those that do not."""
        self._stopping = True
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
