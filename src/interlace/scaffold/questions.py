"""The six questions, asked one by one at a terminal (`interlace init` without `--from`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from interlace.scaffold.answers import Answers

Ask = Callable[..., Any]


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def ask(prompt: Ask, say: Callable[[str], None]) -> Answers:
    """Answers from `prompt` (typer.prompt, or a fake in tests), explaining each question first."""
    d = Answers()
    hub = prompt("Name of the hub", default=d.hub)
    say("1. Which event triggers the handoff?")
    source = prompt("  System the event comes from (a webhook)", default=d.trigger.system)
    event = prompt("  Event name", default=d.trigger.event)
    say("2. Which system is the source of truth for the record?")
    entity = prompt("  Record (entity) name", default=d.entity.name)
    key = prompt("  Field that identifies a record", default=d.entity.key)
    target = prompt("  System the record goes to", default=d.target.system)
    connector = prompt("  Its connector (sqlite or http)", default=d.target.connector)
    truth = prompt("  Source of truth", default=source)
    say("3. What is synchronised, and what stays local?")
    synced = _list(prompt("  Synced fields, name or name:type, comma separated", default=", ".join(d.synced)))
    local = _list(prompt(f"  Fields that stay local to {target} (comma separated, may be empty)", default=""))
    say("4. What happens when data is incomplete?")
    required = _list(prompt("  Fields every record must have", default=", ".join(s.split(":")[0] for s in synced)))
    incomplete = prompt("  An incomplete record is parked for its owner or skipped (park/skip)", default="park")
    say("5. Who owns the exceptions?")
    owner = prompt("  Owner name", default=d.owner.name)
    email = prompt("  Owner email", default=d.owner.email)
    say("6. What measurable gain is expected?")
    minutes = float(prompt("  Minutes of manual work saved per record", default=str(d.gain.minutes_saved_per_message)))
    target_spec: dict[str, Any] = {"system": target, "connector": connector}
    if connector == "http":
        target_spec["base_url"] = prompt("  Base URL of the API", default=d.target.base_url)
    target_spec["table"] = prompt("  Table (sqlite) or path (http) the record goes to", default=f"{entity}s")
    return Answers.model_validate(
        {
            "hub": hub,
            "trigger": {"system": source, "event": event},
            "entity": {"name": entity, "key": key, "source_of_truth": truth},
            "synced": synced,
            "local": {target: local} if local else {},
            "required": required,
            "incomplete": incomplete,
            "owner": {"name": owner, "email": email},
            "gain": {"minutes_saved_per_message": minutes},
            "target": target_spec,
        }
    )
