"""A readiness finding, and the catalogue of every kind `interlace check` reports.

Each kind answers one of the six questions a business must answer before a handoff is automated
(or a technical one): the catalogue holds why it matters, in business words, and how to fix it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")

QUESTIONS = {
    1: "Which event triggers each handoff?",
    2: "Which system is the source of truth for each entity and field?",
    3: "What is synchronised, and what stays local?",
    4: "What happens when data is incomplete or inconsistent?",
    5: "Who owns the exceptions?",
    6: "What measurable gain is expected?",
    0: "Technical readiness",
}


@dataclass(frozen=True)
class Kind:
    name: str
    severity: Severity
    question: int
    title: str
    why: str
    fix: str


def _kinds(*kinds: Kind) -> dict[str, Kind]:
    return {k.name: k for k in kinds}


KINDS = _kinds(
    Kind(
        "trigger-unclear",
        "warning",
        1,
        "The event that starts the handoff is not clear",
        "When nobody can say which business event starts a handoff, records move at the wrong moment "
        "or twice, and people stop trusting the automated copy.",
        "Name the event (`trigger: {system: shop, event: order.created}`); for a schedule, say in the "
        "flow's `description` which business moment it stands for.",
    ),
    Kind(
        "entity-no-source-of-truth",
        "error",
        2,
        "No system is the source of truth for an entity",
        "When two systems disagree about a customer or an order, nobody knows which one is right, so "
        "the wrong value can overwrite the right one everywhere.",
        "Set `source_of_truth:` on the entity to the system whose value wins.",
    ),
    Kind(
        "field-two-owners",
        "error",
        2,
        "Two systems own the same field",
        "If two systems may both change a field, each change undoes the other and the value flips "
        "back and forth; people see different values depending on where they look.",
        "Give the field one owner: keep one `fields.<name>.owner` and remove the other claim.",
    ),
    Kind(
        "synced-field-local",
        "error",
        3,
        "A field is both synchronised and local",
        "A field cannot be shared and private at once: either other systems get its changes or they "
        "do not. Left ambiguous, data that should stay in one system leaks out, or shared data goes stale.",
        "Remove the field from `local:` or from `fields:` (the entity key is always shared).",
    ),
    Kind(
        "no-validation",
        "warning",
        4,
        "Incoming data is not checked",
        "Incomplete or malformed records travel on to other systems, where they fail later, far from "
        "the person who could fix them, or worse, are stored half-empty.",
        "Start the flow with `- validate: <entity>` so bad records are refused at the door and parked for their owner.",
    ),
    Kind(
        "mapping-unknown-field",
        "error",
        4,
        "A mapping reads a field its input does not have",
        "The mapping reads a field the incoming record never carries (often a typo): the target "
        "silently receives an empty value and nobody is told.",
        "Correct the field path in the mapping, or add the field to the entity's schema if it really arrives.",
    ),
    Kind(
        "mapping-missing-target-field",
        "error",
        4,
        "A mapping omits a field the target requires",
        "Every delivery would be refused by the target (or stored without its key), so each record "
        "becomes an exception instead of an automated handoff.",
        "Produce the field in the mapping (the target's key, or a field the schema validated after the "
        "mapping requires).",
    ),
    Kind(
        "mapping-fails-on-sample",
        "warning",
        4,
        "A mapping fails on a record that matches its schema",
        "A record the business calls valid would still fail the mapping and land with the exception "
        "owner: the handoff only works for some of the records.",
        "Make the mapping cope with every shape the schema allows (optional fields, types).",
    ),
    Kind(
        "mapping-not-compiled",
        "info",
        0,
        "A mapping runs on the reference JSONata engine",
        "The expression uses a construct Interlace's JSONata compiler does not handle yet, so it is "
        "evaluated by jsonatapy instead: the results are the same, each evaluation is slower.",
        "Nothing is wrong. Where the flow is busy, the construct named can often be written another way "
        "(`interlace map CONFIG FLOW --data sample.json` shows which engine runs each expression).",
    ),
    Kind(
        "failure-no-owner",
        "error",
        5,
        "Nobody owns this flow's failures",
        "When a record fails, it waits in the exception queue and nobody is told: the customer waits "
        "until someone notices.",
        "Declare an owner under `owners:` and name it in the flow's `on_error.owner`.",
    ),
    Kind(
        "task-no-owner",
        "error",
        5,
        "A task step has no owner",
        "A message waits for a decision that nobody is asked to take: the order sits there until a "
        "customer complains.",
        "Name an owner group in the task's `owner:` (declared under `owners:`, with its `members:`).",
    ),
    Kind(
        "task-owner-no-members",
        "error",
        5,
        "Nobody may decide a task",
        "Who may approve is written in the config, not decided by whoever is asked: an owner group "
        "without members leaves its tasks with nobody allowed to decide them.",
        "List the people (the names of their API tokens) under the owner's `members:`.",
    ),
    Kind(
        "task-no-deadline",
        "warning",
        5,
        "A task step has no deadline",
        "Without a deadline a waiting decision is never chased: the message can wait for weeks and "
        "nobody notices until the customer does.",
        "Give the task a `deadline:` (e.g. 4h), with an `escalate:` chain or a `default:` for when it passes.",
    ),
    Kind(
        "task-no-escalation",
        "warning",
        5,
        "Nothing happens when a task's deadline passes",
        "A deadline with no next owner and no default only marks the task overdue: the decision still "
        "waits for the one person who missed it.",
        "Add `escalate: [next-owner, ...]` and/or a `default: approve|reject` to the task.",
    ),
    Kind(
        "owner-unreachable",
        "error",
        5,
        "An exception owner cannot be notified",
        "An owner with no email and no webhook is never told about the exceptions they own, so owning "
        "them means nothing.",
        "Give the owner an `email:` or a `webhook:`.",
    ),
    Kind(
        "no-gain",
        "warning",
        6,
        "No expected gain is declared",
        "Without a stated gain (minutes or cost saved per record) nobody can tell whether the "
        "automation pays for itself, or which flow to fix first.",
        "Add `gain: {minutes_saved_per_message: N}` (or `cost_saved_per_message`) to the flow.",
    ),
    Kind(
        "sync-cycle",
        "error",
        2,
        "A sync cycle with no owner to break it",
        "Two flows copy the same record into each other's systems and no system is the source of "
        "truth: a change echoes back and forth, and concurrent edits overwrite each other.",
        "Set the entity's `source_of_truth:`, or remove one direction of the sync.",
    ),
    Kind(
        "route-no-default",
        "warning",
        4,
        "A route has no default branch",
        "Records that match no rule quietly carry on down this flow: the cases nobody thought of are "
        "handled by accident rather than by decision.",
        "Add `{default: <flow>}` as the last rule, naming where the other records go.",
    ),
    Kind(
        "system-unreachable",
        "error",
        0,
        "A system cannot be reached",
        "Every handoff to or from this system would fail and pile up as exceptions from the first minute.",
        "Check the address, the credentials and the network; `--offline` skips this probe.",
    ),
    Kind(
        "plaintext-secret",
        "error",
        0,
        "A secret is written in the config",
        "Anyone who can read the config file (or its history in version control) can use the password "
        "or token, and changing it means changing and redeploying the config.",
        "Use a reference instead: `${env:NAME}` or `${file:path}`.",
    ),
    Kind(
        "secret-unset",
        "info",
        0,
        "A referenced secret is not available here",
        "The check could not use this secret, so a live probe of the system that needs it was skipped.",
        "Set the environment variable (or create the file) before `interlace run`.",
    ),
    Kind(
        "flow-no-tests",
        "warning",
        0,
        "A flow has no tests",
        "Nothing shows what the flow is meant to do with a real record, so a change to a mapping can "
        "alter what other systems receive without anyone noticing.",
        "Add `tests:` with a `given` record and the `expect`ed result; run `interlace test`.",
    ),
)


class Finding(BaseModel):
    """One thing `interlace check` found: what, where, why it matters and how to fix it."""

    kind: str
    severity: Severity
    path: str
    line: int | None = None
    message: str
    why: str
    fix: str
    question: int

    @classmethod
    def of(
        cls,
        kind: str,
        path: str,
        message: str,
        *,
        line: int | None = None,
        severity: Severity | None = None,
        fix: str | None = None,
    ) -> Finding:
        spec = KINDS[kind]
        return cls(
            kind=kind,
            severity=severity or spec.severity,
            path=path,
            line=line,
            message=message,
            why=spec.why,
            fix=fix or spec.fix,
            question=spec.question,
        )

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "-"
        return f"{self.severity}: {self.kind}: {self.path} ({where}): {self.message}"
