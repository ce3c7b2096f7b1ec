"""Helpers shared by the tests: free ports, the real CLI, the quickstart CRM and hub as processes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parent.parent
QUICKSTART = ROOT / "examples" / "quickstart"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections for as long as the block runs: bound by the
    OS (port 0) and held, never listening, so no other process can take it meanwhile."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        yield int(s.getsockname()[1])


@contextlib.contextmanager
def serving(app: Any) -> Iterator[int]:
    """`app` served by uvicorn in a thread on a port the OS picks (port 0, so never one taken
    meanwhile); yields that port, and stops the server after the block."""
    import threading

    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.01)
    try:
        yield int(server.servers[0].sockets[0].getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(5)


def wait_http(
    url: str, timeout: float = 60.0, proc: subprocess.Popen[bytes] | None = None, verify: str | bool = True
) -> None:
    """Until `url` answers (or `proc` exits); `timeout` bounds a stuck start, a busy machine is slower.
    `verify`: a CA file an https `url`'s certificate is checked against."""
    import ssl

    checked = ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            out = proc.stdout.read().decode() if proc.stdout else ""
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered:\n{out}")
        try:
            httpx.get(url, timeout=0.5, verify=checked)
            return
        except httpx.HTTPError:
            time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


def interlace(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, check: bool = False
) -> subprocess.CompletedProcess[str]:
    """Run the real `interlace` command."""
    result = subprocess.run(
        [str(BIN / "interlace"), *args],
        cwd=cwd,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and result.returncode != 0:
        raise AssertionError(
            f"interlace {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
        )
    return result


class Receiver:
    """tests/receiver.py as a real process: a (slow) system that records what it receives."""

    def __init__(self, folder: Path, delay: float = 0.0) -> None:
        self.db = folder / "received.db"
        self.port = free_port()
        self.delay = delay
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Receiver:
        script = Path(__file__).resolve().parent / "receiver.py"
        self.proc = subprocess.Popen(
            [sys.executable, str(script), "--port", str(self.port), "--db", str(self.db), "--delay", str(self.delay)]
        )
        wait_http(f"http://127.0.0.1:{self.port}/", proc=self.proc)
        return self

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def received(self) -> list[tuple[str, str]]:
        """(Idempotency-Key, order id) of every request that arrived, in order."""
        import sqlite3

        if not self.db.exists():
            return []
        with sqlite3.connect(self.db, timeout=30) as conn:
            return conn.execute("SELECT key, order_id FROM received ORDER BY rowid").fetchall()


class Crm:
    """The quickstart's stand-in CRM, run as a real process."""

    def __init__(self, folder: Path, port: int, token: str, fail_first: int = 0) -> None:
        self.log = folder / "crm-orders.jsonl"
        self.port = port
        self.token = token
        self.fail_first = fail_first
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                sys.executable,
                str(QUICKSTART / "crm.py"),
                "--port",
                str(self.port),
                "--token",
                self.token,
                "--log",
                str(self.log),
                "--fail-first",
                str(self.fail_first),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        wait_http(f"http://127.0.0.1:{self.port}/", proc=self.proc)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def orders(self) -> list[dict[str, object]]:
        import json

        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


class HubProcess:
    """`interlace run CONFIG` as a real process (with `processes` > 1: the first process and its
    helpers, which die with it); `command="serve"`: the ingress role, `interlace serve CONFIG`.
    With `log`, its output is appended to that file (a long run logs more than a pipe holds unread).
    With `verify` (a CA file), the hub serves HTTPS (`hub.tls`) and is reached by that CA; `env` is
    added to its environment."""

    def __init__(
        self,
        config: Path,
        port: int,
        processes: int = 1,
        log: Path | None = None,
        command: str = "run",
        verify: str | None = None,
        env: dict[str, str] | None = None,
    ) -> None:
        self.verify = verify
        self.env = env
        self.config = config
        self.port = port
        self.processes = processes
        self.log = log
        self.command = command
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"{'https' if self.verify else 'http'}://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        """Start the hub and wait for its /health. A port taken meanwhile (exit code 3: the port
        was free when the test picked it) moves the hub to another free port: see `url`."""
        for _ in range(5):
            out = self.log.open("ab") if self.log is not None else subprocess.PIPE
            try:
                argv = [str(BIN / "interlace"), self.command, str(self.config), "--port", str(self.port)]
                if self.command == "run":
                    argv += ["--processes", str(self.processes)]
                self.proc = subprocess.Popen(
                    [*argv, "--log-level", "warning"],
                    cwd=self.config.parent,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    env={**os.environ, **self.env} if self.env else None,
                )
            finally:
                if self.log is not None:
                    out.close()  # type: ignore[union-attr]
            try:
                wait_http(self.url + "/health", timeout=timeout, proc=self.proc, verify=self.verify or True)
                return
            except RuntimeError as exc:
                if self.proc.returncode != 3:
                    if self.log is None:
                        raise
                    raise RuntimeError(f"{exc}{self.log.read_text(errors='replace')[-4000:]}") from None
                self.port = free_port()
        raise RuntimeError("no free port for the hub after 5 tries")

    def kill(self) -> None:
        """kill -9 of the (first) process; returns once nothing listens on the port any more
        (helpers of `--processes N` are killed by the kernel when it dies)."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                except OSError:
                    return
                time.sleep(0.05)
            raise AssertionError(f"something still listens on port {self.port} after the hub was killed")

    def stop(self) -> str:
        out = ""
        if self.proc is not None:
            self.proc.terminate()
            try:
                raw = self.proc.communicate(timeout=20)[0]
            except subprocess.TimeoutExpired:
                self.proc.kill()
                raw = self.proc.communicate()[0]
            self.proc = None
            out = raw.decode() if raw is not None else ""
        return out


class WorkerProcess:
    """`interlace worker CONFIG` as a real process, its output appended to `log`; ready once its
    /health (on a port the OS chose) answers."""

    def __init__(self, config: Path, log: Path) -> None:
        self.config = config
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self, timeout: float = 60.0) -> WorkerProcess:
        for _ in range(5):
            self.port = free_port()
            with self.log.open("ab") as out:
                self.proc = subprocess.Popen(
                    [str(BIN / "interlace"), "worker", str(self.config), "--port", str(self.port),
                     "--log-level", "warning"],
                    cwd=self.config.parent, stdout=out, stderr=subprocess.STDOUT,
                )  # fmt: skip
            try:
                wait_http(f"http://127.0.0.1:{self.port}/health", timeout=timeout, proc=self.proc)
                return self
            except RuntimeError as exc:
                if self.proc.returncode != 3:
                    raise RuntimeError(f"{exc}{self.log.read_text(errors='replace')[-4000:]}") from None
        raise RuntimeError("no free port for the worker's /health after 5 tries")

    def kill(self) -> None:
        """kill -9: its leased items stay leased until their lease runs out."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self, grace: float = 30.0) -> int:
        """SIGTERM: it stops leasing, lets running items settle and exits; its exit code."""
        code = 0
        if self.proc is not None:
            self.proc.terminate()
            try:
                code = self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                code = self.proc.wait()
            self.proc = None
        return code


async def post_orders(
    url: str,
    bodies: dict[str, object],
    concurrency: int,
    answered: dict[str, int],
    *,
    idempotency: bool = False,
    timeout: float = 5.0,
) -> None:
    """POST each body (keyed by order id) with `concurrency` clients, recording {order id: HTTP
    status} in `answered` as answers come. A request the hub died on is left unanswered. With
    `idempotency`, each carries `Idempotency-Key: <order id>`, as a client that resends does."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for order_id in bodies:
        queue.put_nowait(order_id)
    async with httpx.AsyncClient(timeout=timeout) as client:

        async def sender() -> None:
            while not queue.empty():
                order_id = queue.get_nowait()
                headers = {"Idempotency-Key": order_id} if idempotency else {}
                try:
                    r = await client.post(url, json=bodies[order_id], headers=headers)
                    answered[order_id] = r.status_code
                except httpx.HTTPError:
                    pass  # the hub died with this request in flight: not acknowledged

        await asyncio.gather(*(sender() for _ in range(concurrency)))


SERVICES = {
    "postgres": ("127.0.0.1", 5432),
    "mysql": ("127.0.0.1", 3306),
    "redis": ("127.0.0.1", 6379),
    "rabbitmq": ("127.0.0.1", 5672),
    "mqtt": ("127.0.0.1", 1883),
    "nats": ("127.0.0.1", 4222),
}


def require_service(name: str) -> None:
    """Skip (or, under CI=true, fail) unless the named service accepts connections."""
    host, port = SERVICES[name]
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return
    except OSError as exc:
        reason = f"{name} is not running on {host}:{port} ({exc})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true and {reason}", pytrace=False)
    pytest.skip(reason)


@contextlib.contextmanager
def serve(app: Any, host: str = "127.0.0.1", port: int = 0) -> Iterator[int]:
    """Serve an ASGI app with uvicorn in a thread on `host` (port 0: one the OS picks); yields the port."""
    import threading

    import uvicorn

    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    server = uvicorn.Server(uvicorn.Config(app, log_level="error", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    try:
        yield int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(5)
        sock.close()
