"""API tokens and roles: who may call which route of the admin API.

A token is 32 random bytes (256 bits) from `secrets`, shown once when it is made. The store keeps
only its SHA-256. A slow password hash (bcrypt, argon2) exists to make guessing a *human-chosen*
password expensive; a token has no dictionary to guess from, so a fast hash loses nothing, and it
lets a request be checked by one indexed lookup instead of a deliberately slow computation.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from interlace.backends.base import ROLES, ApiToken, AuditEntry, Backend, Role, TokensUnsupported
from interlace.types import JSON

PREFIX = "il_"
"""Tokens start with this, so a leaked one is recognisable (and findable by secret scanners)."""

Endpoint = Callable[[Request], Awaitable[Response]]


def new_token() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def allows(held: Role, needed: Role) -> bool:
    return ROLES.index(held) >= ROLES.index(needed)


async def create_token(backend: Backend, name: str, role: Role, created_by: str) -> tuple[str, ApiToken]:
    """A new token (returned once, never stored) and its stored record; the creation is audited."""
    token = new_token()
    record = await backend.create_token(name, role, token_hash(token), created_by)
    await backend.record_audit(AuditEntry(created_by, "token.create", name, "ok", {"role": role}))
    return token, record


async def revoke_token(backend: Backend, name: str, revoked_by: str) -> bool:
    done = await backend.revoke_token(name)
    await backend.record_audit(AuditEntry(revoked_by, "token.revoke", name, "ok" if done else "not found"))
    return done


def _bearer(request: Request) -> str | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    value = value.strip()
    return value if scheme.lower() == "bearer" and value else None


def _refused(status: int, error: str) -> Response:
    headers = {"WWW-Authenticate": 'Bearer realm="interlace"'} if status == 401 else None
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def requires(role: Role, endpoint: Endpoint, store: Backend, *, mutates: bool) -> Endpoint:
    """`endpoint` behind a token of at least `role`: none or an unknown one is 401, a weaker role
    403. The caller's token is put in `request.state.token`; a refused mutating call is audited."""

    async def guarded(request: Request) -> Response:
        presented = _bearer(request)
        if presented is None:
            return _refused(401, "this route needs a token: Authorization: Bearer <token>")
        try:
            token = await store.token_by_hash(token_hash(presented))
        except TokensUnsupported as exc:
            return JSONResponse({"error": str(exc)}, status_code=503)
        if token is None:
            return _refused(401, "unknown or revoked token")
        if not allows(token.role, role):
            if mutates:
                actor, detail = caller(request, token)
                action = f"{request.method} {request.url.path}"
                await store.record_audit(AuditEntry(actor, action, "", "denied", detail))
            return _refused(403, f"this route needs the {role} role; token {token.name!r} is {token.role}")
        request.state.token = token
        return await endpoint(request)

    guarded.__name__ = getattr(endpoint, "__name__", "guarded")
    return guarded


def caller(request: Request, token: ApiToken | None = None) -> tuple[str, dict[str, JSON]]:
    """Who makes the request (for the audit log): the token's name, and the client's address."""
    name = token.name if token is not None else request.state.token.name
    return name, {"client": request.client.host if request.client is not None else ""}
