"""Brokers of a test's own, for tests that restart one: mosquitto, nats-server (JetStream) and
redis-server, each a process in a temp folder on a port the OS picked, never the shared ones.

`restart()` stops the process (SIGTERM: the broker saves its state the way it does on a normal
shutdown) and starts it again on the same port and folder, as an operator's restart would."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from support import free_port


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


class PrivateBroker:
    binary = ""

    def __init__(self, folder: Path) -> None:
        if shutil.which(self.binary) is None:
            pytest.skip(f"{self.binary} is not installed")
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        self.restarts = 0

    def argv(self) -> list[str]:
        raise NotImplementedError

    def start(self, timeout: float = 60.0) -> PrivateBroker:
        for _ in range(5):  # a port taken meanwhile (it was free when picked): another one
            log = (self.folder / "broker.out").open("ab")
            self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT, cwd=self.folder)
            log.close()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and self.proc.poll() is None and not _listening(self.port):
                time.sleep(0.02)
            if self.proc.poll() is None and _listening(self.port):
                return self
            self.stop()
            if self.restarts:  # a restart keeps its port: clients are configured with it
                break
            self.port = free_port()
        out = (self.folder / "broker.out").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"{self.binary} did not start on port {self.port}:\n{out}")

    def stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.send_signal(signal.SIGTERM)
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.restarts += 1
        deadline = time.monotonic() + 30
        while _listening(self.port) and time.monotonic() < deadline:
            time.sleep(0.02)
        self.start()


class Mosquitto(PrivateBroker):
    binary = "mosquitto"

    def argv(self) -> list[str]:
        config = self.folder / "mosquitto.conf"
        config.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "user root\n"  # run as the test's user, which owns the folder (not as 'mosquitto')
            "persistence true\n"
            f"persistence_location {self.folder}/\n"
            "max_queued_messages 0\n"  # no limit: a session's QoS 1 messages are all kept while it is away
            f"log_dest file {self.folder}/mosquitto.log\n"
        )
        return [shutil.which(self.binary) or self.binary, "-c", str(config)]


class NatsServer(PrivateBroker):
    binary = "nats-server"

    def argv(self) -> list[str]:
        return [self.binary, "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd", str(self.folder / "js"),
                "-l", str(self.folder / "nats.log")]  # fmt: skip


class RedisServer(PrivateBroker):
    binary = "redis-server"

    def argv(self) -> list[str]:
        return [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.folder),
                "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no",
                "--logfile", str(self.folder / "redis.log")]  # fmt: skip


class RabbitNode(PrivateBroker):
    """A RabbitMQ node of the test's own: its own node name, ports, config and data folder (the
    machine's node, rabbit@localhost on 5672, is left alone). A node takes seconds to start."""

    binary = "rabbitmq-server"

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.dist_port = free_port()
        self.node = f"itest-{folder.parent.name[-8:]}-{self.port}@localhost"

    def env(self) -> dict[str, str]:
        import os

        (self.folder / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{self.port}\nloopback_users = none\n"
        )
        (self.folder / "enabled_plugins").write_text("[].\n")
        return {
            **os.environ,
            "RABBITMQ_NODENAME": self.node,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_CONFIG_FILE": str(self.folder / "rabbitmq.conf"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(self.folder / "enabled_plugins"),
            "RABBITMQ_MNESIA_BASE": str(self.folder / "mnesia"),
            "RABBITMQ_LOG_BASE": str(self.folder / "log"),
            "RABBITMQ_PID_FILE": str(self.folder / "rabbit.pid"),
        }

    def argv(self) -> list[str]:
        # Debian's /usr/sbin/rabbitmq-server runs the node as the `rabbitmq` user, who may not
        # enter a test's folder (pytest's are private to their user): run the server's own
        # script, as the test's user, when it is there
        direct = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")
        return [str(direct) if direct.exists() else shutil.which(self.binary) or self.binary]

    def start(self, timeout: float = 180.0) -> PrivateBroker:
        log = (self.folder / "broker.out").open("ab")
        self.proc = subprocess.Popen(self.argv(), stdout=log, stderr=subprocess.STDOUT, cwd=self.folder, env=self.env())
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.proc.poll() is None and not _listening(self.port):
            time.sleep(0.1)
        if self.proc.poll() is None and _listening(self.port):
            return self
        self.stop()
        out = (self.folder / "broker.out").read_text(errors="replace")[-2000:]
        raise RuntimeError(f"rabbitmq-server did not start as {self.node} on port {self.port}:\n{out}")
