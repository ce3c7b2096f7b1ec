"""Digests by webhook: one JSON POST per digest, with an Idempotency-Key naming the notice."""

from __future__ import annotations

import httpx

from interlace.types import JSONObject

TIMEOUT = 30.0


async def send_webhook(url: str, payload: JSONObject, key: str) -> None:
    """POST `payload` to `url`; an answer other than 2xx is a failure (the notice is tried again)."""
    async with httpx.AsyncClient(timeout=TIMEOUT, trust_env=False) as client:
        response = await client.post(url, json=payload, headers={"Idempotency-Key": key})
    if not response.is_success:
        raise RuntimeError(f"POST {url} answered {response.status_code}: {response.text[:200]}")
