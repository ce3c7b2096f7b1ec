"""What an `s3` system, its triggers and its deliveries may say in hub.yaml."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BeforeValidator, Field, SecretStr, field_validator, model_validator

from interlace.connectors.base import Options
from interlace.formats.config import FormatConfig
from interlace.formats.jsonl import JsonLinesFormat
from interlace.options import parse_duration

Seconds = Annotated[float, BeforeValidator(lambda v: parse_duration(v) if isinstance(v, str) else v)]
"""A duration in the config's grammar (`10s`, `15m`), as seconds."""

MIB = 1024 * 1024
MIN_PART = 5 * MIB
"""S3 refuses a multipart part smaller than this (but the last)."""

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def _prefix(value: str) -> str:
    """A key prefix: no leading `/`, no `..` or empty part; a non-empty one ends in `/` when it
    names a folder (`orders/`), but may also be a bare start of names (`orders-2026`)."""
    if value.startswith("/") or any(part in ("..", ".") for part in value.split("/")) or "//" in value:
        raise ValueError(f"{value!r} is not a key prefix (no leading '/', no '.', '..' or empty parts)")
    return value


class S3Settings(Options):
    """`systems: {lake: {connector: s3, bucket: acme-drop, endpoint_url: ..., access_key_id: ...}}`"""

    bucket: str = Field(description="The bucket; the system reads and writes nowhere else.")
    prefix: str = Field("", description="Every key of this system starts with it (`incoming/`).")
    endpoint_url: str | None = Field(
        None,
        description="The S3 API's URL (MinIO, Ceph, Garage, a local test server); default: AWS for `region`.",
    )
    region: str = Field("us-east-1", description="The region the requests are signed for.")
    access_key_id: str = Field(description="Use a secret reference: `${env:S3_ACCESS_KEY_ID}`.")
    secret_access_key: SecretStr = Field(description="Use a secret reference: `${env:S3_SECRET_ACCESS_KEY}`.")
    session_token: SecretStr | None = Field(None, description="For temporary credentials (STS).")
    addressing: Literal["auto", "path", "virtual"] = Field(
        "auto",
        description="path: `endpoint/bucket/key`; virtual: `bucket.endpoint/key`; auto: virtual on AWS,"
        " path elsewhere.",
    )
    format: FormatConfig = Field(default_factory=JsonLinesFormat, description="How objects are read and written.")
    timeout: float = Field(30.0, gt=0, description="Seconds for connect, read and write each.")

    @field_validator("bucket")
    @classmethod
    def _bucket(cls, value: str) -> str:
        if not _BUCKET.fullmatch(value) or ".." in value or re.fullmatch(r"[\d.]+", value):
            raise ValueError(
                f"{value!r} is not a bucket name: 3 to 63 lowercase letters, digits, '.' and '-',"
                " starting and ending with a letter or digit"
            )
        return value

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"https?://[^/\s]+/?$", value):
            raise ValueError(f"{value!r} is not an endpoint URL like https://s3.example.com or http://127.0.0.1:9000")
        return value.rstrip("/") if value else value

    _prefix = field_validator("prefix")(_prefix)


class S3SourceOptions(Options):
    """A flow `trigger:` on an s3 system: new objects under a prefix, found by polling the listing."""

    prefix: str = Field("", description="Below the system's prefix: only keys that start with it.")
    pattern: str = Field("*", description="Glob of the key below the prefix (`*.csv`; `*` crosses `/`).")
    poll_interval: Seconds = Field(5.0, gt=0, description="Time between two listings (`10s`, `1m`).")
    settle: Seconds = Field(
        900.0,
        ge=0,
        description="How long an object may take to show up in a listing after its LastModified (a long"
        " multipart upload): objects that recent are remembered by key and ETag.",
    )
    batch_size: int = Field(
        500, ge=1, le=100_000, description="Records submitted (and the cursor stored) per transaction."
    )
    event: str = Field("record", description="The event name of each record's message.")
    key_field: str | None = Field(None, description="A record field whose value becomes the message key.")
    format: FormatConfig | None = Field(None, description="Overrides the system's format for this flow.")
    after: Literal["keep", "delete"] = Field(
        "keep", description="keep: leave each read object (the cursor remembers it); delete: remove it once read."
    )
    error_prefix: str = Field(
        "error/",
        description="Below the system's prefix: where the report of an object's bad records is written"
        " (`<error_prefix><key>.report.json`); never read as input.",
    )

    notifications: str | None = Field(
        None,
        description="URL of the SQS queue the bucket sends its ObjectCreated notifications to: one starts a listing"
        " at once (the listing every poll_interval still finds what a lost notification would miss).",
    )

    _prefixes = field_validator("prefix", "error_prefix")(_prefix)

    @field_validator("notifications")
    @classmethod
    def _queue(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"https?://[^/\s]+/\S+$", value):
            raise ValueError(f"{value!r} is not an SQS queue URL like https://sqs.eu-west-3.amazonaws.com/123456789012/q")
        return value


class S3SinkOptions(Options):
    """A flow `deliver:` to an s3 system: one object per message."""

    key: str = Field(
        "{message_id}{ext}",
        description="Object key template below the system's prefix: {message_id}, {delivery_id}, {flow}, {key},"
        " {date}, {time}, {ext} and any top-level body field; a redelivery writes the same key.",
    )
    format: FormatConfig | None = Field(None, description="Overrides the system's format for this flow.")
    content_type: str | None = Field(None, description="The object's Content-Type (default: from the format).")
    multipart_threshold: int = Field(
        16 * MIB, ge=MIN_PART, description="Objects of at least this many bytes are uploaded in parts."
    )
    part_size: int = Field(8 * MIB, ge=MIN_PART, le=5 * 1024 * MIB, description="Bytes per part of a multipart upload.")

    @field_validator("key")
    @classmethod
    def _key(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the object key template is empty")
        return _prefix(value)

    @model_validator(mode="after")
    def _parts(self) -> S3SinkOptions:
        if self.part_size > self.multipart_threshold:
            raise ValueError("part_size is larger than multipart_threshold: an object that small is not split")
        return self
