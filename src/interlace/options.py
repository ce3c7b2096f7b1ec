"""The vocabulary every settings and options model shares, below both `formats/` and `connectors/`:
the `Options` base (unknown keys are errors), `ConfigPath` (relative to the config file), and
durations.

A duration, wherever the config takes one (`lease`, `poll`, `backoff`, a poll's `every`), is one
grammar: a number of seconds, or a number and a unit with optional spaces between, `ms`, `s`, `m`,
`h` or `d`: `250ms`, `5s`, `1.5 m`, `2h`, `1d`, `30`. A field may also ask for more (a poll
interval must be positive).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo


def _relative_to_config(value: Path, info: ValidationInfo) -> Path:
    base = (info.context or {}).get("base_dir") if isinstance(info.context, dict) else None
    if base is not None and not value.is_absolute():
        return Path(base) / value
    return value


ConfigPath = Annotated[Path, AfterValidator(_relative_to_config)]
"""A file or folder named in the config: a relative path is taken from the config file's folder."""


class Options(BaseModel):
    """Base of every settings/options model: unknown keys are errors, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


_DURATION = re.compile(r"\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, None: 1.0}


def parse_duration(text: str | float, *, positive: bool = False) -> float:
    """Seconds in a duration (the grammar above); a number is seconds already. With `positive`,
    zero is refused too."""
    if isinstance(text, int | float):
        seconds = float(text)
    else:
        match = _DURATION.fullmatch(text)
        if not match:
            raise ValueError(f"{text!r} is not a duration (like 500ms, 5s, 2m, 1h, 1d)")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if positive and seconds <= 0:
        raise ValueError("a duration must be positive")
    return seconds
