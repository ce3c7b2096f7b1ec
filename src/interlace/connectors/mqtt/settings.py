from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from interlace.connectors.base import Options
from interlace.connectors.broker.options import BrokerDelivery, BrokerTrigger, Seconds


class MqttSettings(Options):
    host: str = Field("127.0.0.1", description="The broker's host.")
    port: int = Field(1883, ge=1, le=65_535, description="The broker's port (8883 is usual with TLS).")
    username: str | None = Field(None, description="User name, when the broker asks for one.")
    password: str | None = Field(None, description="Its password; use ${env:NAME}.")
    tls: bool = Field(False, description="Connect with TLS (the system's trusted CAs).")
    protocol: Literal["5", "3.1.1"] = Field("5", description="MQTT version spoken.")
    keepalive: int = Field(30, ge=5, description="Seconds between pings: a dead broker is found by then.")
    timeout: Seconds = Field(10.0, description="Connect, subscribe and publish-confirmation timeout.")
    session_expiry: Seconds = Field(
        86_400.0,
        description="MQTT 5: how long the broker keeps a source's session (and queues its QoS 1 messages) while the"
        " hub is away. MQTT 3.1.1 sessions do not expire.",
    )


class MqttTrigger(BrokerTrigger):
    """`trigger: {system: plant, topic: "sensors/+/temperature", qos: 1}`."""

    topic: str = Field(description="Topic filter (+ and # wildcards allowed).")
    qos: Literal[0, 1] = Field(
        1,
        description="1: each message is acknowledged (PUBACK) after it is committed, and delivered again after a"
        " crash; 0: at most once. QoS 2 is not offered to sources: see docs/brokers.md.",
    )
    client_id: str | None = Field(
        None, description="The persistent session's client id; default interlace-<system>-<flow>. Keep it stable."
    )
    shared: str | None = Field(None, description="Share the subscription in this group ($share/<group>/<topic>).")
    receive_maximum: int = Field(
        100, ge=1, le=65_535, description="MQTT 5: QoS 1 messages the broker sends before it waits for acks."
    )

    @field_validator("topic")
    @classmethod
    def _filter(cls, value: str) -> str:
        levels = value.split("/")
        for i, level in enumerate(levels):
            if "#" in level and (level != "#" or i != len(levels) - 1):
                raise ValueError(f"{value!r}: '#' must be a whole level, and the last")
            if "+" in level and level != "+":
                raise ValueError(f"{value!r}: '+' must be a whole level")
        if not value:
            raise ValueError("an empty topic filter")
        return value


class MqttDelivery(BrokerDelivery):
    """`deliver: {system: plant, topic: "orders/{status}", qos: 2}`: confirmed by PUBACK (1) or PUBCOMP (2)."""

    topic: str = Field(description="Topic to publish to; {field} fills from the body (no + or # in values).")
    qos: Literal[0, 1, 2] = Field(1, description="0: sent; 1: confirmed by PUBACK; 2: by PUBCOMP (exactly once).")
    retain: bool = Field(False, description="The broker keeps the last message for new subscribers.")
    content_type: str | None = Field(None, description="MQTT 5 content type (default by format).")
    message_expiry: Seconds | None = Field(None, description="MQTT 5: the broker drops it if not delivered by then.")
    response_topic: str | None = Field(None, description="MQTT 5 response topic; {field} fills.")
