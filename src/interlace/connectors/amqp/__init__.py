"""AMQP 0-9-1 (RabbitMQ): consume a queue with manual acks, publish to an exchange with confirms."""

from interlace.connectors.amqp.connector import AmqpConnector
from interlace.connectors.amqp.settings import AmqpDelivery, AmqpSettings, AmqpTrigger

__all__ = ["AmqpConnector", "AmqpDelivery", "AmqpSettings", "AmqpTrigger"]
