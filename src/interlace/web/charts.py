"""Small SVG charts for the console, drawn on the server (no script, no library)."""

from __future__ import annotations

from html import escape

ROW, LABEL, BAR, PAD = 30, 170, 420, 12


def bar_chart(rows: list[tuple[str, float, str]], *, unit: str, title: str) -> str:
    """Horizontal bars: (label, value, text shown beside the bar), longest bar the largest value."""
    top = max((v for _, v, _ in rows), default=0.0) or 1.0
    height = PAD * 2 + 24 + ROW * max(len(rows), 1)
    width = LABEL + BAR + 140
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' class="chart" role="img" aria-label="{escape(title)}">',
        f'<text x="{PAD}" y="{PAD + 12}" class="column">{escape(title)} ({escape(unit)})</text>',
    ]
    if not rows:
        parts.append(f'<text x="{PAD}" y="{PAD + 44}" class="sub">nothing counted yet</text>')
    for i, (label, value, text) in enumerate(rows):
        y = PAD + 24 + i * ROW
        length = max(0.0, value) / top * BAR
        parts.append(f'<text x="{LABEL - 8}" y="{y + 18}" class="label" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{LABEL}" y="{y + 4}" width="{length:.1f}" height="{ROW - 10}" rx="3" class="bar"/>')
        parts.append(f'<text x="{LABEL + length + 6:.1f}" y="{y + 18}" class="value">{escape(text)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def waterfall(rows: list[tuple[str, float, float, str]], *, title: str) -> str:
    """A trace's timeline: (label, start s, end s, status) per entry, on one time axis."""
    end = max((e for _, _, e, _ in rows), default=0.0) or 0.001
    height = PAD * 2 + 24 + 22 * max(len(rows), 1)
    width = LABEL + BAR + 140
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' class="chart" role="img" aria-label="{escape(title)}">',
        f'<text x="{PAD}" y="{PAD + 12}" class="column">{escape(title)} (0 to {end * 1000:.1f} ms)</text>',
    ]
    for i, (label, start, stop, status) in enumerate(rows):
        y = PAD + 24 + i * 22
        x = LABEL + start / end * BAR
        w = max(2.0, (stop - start) / end * BAR)
        parts.append(f'<text x="{LABEL - 8}" y="{y + 14}" class="label" text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{x:.1f}" y="{y + 3}" width="{w:.1f}" height="14" rx="2" class="bar {escape(status)}"/>')
        parts.append(f'<text x="{x + w + 6:.1f}" y="{y + 14}" class="value">{(stop - start) * 1000:.1f} ms</text>')
    parts.append("</svg>")
    return "".join(parts)
