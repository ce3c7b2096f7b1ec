"""Questions 2 and 3: who is the source of truth, what is synchronised and what stays local.

Two owners for one field can only be written as a repeated key under `fields:` (YAML keeps the
last one silently, so it is found on the raw YAML) or as a field local to two systems, or local to
one system while another owns it.
"""

from __future__ import annotations

import yaml

from interlace.config.lines import Path_
from interlace.config.models import Entity
from interlace.readiness.context import Context
from interlace.readiness.finding import Finding


def check(ctx: Context) -> list[Finding]:
    found: list[Finding] = []
    for name, entity in ctx.loaded.config.entities.items():
        found += _source_of_truth(ctx, name, entity)
        found += _repeated_fields(ctx, name)
        found += _local(ctx, name, entity)
    return found


def _source_of_truth(ctx: Context, name: str, entity: Entity) -> list[Finding]:
    if entity.source_of_truth is not None:
        return []
    integrate = entity.mode == "integrate"
    return [
        ctx.finding(
            "entity-no-source-of-truth",
            ("entities", name),
            f"entity {name!r} has no source_of_truth"
            + (" but the hub keeps its golden record (mode: integrate)" if integrate else ""),
            severity="error" if integrate else "warning",
        )
    ]


def _repeated_fields(ctx: Context, entity: str) -> list[Finding]:
    """Field names given twice under `entities.<entity>.fields` with different owners."""
    node = _node(ctx.text, ("entities", entity, "fields"))
    if not isinstance(node, yaml.MappingNode):
        return []
    owners: dict[str, list[tuple[str | None, int]]] = {}
    for key, value in node.value:
        owner = None
        if isinstance(value, yaml.MappingNode):
            owner = next((v.value for k, v in value.value if k.value == "owner"), None)
        owners.setdefault(str(key.value), []).append((owner, key.start_mark.line + 1))
    found = []
    for field_name, claims in owners.items():
        distinct = sorted({o for o, _ in claims if o is not None})
        if len(distinct) > 1:
            finding = ctx.finding(
                "field-two-owners",
                ("entities", entity, "fields", field_name),
                f"field {field_name!r} of {entity!r} is owned by {' and '.join(distinct)} "
                f"(lines {', '.join(str(line) for _, line in claims)})",
            )
            finding.line = claims[0][1]
            found.append(finding)
    return found


def _local(ctx: Context, name: str, entity: Entity) -> list[Finding]:
    found = []
    local_to: dict[str, list[str]] = {}
    for system, fields in entity.local.items():
        for f in fields:
            local_to.setdefault(f, []).append(system)
    for field_name, systems in local_to.items():
        loc: Path_ = ("entities", name, "local", systems[0])
        if len(systems) > 1:
            found.append(
                ctx.finding(
                    "field-two-owners",
                    loc,
                    f"field {field_name!r} of {name!r} is local to both {' and '.join(systems)}",
                )
            )
        rule = entity.fields.get(field_name)
        if rule is not None:
            owner = f" (owned by {rule.owner})" if rule.owner else ""
            found.append(
                ctx.finding(
                    "synced-field-local",
                    loc,
                    f"field {field_name!r} of {name!r} is synchronised{owner} and also local to {systems[0]}",
                )
            )
        if field_name in entity.keys:
            found.append(
                ctx.finding(
                    "synced-field-local",
                    loc,
                    f"field {field_name!r} is the key of {name!r}, which every system shares, yet it is local "
                    f"to {systems[0]}",
                )
            )
    return found


def _node(text: str, path: Path_) -> yaml.Node | None:
    node = yaml.compose(text, Loader=yaml.SafeLoader)
    for part in path:
        if not isinstance(node, yaml.MappingNode):
            return None
        node = next((v for k, v in node.value if k.value == part), None)
    return node
