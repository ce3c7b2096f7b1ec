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
