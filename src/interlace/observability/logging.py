"""Logs: one setup for the whole process, as text or JSON lines, secrets redacted.

- `setup(level, fmt, redact=...)` once at start (`interlace run --log-format json`). Every
  logger of the process (uvicorn's, Python warnings such as the MySQL driver's notes) writes
  through the one handler it installs, so every line has the same shape and is redacted.
- `event(log, level, what, **fields)`: one line about one thing that happened (a delivery, a
  retry, a parking), its fields as `key=value` in text and as keys of the object in JSON.
- `RequestLog(app)`: an ASGI middleware writing one debug line per HTTP request.

Redaction is observability/redaction.py's (every secret the config resolved, and credential
shapes), unless the caller passes its own.
"""

from __future__ import annotations

import json
import logging
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import IO, Any

from interlace.observability.redaction import scrub

FORMATS = ("text", "json")
Redactor = Callable[[Any], Any]

_FIELDS = "interlace_fields"
"""The LogRecord attribute that carries an `event`'s fields."""

requests = logging.getLogger("interlace.http")


def event(log: logging.Logger, level: int, what: str, **fields: Any) -> None:
    """Log `what` (a short phrase: "delivered", "retry", "parked") with its fields, e.g.
    `event(log, logging.INFO, "parked", flow="orders", message=m.id, reason=str(exc))`."""
    if log.isEnabledFor(level):
        log.log(level, what, extra={_FIELDS: fields}, stacklevel=2)


def fields_of(record: logging.LogRecord) -> Mapping[str, Any]:
    found = getattr(record, _FIELDS, None)
    return found if isinstance(found, Mapping) else {}


class _Redact(logging.Filter):
    """Replaces every known secret in a record's message, fields and traceback."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = self.redact(record.getMessage())
        record.args = None
        fields = fields_of(record)
        if fields:
            setattr(record, _FIELDS, self.redact(dict(fields)))
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        return True


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return json.dumps(text) if (not text or any(c in text for c in ' "=\n')) else text


class TextFormatter(logging.Formatter):
    """`2026-12-01 09:00:00,123 INFO interlace.worker: delivered flow=orders system=crm`"""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        line = super().formatMessage(record)
        fields = fields_of(record)
        return line + "".join(f" {k}={_value(v)}" for k, v in fields.items()) if fields else line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: `ts` (UTC, ISO 8601), `level`, `logger`, `msg`, the event's
    fields, and `exc` (the traceback) when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for key, value in fields_of(record).items():
            data.setdefault(key, value)
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            data["exc"] = record.exc_text
        return json.dumps(data, default=str)


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """The handler `setup` installs (and replaces when called again)."""


def setup(
    level: str = "info", fmt: str = "text", *, redact: Redactor | None = scrub, stream: IO[str] | None = None
) -> None:
    """Send every log record of the process, at `level` and above, to `stream` (stderr) in
    `fmt`, redacted by `redact`."""
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r} is not one of {', '.join(FORMATS)}")
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    handler = _Handler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    if redact is not None:
        handler.addFilter(_Redact(redact))
    root.addHandler(handler)
    root.setLevel(level.upper())
    for chatty in ("httpx", "httpcore"):  # a line per request (per connection step) of every client: too many
        logging.getLogger(chatty).setLevel(logging.WARNING)
    logging.getLogger("asyncio").setLevel(logging.WARNING)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):  # uvicorn's lines in the same shape
        uvicorn_log = logging.getLogger(name)
        uvicorn_log.handlers.clear()
        uvicorn_log.propagate = True
    # Python warnings (the MySQL driver turns each server note into one) become log lines of
    # `py.warnings`, kept to debug: a note such as "table already exists" is no news to a user
    logging.captureWarnings(False)  # (again, should something have put its own showwarning back)
    logging.captureWarnings(True)
    logging.getLogger("py.warnings").setLevel(logging.DEBUG if level.lower() == "debug" else logging.ERROR)


def logs_requests() -> bool:
    """Whether `RequestLog` writes its lines (the `interlace.http` logger at debug)."""
    return requests.isEnabledFor(logging.DEBUG)


class RequestLog:
    """ASGI middleware: one debug line per HTTP request (method, path, status, milliseconds,
    client), written when its response is complete. Costs nothing when debug is off."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope.get("type") != "http" or not requests.isEnabledFor(logging.DEBUG):
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = [500]

        async def sending(message: Any) -> None:
            if message.get("type") == "http.response.start":
                status[0] = int(message.get("status", 500))
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            client = scope.get("client")
            event(
                requests, logging.DEBUG, "request", method=scope.get("method"), path=scope.get("path"),
                status=status[0], ms=round((time.perf_counter() - started) * 1000, 1),
                client=f"{client[0]}:{client[1]}" if client else None,
            )  # fmt: skip
