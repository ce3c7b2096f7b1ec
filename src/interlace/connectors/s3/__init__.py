"""The `s3` connector: a bucket (any S3-compatible server) as a source of new objects, read record
by record, and as a sink writing one object per message."""

from __future__ import annotations

from typing import Any, ClassVar

from interlace.connectors.base import Connector, Options, Sink, Source
from interlace.connectors.files.sink import EXTENSIONS
from interlace.connectors.s3.client import S3Client, S3Error, SqsQueue
from interlace.connectors.s3.settings import S3Settings, S3SinkOptions, S3SourceOptions
from interlace.connectors.s3.sink import CONTENT_TYPES, ObjectRenderer, ObjectSink, ObjectTwin
from interlace.connectors.s3.source import BucketSource
from interlace.errors import ConnectorError
from interlace.formats.config import FormatConfig
from interlace.formats.registry import codec_for


class S3Connector(Connector):
    name: ClassVar[str] = "s3"
    settings_model: ClassVar[type[Options]] = S3Settings
    source_options: ClassVar[type[Options] | None] = S3SourceOptions
    sink_options: ClassVar[type[Options] | None] = S3SinkOptions
    settings: S3Settings

    def __init__(self, system: str, settings: Any) -> None:
        super().__init__(system, settings)
        self.client = S3Client(self.settings)

    def _renderer(self, options: Any) -> ObjectRenderer:
        opts = options if isinstance(options, S3SinkOptions) else S3SinkOptions.model_validate(options or {})
        config: FormatConfig = opts.format or self.settings.format
        ext = EXTENSIONS.get(config.type, "")
        content_type = CONTENT_TYPES.get(config.type, "application/octet-stream")
        return ObjectRenderer(codec_for(config), opts, self.settings.prefix, ext, content_type)

    def source(self, flow: str, options: Any) -> Source:
        opts = options if isinstance(options, S3SourceOptions) else S3SourceOptions.model_validate(options or {})
        codec = codec_for(opts.format or self.settings.format)
        return BucketSource(self.system, flow, self.client, codec, opts, self.settings.prefix)

    def sink(self, options: Any) -> Sink:
        return ObjectSink(self.client, self._renderer(options))

    def twin(self, options: Any) -> Sink:
        return ObjectTwin(self._renderer(options))

    async def probe(self) -> None:
        try:
            await self.client.head_bucket()
        except S3Error as exc:
            if exc.status == 404:
                bucket = self.settings.bucket
                raise ConnectorError(f"s3 system {self.system}: bucket {bucket!r} does not exist") from None
            if exc.status == 403:
                raise ConnectorError(
                    f"s3 system {self.system}: access to bucket {self.settings.bucket!r} is denied (403):"
                    " check access_key_id, secret_access_key and region"
                ) from None
            raise ConnectorError(f"s3 system {self.system}: {exc}") from None
        except ConnectorError as exc:
            raise ConnectorError(f"s3 system {self.system}: {exc}") from None

    async def probe_use(self, role: str, options: Any) -> None:
        if role != "source":
            return
        prefix = self.settings.prefix + (options.prefix if isinstance(options, S3SourceOptions) else "")
        try:
            async for _obj in self.client.list(prefix, page=1):
                break
        except S3Error as exc:
            raise ConnectorError(f"s3 system {self.system}: cannot list {prefix!r}: {exc}") from None
        url = options.notifications if isinstance(options, S3SourceOptions) else None
        if url is not None:
            try:
                await SqsQueue(self.settings, url, lambda: self.client.http).call(
                    "GetQueueAttributes", {"AttributeNames": ["QueueArn"]}
                )
            except ConnectorError as exc:
                raise ConnectorError(f"s3 system {self.system}: cannot read the notification queue: {exc}") from None

    async def close(self) -> None:
        await self.client.close()


__all__ = ["S3Connector", "S3Settings", "S3SinkOptions", "S3SourceOptions"]
