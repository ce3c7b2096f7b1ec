"""What a config change will do (`interlace diff OLD NEW`): flows added, removed or changed,
mappings changed, fields changing owner, systems changed (secrets redacted).

Both files are read as written (secret references stay references: nothing needs to be set to
compare two configs) and normalised through the config models.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import yaml
from pydantic import ValidationError

from interlace.config.models import Flow, HubConfig, MapStep
from interlace.config.secrets import has_reference, looks_secret
from interlace.errors import ConfigError, ConfigProblem
from interlace.types import JSON

Area = Literal["hub", "owner", "system", "entity", "field-owner", "flow", "mapping"]
Action = Literal["added", "removed", "changed"]


@dataclass(frozen=True)
class Change:
    area: Area
    action: Action
    path: str
    old: JSON = None
    new: JSON = None

    def __str__(self) -> str:
        if self.action == "changed":
            return f"{self.path}: {_short(self.old)} -> {_short(self.new)}"
        value = self.new if self.action == "added" else self.old
        return f"{self.path} {self.action}" + (f": {_short(value)}" if value is not None else "")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _short(value: JSON) -> str:
    text = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True, width=10**6).strip()
    text = " ".join(text.split())
    return text if len(text) <= 100 else text[:97] + "..."


def read(path: str | Path) -> HubConfig:
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text()) or {}
        return HubConfig.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError([ConfigProblem("", f"cannot read config: {exc}", None, str(file))]) from None
    except ValidationError as exc:
        problems = [ConfigProblem(".".join(map(str, e["loc"])), e["msg"], None, str(file)) for e in exc.errors()]
        raise ConfigError(problems) from None


def redact(value: JSON, key: str = "") -> JSON:
    """Settings with every secret written in plain text replaced by '***' (references are kept:
    they name where the secret lives, not what it is)."""
    if isinstance(value, dict):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(v, key) for v in value]
    if isinstance(value, str) and not has_reference(value):
        if looks_secret(key):
            return "***"
        if "://" in value:
            try:
                password = urlsplit(value).password
            except ValueError:
                return value
            if password:
                return value.replace(f":{password}@", ":***@")
    return value


def diff_files(old: str | Path, new: str | Path) -> list[Change]:
    return diff(read(old), read(new))


def diff(old: HubConfig, new: HubConfig) -> list[Change]:
    changes: list[Change] = []
    if old.hub != new.hub:
        changes += _dicts("hub", "hub", old.hub.model_dump(), new.hub.model_dump())
    changes += _named("owner", "owners", _dump(old.owners), _dump(new.owners))
    changes += _systems(old, new)
    changes += _named("entity", "entities", _dump(old.entities), _dump(new.entities), detail=False)
    for name in old.entities.keys() & new.entities.keys():
        changes += _owners(
            name, old.entities[name].model_dump(by_alias=True), new.entities[name].model_dump(by_alias=True)
        )
    changes += _flows(old.flows, new.flows)
    return changes


def _dump(models: dict[str, Any]) -> dict[str, JSON]:
    return {k: v.model_dump(by_alias=True, exclude_none=True) for k, v in models.items()}


def _named(area: Area, section: str, old: dict[str, JSON], new: dict[str, JSON], detail: bool = True) -> list[Change]:
    out = [Change(area, "removed", f"{section}.{n}") for n in old if n not in new]
    out += [Change(area, "added", f"{section}.{n}") for n in new if n not in old]
    if detail:
        for n in old.keys() & new.keys():
            out += _dicts(area, f"{section}.{n}", old[n], new[n])
    return out


def _dicts(area: Area, path: str, old: JSON, new: JSON) -> list[Change]:
    """One change per setting that differs (nested settings are compared whole); the values shown
    are redacted, and a secret that changed shows as such without its value."""
    out = []
    for key in [*old, *(k for k in new if k not in old)]:
        if old.get(key) != new.get(key):
            action: Action = "added" if key not in old else "removed" if key not in new else "changed"
            before, after = redact(old.get(key), str(key)), redact(new.get(key), str(key))
            if before == after:
                after = "(a secret changed)"
            out.append(Change(area, action, f"{path}.{key}", before, after))
    return out


def _systems(old: HubConfig, new: HubConfig) -> list[Change]:
    def settings(cfg: HubConfig) -> dict[str, JSON]:
        return {n: {**s.model_dump(exclude_none=True), **s.extras} for n, s in cfg.systems.items()}

    return _named("system", "systems", settings(old), settings(new))


def _owners(entity: str, old: dict[str, Any], new: dict[str, Any]) -> list[Change]:
    """Who owns what in an entity: the source of truth, each field's owner, the local fields."""
    base = f"entities.{entity}"
    out = []
    if old.get("source_of_truth") != new.get("source_of_truth"):
        out.append(
            Change(
                "field-owner",
                "changed",
                f"{base}.source_of_truth",
                old.get("source_of_truth"),
                new.get("source_of_truth"),
            )
        )
    before = {f: r.get("owner") for f, r in old.get("fields", {}).items()}
    after = {f: r.get("owner") for f, r in new.get("fields", {}).items()}
    for f in [*before, *(f for f in after if f not in before)]:
        if before.get(f) != after.get(f):
            action: Action = "added" if f not in before else "removed" if f not in after else "changed"
            out.append(Change("field-owner", action, f"{base}.fields.{f}", before.get(f), after.get(f)))
    if old.get("local") != new.get("local"):
        out.append(Change("field-owner", "changed", f"{base}.local", old.get("local"), new.get("local")))
    for key in ("key", "schema", "mode", "owner"):
        if old.get(key) != new.get(key):
            out.append(Change("entity", "changed", f"{base}.{key}", old.get(key), new.get(key)))
    return out


def _flows(old: dict[str, Flow], new: dict[str, Flow]) -> list[Change]:
    out = [Change("flow", "removed", f"flows.{n}") for n in old if n not in new]
    out += [Change("flow", "added", f"flows.{n}") for n in new if n not in old]
    for name in old.keys() & new.keys():
        a, b = old[name], new[name]
        out += _mappings(name, a, b)
        before = a.model_dump(by_alias=True, exclude_none=True, exclude={"steps"})
        after = b.model_dump(by_alias=True, exclude_none=True, exclude={"steps"})
        out += _dicts("flow", f"flows.{name}", before, after)
        other_a = [s.model_dump(by_alias=True) for s in a.steps if not isinstance(s, MapStep)]
        other_b = [s.model_dump(by_alias=True) for s in b.steps if not isinstance(s, MapStep)]
        if other_a != other_b:
            out.append(Change("flow", "changed", f"flows.{name}.steps", other_a, other_b))
    return out


def _mappings(name: str, old: Flow, new: Flow) -> list[Change]:
    a = [(i, s.map) for i, s in enumerate(old.steps) if isinstance(s, MapStep)]
    b = [(i, s.map) for i, s in enumerate(new.steps) if isinstance(s, MapStep)]
    out = []
    for n in range(max(len(a), len(b))):
        before = a[n][1] if n < len(a) else None
        after = b[n][1] if n < len(b) else None
        if (before or "").split() != (after or "").split():
            index = (b[n] if n < len(b) else a[n])[0]
            action: Action = "added" if before is None else "removed" if after is None else "changed"
            out.append(Change("mapping", action, f"flows.{name}.steps[{index}].map", before, after))
    return out
