"""The SQLite store's write-ahead log: synced after the store's lock is released, and checkpointed
beside the writer.

- `LogSync` makes a commit durable after it returns. The writer commits with
  `synchronous=NORMAL` (its frames reach the operating system, not yet the disk), releases the
  store's lock, then syncs the log (`fdatasync`). This is what `synchronous=FULL` does inside
  the COMMIT, with the lock released first: with several processes on one store
  (`run --processes N`) the others commit while the disk writes.
- `Checkpointer` copies the log back into the store's file every `every` commits, in a thread
  of its own.

Why a sync of the log is enough: in WAL mode a commit is its frames in the log, and the log is
only rewound once a checkpoint has copied every frame into the store's file and synced that file
(SQLite syncs the log before a checkpoint and the file after it, at `NORMAL` too). A log synced
after a commit returned therefore holds that commit on the disk, or the file does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger("interlace.backends")

class LogSync:
    """`fdatasync` of a store's log (its `-wal` file), opened again when it is a new file, or of
    the store's file when there is no log. Called by the writer's thread after a COMMIT made with
    `synchronous=NORMAL`, once the store's lock is released."""

    def __init__(self, store: Path) -> None:
        self._store = store
        self._wal = Path(f"{store}-wal")
        self._fd = -1
        self._inode = -1

    def sync(self) -> None:
        try:
            inode = os.stat(self._wal).st_ino
            path = self._wal
        except FileNotFoundError:  # no log (never written, or removed by the last connection)
            path, inode = self._store, os.stat(self._store).st_ino
        if inode != self._inode or self._fd < 0:
            self.close()
            self._fd = os.open(path, os.O_RDONLY)
            self._inode = inode
        os.fdatasync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class Checkpointer:
    """Copies the write-ahead log back into the store's file, in a thread and on a connection of
    its own, every `every` commits or `idle` seconds after the last.

    SQLite does it by default inside the COMMIT that fills the log past 1,000 pages: at 2,000
    messages/s that is a commit every half second that also writes and fsyncs the file, 10-30 ms
    during which every sender waits. A PASSIVE checkpoint here runs beside the writer and never
    blocks it; the log is rewound by the first transaction after one has copied it all."""

    def __init__(self, connect: Callable[[], sqlite3.Connection], *, every: int = 100, idle: float = 1.0) -> None:
        self._connect = connect
        self._every = every
        self._idle = idle
        self._commits = 0
        self._due = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def committed(self) -> None:
        self._commits += 1
        if self._commits >= self._every:
            self._due.set()

    def stop(self) -> None:
        self._stopping = True
        self._due.set()
        self._thread.join()

    def _run(self) -> None:
        conn = self._connect()
        try:
            while not self._stopping:
                self._due.wait(self._idle)
                self._due.clear()
                if self._commits == 0:
                    continue
                self._commits = 0
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
                except sqlite3.Error as exc:  # the next one tries again; the log only grows meanwhile
                    log.debug("checkpoint of the store failed: %s", exc)
            with contextlib.suppress(sqlite3.Error):
                conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()
