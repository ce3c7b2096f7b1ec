"""The report as text (for people at a terminal) and as JSON (for tools)."""

from __future__ import annotations

import json

from interlace.readiness.finding import KINDS, QUESTIONS
from interlace.readiness.report import Report


def as_json(report: Report) -> str:
    data = report.model_dump()
    data["counts"] = report.counts()
    data["ok"] = not report.errors
    return json.dumps(data, indent=2) + "\n"


def as_text(report: Report) -> str:
    counts = report.counts()
    lines = [
        f"{report.config}: hub {report.hub!r}: {counts['error']} error(s), {counts['warning']} warning(s), "
        f"{counts['info']} note(s)" + (" (offline: systems not probed)" if report.offline else ""),
    ]
    for f in report.findings:
        where = f"{report.config}:{f.line}" if f.line is not None else report.config
        lines += [
            "",
            f"{f.severity.upper()} {f.kind}: {KINDS[f.kind].title}",
            f"  at    {where}  {f.path}",
            f"  what  {f.message}",
            f"  why   {f.why}",
            f"  fix   {f.fix}",
            f"  asks  {QUESTIONS[f.question]}",
        ]
    if not report.findings:
        lines.append("Ready: every question is answered.")
    return "\n".join(lines) + "\n"
