"""Gain, measured: what each flow saved, from the store's real counts per flow and UTC day and
what the flow declares (`gain: {minutes_saved_per_message, cost_saved_per_message}`).

A message saves what its flow declares unless it ended as an exception (a person handles it
then): per flow and day, `handled = received - exceptions`, and the minutes (and cost) saved are
`handled` times the flow's figure. An exception is counted on the day it was parked, which may
be a later day than its message's, so one day of one flow can come out below zero; the sums over
days are exact. A message a route step hands to another flow counts as received by the flow that
received it; an exception counts for the flow it was parked in.

`gain_report` is what `interlace gain`, the admin API and the console all show: plain data.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from interlace.backends.base import Backend, DayCounts
from interlace.config.models import HubConfig
from interlace.types import JSON, JSONObject


@dataclass
class Tally:
    """Counts and savings of one flow on one day, of one flow over the period, or of all flows."""

    received: int = 0
    delivered: int = 0
    exceptions: int = 0
    minutes_saved: float = 0.0
    cost_saved: float = 0.0

    @property
    def handled(self) -> int:
        """Messages that needed no person: received, less those that ended as exceptions."""
        return self.received - self.exceptions

    def add(self, other: Tally) -> None:
        self.received += other.received
        self.delivered += other.delivered
        self.exceptions += other.exceptions
        self.minutes_saved += other.minutes_saved
        self.cost_saved += other.cost_saved

    def as_json(self) -> JSONObject:
        return {
            "received": self.received,
            "delivered": self.delivered,
            "exceptions": self.exceptions,
            "handled": self.handled,
            "minutes_saved": round(self.minutes_saved, 2),
            "hours_saved": round(self.minutes_saved / 60, 2),
            "cost_saved": round(self.cost_saved, 2),
        }


@dataclass
class FlowGain:
    flow: str
    minutes_per_message: float | None
    cost_per_message: float | None
    description: str | None = None
    declared: bool = False
    """The flow is in the config and declares a gain (entity flows and flows since removed do not)."""
    total: Tally = field(default_factory=Tally)
    days: dict[str, Tally] = field(default_factory=dict)


@dataclass
class GainReport:
    hub: str
    since: str | None
    until: str | None
    flows: dict[str, FlowGain]
    total: Tally = field(default_factory=Tally)

    def by_day(self) -> dict[str, Tally]:
        days: dict[str, Tally] = {}
        for flow in self.flows.values():
            for day, tally in flow.days.items():
                days.setdefault(day, Tally()).add(tally)
        return dict(sorted(days.items()))

    def as_json(self) -> JSONObject:
        flows: list[JSON] = [
            {
                "flow": f.flow,
                "declared": f.declared,
                "minutes_saved_per_message": f.minutes_per_message,
                "cost_saved_per_message": f.cost_per_message,
                "description": f.description,
                **f.total.as_json(),
            }
            for f in self.flows.values()
        ]
        rows = sorted(
            ((day, f.flow, tally) for f in self.flows.values() for day, tally in f.days.items()), key=lambda r: r[:2]
        )
        days: list[JSON] = [{"day": day, "flow": flow, **tally.as_json()} for day, flow, tally in rows]
        return {
            "hub": self.hub,
            "since": self.since,
            "until": self.until,
            "flows": flows,
            "days": days,
            "by_day": [{"day": day, **tally.as_json()} for day, tally in self.by_day().items()],
            "total": self.total.as_json(),
        }


def measure(
    config: HubConfig, counts: Iterable[DayCounts], *, since: str | None = None, until: str | None = None
) -> GainReport:
    """The gain of every flow of `config` (and of every other flow the counts name), from counts."""
    flows: dict[str, FlowGain] = {}
    for name, flow in config.flows.items():
        gain = flow.gain
        minutes = gain.minutes_saved_per_message if gain else None
        cost = gain.cost_saved_per_message if gain else None
        declared = minutes is not None or cost is not None
        flows[name] = FlowGain(name, minutes, cost, gain.description if gain else None, declared)
    report = GainReport(config.hub.name, since, until, flows)
    for c in counts:
        f = flows.get(c.flow)
        if f is None:
            f = flows[c.flow] = FlowGain(c.flow, None, None)
        tally = Tally(c.received, c.delivered, c.exceptions)
        tally.minutes_saved = tally.handled * (f.minutes_per_message or 0.0)
        tally.cost_saved = tally.handled * (f.cost_per_message or 0.0)
        day = f.days.setdefault(c.day, Tally())
        day.add(tally)
        f.total.add(tally)
        report.total.add(tally)
    return report


def period(days: int | None, *, today: dt.date | None = None) -> tuple[str | None, str | None]:
    """(since, until) of the last `days` UTC days, today included (None: every day)."""
    if days is None:
        return None, None
    if days < 1:
        raise ValueError("days is 1 or more")
    end = today or dt.datetime.now(dt.UTC).date()
    return (end - dt.timedelta(days=days - 1)).isoformat(), end.isoformat()


async def gain_report(
    backend: Backend,
    config: HubConfig,
    *,
    since: str | None = None,
    until: str | None = None,
    days: int | None = None,
) -> JSONObject:
    """The gain report as plain JSON data: per flow over the period (`flows`), per flow and day
    (`days`), per day over all flows (`by_day`, for a chart) and in all (`total`). The period is
    `since`..`until` (YYYY-MM-DD, UTC, both included), or the last `days` days, or every day."""
    if days is not None:
        since, until = period(days)
    for name, value in (("since", since), ("until", until)):
        if value is not None:
            try:
                dt.date.fromisoformat(value)
            except ValueError:
                raise ValueError(f"{name} {value!r} is not a day") from None
    counts = await backend.daily_counts(since, until)
    return measure(config, counts, since=since, until=until).as_json()
