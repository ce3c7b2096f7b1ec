"""Exponential backoff with jitter."""

from __future__ import annotations

import random


def backoff(attempt: int, first: float, longest: float, *, rng: random.Random | None = None) -> float:
    """The wait before try `attempt + 1` (attempt 0 = after the first failure): `first` doubled
    each time, capped at `longest`, then jittered to between half and all of it, so that many
    messages failing together do not come back together."""
    base: float = min(longest, first * 2.0**attempt)
    r: float = (rng or random).random()
    return base / 2 + base / 2 * r
