"""Secrets written in plain text. The loader resolves `${env:...}` references before anything sees
the settings, so this reads the raw YAML: a value under a key named like a secret (password, token,
secret, api key...) or a URL with a password in it (a DSN) must be a reference."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from interlace.config.lines import Path_
from interlace.config.secrets import has_reference, looks_secret
from interlace.readiness.context import Context
from interlace.readiness.finding import Finding

_SECTIONS = ("hub", "owners", "systems")


def check(ctx: Context) -> list[Finding]:
    found: list[Finding] = []
    if not isinstance(ctx.raw, dict):
        return found
    for section in _SECTIONS:
        for loc, key, value in _strings(ctx.raw.get(section), (section,)):
            reason = _plain_secret(key, value)
            if reason:
                found.append(ctx.finding("plaintext-secret", loc, f"{reason} is written in the config"))
    return found


def _strings(value: Any, loc: Path_) -> list[tuple[Path_, str, str]]:
    out: list[tuple[Path_, str, str]] = []
    if isinstance(value, dict):
        for k, v in value.items():
            if isinstance(v, str | int) and not isinstance(v, bool):
                out.append(((*loc, k), str(k), str(v)))
            else:
                out += _strings(v, (*loc, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _strings(v, (*loc, i))
    return out


def _plain_secret(key: str, value: str) -> str | None:
    if not value.strip():
        return None
    if looks_secret(key) and not has_reference(value):
        return f"the {key!r} value"
    if "://" in value:
        try:
            password = urlsplit(value).password
        except ValueError:
            return None
        if password and not has_reference(password):
            return f"the password inside the {key!r} URL"
    return None
