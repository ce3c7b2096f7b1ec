"""Evaluations per second of every example config's expressions (and the order mapping below):
Interlace's compiled JSONata through the step the worker runs, beside raw jsonatapy, jsonata-python
and the same mapping written by hand in Python, in interleaved rounds of one run.

Usage::

    .venv/bin/python benchmarks/bench_mapping.py [--rounds 5] [--seconds 0.1] [--write]

Each expression is evaluated over an order with 5 lines and one with 100 (the order carries the
fields every example reads). Per round each contender runs for about `--seconds`, cut into
slices taken in turn (Interlace, jsonatapy, jsonata-python, hand-written, again), so that the
load of a busy machine falls on all of them alike; the ratio Interlace / jsonatapy is taken per
round and the median reported with every round's. Interlace is timed as the worker calls it: `step.apply(message)` of
the map or filter step built from the config text (a route's `when` through a one-rule route).
jsonatapy is timed raw: the compiled expression's `evaluate(body)`, no wrapper, no bindings.
jsonata-python (a dev dependency) is left out when it is not installed. `--write` replaces the
mapping section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonatapy

from common import machine, write_section
from interlace.engine.steps import Filter, Map, RouteTo, Step, condition
from interlace.mapping.jsonata import condition_source
from interlace.message import Message

EXPRESSION = '{"order_no": id, "email": customer.email, "total": $sum(lines.(qty * price))}'

_LINE_KINDS = [
    {"sku": "TSHIRT-M-BLU", "name": "T-shirt, blue, M", "qty": 2, "price": 19.9},
    {"sku": "MUG-WHT", "name": "Mug, white", "qty": 1, "price": 8.5},
    {"sku": "CAP-BLK", "name": "Cap, black", "qty": 1, "price": 14.0},
    {"sku": "SOCK-3P", "name": "Socks, 3 pairs", "qty": 3, "price": 9.99},
    {"sku": "BAG-TOTE", "name": "Tote bag", "qty": 1, "price": 12.0},
]


def order(lines: int) -> dict[str, Any]:
    """A realistic order with `lines` lines, carrying the fields every example expression reads."""
    return {
        "id": "SO-2024-000187",
        "created_at": "2024-11-26T09:14:03Z",
        "currency": "EUR",
        "customer": {
            "id": "C-1042",
            "email": "Jane.Doe@Example.test",
            "name": "Jane Doe",
            "address": {"line1": "12 Rue des Lilas", "city": "Lyon", "postcode": "69003", "country": "FR"},
        },
        "lines": [dict(_LINE_KINDS[i % len(_LINE_KINDS)], line=i + 1) for i in range(lines)],
        "shipping": {"method": "standard", "price": 4.9},
        "tags": ["web", "promo-autumn"],
        # what the other examples read: a customer record (entities, unclear), an invoice, a stock line
        "email": "jane.doe@example.test",
        "full_name": "Jane Doe",
        "name": "Jane Doe",
        "points": 120,
        "loyalty_points": 120,
        "number": "INV-77",
        "total": 98.27,
        "stock_line": {"item_no": "A-100"},
        "rec_body": {
            "item_no": "A-100",
            "description": "Widget",
            "warehouse": "W1",
            "qty_on_hand": 42,
            "unit_price": 3.5,
            "last_count_date": 20240115,
            "active": "Y",
        },
    }


def _counted_on(d: dict[str, Any]) -> str:
    s = str(d["rec_body"]["last_count_date"])
    return f"{s[0:4]}-{s[4:6]}-{s[6:8]}"


@dataclass
class Case:
    name: str  # where the expression comes from
    kind: str  # map, filter or when
    text: str
    by_hand: Callable[[dict[str, Any]], Any]


CASES = [
    Case(
        "bench_mapping.py order",
        "map",
        EXPRESSION,
        lambda d: {
            "order_no": d["id"],
            "email": d["customer"]["email"],
            "total": sum(li["qty"] * li["price"] for li in d["lines"]),
        },
    ),
    Case(
        "quickstart order-to-erp-and-crm",
        "map",
        '{"order_no": id, "email": $lowercase(customer.email), "customer_name": customer.name,'
        ' "total": $round($sum(lines.(qty * price)), 2), "line_count": $count(lines)}',
        lambda d: {
            "order_no": d["id"],
            "email": d["customer"]["email"].lower(),
            "customer_name": d["customer"]["name"],
            "total": round(sum(li["qty"] * li["price"] for li in d["lines"]), 2),
            "line_count": len(d["lines"]),
        },
    ),
    Case("mainframe stock-to-db (filter)", "filter", "stock_line", lambda d: bool(d.get("stock_line"))),
    Case(
        "mainframe stock-to-db (map)",
        "map",
        '{"item_no": rec_body.item_no, "description": rec_body.description, "warehouse": rec_body.warehouse,'
        ' "qty": rec_body.qty_on_hand, "unit_price": rec_body.unit_price,'
        ' "counted_on": $substring($string(rec_body.last_count_date), 0, 4) & "-"'
        ' & $substring($string(rec_body.last_count_date), 4, 2) & "-"'
        ' & $substring($string(rec_body.last_count_date), 6, 2), "active": rec_body.active}',
        lambda d: {
            "item_no": d["rec_body"]["item_no"],
            "description": d["rec_body"]["description"],
            "warehouse": d["rec_body"]["warehouse"],
            "qty": d["rec_body"]["qty_on_hand"],
            "unit_price": d["rec_body"]["unit_price"],
            "counted_on": _counted_on(d),
            "active": d["rec_body"]["active"],
        },
    ),
    Case(
        "entities customer inbound",
        "map",
        '{"email": email, "name": full_name, "loyalty_points": points}',
        lambda d: {"email": d["email"], "name": d["full_name"], "loyalty_points": d["points"]},
    ),
    Case(
        "entities customer outbound",
        "map",
        '{"email": email, "full_name": name, "points": loyalty_points}',
        lambda d: {"email": d["email"], "full_name": d["name"], "points": d["loyalty_points"]},
    ),
    Case(
        "unclear customer-to-crm (map)",
        "map",
        '{"id": id, "email": emial, "name": name}',
        lambda d: {k: v for k, v in (("id", d.get("id")), ("email", d.get("emial")), ("name", d.get("name"))) if v},
    ),
    Case("unclear customer-to-crm (route)", "when", 'email = ""', lambda d: d.get("email") == ""),
    Case(
        "unclear customer-to-erp",
        "map",
        '{"name": name, "points": loyalty_points}',
        lambda d: {"name": d["name"], "points": d["loyalty_points"]},
    ),
    Case(
        "unclear invoice-to-billing",
        "map",
        '{"number": number, "amount": total}',
        lambda d: {"number": d["number"], "amount": d["total"]},
    ),
]
"""Every expression of examples/*/ (interact.yaml's inbound is hub.yaml's) but erp-to-billing's
`name + 1`, which fails on every record by design (the example of mapping-fails-on-sample)."""


def _step(case: Case) -> tuple[Step, str]:
    """The step the worker would run, and the expression text it evaluates."""
    if case.kind == "filter":
        return Filter(case.text), condition_source(case.text)
    if case.kind == "when":
        return RouteTo([(condition(case.text), "elsewhere")], None), condition_source(case.text)
    return Map(case.text), case.text


SLICES = 10
"""Each contender's time in a round is cut into this many slices, taken in turn with the others',
so a change of load on the machine during a round falls on every contender alike."""

clock = time.process_time
"""Time is the process's CPU time: on a busy machine the moments this process waits for a core are
not counted against whichever contender happened to be running (all contenders run in this one
thread; jsonatapy's Rust code counts too, being in the process)."""


def _batch(call: Callable[[], Any], seconds: float) -> int:
    """How many calls take about `seconds`."""
    n = 1
    while True:
        started = clock()
        for _ in range(n):
            call()
        took = clock() - started
        if took >= seconds / 4:
            return max(1, int(n * seconds / max(took, 1e-9)))
        n *= 2


def _round(contenders: dict[str, Callable[[], Any]], seconds: float) -> dict[str, float]:
    """Evaluations per second of each contender over about `seconds` each, in interleaved slices."""
    batches = {who: _batch(call, seconds / SLICES) for who, call in contenders.items()}
    calls = dict.fromkeys(contenders, 0)
    spent = dict.fromkeys(contenders, 0.0)
    for _ in range(SLICES):
        for who, call in contenders.items():
            n = batches[who]
            started = clock()
            for _ in range(n):
                call()
            spent[who] += clock() - started
            calls[who] += n
    return {who: calls[who] / spent[who] for who in contenders}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return abs(a - b) < 1e-9 * max(1.0, abs(a))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@dataclass
class Row:
    case: Case
    lines: int
    rounds: list[dict[str, float]]

    def median(self, who: str) -> float:
        return statistics.median(r[who] for r in self.rounds)

    @property
    def ratios(self) -> list[float]:
        return [r["interlace"] / r["jsonatapy"] for r in self.rounds]


def measure(case: Case, lines: int, rounds: int, seconds: float, theirs: Any) -> Row:
    body = order(lines)
    step, text = _step(case)
    message = Message(flow="bench", body=body, event="order.created")
    raw = jsonatapy.compile(text)
    expected = raw.evaluate(body)
    outcome = step.apply(message)
    got = getattr(outcome, "body", None) if case.kind == "map" else bool(getattr(outcome, "body", None) is not None)
    if case.kind == "map" and not _same(got, expected):
        raise SystemExit(f"{case.name}: Interlace gives {got!r}, jsonatapy {expected!r}")
    if not _same(case.by_hand(body), expected):
        raise SystemExit(f"{case.name}: the hand-written version gives {case.by_hand(body)!r}, not {expected!r}")
    contenders: dict[str, Callable[[], Any]] = {
        "interlace": lambda: step.apply(message),
        "jsonatapy": lambda: raw.evaluate(body),
    }
    if theirs is not None:
        other = theirs.Jsonata(text)
        contenders["jsonata-python"] = lambda: other.evaluate(body)
    contenders["by hand"] = lambda: case.by_hand(body)
    row = Row(case, lines, [])
    for _ in range(rounds):
        row.rounds.append(_round(contenders, seconds))
        r = row.rounds[-1]
        cells = "  ".join(f"{who} {rate:>10,.0f}/s" for who, rate in r.items())
        print(f"  round {len(row.rounds)}: {cells}  interlace/jsonatapy {r['interlace'] / r['jsonatapy']:.2f}x")
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="JSONata mapping benchmark")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (default 5)")
    parser.add_argument("--seconds", type=float, default=0.1, help="time per contender per round (default 0.1)")
    parser.add_argument("--lines", type=int, nargs="+", default=[5, 100], help="order sizes (default 5 100)")
    parser.add_argument("--write", action="store_true", help="write the section of docs/performance.md")
    args = parser.parse_args(argv)
    try:
        import jsonata as theirs  # type: ignore[import-untyped]  # jsonata-python
    except ImportError:
        theirs = None
        print("jsonata-python not installed (pip install jsonata-python): left out")
    where = machine()
    versions = f"jsonatapy {importlib.metadata.version('jsonatapy')}"
    if theirs is not None:
        versions += f", jsonata-python {importlib.metadata.version('jsonata-python')}"
    print(f"python {platform.python_version()} on {platform.machine()}; {versions}; {where}")
    rows = []
    for case in CASES:
        for lines in args.lines:
            print(f"{case.name} ({case.kind}), {lines} lines")
            rows.append(measure(case, lines, args.rounds, args.seconds, theirs))
    worst = min(statistics.median(r.ratios) for r in rows)
    text = [
        "## Mapping: compiled JSONata through the map step, beside jsonatapy, jsonata-python and Python",
        f"`.venv/bin/python benchmarks/bench_mapping.py --write` ({args.rounds} rounds of about"
        f" {args.seconds:g} s of CPU time per contender, each round cut into {SLICES} slices taken in turn by the"
        " contenders;"
        f" Python {platform.python_version()}, {versions}; {where}).",
        "",
        "Every expression of the example configs, over an order with 5 and with 100 lines. *Interlace*: the"
        " step the worker runs (`step.apply(message)`: the compiled expression, the step's outcome); *jsonatapy*:"
        " the same expression compiled by jsonatapy and evaluated raw (`evaluate(body)`, no wrapper);"
        " *by hand*: the same mapping as a Python function. Evaluations per second, median of the rounds;"
        " the ratio is Interlace / jsonatapy, the median of the per-round ratios, then every round's.",
        "",
        "| expression | lines | Interlace | jsonatapy | jsonata-python | by hand | Interlace / jsonatapy | rounds |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        other = f"{r.median('jsonata-python'):,.0f}" if theirs is not None else "-"
        ratios = r.ratios
        text.append(
            f"| {r.case.name} | {r.lines} | {r.median('interlace'):,.0f} | {r.median('jsonatapy'):,.0f} | {other}"
            f" | {r.median('by hand'):,.0f} | **{statistics.median(ratios):.2f}x**"
            f" | {', '.join(f'{x:.2f}' for x in ratios)} |"
        )
    text += [
        "",
        f"Lowest median ratio: **{worst:.2f}x** raw jsonatapy. The language behind these figures (conformance,"
        " what runs compiled): [mapping.md](mapping.md#conformance).",
    ]
    print("\n".join(text))
    if args.write:
        write_section("mapping", "\n".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
