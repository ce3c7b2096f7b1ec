"""Finds connectors by name through the `interlace.connectors` entry point group.

A connector is imported when first asked for by name: a config of two systems loads two
connectors, not every one installed (each brings its client library and its settings models).

A connector package that fails to import does not stop the hub: it is left out, and a config
that names it is told why (`broken()`)."""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points

from interlace.connectors.base import Connector


@cache
def _installed() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group="interlace.connectors")}


@cache
def _load(name: str) -> tuple[type[Connector] | None, str | None]:
    """The connector class of `name`, or why it failed to import (None, None: not installed)."""
    ep = _installed().get(name)
    if ep is None:
        return None, None
    try:
        return ep.load(), None
    except Exception as exc:  # a plugin's import error must not take the hub down
        return None, f"{type(exc).__name__}: {exc}"


def connectors() -> dict[str, type[Connector]]:
    """Every installed connector class that imports, by name."""
    return {name: cls for name in _installed() if (cls := _load(name)[0]) is not None}


def broken() -> dict[str, str]:
    """Installed connectors that failed to import, with the reason."""
    return {name: why for name in _installed() if (why := _load(name)[1]) is not None}


def get(name: str) -> type[Connector] | None:
    return _load(name)[0]
