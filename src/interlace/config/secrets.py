"""Secret references: `${env:NAME}` and `${file:PATH}`, resolved at load and never printed.

Every resolved value is remembered so that logs and traces can redact it (`redact`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

from interlace.types import JSON

REFERENCE = re.compile(r"\$\{(env|file):([^}]+)\}")
_known: set[str] = set()


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
        if secret:
            _known.add(secret)
        return secret

    return REFERENCE.sub(value, text)


def has_reference(text: str) -> bool:
    return REFERENCE.search(text) is not None


def redact(value: JSON) -> JSON:
    """`value` with every known secret replaced by '***'."""
    if not _known:
        return value
    if isinstance(value, str):
        for secret in _known:
            if secret in value:
                value = value.replace(secret, "***")
        return value
    if isinstance(value, dict):
        return {k: redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
