"""Secret references: `${env:NAME}` and `${file:PATH}`, resolved at load and never printed.

Every resolved value is remembered by the one redaction (`observability/redaction.py`), which
masks it, and the common shapes of a credential, in what is stored, answered and logged.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from interlace.observability.redaction import remember, scrub
from interlace.types import JSON

REFERENCE = re.compile(r"\$\{(env|file):([^}]+)\}")


class SecretMissing(ValueError):
    pass


def resolve_string(text: str, base_dir: Path, missing: Callable[[str], str] | None = None) -> str:
    """Replace each reference in `text` by its value. An absent one raises SecretMissing naming
    it, or, when `missing` is given, is replaced by what `missing(reference)` returns (a check
    run on a machine without the production secrets)."""

    def value(match: re.Match[str]) -> str:
        try:
            return lookup(match)
        except SecretMissing:
            if missing is None:
                raise
            return missing(match.group(0))

    def lookup(match: re.Match[str]) -> str:
        kind, name = match.group(1), match.group(2).strip()
        if kind == "env":
            if name not in os.environ:
                raise SecretMissing(f"environment variable {name} is not set")
            secret = os.environ[name]
        else:
            path = (base_dir / name).expanduser()
            try:
                secret = path.read_text().rstrip("\n")
            except OSError as exc:
                raise SecretMissing(f"secret file {path} cannot be read: {exc.strerror}") from None
        remember(secret)
        return secret

    return REFERENCE.sub(value, text)


_SECRET_KEY = re.compile(
    r"(^|[_-])(password|passwd|pwd|secret|token|bearer|api[_-]?key|apikey|private[_-]?key|credentials?"
    r"|authorization|auth[_-]?token|client[_-]?secret)$",
    re.IGNORECASE,
)


def looks_secret(key: str) -> bool:
    """A setting whose name says it holds a secret (password, token, api_key, ...)."""
    return _SECRET_KEY.search(key) is not None


def has_reference(text: str) -> bool:
    return REFERENCE.search(text) is not None


def redact(value: JSON) -> JSON:
    """`value` with every known secret, and every credential-shaped text, replaced by '***'."""
    return scrub(value)
