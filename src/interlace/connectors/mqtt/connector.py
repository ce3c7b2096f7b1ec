"""The MQTT connector, on aiomqtt (paho-mqtt underneath): one connection for deliveries, made
again when lost, and one persistent session per source."""

from __future__ import annotations

import asyncio
import ssl
from typing import TYPE_CHECKING, Any, ClassVar

from interlace.connectors.base import Connector, Options, Sink, Source
from interlace.connectors.broker.twin import TwinSink
from interlace.connectors.mqtt.settings import MqttDelivery, MqttSettings, MqttTrigger
from interlace.errors import ConnectorError
from interlace.message import new_id
from interlace.observability.redaction import remember

if TYPE_CHECKING:  # the client library is imported on first use: a hub without MQTT never loads it
    import aiomqtt

    from interlace.connectors.mqtt.sink import MqttSink


class MqttConnector(Connector):
    name: ClassVar[str] = "mqtt"
    settings_model: ClassVar[type[Options]] = MqttSettings
    source_options: ClassVar[type[Options] | None] = MqttTrigger
    sink_options: ClassVar[type[Options] | None] = MqttDelivery
    settings: MqttSettings

    def __init__(self, system: str, settings: Any) -> None:
        super().__init__(system, settings)
        self._client: aiomqtt.Client | None = None
        self._opening = asyncio.Lock()
        if settings.password:
            remember(settings.password)

    @property
    def v5(self) -> bool:
        return self.settings.protocol == "5"

    def make_client(
        self, identifier: str | None = None, *, persistent: bool = False, receive: int = 0
    ) -> aiomqtt.Client:
        """A client (not connected yet). `persistent`: a session the broker keeps while the hub
        is away (clean start off, an expiry under MQTT 5); `receive`: MQTT 5 receive maximum."""
        import aiomqtt
        from paho.mqtt.client import MQTT_CLEAN_START_FIRST_ONLY
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        s = self.settings
        properties = None
        if self.v5:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            if persistent:
                properties.SessionExpiryInterval = int(s.session_expiry)
            if receive:
                properties.ReceiveMaximum = receive
        return aiomqtt.Client(
            s.host,
            s.port,
            username=s.username,
            password=s.password,
            identifier=identifier or f"interlace-{self.system}-{new_id()[-12:]}",
            protocol=aiomqtt.ProtocolVersion.V5 if self.v5 else aiomqtt.ProtocolVersion.V311,
            clean_session=None if self.v5 else not persistent,
            clean_start=(not persistent) if self.v5 else MQTT_CLEAN_START_FIRST_ONLY,
            keepalive=s.keepalive,
            timeout=s.timeout,
            properties=properties,
            tls_context=ssl.create_default_context() if s.tls else None,
        )

    async def client(self) -> aiomqtt.Client:
        """The deliveries' connection."""
        import aiomqtt

        if self._client is None:
            async with self._opening:
                if self._client is None:
                    client = self.make_client()
                    try:
                        await client.__aenter__()
                    except aiomqtt.MqttError as exc:
                        raise ConnectorError(f"{self.system}: MQTT at {self._where()}: {exc}") from exc
                    self._client = client
        return self._client

    async def drop(self, client: aiomqtt.Client) -> None:
        """Forget a deliveries' connection that failed: the next delivery connects again."""
        if self._client is client:
            self._client = None
            try:
                await client.__aexit__(None, None, None)
            except Exception:  # already gone
                pass

    def _where(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def source(self, flow: str, options: MqttTrigger) -> Source:
        from interlace.connectors.mqtt.source import MqttSource

        return MqttSource(self, flow, options)

    def sink(self, options: MqttDelivery) -> MqttSink:
        from interlace.connectors.mqtt.sink import MqttSink

        return MqttSink(self, options)

    def twin(self, options: MqttDelivery) -> Sink:
        return TwinSink(self.sink(options))

    async def probe(self) -> None:
        await self.client()

    async def probe_use(self, role: str, options: Any) -> None:
        """A source's subscription: SUBACK says whether this client may subscribe to the filter
        (a throwaway session: the source's own is not touched). Publishing cannot be asked
        without publishing."""
        import aiomqtt

        from interlace.connectors.mqtt.source import refused

        if role != "source":
            return
        assert isinstance(options, MqttTrigger)
        client = self.make_client()
        try:
            async with client:
                granted = await client.subscribe(options.topic, qos=options.qos)
                problem = refused(granted)
                if problem:
                    raise ConnectorError(f"{self.system}: subscribing to {options.topic!r} refused: {problem}")
        except aiomqtt.MqttError as exc:
            raise ConnectorError(f"{self.system}: MQTT at {self._where()}: {exc}") from exc

    async def close(self) -> None:
        if self._client is not None:
            await self.drop(self._client)
