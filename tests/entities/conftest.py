"""Fixtures of the entity tests; the systems themselves are in tests/entity_support.py."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from entity_support import Shop


@pytest.fixture
async def shop() -> AsyncIterator[Shop]:
    """A real HTTP shop on a free loopback port."""
    s = Shop()
    await s.start()
    try:
        yield s
    finally:
        await s.stop()
