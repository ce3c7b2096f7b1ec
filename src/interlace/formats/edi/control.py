"""Control numbers for what we send: the next interchange and group number for each partner.

With a `path`, the last numbers live in a small JSON file, read and written under an exclusive
lock (fcntl) and replaced atomically, so several processes writing to the same partner never
use a number twice and a restart goes on from the last one. Without a path the numbers start at
1 in each process (tests, one-off conversions).
"""

from __future__ import annotations

import fcntl
import json
import os
import threading
from pathlib import Path


class ControlNumbers:
    def __init__(self, path: Path | None = None, *, wrap: int = 999_999_999) -> None:
        self.path = path
        self.wrap = wrap
        self._memory: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    def next(self, partner: str, kind: str) -> int:
        """The next `kind` ("interchange", "group") number for `partner`, 1 after `wrap`."""
        with self._lock:
            if self.path is None:
                return self._bump(self._memory, partner, kind)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path.with_name(self.path.name + ".lock"), "a+b") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                try:
                    state = json.loads(self.path.read_bytes()) if self.path.exists() else {}
                except ValueError:
                    raise ValueError(f"{self.path}: not a control number file (JSON); fix or remove it") from None
                number = self._bump(state, partner, kind)
                temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
                with open(temp, "wb") as out:
                    out.write(json.dumps(state, indent=1, sort_keys=True).encode())
                    out.flush()
                    os.fsync(out.fileno())
                os.replace(temp, self.path)
                return number

    def _bump(self, state: dict[str, dict[str, int]], partner: str, kind: str) -> int:
        numbers = state.setdefault(partner, {})
        number = int(numbers.get(kind, 0)) + 1
        if number > self.wrap:
            number = 1
        numbers[kind] = number
        return number
