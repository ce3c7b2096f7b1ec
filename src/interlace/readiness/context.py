"""What every readiness check reads: the loaded config plus the raw YAML (with lines)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from interlace.config.lines import Path_, dotted, line_of, load_with_lines
from interlace.config.loader import LoadedConfig
from interlace.config.models import Flow, ValidateStep
from interlace.readiness.finding import Finding, Severity


@dataclass
class Context:
    loaded: LoadedConfig
    raw: Any = None
    lines: dict[Path_, int] = field(default_factory=dict)
    text: str = ""
    unset_secrets: dict[str, list[Path_]] = field(default_factory=dict)
    """Secret references that could not be resolved here, with where each is used."""

    @classmethod
    def of(cls, loaded: LoadedConfig, unset_secrets: dict[str, list[Path_]] | None = None) -> Context:
        text = loaded.file.read_text()
        raw, lines = load_with_lines(text)
        return cls(loaded, raw, lines, text, unset_secrets or {})

    def finding(
        self,
        kind: str,
        loc: Path_,
        message: str,
        *,
        severity: Severity | None = None,
        fix: str | None = None,
    ) -> Finding:
        return Finding.of(kind, dotted(loc), message, line=line_of(self.lines, loc), severity=severity, fix=fix)

    def flow_entities(self, flow: Flow) -> list[str]:
        """The entities a flow's validate steps name, in order."""
        return [s.validate_ for s in flow.steps if isinstance(s, ValidateStep)]
