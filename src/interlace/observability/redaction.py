"""The one redaction: every secret value the config resolved, and the common shapes of a
credential (`Bearer xxx`, `Authorization: ...`, `api_key=...`, `"password": "..."`), become `***`.

It runs on the way INTO the store (trace errors and exception reasons, through
`backends/base.py`), so text a failing system echoes back is never stored with a secret in it,
whatever the process that later reads it knows; and on the way out (API answers, CLI output, log
lines) for values that were stored before. It lives at the bottom of the house so that the
backends, the connectors and the config can all use it.
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "***"
SHORTEST = 4
"""A value shorter than this is not masked where it appears (it would mask every word that holds
it: a password "p" would turn "path" into "***ath"); a secret that short guards nothing anyway."""
_known: set[str] = set()
_ordered: list[str] = []  # longest first, so a secret containing another is masked whole

# `Authorization: Bearer abc`, `authorization="Basic dTpw"`, `Proxy-Authorization: xyz`
_AUTH_HEADER = re.compile(
    r"""(?i)(?<![A-Za-z0-9])((?:proxy-)?authorization["']?\s*[:=]\s*["']?)((?:bearer|basic|digest|token)\s+)?[^\s"',;}&]+"""
)
# `Bearer abc.def-ghi` anywhere
_BEARER = re.compile(r"(?i)(?<![A-Za-z0-9])(bearer\s+)[A-Za-z0-9\-._~+/]+=*")
# `api_key=...`, `"client_secret": "..."`, `X-Api-Key: ...`, `password=...`, `token: ...`
_KEY_VALUE = re.compile(
    r"""(?i)(?<![A-Za-z0-9])((?:x-)?api[-_]?key|apikey|access[-_]?token|refresh[-_]?token|id[-_]?token|auth[-_]?token"""
    r"""|client[-_]?secret|secret|password|passwd|pwd|token)(["']?\s*[:=]\s*["']?)([^\s"',;}&]+)"""
)


def remember(secret: str) -> None:
    """Mask `secret` from now on (the config calls this for every reference it resolves; a
    connector for a credential it derives, such as a Basic header's base64)."""
    if len(secret) >= SHORTEST and secret not in _known:
        _known.add(secret)
        _ordered[:] = sorted(_known, key=len, reverse=True)


def scrub_text(text: str) -> str:
    for secret in _ordered:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _AUTH_HEADER.sub(lambda m: f"{m.group(1)}{m.group(2) or ''}{MASK}", text)
    text = _BEARER.sub(lambda m: m.group(1) + MASK, text)
    return _KEY_VALUE.sub(lambda m: m.group(1) + m.group(2) + MASK, text)


def stored_text(text: str | None) -> str | None:
    """What the store keeps of a text that came back from a system (the hook of backends/base.py)."""
    return None if text is None else scrub_text(text)


def scrub(value: Any) -> Any:
    """`value` with every string in it scrubbed."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        return {k: scrub(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub(v) for v in value]
    return value


class RedactingFilter(logging.Filter):
    """Scrubs a log record's message, and the traceback it carries, before any handler sees it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = scrub_text(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = scrub_text(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        if record.stack_info:
            record.stack_info = scrub_text(record.stack_info)
        return True
