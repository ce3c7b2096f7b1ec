"""The config as an operator may see it: the file's own text parsed, so a secret reference stays
as written (`${env:CRM_TOKEN}`) and its value is never resolved here; a literal value under a key
that names a secret (password, token, api_key, ...) and the password of a URL are masked; then the
one redaction masks any secret value the hub resolved that appears anywhere else."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from interlace.config.secrets import has_reference, looks_secret, redact
from interlace.observability.redaction import MASK

_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)([^@\s]+)@")


def _mask(value: Any, key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {str(k): _mask(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_mask(v, key) for v in value]
    if isinstance(value, str):
        if key is not None and looks_secret(key) and not has_reference(value):
            return MASK
        return _URL_PASSWORD.sub(lambda m: m.group(1) + (m.group(2) if has_reference(m.group(2)) else MASK) + "@",
                                 value)  # fmt: skip
    if key is not None and looks_secret(key) and value is not None and not isinstance(value, bool):
        return MASK
    return value if value is None or isinstance(value, bool | int | float) else str(value)


def config_view(file: Path) -> dict[str, Any]:
    try:
        raw = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        return {"error": f"the config file cannot be read now: {exc}"}
    return dict(redact(_mask(raw if isinstance(raw, dict) else {})))
