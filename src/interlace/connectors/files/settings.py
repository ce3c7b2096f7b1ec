"""What a `files` system, its triggers and its deliveries may say in hub.yaml."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator

from interlace.connectors.base import ConfigPath, Options
from interlace.formats.config import FormatConfig
from interlace.formats.jsonl import JsonLinesFormat


class SftpSettings(Options):
    """`sftp:` of a files system: the folder is on an SFTP server."""

    host: str
    port: int = 22
    username: str
    password: SecretStr | None = None
    """Use a secret reference: `"${env:PARTNER_SFTP_PASSWORD}"`."""
    client_keys: list[ConfigPath] = []
    """Private key files for public key authentication."""
    known_hosts: ConfigPath | None = None
    """The server's host key must be listed here (default: ~/.ssh/known_hosts)."""
    check_host_key: bool = True
    """false accepts any host key: for a test server only."""
    path: str = "."
    """The remote folder (relative to the login folder, or absolute)."""
    connect_timeout: float = Field(15.0, gt=0)


class FilesSettings(Options):
    """`systems: {drop: {connector: files, path: ./drop, format: {...}}}`, or with `sftp:` instead
    of `path:` for a folder on an SFTP server."""

    path: ConfigPath | None = None
    """The folder; the connector reads and writes nowhere else (relative to the config file)."""
    sftp: SftpSettings | None = None
    format: FormatConfig = Field(default_factory=JsonLinesFormat)
    create: bool = True
    """Create the folder (and archive/, error/) when missing."""

    @model_validator(mode="after")
    def _where(self) -> FilesSettings:
        if (self.path is None) == (self.sftp is None):
            raise ValueError("a files system needs exactly one of path (a local folder) or sftp")
        return self


def _plain(value: str) -> str:
    if value.startswith(("/", "\\")) or ".." in value.replace("\\", "/").split("/"):
        raise ValueError(f"{value!r} must be a folder name inside the system's folder")
    return value


class FilesSourceOptions(Options):
    """A flow `trigger:` on a files system: which files, when they are complete, where they go."""

    pattern: str = "*"
    """Glob of the file names to take (`*.csv`)."""
    complete: Literal["stable", "marker"] = "stable"
    """stable: the size and modification time did not change across two polls;
    marker: a file `<name><marker_suffix>` exists beside it."""
    marker_suffix: str = ".done"
    poll_interval: float = Field(1.0, gt=0)
    batch_size: int = Field(500, ge=1, le=100_000)
    """Records submitted (and the cursor stored) per transaction."""
    archive: str = "archive"
    error: str = "error"
    event: str = "record"
    key_field: str | None = None
    """A record field whose value becomes the message key."""
    format: FormatConfig | None = None
    """Overrides the system's format for this flow."""
    bulk: bool = Field(default=False, description="load each CSV file in chunks of rows (COPY), not record by record")
    """Each complete file is moved to `archive/` and submitted as one message per chunk of rows
    (a byte range); the `postgres` sink streams the range with COPY. Local CSV files into
    `postgres` tables only, in a flow without steps: `interlace check` refuses anything else."""
    chunk: int = Field(default=50_000, ge=1, le=10_000_000, description="rows per chunk (bulk)")

    _folders = field_validator("archive", "error")(_plain)

    def check_flow(
        self, flow: Any, deliveries: Sequence[tuple[str | None, Any]], settings: Any = None
    ) -> list[tuple[tuple[str | int, ...], str]]:
        """The loader's cross-check of a bulk trigger against its flow and its system's settings."""
        if not self.bulk:
            return []
        from interlace.connectors.bulk import bulk_flow_problems
        from interlace.connectors.files.bulk import dialect_problem
        from interlace.formats.csv import CsvFormat

        problems: list[tuple[tuple[str | int, ...], str]] = []
        if isinstance(settings, FilesSettings) and settings.sftp is not None:
            problems.append((("trigger", "bulk"), "a `bulk: true` trigger reads local files: not over sftp"))
        fmt = self.format or (settings.format if isinstance(settings, FilesSettings) else None)
        where: tuple[str | int, ...] = ("trigger", "format") if self.format is not None else ("trigger", "bulk")
        if fmt is not None and not isinstance(fmt, CsvFormat):
            problems.append((where, f"a `bulk: true` trigger loads CSV files, not {fmt.type}"))
        elif fmt is not None and (why := dialect_problem(fmt)) is not None:
            problems.append((where, f"a `bulk: true` trigger cannot load CSV with {why}"))
        problems += bulk_flow_problems(flow, deliveries)
        return problems


class FilesSinkOptions(Options):
    """A flow `deliver:` to a files system."""

    name: str = "{message_id}{ext}"
    """File name template: {message_id}, {delivery_id}, {flow}, {key}, {date} (YYYY-MM-DD) and
    {time} (HHMMSS) of the message's creation in UTC, {ext} (from the format) and any top-level
    body field ({order_no}).
    `/` in the template makes subfolders; `/` inside a value does not."""
    batch: int = Field(1, ge=1, le=1_000_000)
    """Records per file: 1 writes each message at once; more collects them first."""
    batch_seconds: float | None = Field(None, gt=0)
    """Write a partial batch once its oldest record has waited this long."""
    format: FormatConfig | None = None

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the file name template is empty")
        return _plain(value)
