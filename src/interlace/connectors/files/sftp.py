"""A folder on an SFTP server (asyncssh), behind the same blocking `Folder` interface.

The connector calls folder methods from worker threads; each method here runs its SFTP
coroutine on the hub's event loop (`bind`) and waits for it, so a file is streamed to a codec
straight from the server, without a local copy. Writes go to a temporary name in the same remote
folder, are fsynced where the server allows, and are renamed into place with the OpenSSH
posix-rename extension (atomic); servers without it get remove-then-rename.
"""

from __future__ import annotations

import asyncio
import io
import posixpath
import stat as stat_module
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, BinaryIO, TypeVar

import asyncssh

from interlace.connectors.files.folder import TEMP_PREFIX, Entry, PathRefused, check_name
from interlace.connectors.files.settings import SftpSettings
from interlace.errors import ConnectorError

T = TypeVar("T")
_READ_BLOCK = 256 * 1024


class SftpFolder:
    def __init__(self, settings: SftpSettings) -> None:
        self.settings = settings
        self.root_text = f"sftp://{settings.username}@{settings.host}:{settings.port}/{settings.path}"
        self.loop: asyncio.AbstractEventLoop | None = None
        self._conn: asyncssh.SSHClientConnection | None = None
        self._sftp: asyncssh.SFTPClient | None = None
        self._root: str | None = None
        self._lock: asyncio.Lock | None = None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        if self.loop is not loop:
            self.loop = loop
            self._conn = self._sftp = None
            self._lock = None

    def _run(self, make: Callable[[asyncssh.SFTPClient], Awaitable[T]]) -> T:
        loop = self.loop
        if loop is None:
            raise ConnectorError(f"{self.root_text}: not bound to an event loop")
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            raise RuntimeError("SftpFolder methods block: call them from a worker thread")

        async def call() -> T:
            return await make(await self._client())

        try:
            return asyncio.run_coroutine_threadsafe(call(), loop).result()
        except (OSError, asyncssh.Error) as exc:
            if isinstance(exc, asyncssh.SFTPNoSuchFile):
                raise FileNotFoundError(str(exc)) from exc
            raise ConnectorError(f"{self.root_text}: {exc}") from exc

    async def _client(self) -> asyncssh.SFTPClient:
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._sftp is None or self._conn is None or self._conn.is_closed():
                s = self.settings
                options: dict[str, Any] = {
                    "username": s.username,
                    "client_keys": [str(k) for k in s.client_keys] or None,
                    "known_hosts": (str(s.known_hosts) if s.known_hosts else ()) if s.check_host_key else None,
                    "connect_timeout": s.connect_timeout,
                }
                if s.password is not None:
                    options["password"] = s.password.get_secret_value()
                self._conn = await asyncssh.connect(s.host, s.port, **options)
                self._sftp = await self._conn.start_sftp_client()
                self._root = None
            return self._sftp

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            await self._conn.wait_closed()
        self._conn = self._sftp = None

    # -- names ------------------------------------------------------------------------------

    def _remote(self, name: str | None) -> str:
        if name is None:
            return self.settings.path
        return posixpath.join(self.settings.path, *check_name(name, self.root_text).parts)

    async def _confined(self, sftp: asyncssh.SFTPClient, remote: str) -> str:
        """Refuse a name whose existing part resolves (through links) outside the folder."""
        if self._root is None:
            self._root = str(await sftp.realpath(self.settings.path))
        probe = remote
        while probe not in ("", ".", "/") and not await sftp.exists(probe):
            probe = posixpath.dirname(probe)
        real = str(await sftp.realpath(probe or "."))
        if real != self._root and not real.startswith(self._root.rstrip("/") + "/"):
            raise PathRefused(f"{remote!r} leads outside {self.root_text}")
        return remote

    # -- the Folder interface -------------------------------------------------------------------

    def ensure(self, name: str | None = None) -> str:
        remote = self._remote(name)

        async def op(sftp: asyncssh.SFTPClient) -> str:
            await sftp.makedirs(remote, exist_ok=True)
            if name is not None:
                await self._confined(sftp, remote)
            return remote

        return self._run(op)

    def list(self, subfolder: str | None = None) -> list[Entry]:
        remote = self._remote(subfolder)
        prefix = "" if subfolder is None else subfolder.rstrip("/") + "/"

        async def op(sftp: asyncssh.SFTPClient) -> list[Entry]:
            try:
                names = await sftp.readdir(remote)
            except asyncssh.SFTPNoSuchFile:
                return []
            out = []
            for item in names:
                filename = str(item.filename)
                attrs = item.attrs
                if filename.startswith(".") or attrs.permissions is None:
                    continue
                if not stat_module.S_ISREG(attrs.permissions):
                    continue
                out.append(Entry(prefix + filename, attrs.size or 0, _mtime_ns(attrs)))
            return sorted(out, key=lambda e: e.name)

        return self._run(op)

    def stat(self, name: str) -> Entry | None:
        remote = self._remote(name)

        async def op(sftp: asyncssh.SFTPClient) -> Entry | None:
            try:
                attrs = await sftp.stat(remote)
            except asyncssh.SFTPNoSuchFile:
                return None
            return Entry(name, attrs.size or 0, _mtime_ns(attrs))

        return self._run(op)

    def exists(self, name: str) -> bool:
        remote = self._remote(name)
        return self._run(lambda sftp: sftp.exists(remote))

    def open_read(self, name: str) -> BinaryIO:
        remote = self._remote(name)

        async def op(sftp: asyncssh.SFTPClient) -> asyncssh.SFTPClientFile:
            await self._confined(sftp, remote)
            return await sftp.open(remote, "rb", encoding=None)

        handle = self._run(op)
        return io.BufferedReader(_RemoteReader(self, handle), buffer_size=_READ_BLOCK)

    def read_bytes(self, name: str) -> bytes | None:
        remote = self._remote(name)

        async def op(sftp: asyncssh.SFTPClient) -> bytes | None:
            await self._confined(sftp, remote)
            try:
                async with sftp.open(remote, "rb", encoding=None) as f:
                    data: bytes = await f.read()
                    return data
            except asyncssh.SFTPNoSuchFile:
                return None

        return self._run(op)

    def write_bytes(self, name: str, data: bytes) -> None:
        remote = self._remote(name)
        temp = posixpath.join(posixpath.dirname(remote), f"{TEMP_PREFIX}{uuid.uuid4().hex}")

        async def op(sftp: asyncssh.SFTPClient) -> None:
            await sftp.makedirs(posixpath.dirname(remote) or ".", exist_ok=True)
            await self._confined(sftp, remote)
            try:
                async with sftp.open(temp, "wb", encoding=None) as f:
                    await f.write(data)
                    await _fsync(f)
                await _replace(sftp, temp, remote)
            except BaseException:
                if await sftp.exists(temp):
                    await sftp.remove(temp)
                raise

        self._run(op)

    def append(self, name: str, data: bytes) -> None:
        remote = self._remote(name)

        async def op(sftp: asyncssh.SFTPClient) -> None:
            await sftp.makedirs(posixpath.dirname(remote) or ".", exist_ok=True)
            await self._confined(sftp, remote)
            async with sftp.open(remote, "ab", encoding=None) as f:
                await f.write(data)
                await _fsync(f)

        self._run(op)

    def move(self, name: str, to: str) -> str:
        source, target = self._remote(name), self._remote(to)

        async def op(sftp: asyncssh.SFTPClient) -> str:
            await sftp.makedirs(posixpath.dirname(target) or ".", exist_ok=True)
            await self._confined(sftp, target)
            stem, ext = posixpath.splitext(target)
            final, n = target, 1
            while await sftp.exists(final):
                final = f"{stem}.{n}{ext}"
                n += 1
            await sftp.rename(source, final)
            return posixpath.relpath(final, self.settings.path)

        return self._run(op)

    def remove(self, name: str) -> None:
        remote = self._remote(name)

        async def op(sftp: asyncssh.SFTPClient) -> None:
            try:
                await sftp.remove(remote)
            except asyncssh.SFTPNoSuchFile:
                pass

        self._run(op)


class _RemoteReader(io.RawIOBase):
    """A blocking raw stream over an open SFTP file, for io.BufferedReader."""

    def __init__(self, folder: SftpFolder, handle: asyncssh.SFTPClientFile) -> None:
        self._folder = folder
        self._handle = handle

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        size = len(buffer)

        async def read(_: asyncssh.SFTPClient) -> bytes:
            data: bytes = await self._handle.read(size)
            return data

        data = self._folder._run(read)
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            handle = self._handle

            async def shut(_: asyncssh.SFTPClient) -> None:
                await handle.close()

            try:
                self._folder._run(shut)
            finally:
                super().close()


def _mtime_ns(attrs: asyncssh.SFTPAttrs) -> int:
    if attrs.mtime_ns is not None:
        return int(attrs.mtime_ns)
    return int(attrs.mtime or 0) * 1_000_000_000


async def _fsync(handle: asyncssh.SFTPClientFile) -> None:
    try:
        await handle.fsync()
    except asyncssh.SFTPOpUnsupported:
        pass  # the server cannot; its close is as far as the data can be pushed


async def _replace(sftp: asyncssh.SFTPClient, temp: str, target: str) -> None:
    try:
        await sftp.posix_rename(temp, target)
    except asyncssh.SFTPOpUnsupported:
        if await sftp.exists(target):
            await sftp.remove(target)
        await sftp.rename(temp, target)
