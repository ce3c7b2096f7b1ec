"""The `edifact` format: EDIFACT interchanges <-> one record per message (and the CONTRL reply).

Reading yields, per interchange, a record for each message (its envelope, its partner and its
`document` as nested JSON with segment groups, or an error record naming the interchange, segment
position and element when it is rejected), then the CONTRL to send back for partners that want
one. Writing takes such records and envelopes them (see `writer.py`).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import BinaryIO

from interlace.formats.base import Codec, Record, RecordWriter
from interlace.formats.edi.control import ControlNumbers
from interlace.formats.edifact.config import EdifactFormat
from interlace.formats.edifact.reader import EdifactReader
from interlace.formats.edifact.writer import EdifactWriter


class EdifactCodec(Codec):
    def __init__(self, config: EdifactFormat, clock: Callable[[], float] = time.time) -> None:
        self.config = config
        self.clock = clock
        self.numbers = ControlNumbers(config.control_numbers)

    def read(self, stream: BinaryIO, *, name: str = "<stream>") -> Iterator[Record]:
        return EdifactReader(self.config, name).read(stream)

    def writer(self, stream: BinaryIO) -> RecordWriter:
        return EdifactWriter(self.config, stream, self.numbers, self.clock)
