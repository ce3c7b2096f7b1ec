"""The files connector over SFTP, against a real asyncssh SFTP server started on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import asyncssh
import pytest

from interlace.connectors.base import Incoming
from interlace.connectors.files import FilesConnector, FilesSettings, FilesSinkOptions, FilesSourceOptions
from interlace.connectors.files.sftp import SftpFolder
from interlace.connectors.files.sink import FolderSink
from interlace.connectors.files.source import FolderSource
from interlace.errors import ConnectorError
from interlace.message import Message
from interlace.types import JSON


class _Server(asyncssh.SSHServer):
    def begin_auth(self, username: str) -> bool:
        return True

    def password_auth_supported(self) -> bool:
        return True

    def validate_password(self, username: str, password: str) -> bool:
        return username == "partner" and password == "s3cret"


@pytest.fixture
async def sftp_server(tmp_path: Path) -> AsyncIterator[tuple[Path, int, Path]]:
    """A chrooted SFTP server; yields (its root on disk, port, known_hosts file)."""
    root = tmp_path / "server"
    (root / "outbox").mkdir(parents=True)
    key = asyncssh.generate_private_key("ssh-ed25519")
    server = await asyncssh.listen(
        "127.0.0.1",
        0,
        server_host_keys=[key],
        server_factory=_Server,
        sftp_factory=lambda chan: asyncssh.SFTPServer(chan, chroot=str(root).encode()),
    )
    port = server.sockets[0].getsockname()[1]
    known = tmp_path / "known_hosts"
    known.write_text(f"[127.0.0.1]:{port} {key.export_public_key().decode()}")
    yield root, port, known
    server.close()
    await server.wait_closed()


def settings(port: int, known: Path, fmt: object = "jsonl", **sftp: object) -> FilesSettings:
    return FilesSettings.model_validate(
        {
            "format": fmt,
            "sftp": {
                "host": "127.0.0.1",
                "port": port,
                "username": "partner",
                "password": "s3cret",
                "known_hosts": known,
                "path": "/outbox",
                **sftp,
            },
        }
    )


class ListIngress:
    def __init__(self) -> None:
        self.items: list[Incoming] = []
        self.cursor: JSON = None

    async def submit(
        self, flow: str, items: list[Incoming], *, cursor: tuple[str, JSON] | None = None, validate: bool = False
    ) -> list[str]:
        self.items.extend(items)
        self.cursor = cursor[1] if cursor else None
        return [str(i) for i in range(len(items))]

    async def load_cursor(self, name: str) -> JSON:
        return self.cursor

    def flows_for(self, system: str, event: str | None) -> list[str]:
        return []

    async def receive(self, system: str, event: str | None, item: Incoming) -> dict[str, str]:
        return {}


async def test_a_remote_file_is_streamed_record_by_record_and_archived_remotely(
    sftp_server: tuple[Path, int, Path],
) -> None:
    root, port, known = sftp_server
    lines = "id,qty\n" + "".join(f"A{n},{n}\n" for n in range(1, 2001)) + "A2001\n"
    (root / "outbox" / "stock.csv").write_text(lines)
    connector = FilesConnector("partner", settings(port, known, "csv"))
    await connector.probe()
    source = connector.source("f", FilesSourceOptions(batch_size=300))
    assert isinstance(source, FolderSource)
    ingress = ListIngress()
    try:
        assert await source.poll(ingress) == 0
        assert await source.poll(ingress) == 1
    finally:
        await connector.close()
    assert [i.body for i in ingress.items[:2]] == [{"id": "A1", "qty": "1"}, {"id": "A2", "qty": "2"}]
    assert len(ingress.items) == 2000
    assert (root / "outbox" / "archive" / "stock.csv").read_text() == lines
    assert (root / "outbox" / "error" / "stock.csv").read_text() == "id,qty\nA2001\n"  # header kept
    report = json.loads((root / "outbox" / "error" / "stock.csv.report.json").read_text())
    assert report["records"][0]["record"] == 2001 and report["records"][0]["field"] == "qty"


async def test_the_sink_writes_atomically_and_batches_on_the_server(sftp_server: tuple[Path, int, Path]) -> None:
    root, port, known = sftp_server
    connector = FilesConnector("partner", settings(port, known))
    single = connector.sink(FilesSinkOptions(name="in/{order_no}{ext}"))
    batched = connector.sink(FilesSinkOptions(name="batch-{message_id}{ext}", batch=2))
    assert isinstance(single, FolderSink) and isinstance(batched, FolderSink)
    try:
        result = await single.deliver(Message(flow="f", body={"order_no": "A1", "total": "9.50"}), "d0")
        assert result == {"file": "in/A1.jsonl", "records": 1}
        await batched.deliver(Message(id="m1", flow="f", body={"n": 1}), "d1")
        assert (await batched.deliver(Message(id="m2", flow="f", body={"n": 2}), "d2"))["file"] == "batch-m1.jsonl"
    finally:
        await connector.close()
    assert json.loads((root / "outbox" / "in" / "A1.jsonl").read_text()) == {"order_no": "A1", "total": "9.50"}
    assert (root / "outbox" / "batch-m1.jsonl").read_text().splitlines() == ['{"n": 1}', '{"n": 2}']
    assert not [p for p in root.rglob("*") if p.name.startswith(".interlace-tmp-")]


async def test_names_stay_inside_the_remote_folder(sftp_server: tuple[Path, int, Path]) -> None:
    root, port, known = sftp_server
    (root / "secret.txt").write_text("not for the partner")
    (root / "outbox" / "link").symlink_to(root)
    folder = SftpFolder(settings(port, known).sftp)  # type: ignore[arg-type]
    folder.bind(asyncio.get_running_loop())
    try:
        with pytest.raises(ConnectorError):
            await asyncio.to_thread(folder.read_bytes, "../secret.txt")
        with pytest.raises(ConnectorError, match="outside"):
            await asyncio.to_thread(folder.write_bytes, "link/x.txt", b"x")
        with pytest.raises(ConnectorError, match="outside"):
            await asyncio.to_thread(folder.read_bytes, "link/secret.txt")
        assert await asyncio.to_thread(folder.read_bytes, "missing.txt") is None
    finally:
        await folder.close()


async def test_a_wrong_host_key_or_password_is_a_connector_error(
    sftp_server: tuple[Path, int, Path], tmp_path: Path
) -> None:
    _, port, known = sftp_server
    other = tmp_path / "other_hosts"
    other.write_text(f"[127.0.0.1]:{port} {asyncssh.generate_private_key('ssh-ed25519').export_public_key().decode()}")
    for bad in (settings(port, other), settings(port, known, password="wrong")):
        connector = FilesConnector("partner", bad)
        with pytest.raises(ConnectorError):
            await connector.probe()
        await connector.close()
