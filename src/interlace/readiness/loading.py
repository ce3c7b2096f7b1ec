"""Loading a config for checking: a secret that is not set here must not stop the check.

`load_config` refuses a config whose `${env:X}` is unset, which is right for `run` but not for a
check on a CI machine or a laptop without the production secrets. Here each missing reference is
replaced by a placeholder and remembered (the `secret-unset` finding, and no live probe of the
systems that use it).
"""

from __future__ import annotations

from pathlib import Path

from interlace.config.lines import Path_, load_with_lines
from interlace.config.loader import LoadedConfig, load_config

PLACEHOLDER = "unset-secret-placeholder"


def _uses(raw: object, refs: set[str], loc: Path_ = ()) -> dict[str, list[Path_]]:
    found: dict[str, list[Path_]] = {}

    def walk(value: object, here: Path_) -> None:
        if isinstance(value, str):
            for ref in refs:
                if ref in value:
                    found.setdefault(ref, []).append(here)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, (*here, k))
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, (*here, i))

    walk(raw, loc)
    return found


def load_for_check(path: str | Path) -> tuple[LoadedConfig, dict[str, list[Path_]]]:
    """The loaded config and the unset secret references ({'${env:X}': [where used]});
    raises ConfigError for every other problem."""
    missing: set[str] = set()

    def placeholder(reference: str) -> str:
        missing.add(reference)
        return PLACEHOLDER

    loaded = load_config(path, missing_secret=placeholder)
    if not missing:
        return loaded, {}
    raw, _ = load_with_lines(Path(path).read_text())
    return loaded, _uses(raw, missing)
