"""The answers `interlace init` needs, one model: asked interactively or read from a YAML file.

```yaml
hub: acme
flow: order-to-erp
trigger: {system: shop, event: order.created}            # 1. which event starts the handoff
entity: {name: order, key: id, source_of_truth: shop}    # 2. the record, and who is right about it
synced: [id, email, "total:number"]                      # 3. what travels (name[:type]) ...
local: {erp: [credit_limit]}                             #    ... and what stays in one system
required: [id, email]                                    # 4. a record without these is incomplete:
incomplete: park                                         #    park it for the owner, or skip it
owner: {name: order-desk, email: orders@acme.test}       # 5. who is told about exceptions
gain: {minutes_saved_per_message: 4}                     # 6. what the automation saves
target: {system: erp, connector: sqlite, path: ./erp.db, table: orders}
```
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

TYPES = ("string", "number", "integer", "boolean")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SYSTEM = re.compile(r"^[a-z][a-z0-9_-]*$")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TriggerAnswer(_Strict):
    system: str = "shop"
    event: str = "order.created"


class EntityAnswer(_Strict):
    name: str = "order"
    key: str = "id"
    source_of_truth: str = "shop"


class OwnerAnswer(_Strict):
    name: str = "operations"
    email: str | None = "ops@example.test"
    webhook: str | None = None

    @model_validator(mode="after")
    def _reachable(self) -> OwnerAnswer:
        if not (self.email or self.webhook):
            raise ValueError("an owner needs an email or a webhook, or nobody is told about exceptions")
        return self


class GainAnswer(_Strict):
    minutes_saved_per_message: float = Field(2.0, gt=0)
    description: str | None = None


class TargetAnswer(_Strict):
    system: str = "erp"
    connector: Literal["sqlite", "http"] = "sqlite"
    path: str = "./erp.db"
    """sqlite: the database file."""
    table: str = "orders"
    base_url: str = "http://127.0.0.1:9100/api"
    """http: where requests go; the request path is `/<table>`."""


class Answers(_Strict):
    hub: str = "my-hub"
    flow: str | None = None
    trigger: TriggerAnswer = Field(default_factory=TriggerAnswer)
    entity: EntityAnswer = Field(default_factory=EntityAnswer)
    synced: list[str] = Field(default_factory=lambda: ["id", "email", "total:number"])
    local: dict[str, list[str]] = Field(default_factory=dict)
    required: list[str] | None = None
    """Fields a complete record has; default: every synced field."""
    incomplete: Literal["park", "skip"] = "park"
    owner: OwnerAnswer = Field(default_factory=OwnerAnswer)
    gain: GainAnswer = Field(default_factory=GainAnswer)
    target: TargetAnswer = Field(default_factory=TargetAnswer)

    @field_validator("synced")
    @classmethod
    def _fields(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("name at least one synced field")
        for spec in value:
            name, _, kind = spec.partition(":")
            if not _NAME.match(name.strip()) or (kind and kind.strip() not in TYPES):
                raise ValueError(f"{spec!r}: write name or name:type (type one of {', '.join(TYPES)})")
        return [s.strip() for s in value]

    @model_validator(mode="after")
    def _consistent(self) -> Answers:
        names = set(self.fields)
        for system in (self.trigger.system, self.target.system, *self.local):
            if not _SYSTEM.match(system):
                raise ValueError(f"system name {system!r}: use lowercase letters, digits, - and _")
        if self.trigger.system == self.target.system:
            raise ValueError("the trigger and the target are the same system")
        if self.entity.source_of_truth not in (self.trigger.system, self.target.system, *self.local):
            raise ValueError(f"source_of_truth {self.entity.source_of_truth!r} is neither the trigger nor the target")
        if self.entity.key not in names:
            raise ValueError(f"the key {self.entity.key!r} must be one of the synced fields")
        for system, fields in self.local.items():
            if system not in (self.trigger.system, self.target.system):
                raise ValueError(f"local fields of {system!r}: name the trigger or the target system")
            shared = names.intersection(fields)
            if shared:
                raise ValueError(f"{', '.join(sorted(shared))} cannot be both synced and local to {system}")
        missing = set(self.required or []) - names
        if missing:
            raise ValueError(f"required field(s) {', '.join(sorted(missing))} are not synced fields")
        return self

    @property
    def fields(self) -> dict[str, str]:
        """Synced field -> JSON type."""
        out = {}
        for spec in self.synced:
            name, _, kind = spec.partition(":")
            out[name.strip()] = kind.strip() or "string"
        return out

    @property
    def required_fields(self) -> list[str]:
        chosen = list(self.fields) if self.required is None else list(self.required)
        return list(dict.fromkeys([self.entity.key, *chosen]))

    @property
    def flow_name(self) -> str:
        return self.flow or f"{self.entity.name}-to-{self.target.system}"
