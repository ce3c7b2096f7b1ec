from __future__ import annotations

from typing import Literal

from pydantic import Field, IPvAnyNetwork

from interlace.connectors.base import Options


class BasicAuth(Options):
    username: str
    password: str


class Auth(Options):
    bearer: str | None = Field(
        None, description="Token sent as 'Authorization: Bearer ...'; use ${env:NAME}."
    )
    basic: BasicAuth | None = None


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


class HttpDelivery(Options):
    method: Literal["POST", "PUT", "PATCH", "DELETE"] = "POST"
    path: str = Field("", description="Appended to base_url; {field} takes a body field, URL-escaped.")
    headers: dict[str, str] = Field(default_factory=dict)
