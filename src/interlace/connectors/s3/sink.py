"""Writes each message as one object; a large one is uploaded in parts.

The key comes from the template, so a redelivery writes the same key again (S3 replaces an
object whole, never partly): delivering twice leaves one object. An object of at least
`multipart_threshold` bytes goes up as a multipart upload, aborted if any part fails.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from interlace.connectors.base import Sink
from interlace.connectors.files.sink import encode, file_name, records_of
from interlace.connectors.s3.client import S3Client, S3Error
from interlace.connectors.s3.settings import S3SinkOptions
from interlace.errors import ConnectorError, DeliveryError
from interlace.formats.base import Codec
from interlace.message import Message
from interlace.types import JSON, JSONObject

CONTENT_TYPES = {
    "csv": "text/csv",
    "json": "application/json",
    "jsonl": "application/x-ndjson",
    "xml": "application/xml",
    "x12": "application/edi-x12",
    "edifact": "application/edifact",
}


@dataclass
class Rendered:
    """One object as it would be written."""

    key: str
    data: bytes
    content_type: str


class ObjectRenderer:
    """The pure half of the sink: a message becomes a key and bytes (the twin runs it too)."""

    def __init__(self, codec: Codec, options: S3SinkOptions, root: str, ext: str, content_type: str) -> None:
        self.codec = codec
        self.options = options
        self.root = root
        self.ext = ext
        self.content_type = options.content_type or content_type

    def render(self, message: Message, delivery_id: str) -> Rendered:
        records = records_of(message.body)
        key = self.root + file_name(self.options.key, message, delivery_id, self.ext)
        return Rendered(key, encode(self.codec, records), self.content_type)


class ObjectSink(Sink):
    def __init__(self, client: S3Client, renderer: ObjectRenderer) -> None:
        self.client = client
        self.renderer = renderer

    async def deliver(self, message: Message, delivery_id: str) -> JSON:
        made = self.renderer.render(message, delivery_id)
        options = self.renderer.options
        try:
            if len(made.data) >= options.multipart_threshold:
                etag = await self.client.put_multipart(made.key, made.data, made.content_type, options.part_size)
                parts = -(-len(made.data) // options.part_size)
            else:
                etag = await self.client.put(made.key, made.data, made.content_type)
                parts = 1
        except S3Error as exc:
            raise DeliveryError(str(exc), retryable=exc.retryable) from None
        except ConnectorError as exc:  # the server is unreachable: try again later
            raise DeliveryError(str(exc)) from None
        return {"key": made.key, "bytes": len(made.data), "parts": parts, "etag": etag}


@dataclass
class ObjectTwin(Sink):
    """The in-memory twin for `interlace test`: the real rendering, no network."""

    renderer: ObjectRenderer
    written: dict[str, Rendered] = field(default_factory=dict)

    async def deliver(self, message: Message, delivery_id: str) -> JSON:
        made = self.renderer.render(message, delivery_id)
        self.written[made.key] = made
        result: JSONObject = {"twin": made.key, "bytes": len(made.data)}
        return result
