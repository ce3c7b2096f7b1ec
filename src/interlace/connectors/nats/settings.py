from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from interlace.connectors.base import Options
from interlace.connectors.broker.options import BrokerDelivery, BrokerTrigger, Seconds


class NatsSettings(Options):
    url: str = Field("nats://127.0.0.1:4222", description="nats://[user:password@]host:port (tls:// for TLS).")
    token: str | None = Field(None, description="Authentication token; use ${env:NAME}.")
    timeout: Seconds = Field(10.0, description="Connect and request (PubAck) timeout.")


class NatsTrigger(BrokerTrigger):
    """`trigger: {system: bus, subject: orders.>, stream: ORDERS}` (JetStream) or `{system: bus, subject: x}`."""

    subject: str = Field(description="Subject (wildcards * and > allowed) to read.")
    stream: str | None = Field(None, description="JetStream stream: read through a durable consumer, with acks.")
    durable: str | None = Field(None, description="Durable consumer name; default interlace-<flow>.")
    create_stream: bool = Field(True, description="Make the stream (file storage, on `subject`) when missing.")
    deliver: Literal["all", "new"] = Field("all", description="Where a consumer made now starts.")
    ack_wait: Seconds = Field(30.0, description="Unacknowledged this long, a message is delivered again.")
    max_deliver: int | None = Field(None, ge=1, description="Deliveries of one message before JetStream gives up.")
    queue: str | None = Field(None, description="Core NATS only: a queue group to share the subject with.")

    @model_validator(mode="after")
    def _kind(self) -> NatsTrigger:
        if self.queue is not None and self.stream is not None:
            raise ValueError("`queue` is for core NATS; a JetStream consumer is shared by its `durable` name")
        return self


class NatsDelivery(BrokerDelivery):
    """`deliver: {system: bus, subject: "orders.{status}"}`: JetStream, confirmed by its PubAck."""

    subject: str = Field(description="Subject to publish to; {field} fills from the body.")
    jetstream: bool = Field(
        True, description="Publish to JetStream and wait for its PubAck (false: core NATS, at most once)."
    )
    stream: str | None = Field(None, description="JetStream: the stream that must take it (Nats-Expected-Stream).")
    create_stream: bool = Field(
        False, description="Make `stream` (file storage, on `subject` with * for each {field}) when missing."
    )

    @model_validator(mode="after")
    def _create(self) -> NatsDelivery:
        if self.create_stream and (self.stream is None or not self.jetstream):
            raise ValueError("`create_stream` needs `stream` (and jetstream)")
        return self
