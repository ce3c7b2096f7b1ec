"""Outbound HTTP: deliver messages to a REST API."""

from interlace.connectors.http.sink import HttpConnector

__all__ = ["HttpConnector"]
