"""ANSI X12: interchanges, functional groups and transaction sets 850, 855, 856, 810 and 997."""

from interlace.formats.x12.codec import X12Codec
from interlace.formats.x12.config import X12Delimiters, X12Format, X12Id, X12Partner

__all__ = ["X12Codec", "X12Delimiters", "X12Format", "X12Id", "X12Partner"]
