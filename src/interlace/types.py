"""Type aliases shared across the package."""

from typing import Any, TypeAlias

JSON: TypeAlias = Any
"""A JSON-compatible value: dict, list, str, int, float, bool or None."""

JSONObject: TypeAlias = dict[str, Any]
