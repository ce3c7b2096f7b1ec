"""UN/EDIFACT: interchanges, groups and messages ORDERS, DESADV, INVOIC and CONTRL."""

from interlace.formats.edifact.codec import EdifactCodec
from interlace.formats.edifact.config import EdifactDelimiters, EdifactFormat, EdifactId, EdifactPartner

__all__ = ["EdifactCodec", "EdifactDelimiters", "EdifactFormat", "EdifactId", "EdifactPartner"]
