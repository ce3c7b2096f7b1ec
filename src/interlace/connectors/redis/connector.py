"""The Redis connector: one lazily opened client for deliveries, one per source (a blocking read
holds its connection)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from interlace.connectors.base import Connector, Options, Sink, Source
from interlace.connectors.broker.payload import has_fields
from interlace.connectors.broker.twin import TwinSink
from interlace.connectors.redis.settings import RedisDelivery, RedisSettings, RedisTrigger
from interlace.errors import ConnectorError
from interlace.observability.redaction import remember

if TYPE_CHECKING:  # the client library is imported on first use: a hub without Redis never loads it
    import redis.asyncio as aioredis

    from interlace.connectors.redis.sink import RedisSink


class RedisConnector(Connector):
    name: ClassVar[str] = "redis"
    settings_model: ClassVar[type[Options]] = RedisSettings
    source_options: ClassVar[type[Options] | None] = RedisTrigger
    sink_options: ClassVar[type[Options] | None] = RedisDelivery
    settings: RedisSettings

    def __init__(self, system: str, settings: Any) -> None:
        super().__init__(system, settings)
        self._client: aioredis.Redis | None = None

    def open_client(self, *, block: float = 0.0) -> aioredis.Redis:
        """A new client (a pool of connections opened on first use); `block`: the longest blocking
        read it will make, added to its socket timeout."""
        import redis.asyncio as aioredis

        s = self.settings
        password = s.password or urlsplit(s.url).password
        if password:
            remember(password)
        client: aioredis.Redis = aioredis.Redis.from_url(
            s.url,
            password=s.password,
            socket_timeout=s.timeout + block,
            socket_connect_timeout=s.timeout,
            decode_responses=False,
        )
        return client

    def client(self) -> aioredis.Redis:
        if self._client is None:
            self._client = self.open_client()
        return self._client

    def source(self, flow: str, options: RedisTrigger) -> Source:
        from interlace.connectors.redis.source import PubSubSource, StreamSource

        if options.stream is not None:
            return StreamSource(self, flow, options)
        return PubSubSource(self, flow, options)

    def sink(self, options: RedisDelivery) -> RedisSink:
        from interlace.connectors.redis.sink import RedisSink

        return RedisSink(self, options)

    def twin(self, options: RedisDelivery) -> Sink:
        return TwinSink(self.sink(options))

    async def probe(self) -> None:
        from redis.exceptions import RedisError

        try:
            await self.client().ping()
        except (RedisError, OSError) as exc:
            raise ConnectorError(
                f"{self.system}: redis at {_where(self.settings.url)} is not reachable: {exc}"
            ) from exc

    async def probe_use(self, role: str, options: Any) -> None:
        """ACL DRYRUN (Redis 7): whether this user may run the commands the trigger or delivery will."""
        from redis.exceptions import ResponseError

        if role == "source":
            assert isinstance(options, RedisTrigger)
            if options.stream is not None:
                group = options.group or "interlace"
                commands = [
                    ["XREADGROUP", "GROUP", group, options.consumer, "STREAMS", options.stream, ">"],
                    ["XACK", options.stream, group, "0-1"],
                ]
            else:
                commands = [["PSUBSCRIBE" if options.pattern else "SUBSCRIBE", options.channel or ""]]
        else:
            assert isinstance(options, RedisDelivery)
            target = options.stream or options.channel or ""
            if has_fields(target):
                return  # the name depends on each message
            commands = (
                [["EVALSHA", "0" * 40, "0"], ["XADD", target, "*", options.field, "x"]]
                if options.stream is not None
                else [["PUBLISH", target, "x"]]
            )
        client = self.client()
        try:
            user = (await client.execute_command("ACL", "WHOAMI")).decode()  # type: ignore[no-untyped-call]
            for command in commands:
                answer = await client.execute_command("ACL", "DRYRUN", user, *command)  # type: ignore[no-untyped-call]
                if answer not in (b"OK", "OK"):
                    text = answer.decode() if isinstance(answer, bytes) else str(answer)
                    raise ConnectorError(f"{self.system}: user {user!r} may not {command[0]}: {text}")
        except ResponseError as exc:  # before Redis 7, or ACL itself not allowed: cannot tell
            if "unknown" in str(exc).lower() or "noperm" in str(exc).lower():
                return
            raise ConnectorError(f"{self.system}: {exc}") from exc

    async def close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


def _where(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.hostname}:{parts.port or 6379}"
