"""Console sessions: an API token is traded once, at the login page, for a session cookie.

- The cookie holds 32 random bytes; the store keeps only their SHA-256 (as for tokens), with the
  token the session stands for. A revoked token ends its sessions at their next request; logout
  ends one at once; a session lasts `LIFETIME` at most.
- The cookie is `HttpOnly` (no script reads it), `Secure` (sent over HTTPS only; browsers treat
  http://localhost and 127.0.0.1 as secure, so a hub on the loopback works as it is) and
  `SameSite=Strict` (not sent on a request another site starts).
- CSRF: every state-changing request must carry the session's own CSRF value (a hidden form field
  `csrf`, or the `X-CSRF-Token` header), compared in constant time, and, when the browser sends
  an `Origin`, come from the hub's own origin. The login form, made before any session exists,
  carries a value that must match a short-lived cookie of its own (double submit).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from urllib.parse import quote, urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from interlace.backends.base import ApiToken, AuditEntry, Backend, Role, TokensUnsupported
from interlace.web import auth

COOKIE = "interlace_session"
LOGIN_COOKIE = "interlace_login"
LIFETIME = 8 * 3600.0
LOGIN_LIFETIME = 600
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf"
SAFE_METHODS = frozenset({"GET", "HEAD"})

Page = Callable[[Request], Awaitable[Response]]
Refuse = Callable[[Request, int, str], Response]


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def set_cookie(response: Response, name: str, value: str, max_age: int, path: str = "/") -> None:
    response.set_cookie(name, value, max_age=max_age, path=path, secure=True, httponly=True, samesite="strict")


async def start(backend: Backend, token: ApiToken, response: Response, clock: Callable[[], float] = time.time) -> str:
    """A new session for `token`, its cookie set on `response`; answers the session's CSRF value."""
    session, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    await backend.create_session(_hash(session), token.id, csrf, clock() + LIFETIME)
    set_cookie(response, COOKIE, session, int(LIFETIME))
    return csrf


async def end(backend: Backend, request: Request, response: Response) -> None:
    session = request.cookies.get(COOKIE)
    if session:
        await backend.end_session(_hash(session))
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")


async def current(backend: Backend, request: Request) -> tuple[ApiToken, str] | None:
    """The token and CSRF value of the request's session, if it has a live one."""
    session = request.cookies.get(COOKIE)
    if not session or len(session) > 200:
        return None
    return await backend.session(_hash(session), time.time())


def same_origin(request: Request) -> bool:
    """False when the browser says the request comes from another origin than the hub's own."""
    origin = request.headers.get("origin")
    if origin is None:
        return True
    parts = urlsplit(origin)
    return parts.netloc == request.headers.get("host", "") and parts.scheme in ("http", "https")


async def csrf_ok(request: Request, expected: str) -> bool:
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    return sent is not None and hmac.compare_digest(sent.encode(), expected.encode()) and same_origin(request)


def login_url(request: Request) -> str:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return "/console/login?next=" + quote(target, safe="")


def requires(role: Role, page: Page, backend: Backend, refuse: Refuse) -> Page:
    """`page` behind a console session of at least `role`. No session: a page is redirected to
    the login page, anything else is 401. A weaker role is 403; a state-changing request without
    the session's CSRF value (or from another origin) is 403, and audited."""

    async def guarded(request: Request) -> Response:
        try:
            found = await current(backend, request)
        except TokensUnsupported as exc:
            return refuse(request, 503, str(exc))
        mutates = request.method not in SAFE_METHODS
        if found is None:
            if not mutates and "text/event-stream" not in request.headers.get("accept", ""):
                return RedirectResponse(login_url(request), status_code=303)
            return refuse(request, 401, "log in first: your session has ended")
        token, csrf = found
        request.state.token, request.state.csrf = token, csrf
        if not auth.allows(token.role, role):
            if mutates:
                await _denied(backend, request, token, "role")
            return refuse(request, 403, f"this needs the {role} role; you are logged in as {token.name} ({token.role})")
        if mutates and not await csrf_ok(request, csrf):
            await _denied(backend, request, token, "csrf")
            return refuse(request, 403, "this form is stale or did not come from this console: reload the page")
        return await page(request)

    guarded.__name__ = getattr(page, "__name__", "guarded")
    return guarded


async def _denied(backend: Backend, request: Request, token: ApiToken, why: str) -> None:
    actor, detail = auth.caller(request, token)
    await backend.record_audit(AuditEntry(actor, f"{request.method} {request.url.path}", "", "denied",
                                          {**detail, "why": why}))  # fmt: skip


def new_login_form(response: Response) -> str:
    """The CSRF value of a fresh login form, its cookie set on `response`."""
    value = secrets.token_urlsafe(24)
    set_cookie(response, LOGIN_COOKIE, value, LOGIN_LIFETIME, path="/console/login")
    return value


def login_form_ok(request: Request, sent: str | None) -> bool:
    expected = request.cookies.get(LOGIN_COOKIE)
    return (
        bool(expected) and sent is not None and hmac.compare_digest(sent.encode(), str(expected).encode())
        and same_origin(request)
    )  # fmt: skip


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path of the console, never another site."""
    if target and target.startswith("/console") and not target.startswith("//") and "\\" not in target:
        return target
    return "/console/"
