"""NATS: core subjects (at most once) and JetStream streams (durable consumers, acks, PubAcks)."""

from interlace.connectors.nats.connector import NatsConnector
from interlace.connectors.nats.settings import NatsDelivery, NatsSettings, NatsTrigger

__all__ = ["NatsConnector", "NatsDelivery", "NatsSettings", "NatsTrigger"]
