"""Secret references that are not set where the check runs (information: the live probe of the
systems that need them is skipped)."""

from __future__ import annotations

from interlace.readiness.context import Context
from interlace.readiness.finding import Finding


def check(ctx: Context) -> list[Finding]:
    return [
        ctx.finding("secret-unset", places[0], f"{ref} is not set here (used at {len(places)} place(s))")
        for ref, places in sorted(ctx.unset_secrets.items())
    ]
