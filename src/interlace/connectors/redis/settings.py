from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from interlace.connectors.base import Options
from interlace.connectors.broker.options import BrokerDelivery, BrokerTrigger, Seconds


class RedisSettings(Options):
    url: str = Field(
        "redis://127.0.0.1:6379/0", description="redis://[user:password@]host:port/db (rediss:// for TLS)."
    )
    password: str | None = Field(None, description="When not in the URL; use ${env:NAME}.")
    timeout: Seconds = Field(10.0, description="Connect and command timeout.")


class RedisTrigger(BrokerTrigger):
    """`trigger: {system: cache, stream: orders}` (a consumer group) or `{system: cache, channel: news}`."""

    stream: str | None = Field(None, description="The stream to read, through a consumer group.")
    group: str | None = Field(None, description="Consumer group (made if missing); default interlace-<flow>.")
    consumer: str = Field("hub", description="This reader's name in the group: keep it across restarts.")
    start: Literal["new", "all"] = Field("new", description="Where a group made now starts: new entries, or all.")
    field: str = Field("body", description="The entry field holding the payload; the others become headers.")
    claim_idle: Seconds = Field(
        60.0, description="Entries left unacknowledged by another consumer this long are taken over."
    )
    block: Seconds = Field(1.0, description="How long one read waits for new entries.")
    channel: str | None = Field(None, description="A pub/sub channel instead (at most once: no acks in pub/sub).")
    pattern: bool = Field(False, description="`channel` is a glob pattern (PSUBSCRIBE).")

    @model_validator(mode="after")
    def _one(self) -> RedisTrigger:
        if (self.stream is None) == (self.channel is None):
            raise ValueError("a redis trigger names exactly one of `stream` or `channel`")
        return self


class RedisDelivery(BrokerDelivery):
    """`deliver: {system: cache, stream: orders}` (XADD) or `{system: cache, channel: news}` (PUBLISH)."""

    stream: str | None = Field(None, description="Stream to append to; {field} fills from the body.")
    channel: str | None = Field(None, description="Pub/sub channel to publish on instead; {field} fills.")
    field: str = Field("body", description="The entry field the payload goes in.")
    maxlen: int | None = Field(None, ge=1, description="Trim the stream to about this many entries (MAXLEN ~).")
    remember: Seconds = Field(
        86_400.0,
        description="How long a delivery id is remembered, so that a redelivery is not appended twice.",
    )

    @model_validator(mode="after")
    def _one(self) -> RedisDelivery:
        if (self.stream is None) == (self.channel is None):
            raise ValueError("a redis delivery names exactly one of `stream` or `channel`")
        return self
