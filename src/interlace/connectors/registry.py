"""Finds connectors by name through the `interlace.connectors` entry point group.

A connector package that fails to import does not stop the hub: it is left out, and a config
that names it is told why (`broken()`)."""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from interlace.connectors.base import Connector


@cache
def _scan() -> tuple[dict[str, type[Connector]], dict[str, str]]:
    found: dict[str, type[Connector]] = {}
    failed: dict[str, str] = {}
    for ep in entry_points(group="interlace.connectors"):
        try:
            found[ep.name] = ep.load()
        except Exception as exc:  # a plugin's import error must not take the hub down
            failed[ep.name] = f"{type(exc).__name__}: {exc}"
    return found, failed


def connectors() -> dict[str, type[Connector]]:
    """Every installed connector class that imports, by name."""
    return _scan()[0]


def broken() -> dict[str, str]:
    """Installed connectors that failed to import, with the reason."""
    return _scan()[1]


def get(name: str) -> type[Connector] | None:
    return connectors().get(name)
