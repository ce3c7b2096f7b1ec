"""Loading a config for checking: a secret that is not set here must not stop the check.

`load_config` refuses a config whose `${env:X}` is unset, which is right for `run` but not for a
check on a CI machine or a laptop without the production secrets. Here each missing reference is
replaced by a placeholder and remembered (the `secret-unset` finding, and no live probe of the
systems that use it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from unittest import mock

from interlace.config import loader
from interlace.config.lines import Path_, load_with_lines
from interlace.config.loader import LoadedConfig
from interlace.config.secrets import REFERENCE, SecretMissing, resolve_string

PLACEHOLDER = "unset-secret-placeholder"


@contextmanager
def _tolerant_secrets(missing: set[str]) -> Iterator[None]:
    original = resolve_string

    def resolve(text: str, base_dir: Path) -> str:
        try:
            return original(text, base_dir)
        except SecretMissing:

            def each(match: re.Match[str]) -> str:
                ref = match.group(0)
                try:
                    return original(ref, base_dir)
                except SecretMissing:
                    missing.add(ref)
                    return PLACEHOLDER

            return REFERENCE.sub(each, text)

    # the loader resolves references through this module-level name; swapping it for the load is
    # the one way in without changing the loader (a loader option for this would be cleaner)
    with mock.patch.object(loader, "resolve_string", resolve):
        yield


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
    with _tolerant_secrets(missing):
        loaded = loader.load_config(path)
    if not missing:
        return loaded, {}
    raw, _ = load_with_lines(Path(path).read_text())
    return loaded, _uses(raw, missing)
