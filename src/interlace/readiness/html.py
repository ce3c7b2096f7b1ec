"""The report as one self-contained HTML page: a summary per question, then each finding."""

from __future__ import annotations

from html import escape

from interlace.readiness.finding import KINDS, QUESTIONS
from interlace.readiness.report import Report

_STYLE = """
body{font:15px/1.45 system-ui,sans-serif;max-width:60em;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.5em}.sum span{display:inline-block;padding:.2em .7em;border-radius:1em;margin-right:.4em}
.error{background:#fde2e1;color:#8a1c13}.warning{background:#fff1d6;color:#7a4b00}.info{background:#e4eefc;color:#1e4a8a}
table.q{border-collapse:collapse;margin:1em 0}table.q td{padding:.2em .8em;border-bottom:1px solid #eee}
.f{border-left:4px solid #ccc;padding:.4em 1em;margin:1em 0}.f.error{border-color:#d93025}
.f.warning{border-color:#f29900}.f.info{border-color:#1a73e8}.f p{margin:.25em 0;color:#222}
code{background:#f4f4f4;padding:0 .25em}.k{font-weight:600}
"""


def as_html(report: Report) -> str:
    counts = report.counts()
    parts = [
        "<!doctype html><html lang=en><meta charset=utf-8>",
        f"<title>Readiness of {escape(report.hub)}</title><style>{_STYLE}</style>",
        f"<h1>Is <code>{escape(report.hub)}</code> ready to automate?</h1>",
        f"<p>{escape(report.config)}{' (offline: systems not probed)' if report.offline else ''}</p>",
        '<p class="sum">' + "".join(f'<span class="{s}">{n} {s}(s)</span>' for s, n in counts.items()) + "</p>",
        _questions(report),
    ]
    for f in report.findings:
        where = f"line {f.line}, " if f.line is not None else ""
        parts.append(
            f'<div class="f {f.severity}"><p class="k">{escape(f.severity.upper())} '
            f"{escape(KINDS[f.kind].title)} <small>({escape(f.kind)})</small></p>"
            f"<p>{escape(where)}<code>{escape(f.path)}</code>: {escape(f.message)}</p>"
            f"<p><b>Why it matters:</b> {escape(f.why)}</p><p><b>How to fix:</b> {escape(f.fix)}</p></div>"
        )
    if not report.findings:
        parts.append("<p>Ready: every question is answered.</p>")
    return "\n".join(parts) + "\n</html>\n"


def _questions(report: Report) -> str:
    rows = []
    for number, question in QUESTIONS.items():
        mine = [f for f in report.findings if f.question == number]
        worst = next((s for s in ("error", "warning", "info") if any(f.severity == s for f in mine)), None)
        state = f'<span class="{worst}">{len(mine)} finding(s)</span>' if worst else "answered"
        label = f"{number}. {question}" if number else question
        rows.append(f"<tr><td>{escape(label)}</td><td>{state}</td></tr>")
    return '<table class="q">' + "".join(rows) + "</table>"
