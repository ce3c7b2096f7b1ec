from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from interlace.connectors.base import Options
from interlace.connectors.broker.options import BrokerDelivery, BrokerTrigger, Seconds
from interlace.types import JSON

ExchangeType = Literal["direct", "fanout", "topic", "headers"]


class AmqpSettings(Options):
    url: str = Field(
        "amqp://guest:guest@127.0.0.1:5672/", description="amqp://user:password@host:port/vhost (amqps:// for TLS)."
    )
    timeout: Seconds = Field(10.0, description="Connect and declare timeout.")
    heartbeat: int = Field(30, ge=0, description="Seconds between heartbeats (0: none): a dead peer is found by then.")


class Binding(Options):
    exchange: str = Field(description="The exchange the queue is bound to.")
    routing_key: str = Field("", description="Binding key (a pattern with * and # on a topic exchange).")
    type: ExchangeType | None = Field(None, description="Declare the exchange with this type if it is missing.")


class DeadLetter(Options):
    exchange: str = Field(description="Dead-letter exchange (declared, direct, durable).")
    routing_key: str | None = Field(
        None, description="Routing key dead letters get (default: the queue's name; the original is in x-death)."
    )
    queue: str | None = Field(None, description="A queue to declare and bind to the exchange, to keep them.")


class AmqpTrigger(BrokerTrigger):
    """`trigger: {system: rabbit, queue: orders, bind: [{exchange: shop, routing_key: order.*}]}`."""

    queue: str = Field(description="The queue to consume, with manual acks.")
    declare: bool = Field(True, description="Declare the queue (and bindings) when missing; false: it must exist.")
    queue_type: Literal["quorum", "classic"] = Field("quorum", description="Declared queue type (replicated: quorum).")
    durable: bool = Field(True, description="A declared queue survives a broker restart.")
    dead_letter: DeadLetter | None = Field(None, description="Where the broker puts messages it gives up on.")
    delivery_limit: int | None = Field(
        None, ge=1, description="Quorum queues: deliveries of one message before it is dead-lettered (a poison pill)."
    )
    arguments: dict[str, JSON] = Field(default_factory=dict, description="More x-arguments for the declared queue.")
    bind: list[Binding] = Field(default_factory=list, description="Bindings made when the queue is declared.")
    prefetch: int = Field(
        0, ge=0, le=65_535, description="Unacknowledged messages the broker hands out at once (0: twice `batch`)."
    )

    @model_validator(mode="after")
    def _quorum(self) -> AmqpTrigger:
        if self.queue_type == "quorum" and not self.durable:
            raise ValueError("a quorum queue is always durable: leave `durable` true")
        if self.delivery_limit is not None and self.queue_type != "quorum":
            raise ValueError("`delivery_limit` needs queue_type quorum")
        return self


class AmqpDelivery(BrokerDelivery):
    """`deliver: {system: rabbit, exchange: erp, routing_key: "order.{status}"}`."""

    exchange: str = Field("", description="Exchange to publish to ('' : the default exchange, by queue name).")
    routing_key: str = Field(description="Routing key; {field} fills from the body.")
    exchange_type: ExchangeType | None = Field(None, description="Declare the exchange with this type if missing.")
    mandatory: bool = Field(True, description="A message no queue takes is an error, not silently dropped.")
    persistent: bool = Field(True, description="Delivery mode 2: kept on disk by durable queues.")
    content_type: str | None = Field(
        None, description="Default: application/json, text/plain or application/octet-stream."
    )
    priority: int | None = Field(None, ge=0, le=255, description="Message priority (for priority queues).")
    expiration: Seconds | None = Field(None, description="Per-message TTL.")
