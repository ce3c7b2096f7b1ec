"""The `x12` format: X12 interchanges <-> one record per transaction set (and the replies).

Reading yields, per interchange, a record for each transaction set (its envelope, its partner and
its `document` as nested JSON, or an error record naming the interchange, segment position and
element when it is rejected), then the acknowledgements to send back: a 997 per functional group
(and a TA1 when the interchange is rejected or asks for one) for partners that expect them.
Writing takes such records and envelopes them (see `writer.py`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import BinaryIO

from interlace.formats.base import Codec, Record, RecordWriter
from interlace.formats.edi.control import ControlNumbers
from interlace.formats.x12.config import X12Format
from interlace.formats.x12.reader import X12Reader
from interlace.formats.x12.writer import X12Writer


class X12Codec(Codec):
    def __init__(self, config: X12Format, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.numbers = ControlNumbers(config.control_numbers)

    def read(self, stream: BinaryIO, *, name: str = "<stream>") -> Iterator[Record]:
        return X12Reader(self.config, name).read(stream)

    def writer(self, stream: BinaryIO) -> RecordWriter:
        return X12Writer(self.config, stream, self.numbers, self.clock)
