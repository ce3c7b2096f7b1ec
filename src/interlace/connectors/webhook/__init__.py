"""Inbound HTTP: a system that pushes events to the hub."""

from interlace.connectors.webhook.source import WebhookConnector

__all__ = ["WebhookConnector"]
