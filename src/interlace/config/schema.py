"""The config's JSON Schema: the core models merged with every installed connector's models."""

from __future__ import annotations

from typing import Any

from interlace.config.models import HubConfig, System
from interlace.connectors import registry


def config_schema() -> dict[str, Any]:
    schema = HubConfig.model_json_schema(by_alias=True)
    defs = schema.setdefault("$defs", {})
    base = System.model_json_schema()
    variants = []
    for name, cls in sorted(registry.connectors().items()):
        settings = cls.settings_model.model_json_schema(ref_template="#/$defs/{model}")
        defs.update(settings.pop("$defs", {}))
        props = {**base["properties"], **settings.get("properties", {}), "connector": {"const": name}}
        variants.append(
            {
                "title": f"{name} system",
                "type": "object",
                "properties": props,
                "required": sorted({"connector", *settings.get("required", [])}),
                "additionalProperties": False,
            }
        )
    schema["properties"]["systems"]["additionalProperties"] = {"oneOf": variants}
    return schema
