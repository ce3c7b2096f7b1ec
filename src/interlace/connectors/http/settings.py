from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BeforeValidator, Field, IPvAnyNetwork, SecretStr, field_validator, model_validator

from interlace.connectors.base import Options
from interlace.options import parse_duration

Seconds = Annotated[float, BeforeValidator(lambda v: parse_duration(v) if isinstance(v, str) else v)]
LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def _https(value: str, what: str) -> str:
    """A URL credentials are sent to: https, or http to this machine only (a test server)."""
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{what} {value!r} is not an http(s) URL")
    local = parts.hostname in LOCAL_HOSTS or parts.hostname.endswith(".localhost")
    if parts.scheme != "https" and not local:
        raise ValueError(f"{what} {value!r} must be https (http only to localhost): it carries credentials")
    return value


class BasicAuth(Options):
    username: str
    password: str


class OAuth2(Options):
    """`auth: {oauth2: {...}}`: tokens from an OAuth2 authorization server, refreshed before they
    expire; a 401 answer refreshes once and the request is sent again."""

    grant: Literal["client_credentials", "authorization_code"] = Field(
        description="client_credentials: the hub is the client; authorization_code: a person grants access once"
        " (`interlace oauth login`), then the refresh token keeps it."
    )
    token_url: str = Field(description="The token endpoint (https, or http to localhost).")
    authorize_url: str | None = Field(None, description="The authorization endpoint (authorization_code).")
    client_id: str = Field(description="The client's id at the authorization server.")
    client_secret: SecretStr | None = Field(None, description="Use a secret reference: `${env:CRM_CLIENT_SECRET}`.")
    client_auth: Literal["basic", "body"] = Field(
        "basic", description="How the client authenticates: HTTP Basic (client_secret_basic) or form fields (post)."
    )
    scope: str | None = Field(None, description="Space-separated scopes to ask for.")
    redirect_uri: str = Field(
        "http://127.0.0.1:8765/callback",
        description="Where the authorization server sends the person back (authorization_code); `interlace oauth"
        " login` listens there.",
    )
    token_key: SecretStr | None = Field(
        None,
        description="Secret the tokens are encrypted with in the store (Fernet, key derived by HKDF); use"
        " `${env:...}`. Required for authorization_code; without it client_credentials tokens stay in memory.",
    )
    refresh_before: Seconds = Field(60.0, ge=0, description="Refresh a token this long before it expires (`1m`).")

    @field_validator("token_url", "authorize_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        return value if value is None else _https(value, "the endpoint")

    @field_validator("redirect_uri")
    @classmethod
    def _redirect(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme != "http" or parts.hostname not in LOCAL_HOSTS or not parts.port:
            raise ValueError(
                f"redirect_uri {value!r} must be http://127.0.0.1:PORT/...: `interlace oauth login` listens there"
            )
        return value

    @field_validator("token_key")
    @classmethod
    def _key(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("token_key is shorter than 16 characters: use a long random secret")
        return value

    @model_validator(mode="after")
    def _grant(self) -> OAuth2:
        if self.grant == "authorization_code":
            missing = [n for n in ("authorize_url", "token_key") if getattr(self, n) is None]
            if missing:
                raise ValueError(f"the authorization_code grant needs {' and '.join(missing)}")
        elif self.client_secret is None:
            raise ValueError("the client_credentials grant needs client_secret")
        return self


class Auth(Options):
    bearer: str | None = Field(
        None, description="Token sent as 'Authorization: Bearer ...'; use ${env:NAME}."
    )
    basic: BasicAuth | None = None
    oauth2: OAuth2 | None = None

    @model_validator(mode="after")
    def _one(self) -> Auth:
        if sum(x is not None for x in (self.bearer, self.basic, self.oauth2)) > 1:
            raise ValueError("auth takes one of bearer, basic or oauth2")
        return self


class Items(Options):
    items: str | None = Field(
        None, description="Dotted path of the list of records in each JSON answer (`data`); none: the answer is it."
    )
    max_pages: int = Field(10_000, ge=1, description="Stop after this many pages (a server that never ends).")


class CursorPages(Items):
    """`?cursor=<the previous answer's next cursor>` until the answer has none."""

    style: Literal["cursor"] = Field(description="cursor, page, offset or link.")
    cursor_param: str = Field("cursor", description="Query parameter carrying the cursor.")
    next_cursor: str = Field("next_cursor", description="Dotted path of the next cursor in the answer.")
    size_param: str | None = Field(None, description="Query parameter for the page size, if any.")
    size: int = Field(100, ge=1, description="Records asked for per page.")


class PagePages(Items):
    """`?page=1, 2, ...` until a page is empty or short."""

    style: Literal["page"] = Field(description="cursor, page, offset or link.")
    page_param: str = Field("page", description="Query parameter carrying the page number.")
    first_page: int = Field(1, ge=0, description="The number of the first page.")
    size_param: str | None = Field("per_page", description="Query parameter for the page size (none: not sent).")
    size: int = Field(100, ge=1, description="Records per page: a shorter page is the last.")


class OffsetPages(Items):
    """`?offset=0, size, 2*size, ...` until a page is empty or short."""

    style: Literal["offset"] = Field(description="cursor, page, offset or link.")
    offset_param: str = Field("offset", description="Query parameter carrying the offset.")
    size_param: str = Field("limit", description="Query parameter for the page size.")
    size: int = Field(100, ge=1, description="Records per page: a shorter page is the last.")


class LinkPages(Items):
    """The `Link: <...>; rel="next"` header (RFC 8288) until there is none; the next URL must
    stay on the system's base_url."""

    style: Literal["link"] = Field(description="cursor, page, offset or link.")


Pagination = Annotated[CursorPages | PagePages | OffsetPages | LinkPages, Field(discriminator="style")]


class RateLimit(Options):
    """The most requests the system may be sent (by this process); a 429 answer pauses every
    request to the system for its Retry-After."""

    per_second: float | None = Field(None, gt=0, description="Requests per second.")
    per_minute: float | None = Field(None, gt=0, description="Requests per minute.")
    burst: int = Field(1, ge=1, description="Requests that may go at once after a quiet spell.")
    max_wait: Seconds = Field(
        300.0, gt=0, description="A Retry-After longer than this is not waited for: the read fails and is tried later."
    )

    @model_validator(mode="after")
    def _some(self) -> RateLimit:
        if self.per_second is None and self.per_minute is None:
            raise ValueError("a rate limit needs per_second or per_minute")
        return self


class HttpSettings(Options):
    base_url: str = Field(description="Every request goes to this scheme, host and port (no other host).")
    auth: Auth | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    timeout: float = Field(10.0, gt=0, description="Seconds for connect, read and write each.")
    allow_private: bool = Field(
        False,
        description="Allow connecting to private, loopback and link-local addresses. Without it only public"
        " addresses are, and the address base_url names literally (or loopback for localhost).",
    )
    allow_networks: list[IPvAnyNetwork] = Field(
        default_factory=list, description="Networks allowed even though not public, e.g. 10.20.0.0/16."
    )
    pagination: Pagination | None = Field(None, description="How the system's lists are paged (for reading).")
    rate_limit: RateLimit | None = Field(None, description="The most requests per second or minute the system takes.")


class HttpDelivery(Options):
    method: Literal["POST", "PUT", "PATCH", "DELETE"] = "POST"
    path: str = Field("", description="Appended to base_url; {field} takes a body field, URL-escaped.")
    headers: dict[str, str] = Field(default_factory=dict)


class HttpTrigger(Options):
    """A flow `trigger:` on an http system: GET a list every `poll_interval`, all its pages, and
    submit each record not seen before (or changed since)."""

    path: str = Field(description="Appended to base_url (`/orders`).")
    params: dict[str, str] = Field(default_factory=dict, description="Query parameters sent with each page.")
    poll_interval: Seconds = Field(60.0, gt=0, description="Time between two reads of the list (`30s`, `5m`).")
    pagination: Pagination | None = Field(None, description="Overrides the system's pagination for this list.")
    key_field: str | None = Field(
        None, description="A record field naming the record (`id`): the message key, and what a change is known by."
    )
    event: str = Field("record", description="The event name of each record's message.")
