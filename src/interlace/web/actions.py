"""The actions on exceptions, each written to the audit log with who took it: one place for the
API (the actor is the token's name) and the CLI (`cli:<user>`)."""

from __future__ import annotations

from interlace.backends.base import AuditEntry, Backend
from interlace.types import JSON

NOT_OPEN = "not found or not open"


async def retry(
    backend: Backend, actor: str, exception_id: int, body: JSON = None, detail: dict[str, JSON] | None = None
) -> bool:
    """Put a parked message back where it failed (with `body` instead of its own, when given)."""
    done = await backend.retry_exception(exception_id, body)
    outcome = "ok" if done else NOT_OPEN
    await backend.record_audit(
        AuditEntry(actor, "exception.retry", str(exception_id), outcome, {**(detail or {}), "edited": body is not None})
    )
    return done


async def discard(backend: Backend, actor: str, exception_id: int, detail: dict[str, JSON] | None = None) -> bool:
    done = await backend.discard_exception(exception_id)
    outcome = "ok" if done else NOT_OPEN
    await backend.record_audit(AuditEntry(actor, "exception.discard", str(exception_id), outcome, detail or {}))
    return done


async def bulk(
    backend: Backend,
    actor: str,
    *,
    action: str,
    ids: list[int] | None = None,
    flow: str | None = None,
    owner: str | None = None,
    detail: dict[str, JSON] | None = None,
) -> tuple[list[int], list[int]]:
    """`action` (retry or discard) on many exceptions: those of `ids`, or every open one of
    `flow` and/or `owner`; each is audited as if taken alone. Answers the ids done, and those
    that were not open."""
    if ids is None:
        ids = [e.id for e in await backend.exceptions(status="open", flow=flow, owner=owner)]
    done: list[int] = []
    not_open: list[int] = []
    for exception_id in dict.fromkeys(ids):
        if action == "retry":
            ok = await retry(backend, actor, exception_id, None, detail)
        else:
            ok = await discard(backend, actor, exception_id, detail)
        (done if ok else not_open).append(exception_id)
    return done, not_open
