"""A folder the connector is confined to: every name is checked to stay inside it.

Names are relative paths with `/` separators. Absolute paths, `..` parts, and names that resolve
(through symbolic links) to somewhere outside the folder are refused with a ConnectorError. A file
is opened without following a symbolic link in its last part (`O_NOFOLLOW`), so a link put in place
between the check and the open is refused too; listings show regular files only, never links.
Writes are atomic: a temporary file in the same folder, flushed and fsynced, then renamed.
"""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from interlace.errors import ConnectorError

TEMP_PREFIX = ".interlace-tmp-"


@dataclass(frozen=True)
class Entry:
    name: str
    size: int
    mtime_ns: int


class Folder(Protocol):
    """What the source and sink use of a folder. Every method blocks: the connector calls them
    from worker threads (`asyncio.to_thread`), never on the event loop itself."""

    root_text: str

    def bind(self, loop: asyncio.AbstractEventLoop) -> None: ...
    def ensure(self, name: str | None = None) -> object: ...
    def list(self, subfolder: str | None = None) -> list[Entry]: ...
    def stat(self, name: str) -> Entry | None: ...
    def exists(self, name: str) -> bool: ...
    def open_read(self, name: str) -> BinaryIO: ...
    def read_bytes(self, name: str) -> bytes | None: ...
    def write_bytes(self, name: str, data: bytes) -> None: ...
    def append(self, name: str, data: bytes) -> None: ...
    def move(self, name: str, to: str) -> str: ...
    def remove(self, name: str) -> None: ...


class PathRefused(ConnectorError):
    """A name that would lead outside the connector's folder: retrying cannot help."""


def check_name(name: str, root: str) -> PurePosixPath:
    """`name` as a relative path that stays inside its folder; PathRefused otherwise."""
    pure = PurePosixPath(name.replace("\\", "/"))
    if not name or pure.is_absolute() or any(part in ("..", "") for part in pure.parts) or ":" in name:
        raise PathRefused(f"{name!r} is not a plain name inside {root}")
    return pure


class LocalFolder:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.root_text = str(self.root)

    def path(self, name: str) -> Path:
        """The path of `name` inside the folder; PathRefused if it would leave it."""
        pure = check_name(name, self.root_text)
        full = self.root.joinpath(*pure.parts)
        resolved = full.resolve()
        if resolved != self.root and not resolved.is_relative_to(self.root):
            raise PathRefused(f"{name!r} leads outside {self.root}")
        return full

    def ensure(self, name: str | None = None) -> Path:
        folder = self.root if name is None else self.path(name)
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def list(self, subfolder: str | None = None) -> list[Entry]:
        """Regular files directly in the folder (or a subfolder), by name; hidden files skipped."""
        base = self.root if subfolder is None else self.path(subfolder)
        found = []
        try:
            with os.scandir(base) as scan:
                for item in scan:
                    if item.name.startswith(".") or not item.is_file(follow_symlinks=False):
                        continue
                    st = item.stat(follow_symlinks=False)
                    prefix = "" if subfolder is None else subfolder.rstrip("/") + "/"
                    found.append(Entry(prefix + item.name, st.st_size, st.st_mtime_ns))
        except FileNotFoundError:
            return []
        return sorted(found, key=lambda e: e.name)

    def stat(self, name: str) -> Entry | None:
        try:
            st = self.path(name).stat()
        except FileNotFoundError:
            return None
        return Entry(name, st.st_size, st.st_mtime_ns)

    def exists(self, name: str) -> bool:
        return self.path(name).exists()

    def _open(self, name: str, flags: int) -> int:
        """A descriptor of `name`, refusing a symbolic link as its last part."""
        full = self.path(name)
        try:
            return os.open(full, flags | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0), 0o666)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise PathRefused(f"{name!r} is a symbolic link: refused in {self.root}") from None
            raise

    def open_read(self, name: str) -> BinaryIO:
        return os.fdopen(self._open(name, os.O_RDONLY), "rb")

    def read_bytes(self, name: str) -> bytes | None:
        """The whole content of a small file (a log, a manifest), or None if it does not exist."""
        try:
            with self.open_read(name) as stream:
                return stream.read()
        except FileNotFoundError:
            return None

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Nothing to do for a local folder (an SFTP folder runs its I/O on this loop)."""

    @contextmanager
    def write_atomic(self, name: str) -> Iterator[BinaryIO]:
        """Yields a stream; on success its content appears under `name` at once, never partly."""
        target = self.path(name)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(prefix=TEMP_PREFIX, dir=target.parent)
        try:
            with os.fdopen(fd, "wb") as stream:
                yield stream
                stream.flush()
                os.fsync(stream.fileno())
            os.replace(temp, target)
            _fsync_dir(target.parent)
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise

    def write_bytes(self, name: str, data: bytes) -> None:
        with self.write_atomic(name) as stream:
            stream.write(data)

    def append(self, name: str, data: bytes) -> None:
        """Append and fsync (for logs that must survive a crash)."""
        self.path(name).parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(self._open(name, os.O_WRONLY | os.O_APPEND | os.O_CREAT), "ab") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())

    def move(self, name: str, to: str) -> str:
        """Move a file; if `to` is taken, a numbered suffix is added. Returns the name used."""
        source, target = self.path(name), self.path(to)
        target.parent.mkdir(parents=True, exist_ok=True)
        final, n = target, 1
        while final.exists():
            final = target.with_name(f"{target.stem}.{n}{target.suffix}")
            n += 1
        shutil.move(source, final)
        _fsync_dir(final.parent)
        return str(final.relative_to(self.root).as_posix())

    def remove(self, name: str) -> None:
        self.path(name).unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
