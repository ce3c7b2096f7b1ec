"""OAuth2 for an http system: client credentials, and authorization code with refresh.

Tokens are kept in the hub's store (`Connector.use_state`), encrypted with Fernet under a key
derived (HKDF-SHA256) from the system's `token_key` secret, so whoever reads the store file
learns nothing usable. A token is refreshed `refresh_before` its expiry (by the injected clock);
a 401 answer to a request refreshes it once and the request goes again (`OAuth2Auth`).

Several hub processes share one store: before refreshing, the stored token is read again, and if
another process refreshed it meanwhile that one is used (a rotating refresh token is spent once).

The authorization code grant needs a person once: `interlace oauth login hub.yaml SYSTEM` prints
the authorization URL, listens on `redirect_uri` for the answer, checks its `state`, and trades
the code (with its PKCE verifier, S256) for the first tokens.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import secrets
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from interlace.connectors.base import State
from interlace.connectors.http.settings import OAuth2
from interlace.errors import ConnectorError, DeliveryError
from interlace.observability.redaction import remember
from interlace.types import JSON

STATE_NAME = "oauth2"
FATAL = frozenset({"invalid_grant", "invalid_client", "unauthorized_client", "unsupported_grant_type"})
"""Token endpoint errors that no retry will mend: the grant or the client must be fixed."""


class OAuth2Error(DeliveryError):
    """The authorization server refused to give a token."""


@dataclass
class Tokens:
    access_token: str
    refresh_token: str | None
    expires_at: float | None
    token_type: str = "Bearer"

    def dump(self) -> dict[str, JSON]:
        return {
            "access_token": self.access_token, "refresh_token": self.refresh_token,
            "expires_at": self.expires_at, "token_type": self.token_type,
        }  # fmt: skip

    @classmethod
    def load(cls, data: dict[str, JSON]) -> Tokens:
        expires = data.get("expires_at")
        refresh = data.get("refresh_token")
        return cls(
            access_token=str(data["access_token"]),
            refresh_token=str(refresh) if refresh else None,
            expires_at=float(expires) if isinstance(expires, int | float) else None,
            token_type=str(data.get("token_type") or "Bearer"),
        )


def fernet_key(secret: str) -> bytes:
    """A Fernet key from any long secret (HKDF-SHA256), so `token_key` may be any random string."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"interlace oauth2 tokens").derive(
        secret.encode()
    )
    return base64.urlsafe_b64encode(derived)


def pkce() -> tuple[str, str]:
    """(verifier, S256 challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


class TokenSource:
    """The tokens of one system: from the store, or from the authorization server."""

    def __init__(
        self, system: str, settings: OAuth2, *, timeout: float = 10.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.system = system
        self.settings = settings
        self.clock = clock
        self.timeout = timeout
        self.state: State | None = None
        self.current: Tokens | None = None
        self.requests = 0
        """Calls made to the token endpoint (tests and logs)."""
        self._lock = asyncio.Lock()
        self._loaded = False
        self._fernet = None
        if settings.token_key is not None:
            from cryptography.fernet import Fernet

            self._fernet = Fernet(fernet_key(settings.token_key.get_secret_value()))
        if settings.client_secret is not None:
            remember(settings.client_secret.get_secret_value())

    # -- the store ----------------------------------------------------------------------------

    async def _stored(self) -> Tokens | None:
        if self.state is None or self._fernet is None:
            return None
        record = await self.state.load(STATE_NAME)
        if not isinstance(record, dict) or not isinstance(record.get("sealed"), str):
            return None
        from cryptography.fernet import InvalidToken

        try:
            data = json.loads(self._fernet.decrypt(record["sealed"].encode()))
        except InvalidToken:
            raise ConnectorError(
                f"http system {self.system}: the stored OAuth2 tokens do not open with token_key (was it"
                " changed?): run `interlace oauth login` again"
            ) from None
        tokens = Tokens.load(data)
        self._remember(tokens)
        return tokens

    async def _store(self, tokens: Tokens) -> None:
        if self.state is None or self._fernet is None:
            return
        sealed = self._fernet.encrypt(json.dumps(tokens.dump()).encode()).decode()
        await self.state.save(STATE_NAME, {"sealed": sealed, "at": self.clock()})

    @staticmethod
    def _remember(tokens: Tokens) -> None:
        remember(tokens.access_token)
        if tokens.refresh_token:
            remember(tokens.refresh_token)

    # -- tokens -------------------------------------------------------------------------------

    def due(self, tokens: Tokens) -> bool:
        """The token expires within `refresh_before` (or has)."""
        return tokens.expires_at is not None and self.clock() >= tokens.expires_at - self.settings.refresh_before

    async def token(self) -> Tokens:
        """A token that is not due for refresh."""
        async with self._lock:
            if not self._loaded:
                self.current = await self._stored() or self.current
                self._loaded = True
            if self.current is None or self.due(self.current):
                self.current = await self._renew(self.current)
            return self.current

    async def after_unauthorized(self, refused: str) -> Tokens:
        """The server refused `refused` (401): a new token, unless one came meanwhile."""
        async with self._lock:
            if self.current is not None and self.current.access_token != refused:
                return self.current
            self.current = await self._renew(self.current, refused=refused)
            return self.current

    async def _renew(self, old: Tokens | None, refused: str | None = None) -> Tokens:
        stored = await self._stored()
        if stored is not None and stored.access_token != (old.access_token if old else None):
            if stored.access_token != refused and not self.due(stored):
                return stored  # another process refreshed it
            old = stored
        if self.settings.grant == "client_credentials":
            data = {"grant_type": "client_credentials"}
            if self.settings.scope:
                data["scope"] = self.settings.scope
        else:
            if old is None or old.refresh_token is None:
                raise OAuth2Error(
                    f"http system {self.system}: no OAuth2 token yet: run"
                    f" `interlace oauth login <config> {self.system}`",
                    retryable=False,
                )
            data = {"grant_type": "refresh_token", "refresh_token": old.refresh_token}
        tokens = await self._request(data, keep_refresh=old.refresh_token if old else None)
        await self._store(tokens)
        return tokens

    async def _request(self, data: dict[str, str], keep_refresh: str | None = None) -> Tokens:
        s = self.settings
        headers = {"Accept": "application/json"}
        auth: httpx.Auth | httpx._client.UseClientDefault = httpx.USE_CLIENT_DEFAULT
        if s.client_secret is not None and s.client_auth == "basic":
            auth = httpx.BasicAuth(s.client_id, s.client_secret.get_secret_value())
        else:
            data = {**data, "client_id": s.client_id}
            if s.client_secret is not None:
                data["client_secret"] = s.client_secret.get_secret_value()
        self.requests += 1
        started = self.clock()
        try:
            async with httpx.AsyncClient(timeout=self.timeout, trust_env=False) as client:
                response = await client.post(s.token_url, data=data, headers=headers, auth=auth)
        except httpx.HTTPError as exc:
            raise OAuth2Error(f"http system {self.system}: token endpoint: {type(exc).__name__}: {exc}") from exc
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not response.is_success or not isinstance(answer, dict) or "access_token" not in answer:
            code = str(answer.get("error", "")) if isinstance(answer, dict) else ""
            detail = answer.get("error_description", "") if isinstance(answer, dict) else ""
            answered = f"{response.status_code} {code} {detail}".rstrip()
            raise OAuth2Error(
                f"http system {self.system}: the token endpoint answered {answered}",
                retryable=code not in FATAL and response.status_code not in (400, 401, 403),
            )
        try:
            lifetime: float | None = float(answer["expires_in"])  # some servers send it as a string
        except (KeyError, TypeError, ValueError):
            lifetime = None
        tokens = Tokens(
            access_token=str(answer["access_token"]),
            refresh_token=str(answer.get("refresh_token") or keep_refresh or "") or None,
            expires_at=started + lifetime if lifetime else None,
            token_type=str(answer.get("token_type") or "Bearer"),
        )
        self._remember(tokens)
        return tokens

    # -- authorization code: the first tokens ----------------------------------------------

    def authorization_url(self, state: str, challenge: str) -> str:
        s = self.settings
        assert s.authorize_url is not None
        query = {
            "response_type": "code", "client_id": s.client_id, "redirect_uri": s.redirect_uri, "state": state,
            "code_challenge": challenge, "code_challenge_method": "S256",
        }  # fmt: skip
        if s.scope:
            query["scope"] = s.scope
        return s.authorize_url + ("&" if "?" in s.authorize_url else "?") + urlencode(query)

    async def login(self, show: Callable[[str], None], *, timeout: float = 300.0) -> Tokens:
        """The authorization code grant, once: show the URL, wait on redirect_uri for the code,
        trade it for tokens and keep them in the store."""
        if self._fernet is None or self.state is None:
            raise ConnectorError(f"http system {self.system}: login needs token_key and the hub's store")
        state, (verifier, challenge) = secrets.token_urlsafe(24), pkce()
        target = urlsplit(self.settings.redirect_uri)
        answer: asyncio.Future[dict[str, str]] = asyncio.get_running_loop().create_future()

        async def callback(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                line = (await asyncio.wait_for(reader.readline(), 30)).decode("latin-1").split()
                while (await asyncio.wait_for(reader.readline(), 30)).strip():
                    pass  # the headers: not needed
                url = urlsplit(line[1]) if len(line) >= 2 else urlsplit("/")
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                ok = url.path == (target.path or "/") and params.get("state") == state
                text = "Interlace has the grant; this window may be closed." if ok else "Not the answer expected."
                body = text.encode()
                writer.write(
                    f"HTTP/1.1 {'200 OK' if ok else '400 Bad Request'}\r\nContent-Type: text/plain\r\n"
                    f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode() + body
                )
                await writer.drain()
                if ok and not answer.done():
                    answer.set_result(params)
            except (OSError, TimeoutError, UnicodeError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(callback, target.hostname, target.port)
        try:
            show(self.authorization_url(state, challenge))
            params = await asyncio.wait_for(answer, timeout)
        finally:
            server.close()
            await server.wait_closed()
        if "error" in params:
            why = f"{params['error']} {params.get('error_description', '')}".rstrip()
            raise OAuth2Error(f"the authorization server refused: {why}", retryable=False)
        if "code" not in params:
            raise OAuth2Error("the authorization server sent no code back", retryable=False)
        data = {
            "grant_type": "authorization_code", "code": params["code"], "redirect_uri": self.settings.redirect_uri,
            "code_verifier": verifier,
        }  # fmt: skip
        async with self._lock:
            self.current = await self._request(data)
            await self._store(self.current)
            self._loaded = True
        return self.current


class OAuth2Auth(httpx.Auth):
    """Adds the bearer token to each request; a 401 refreshes it once and sends the request again."""

    def __init__(self, tokens: TokenSource) -> None:
        self.tokens = tokens

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        tokens = await self.tokens.token()
        request.headers["Authorization"] = f"Bearer {tokens.access_token}"
        response = yield request
        if response.status_code == 401:
            await response.aread()
            fresh = await self.tokens.after_unauthorized(tokens.access_token)
            request.headers["Authorization"] = f"Bearer {fresh.access_token}"
            yield request
