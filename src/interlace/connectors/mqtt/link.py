"""What an MQTT source or sink needs of its connector (the connector is one): its settings and
clients. A protocol, so that source.py and sink.py need not import connector.py, which imports them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from interlace.connectors.mqtt.settings import MqttSettings

if TYPE_CHECKING:
    import aiomqtt


class MqttLink(Protocol):
    system: str
    settings: MqttSettings

    @property
    def v5(self) -> bool: ...

    def make_client(
        self, identifier: str | None = None, *, persistent: bool = False, receive: int = 0
    ) -> aiomqtt.Client: ...

    async def client(self) -> aiomqtt.Client: ...

    async def drop(self, client: aiomqtt.Client) -> None: ...
