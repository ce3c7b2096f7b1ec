"""The `files` connector: a local or SFTP folder as a source (watched, record by record) and a sink."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any, ClassVar

from interlace.connectors import bulk as shared_bulk
from interlace.connectors.base import Connector, Options, Sink, Source
from interlace.connectors.files import bulk
from interlace.connectors.files.folder import Folder, LocalFolder
from interlace.connectors.files.settings import FilesSettings, FilesSinkOptions, FilesSourceOptions
from interlace.connectors.files.sink import EXTENSIONS, FolderSink
from interlace.connectors.files.source import BulkFolderSource, FolderSource
from interlace.errors import ConnectorError
from interlace.formats.base import Codec
from interlace.formats.config import FormatConfig
from interlace.formats.csv import CsvFormat
from interlace.formats.registry import codec_for


class FilesConnector(Connector):
    name = "files"
    settings_model: ClassVar[type[Options]] = FilesSettings
    source_options: ClassVar[type[Options] | None] = FilesSourceOptions
    sink_options: ClassVar[type[Options] | None] = FilesSinkOptions
    settings: FilesSettings

    def __init__(self, system: str, settings: Any) -> None:
        super().__init__(system, settings)
        self.folder: Folder
        if self.settings.sftp is not None:
            from interlace.connectors.files.sftp import SftpFolder

            self.folder = SftpFolder(self.settings.sftp)
        else:
            assert self.settings.path is not None
            self.folder = LocalFolder(self.settings.path)
            shared_bulk.register("csv", system, self.folder)  # the postgres sinks loading its CSV chunks find it
        self._sinks: list[FolderSink] = []

    @classmethod
    def check_flow(
        cls, options: Any, flow: Any, deliveries: Sequence[tuple[str | None, Any]], settings: Any
    ) -> list[tuple[tuple[str | int, ...], str]]:
        if not isinstance(options, FilesSourceOptions):
            return []
        return options.check_flow(flow, deliveries, settings)

    def _codec(self, override: FormatConfig | None) -> tuple[Codec, FormatConfig]:
        config = override or self.settings.format
        return codec_for(config), config  # a relative copybook path was resolved by the config loader

    def source(self, flow: str, options: Any) -> Source:
        opts = options if isinstance(options, FilesSourceOptions) else FilesSourceOptions.model_validate(options or {})
        codec, config = self._codec(opts.format)
        if opts.bulk:
            if self.settings.sftp is not None or not isinstance(config, CsvFormat):
                raise ConnectorError(f"files system {self.system}: `bulk: true` loads local CSV files only")
            if (why := bulk.dialect_problem(config)) is not None:
                raise ConnectorError(f"files system {self.system}: `bulk: true` cannot load CSV with {why}")
            return BulkFolderSource(self.system, flow, self.folder, codec, opts, config)
        return FolderSource(self.system, flow, self.folder, codec, opts)

    def sink(self, options: Any) -> Sink:
        opts = options if isinstance(options, FilesSinkOptions) else FilesSinkOptions.model_validate(options or {})
        codec, config = self._codec(opts.format)
        made = FolderSink(self.folder, codec, opts, EXTENSIONS.get(config.type, ""))
        self._sinks.append(made)
        return made

    async def probe(self) -> None:
        self.folder.bind(asyncio.get_running_loop())
        try:
            if self.settings.create:
                await asyncio.to_thread(self.folder.ensure)
            await asyncio.to_thread(self.folder.list)
        except (OSError, ConnectorError) as exc:
            raise ConnectorError(f"files system {self.system}: {self.folder.root_text}: {exc}") from exc

    async def close(self) -> None:
        for made in self._sinks:
            await made.close()
        close = getattr(self.folder, "close", None)
        if close is not None:
            await close()


__all__ = ["FilesConnector", "FilesSettings", "FilesSinkOptions", "FilesSourceOptions"]
