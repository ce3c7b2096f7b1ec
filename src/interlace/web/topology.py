"""The topology picture: systems and flows drawn from the config as an SVG a person can read.

Three columns, left to right: the systems that start flows (sources and schedules), the flows,
and the systems the flows deliver to. A system that does both is drawn in both columns (the
arrows then read left to right, never back). Each system box is coloured by its health; each flow
box names its owner and carries its messages/s (updated live on the overview)."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import quote

from interlace.config.models import HubConfig

BOX_W, BOX_H, GAP, TOP = 190, 46, 18, 56
COLUMNS = (30, 330, 630)
WIDTH = COLUMNS[2] + BOX_W + 30
COLOURS = {"up": "#2e7d32", "down": "#c62828", "unknown": "#757575"}


def _box(x: int, y: int, title: str, subtitle: str, css: str, colour: str, link: str | None, data: str = "") -> str:
    text = (
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" class="{css}" stroke="{colour}"/>'
        f'<text x="{x + 10}" y="{y + 19}" class="title">{escape(title)}</text>'
        f'<text x="{x + 10}" y="{y + 36}" class="sub"{data}>{escape(subtitle)}</text>'
    )
    return f'<a href="{escape(link)}">{text}</a>' if link else text


def _arrow(x1: int, y1: int, x2: int, y2: int) -> str:
    mid = (x1 + x2) // 2
    return f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" class="edge" marker-end="url(#arrow)"/>'


def _middles(config: HubConfig) -> list[tuple[str, str, str, str, list[str], list[str]]]:
    """The boxes of the middle column: (name, subtitle, css, link, from systems, to systems) of each
    flow, then of each entity with subscribers (its generated flows drawn as one box)."""
    found = []
    for name, flow in config.flows.items():
        event = f" on {flow.trigger.event}" if flow.trigger.event else ""
        source = flow.trigger.system or f"schedule: {flow.trigger.schedule}"
        found.append((name, f"{flow.on_error.owner or 'no owner'}{event}", "flow",
                      "/console/messages?flow=" + quote(name, safe=""), [source], [d.system for d in flow.deliver]))
    for name, entity in config.entities.items():
        if not entity.subscribers:
            continue
        sources = [(sub.trigger.system or system) for system, sub in entity.subscribers.items() if sub.trigger]
        targets = [system for system, sub in entity.subscribers.items() if sub.deliver is not None]
        kept = "golden record" if entity.mode == "integrate" else "pass-through"
        found.append((name, f"entity · {kept}", "entity", "/console/entities", sources, targets))
    return found  # fmt: skip


def topology_svg(config: HubConfig, health: dict[str, dict[str, Any]]) -> str:
    middles = _middles(config)
    sources = list(dict.fromkeys(s for m in middles for s in m[4]))
    targets = list(dict.fromkeys(t for m in middles for t in m[5]))
    rows = max(len(middles), len(sources), len(targets), 1)
    height = TOP + rows * (BOX_H + GAP) + 20

    def y(index: int, count: int) -> int:
        offset = (rows - count) * (BOX_H + GAP) // 2  # centre a shorter column
        return TOP + offset + index * (BOX_H + GAP)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}"'
        ' class="topology" role="img" aria-label="Systems and flows">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7"'
        ' orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker></defs>',
    ]
    for x, label in zip(COLUMNS, ("from these systems", "flows and entities", "to these systems"), strict=True):
        parts.append(f'<text x="{x}" y="30" class="column">{label}</text>')
    where_source = {name: y(i, len(sources)) for i, name in enumerate(sources)}
    where_target = {name: y(i, len(targets)) for i, name in enumerate(targets)}
    for i, (_, _, _, _, froms, tos) in enumerate(middles):
        my = y(i, len(middles)) + BOX_H // 2
        for source in froms:
            parts.append(_arrow(COLUMNS[0] + BOX_W, where_source[source] + BOX_H // 2, COLUMNS[1], my))
        for target in tos:
            parts.append(_arrow(COLUMNS[1] + BOX_W, my, COLUMNS[2], where_target[target] + BOX_H // 2))
    for column, placed in ((0, where_source), (2, where_target)):
        for name, top in placed.items():
            system = config.systems.get(name)
            state = health.get(name, {}).get("status", "unknown")
            subtitle = f"{system.connector} · {state}" if system else "schedule"
            parts.append(_box(COLUMNS[column], top, name, subtitle, f"system {state}", COLOURS.get(state, "#757575"),
                              None))  # fmt: skip
    for i, (name, subtitle, css, link, _, _) in enumerate(middles):
        colour = "#1565c0" if css == "flow" else "#6a1b9a"
        parts.append(_box(COLUMNS[1], y(i, len(middles)), name, subtitle, css, colour, link))
    parts.append("</svg>")
    return "".join(parts)
