"""Evaluations per second of a small order mapping: jsonatapy (through Interlace's wrapper) vs
jsonata-python, side by side in one run, each expression compiled once.

Usage::

    .venv/bin/python benchmarks/bench_mapping.py [-n 20000] [--rounds 3]

jsonata-python (import name `jsonata`) is a dev dependency; without it only the wrapper is timed.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import platform
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from interlace.mapping.jsonata import Expression

EXPRESSION = '{"order_no": id, "email": customer.email, "total": $sum(lines.(qty * price))}'

ORDER: dict[str, Any] = {
    "id": "SO-2024-000187",
    "created_at": "2024-11-26T09:14:03Z",
    "currency": "EUR",
    "customer": {
        "id": "C-1042",
        "email": "jane.doe@example.test",
        "name": "Jane Doe",
        "address": {"line1": "12 Rue des Lilas", "city": "Lyon", "postcode": "69003", "country": "FR"},
    },
    "lines": [
        {"sku": "TSHIRT-M-BLU", "name": "T-shirt, blue, M", "qty": 2, "price": 19.9},
        {"sku": "MUG-WHT", "name": "Mug, white", "qty": 1, "price": 8.5},
        {"sku": "CAP-BLK", "name": "Cap, black", "qty": 1, "price": 14.0},
        {"sku": "SOCK-3P", "name": "Socks, 3 pairs", "qty": 3, "price": 9.99},
        {"sku": "BAG-TOTE", "name": "Tote bag", "qty": 1, "price": 12.0},
    ],
    "shipping": {"method": "standard", "price": 4.9},
    "tags": ["web", "promo-autumn"],
}


def _rate(evaluate: Callable[[], Any], n: int, rounds: int) -> float:
    """Best evaluations per second over `rounds` runs of `n` evaluations."""
    evaluate()  # warm up
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(n):
            evaluate()
        best = min(best, time.perf_counter() - started)
    return n / best


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="JSONata mapping benchmark")
    parser.add_argument("-n", type=int, default=20_000, help="evaluations per round (default 20000)")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; the best is kept (default 3)")
    args = parser.parse_args(argv)

    ours = Expression(EXPRESSION)
    expected = ours.evaluate(ORDER)
    print(f"expression: {EXPRESSION}")
    print(f"result:     {expected}")
    print(f"python {platform.python_version()} on {platform.machine()}, n={args.n}, best of {args.rounds}")

    ours_rate = _rate(lambda: ours.evaluate(ORDER), args.n, args.rounds)
    label = f"jsonatapy {importlib.metadata.version('jsonatapy')} (interlace wrapper)"
    print(f"{label:<40} {ours_rate:>10,.0f} evaluations/s")

    try:
        import jsonata  # type: ignore[import-untyped]  # jsonata-python
    except ImportError:
        print("jsonata-python not installed (pip install jsonata-python): no comparison")
        return 0
    theirs = jsonata.Jsonata(EXPRESSION)
    other = theirs.evaluate(ORDER)
    if other != expected:
        print(f"warning: jsonata-python gives a different result: {other}", file=sys.stderr)
    # jsonata-python is much slower: time it on fewer evaluations, the rate is what counts.
    theirs_rate = _rate(lambda: theirs.evaluate(ORDER), max(1, args.n // 10), args.rounds)
    label = f"jsonata-python {importlib.metadata.version('jsonata-python')}"
    print(f"{label:<40} {theirs_rate:>10,.0f} evaluations/s")
    print(f"ratio: jsonatapy is {ours_rate / theirs_rate:.1f}x jsonata-python")
    return 0


if __name__ == "__main__":
    sys.exit(main())
