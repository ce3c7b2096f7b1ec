"""Holds the records of an interchange until its trailer has been checked.

A transaction set is complete at its SE, but whether it may be handed on is known only at the
group's GE and the interchange's IEA (their counts and control numbers). The reader therefore
holds each interchange's records here, in memory up to `limit` bytes of raw documents and in an
unnamed temporary file past that, so a 100 MB interchange costs disk, not memory. At the trailer
the records are handed out as read, or as errors when their group or interchange was rejected.
"""

from __future__ import annotations

import pickle
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from interlace.errors import ParseError
from interlace.formats.base import Record


def _pack(record: Record, group: int) -> tuple[Any, ...]:
    error = record.error
    fields = None if error is None else (error.reason, error.file, error.record, error.offset, error.field)
    return (group, record.number, record.offset, record.value, fields, record.raw)


def _unpack(item: tuple[Any, ...]) -> tuple[int, Record]:
    group, number, offset, value, fields, raw = item
    error = None
    if fields is not None:
        reason, file, rec, off, field = fields
        error = ParseError(reason, file=file, record=rec, offset=off, field=field)
    return group, Record(number, offset, value, error, raw)


class Spool:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._held: list[tuple[int, Record]] = []
        self._size = 0
        self._file: IO[bytes] | None = None
        self._spilled = 0

    def __len__(self) -> int:
        return len(self._held) + self._spilled

    def add(self, record: Record, group: int, size: int) -> None:
        """Hold `record`; `size` is the bytes it was read from (its JSON costs about ten times that)."""
        size = size * 10 + 256
        if self._file is None and self._size + size <= self.limit:
            self._held.append((group, record))
            self._size += size
            return
        if self._file is None:
            self._file = tempfile.TemporaryFile(prefix="interlace-edi-")  # noqa: SIM115 - closed in drain/close
        pickle.dump(_pack(record, group), self._file, protocol=pickle.HIGHEST_PROTOCOL)
        self._spilled += 1

    def drain(self) -> Iterator[tuple[int, Record]]:
        """The held records in order, each with its group's index; empties the spool."""
        held, self._held, self._size = self._held, [], 0
        yield from held
        spilled, self._file, count, self._spilled = self._file, None, self._spilled, 0
        if spilled is None:
            return
        try:
            spilled.seek(0)
            for _ in range(count):
                yield _unpack(pickle.load(spilled))
        finally:
            spilled.close()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
