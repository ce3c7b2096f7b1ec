"""Real local servers for the cloud connectors' tests: an S3-compatible server (moto's server mode,
on a port the OS picks), and an S3 client of its own (boto3) to look at the bucket with, so a test
never checks the connector with the connector."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from interlace.backends.base import Backend, NewWork
from interlace.connectors.base import Incoming
from interlace.message import Message
from interlace.types import JSON


class StoreIngress:
    """What a source sees of the hub, over a real store: a durable submit with its cursor, an
    item whose idempotency key was seen before not stored again."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def submit(
        self, flow: str, items: Sequence[Incoming], *, cursor: tuple[str, JSON] | None = None, validate: bool = False
    ) -> list[str]:
        work = [
            NewWork(Message(flow=flow, body=i.body, key=i.key, event=i.event, headers=i.headers),
                    idempotency_key=f"{flow}:{i.idempotency_key}")
            for i in items
        ]  # fmt: skip
        return await self.backend.enqueue(work, cursor=cursor)

    async def load_cursor(self, name: str) -> JSON:
        return await self.backend.load_cursor(name)


ACCESS_KEY = "AKIAINTERLACETEST"
SECRET_KEY = "interlace-test-secret-key"
REGION = "us-east-1"


@contextlib.contextmanager
def s3_server() -> Iterator[str]:
    """moto's S3 server in a thread on 127.0.0.1 (port 0); yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def boto(endpoint: str) -> Any:
    """An independent S3 client on the same server."""
    import boto3

    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
    )  # fmt: skip


def new_bucket(client: Any) -> str:
    name = f"il-{uuid.uuid4().hex[:16]}"
    client.create_bucket(Bucket=name)
    return name


def settings(endpoint: str, bucket: str, **more: Any) -> dict[str, Any]:
    return {
        "bucket": bucket, "endpoint_url": endpoint, "region": REGION, "access_key_id": ACCESS_KEY,
        "secret_access_key": SECRET_KEY, **more,
    }  # fmt: skip


# -- a SaaS: an OAuth2 authorization server (authlib) and an API that pages and rate-limits ------

CLIENT_ID = "interlace-hub"
CLIENT_SECRET = "hub-client-secret-for-tests"
ITEMS = [{"id": i, "name": f"item {i}"} for i in range(1, 24)]


class Saas:
    """One Flask app served by werkzeug in a thread on 127.0.0.1 (port 0): the authorization
    server (authlib: client credentials, authorization code with PKCE, refresh tokens) at
    /authorize and /token, and an API under /api that wants its bearer tokens: POST /api/orders
    (kept once per Idempotency-Key) and GET /api/items/<style> in four pagination styles.

    `per_second`: the API answers 429 (Retry-After: 1) to a request past that many in the last
    second; `refuse` answers 429 to the next that many requests whatever the rate."""

    def __init__(self, *, redirect_uri: str = "http://127.0.0.1:8765/callback", expires_in: int = 3600,
                 per_second: int | None = None) -> None:  # fmt: skip
        import os

        os.environ["AUTHLIB_INSECURE_TRANSPORT"] = "1"  # http on loopback, for the test only
        self.redirect_uri = redirect_uri
        self.expires_in = expires_in
        self.per_second = per_second
        self.refuse = 0
        self.tokens: dict[str, Any] = {}
        self.codes: dict[str, Any] = {}
        self.token_requests: list[str] = []
        self.api_calls: list[tuple[float, str, int]] = []
        self.orders: dict[str, Any] = {}
        self.served_429 = 0
        self._lock = __import__("threading").Lock()
        self.app = self._build()

    # the models authlib asks for --------------------------------------------------------------
    def _build(self) -> Any:
        import base64
        import json
        import time

        from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
        from authlib.oauth2.rfc6749 import grants
        from authlib.oauth2.rfc6749.models import AuthorizationCodeMixin, ClientMixin, TokenMixin
        from authlib.oauth2.rfc6750 import BearerTokenValidator
        from authlib.oauth2.rfc7636 import CodeChallenge
        from flask import Flask, Response, request

        saas = self

        class Client(ClientMixin):  # type: ignore[misc]
            client_id = CLIENT_ID

            def get_client_id(self) -> str:
                return CLIENT_ID

            def get_default_redirect_uri(self) -> str:
                return saas.redirect_uri

            def get_allowed_scope(self, scope: str) -> str:
                return " ".join(s for s in (scope or "").split() if s in ("orders", "items"))

            def check_redirect_uri(self, redirect_uri: str) -> bool:
                return redirect_uri == saas.redirect_uri

            def check_client_secret(self, client_secret: str) -> bool:
                return client_secret == CLIENT_SECRET

            def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
                return method in ("client_secret_basic", "client_secret_post") if endpoint == "token" else True

            def check_response_type(self, response_type: str) -> bool:
                return response_type == "code"

            def check_grant_type(self, grant_type: str) -> bool:
                return grant_type in ("client_credentials", "authorization_code", "refresh_token")

        class Token(TokenMixin):  # type: ignore[misc]
            def __init__(self, data: dict[str, Any], user: str | None) -> None:
                self.data = data
                self.user = user
                self.issued_at = time.time()
                self.revoked = False
                self.access_revoked = False

            def check_client(self, client: Any) -> bool:
                return bool(client.get_client_id() == CLIENT_ID)

            def get_scope(self) -> str:
                return str(self.data.get("scope", ""))

            def get_expires_in(self) -> int:
                return int(self.data.get("expires_in", 0))

            def is_expired(self) -> bool:
                return time.time() >= self.issued_at + self.get_expires_in()

            def is_revoked(self) -> bool:
                return self.revoked or self.access_revoked

            def get_user(self) -> str | None:
                return self.user

            def get_client(self) -> Any:
                return Client()

        class Code(AuthorizationCodeMixin):  # type: ignore[misc]
            def __init__(self, code: str, redirect_uri: str, scope: str, challenge: str | None, method: str | None):
                self.code, self.redirect_uri, self.scope = code, redirect_uri, scope
                self.code_challenge, self.code_challenge_method = challenge, method

            def get_redirect_uri(self) -> str:
                return self.redirect_uri

            def get_scope(self) -> str:
                return self.scope

        class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

            def save_authorization_code(self, code: str, req: Any) -> None:
                data = req.payload.data
                saas.codes[code] = Code(code, req.payload.redirect_uri, req.payload.scope,
                                        data.get("code_challenge"), data.get("code_challenge_method"))  # fmt: skip

            def query_authorization_code(self, code: str, client: Any) -> Any:
                return saas.codes.get(code)

            def delete_authorization_code(self, authorization_code: Any) -> None:
                saas.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code: Any) -> str:
                return "alice"

        class RefreshGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]
            INCLUDE_NEW_REFRESH_TOKEN = True  # rotating refresh tokens, the strict kind

            def authenticate_refresh_token(self, refresh_token: str) -> Any:
                token = next((t for t in saas.tokens.values() if t.data.get("refresh_token") == refresh_token), None)
                return token if token is not None and not token.revoked else None

            def authenticate_user(self, credential: Any) -> Any:
                return credential.user

            def revoke_old_credential(self, credential: Any) -> None:
                credential.revoked = True

        class CredentialsGrant(grants.ClientCredentialsGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ["client_secret_basic", "client_secret_post"]

        def save_token(data: dict[str, Any], req: Any) -> None:
            saas.tokens[data["access_token"]] = Token(data, getattr(req, "user", None))

        app = Flask("saas")
        app.config["OAUTH2_TOKEN_EXPIRES_IN"] = {
            g: self.expires_in for g in ("client_credentials", "authorization_code", "refresh_token")
        }
        app.config["OAUTH2_REFRESH_TOKEN_GENERATOR"] = True
        server = AuthorizationServer(app, query_client=lambda cid: Client() if cid == CLIENT_ID else None,
                                     save_token=save_token)  # fmt: skip
        server.register_grant(CredentialsGrant)
        server.register_grant(CodeGrant, [CodeChallenge(required=True)])
        server.register_grant(RefreshGrant)

        class Validator(BearerTokenValidator):  # type: ignore[misc]
            def authenticate_token(self, token_string: str) -> Any:
                return saas.tokens.get(token_string)

        protect = ResourceProtector()
        protect.register_token_validator(Validator())

        @app.get("/authorize")
        def authorize() -> Any:
            grant = server.get_consent_grant(end_user="alice")
            return server.create_authorization_response(grant=grant, grant_user="alice")  # alice says yes at once

        @app.post("/token")
        def token() -> Any:
            saas.token_requests.append(request.form.get("grant_type", ""))
            return server.create_token_response()

        @app.before_request
        def rate() -> Any:
            if not request.path.startswith("/api/"):
                return None
            now = time.monotonic()
            with saas._lock:
                recent = [t for t, _, status in saas.api_calls if now - t < 1.0 and status != 429]
                limited = saas.refuse > 0 or (saas.per_second is not None and len(recent) >= saas.per_second)
                if saas.refuse > 0:
                    saas.refuse -= 1
                saas.api_calls.append((now, request.path, 429 if limited else 200))
                if limited:
                    saas.served_429 += 1
            if limited:
                return Response("slow down", 429, {"Retry-After": "1"})
            return None

        @app.post("/api/orders")
        @protect("orders")
        def orders() -> Any:
            key = request.headers.get("Idempotency-Key", "")
            with saas._lock:
                fresh = key not in saas.orders
                saas.orders.setdefault(key, request.get_json())
            return Response(json.dumps({"created": fresh}), 201 if fresh else 200, mimetype="application/json")

        @app.get("/api/items/<style>")
        @protect("items")
        def items(style: str) -> Any:
            args = request.args
            if style == "cursor":
                start = int(base64.urlsafe_b64decode(args["cursor"]).decode()) if args.get("cursor") else 0
                size = int(args.get("limit", 10))
                page = ITEMS[start : start + size]
                more = start + size < len(ITEMS)
                after = base64.urlsafe_b64encode(str(start + size).encode()).decode() if more else None
                return {"data": page, "meta": {"next": after}}
            if style == "page":
                size = int(args.get("per_page", 10))
                start = (int(args["page"]) - 1) * size
                return {"data": ITEMS[start : start + size]}
            if style == "offset":
                start, size = int(args["offset"]), int(args["limit"])
                return {"data": ITEMS[start : start + size]}
            number = int(args.get("page", 1))
            page = ITEMS[(number - 1) * 5 : number * 5]
            headers = {}
            if number * 5 < len(ITEMS):
                headers["Link"] = f'<{request.host_url}api/items/link?page={number + 1}>; rel="next"'
            return Response(json.dumps(page), 200, headers, mimetype="application/json")

        return app

    def revoke_all(self) -> None:
        """The server forgets every access token it gave (a key rotation): the next call is 401."""
        for token in self.tokens.values():
            token.access_revoked = True


@contextlib.contextmanager
def saas_server(**kw: Any) -> Iterator[tuple[Saas, str]]:
    """A `Saas` on a port the OS picks; yields it and its base URL."""
    import threading

    from werkzeug.serving import make_server

    saas = Saas(**kw)
    server = make_server("127.0.0.1", 0, saas.app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield saas, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
