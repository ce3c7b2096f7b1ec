"""`interlace run --processes N`: one machine's cores working the same flows.

The first process binds the listening sockets (the main one, and the webhooks' own when
`hub.webhooks` is set) and runs everything (webhooks, API, workers, sources, schedules); it starts
N-1 helper processes that run webhooks and workers only, over the same store. Each process
accepts on sockets of its own, bound by the first to the same addresses (SO_REUSEPORT): the
kernel spreads new connections across them. On one shared socket the processes raced for each
new connection, and the one that woke first took every connection waiting: 50 clients that
connect at once were seen split 50/0 and 38/12, one core doing the work of two. A helper's
sockets stay open in the first process while it is started again: what connects meanwhile
waits in their queue. The store is what they share: a work item is leased by
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
    """A listening socket of a group on one address (SO_REUSEPORT; OSError when the port is
    taken by anything else)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def bind_all(addresses: list[tuple[str, int]], processes: int) -> list[list[socket.socket]]:
    """For each of `processes`, a listening socket on each address (port 0: the one the first
    socket got), all of one address in one SO_REUSEPORT group. OSError names the address
    (`filename`) that could not be bound."""
    bound: list[socket.socket] = []
    try:
        for host, port in addresses * processes:
            if port == 0 and len(bound) >= len(addresses):  # the port the first process's socket got
                port = bound[len(bound) % len(addresses)].getsockname()[1]
            try:
                bound.append(bind(host, port))
            except OSError as exc:
                raise OSError(exc.errno, exc.strerror, f"{host}:{port}") from None
    except OSError:
        for sock in bound:
            sock.close()
        raise
    return [bound[i : i + len(addresses)] for i in range(0, len(bound), len(addresses))]


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

    def __init__(self, config: Path, sockets: list[list[socket.socket]], args: list[str]) -> None:
        """`sockets`: each helper's own listening sockets (`bind_all`)."""
        self.config = config
        self.count = len(sockets)
        self.sockets = sockets
        self.args = args
        self.procs: list[subprocess.Popen[bytes]] = []
        self._stopping = False

    def _spawn(self, index: int) -> subprocess.Popen[bytes]:
        fds = [sock.fileno() for sock in self.sockets[index]]
        cmd = [sys.executable, "-c", "from interlace.cli.main import main; main()", "run", str(self.config)]
        for fd in fds:  # the listeners' sockets, in the order the hub serves them
            cmd += ["--listen-fd", str(fd)]
        cmd += ["--parent", str(os.getpid()), *self.args]
        return subprocess.Popen(cmd, pass_fds=fds)

    def start(self) -> None:
        self.procs = [self._spawn(i) for i in range(self.count)]

    async def watch(self, every: float = 1.0) -> None:
        """Start again any helper that exited while the hub runs."""
        while not self._stopping:
            await asyncio.sleep(every)
            for i, proc in enumerate(self.procs):
                code = proc.poll()
                if code is not None and not self._stopping:
                    log.error("helper process %d exited with code %s; starting it again", proc.pid, code)
                    self.procs[i] = self._spawn(i)

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
