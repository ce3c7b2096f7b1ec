"""A hybrid hub for the tests: a CA and the hub's certificate made by the test (trustme), the hub
(`interlace run`, HTTPS) and an agent (`interlace agent`) as real processes, and between them a
TCP proxy the test controls, which cuts the link (every connection reset, new ones refused) and
restores it."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sqlite3
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import psutil

from support import BIN, HubProcess, free_port, interlace

TOKEN = "plant-1-token-0123456789abcdef"


def make_certs(folder: Path) -> None:
    """ca.pem (the CA the agent trusts), hub.pem and hub-key.pem (the hub's, for 127.0.0.1)."""
    import trustme

    certs = folder / "certs"
    certs.mkdir(exist_ok=True)
    ca = trustme.CA()
    ca.cert_pem.write_to_path(str(certs / "ca.pem"))
    issued = ca.issue_cert("127.0.0.1", "localhost")
    issued.private_key_pem.write_to_path(str(certs / "hub-key.pem"))
    issued.cert_chain_pems[0].write_to_path(str(certs / "hub.pem"))
    for extra in issued.cert_chain_pems[1:]:
        with (certs / "hub.pem").open("ab") as f:
            f.write(extra.bytes())


class LinkProxy:
    """127.0.0.1:<port> -> 127.0.0.1:<target>, byte for byte. `cut()` resets every connection and
    refuses (accepts and resets at once) new ones until `restore()`."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = int(self.listener.getsockname()[1])
        self.down = False
        self.cuts = 0
        self._pairs: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @staticmethod
    def _reset(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):  # wakes the pump blocked in recv (a close alone would not)
            sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
        with contextlib.suppress(OSError):
            sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target), timeout=5)
            except OSError:
                self._reset(client)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self.down:  # cut: refused
                    self._reset(client)
                    self._reset(upstream)
                    continue
                self._pairs.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                sink.shutdown(socket.SHUT_WR)

    def cut(self) -> None:
        self.cuts += 1
        with self._lock:
            self.down = True
            pairs, self._pairs = self._pairs, set()
        for sock in pairs:
            self._reset(sock)

    def restore(self) -> None:
        self.down = False

    def close(self) -> None:
        self._closed = True
        self.cut()
        with contextlib.suppress(OSError):
            self.listener.close()


HUB_CONFIG = """
hub: {{name: central, port: {hub_port}, lease: 5s, store: "sqlite:///.interlace/hub.db",
      tls: {{cert: ./certs/hub.pem, key: ./certs/hub-key.pem}}}}
owners: {{plant-ops: {{email: ops@plant.test}}}}
agents:
  plant-1:
    url: "https://127.0.0.1:{link_port}"
    token: "${{env:PLANT1_TOKEN}}"
    ca: ./certs/ca.pem
    store: "sqlite:///.interlace/plant-1.db"
    confirm_within: 10s
    reconnect: 100ms..1s
systems:
  plant: {{connector: sqlite, path: ./plant.db, setup: ./plant.sql, agent: plant-1}}
  central: {{connector: sqlite, path: ./central.db, setup: ./central.sql}}
flows:
  readings:
    trigger: {{system: plant, table: readings, cursor: id, every: 200ms, batch: 500}}
    steps:
      - map: '{{"reading": id, "sensor": sensor, "value": value}}'
    deliver:
      - {{system: central, table: readings, mode: insert}}
      - {{system: plant, table: archive, mode: insert}}
    on_error: {{owner: plant-ops, retry: {{attempts: 1000, backoff: "200ms..2s"}}}}
"""
PLANT_SQL = """
CREATE TABLE IF NOT EXISTS readings (id INTEGER PRIMARY KEY, sensor TEXT NOT NULL, value REAL NOT NULL);
CREATE TABLE IF NOT EXISTS archive (reading INTEGER, sensor TEXT, value REAL);
"""
CENTRAL_SQL = "CREATE TABLE IF NOT EXISTS readings (reading INTEGER, sensor TEXT, value REAL);"
"""No unique key on the sinks' tables on purpose: a reading delivered twice would be a second row."""


class AgentProcess:
    """`interlace agent CONFIG --name NAME` as a real process, its output appended to `log`."""

    def __init__(self, config: Path, name: str, log: Path, env: dict[str, str]) -> None:
        self.config, self.name, self.log, self.env = config, name, log, env
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> AgentProcess:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "interlace"), "agent", str(self.config), "--name", self.name, "--log-level", "info"],
                cwd=self.config.parent, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **self.env},
            )  # fmt: skip
        return self

    def listening(self) -> list[str]:
        """The agent process's sockets in LISTEN state (an agent must have none)."""
        return [f"{c.laddr}" for c in psutil.Process(self.pid).net_connections(kind="all") if c.status == "LISTEN"]

    def connected_to(self) -> set[int]:
        """The remote ports of the agent process's established TCP connections."""
        found = psutil.Process(self.pid).net_connections(kind="tcp")
        return {c.raddr.port for c in found if c.status == "ESTABLISHED" and c.raddr}

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


class Hybrid:
    """The hub, the link proxy and the agent of HUB_CONFIG in `folder`."""

    def __init__(self, folder: Path, config: str = HUB_CONFIG) -> None:
        self.folder = folder
        make_certs(folder)
        (folder / "plant.sql").write_text(PLANT_SQL)
        (folder / "central.sql").write_text(CENTRAL_SQL)
        self.env = {"PLANT1_TOKEN": TOKEN}
        self.hub_port = free_port()
        self.hub: HubProcess | None = None
        self.proxy: LinkProxy | None = None
        self.agent: AgentProcess | None = None
        self.config = folder / "hub.yaml"
        self.template = config
        self.viewer = ""

    @property
    def ca(self) -> str:
        return str(self.folder / "certs" / "ca.pem")

    def start(self) -> Hybrid:
        self.hub = HubProcess(self.config, self.hub_port, log=self.folder / "hub.log", verify=self.ca, env=self.env)
        self.proxy = LinkProxy(self.hub_port)
        self._write()
        self.hub.start()
        if self.hub.port != self.hub_port:  # the port was taken meanwhile: the proxy follows the hub
            self.hub_port = self.proxy.target = self.hub.port
        self._write()
        made = interlace("token", "create", str(self.config), "--name", "test", "--role", "viewer", check=True,
                         env=self.env)  # fmt: skip
        self.viewer = made.stdout.strip()
        self.agent = AgentProcess(self.config, "plant-1", self.folder / "agent.log", self.env).start()
        return self

    def _write(self) -> None:
        assert self.proxy is not None
        self.config.write_text(self.template.format(hub_port=self.hub_port, link_port=self.proxy.port))

    def stop(self) -> None:
        if self.agent is not None:
            self.agent.stop()
        if self.proxy is not None:
            self.proxy.close()
        if self.hub is not None:
            self.hub.stop()

    def agents(self) -> list[dict[str, object]]:
        """The hub's /api/agents, as the console reads it."""
        assert self.hub is not None
        answer = httpx.get(f"{self.hub.url}/api/agents", headers={"Authorization": f"Bearer {self.viewer}"},
                           verify=ssl.create_default_context(cafile=self.ca), timeout=30)  # fmt: skip
        answer.raise_for_status()
        agents: list[dict[str, object]] = answer.json()["agents"]
        return agents

    def add_readings(self, start: int, count: int) -> None:
        with sqlite3.connect(self.folder / "plant.db", timeout=30) as db:
            db.executescript(PLANT_SQL)
            db.executemany(
                "INSERT INTO readings (id, sensor, value) VALUES (?, ?, ?)",
                [(i, f"s{i % 7}", i / 10) for i in range(start, start + count)],
            )

    def rows(self, db: str, table: str) -> list[int]:
        path = self.folder / db
        if not path.exists():
            return []
        with sqlite3.connect(path, timeout=30) as conn:
            try:
                return [r[0] for r in conn.execute(f"SELECT reading FROM {table}")]
            except sqlite3.OperationalError:  # not made yet
                return []

    def logs(self) -> str:
        counts = f"central.readings: {len(self.rows('central.db', 'readings'))}, plant.archive: " \
                 f"{len(self.rows('plant.db', 'archive'))}\n"  # fmt: skip
        return counts + "\n".join(
            f"--- {name}:\n{(self.folder / name).read_text(errors='replace')[-6000:]}"
            for name in ("hub.log", "agent.log")
            if (self.folder / name).exists()
        )


def wait_for(what: str, predicate: Callable[[], bool], timeout: float = 120.0, every: float = 0.1) -> None:
    """Wait for `predicate`; the deadline only bounds a hang on a busy machine."""
    started = time.monotonic()
    deadline = started + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:.0f}s")
        time.sleep(every)
    print(f"{what}: {time.monotonic() - started:.1f}s")
