"""Runs every readiness check over a loaded config and collects the findings."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

from pydantic import BaseModel

from interlace.config.lines import Path_
from interlace.config.loader import LoadedConfig
from interlace.readiness import cycles, entities, flows, mappings, owners, probes, secrets, tasks, triggers, unset
from interlace.readiness.context import Context
from interlace.readiness.finding import SEVERITIES, Finding

OFFLINE_CHECKS: tuple[Callable[[Context], list[Finding]], ...] = (
    triggers.check,
    entities.check,
    owners.check,
    tasks.check,
    flows.check,
    mappings.check,
    cycles.check,
    secrets.check,
    unset.check,
)


class Report(BaseModel):
    config: str
    hub: str
    offline: bool
    findings: list[Finding]

    def count(self, severity: str) -> int:
        return sum(1 for f in self.findings if f.severity == severity)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    def counts(self) -> dict[str, int]:
        seen = Counter(f.severity for f in self.findings)
        return {s: seen.get(s, 0) for s in SEVERITIES}


def _order(f: Finding) -> tuple[int, int, str]:
    return (SEVERITIES.index(f.severity), f.line or 0, f.kind)


def run_checks(
    loaded: LoadedConfig,
    *,
    offline: bool = True,
    timeout: float = probes.DEFAULT_TIMEOUT,
    unset_secrets: dict[str, list[Path_]] | None = None,
) -> Report:
    ctx = Context.of(loaded, unset_secrets)
    found = [f for check in OFFLINE_CHECKS for f in check(ctx)]
    if not offline:
        found += probes.check(ctx, timeout)
    return Report(
        config=str(Path(loaded.file)),
        hub=loaded.config.hub.name,
        offline=offline,
        findings=sorted(found, key=_order),
    )


def readiness_errors(loaded: LoadedConfig) -> list[Finding]:
    """The offline findings of severity error: `interlace run` refuses to start on any (unless --force)."""
    return run_checks(loaded, offline=True).errors
