"""AWS Signature Version 4 for the S3 API: the `Authorization` header of one request.

Every S3-compatible server (AWS, MinIO, Ceph RGW, Garage, moto, ...) checks this one scheme. The
request's path and query are signed exactly as they are sent: `client.py` builds them already
percent-encoded (`quote_path`, `canonical_query`) and hands the same strings to httpx.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


def quote_path(text: str) -> str:
    """A path percent-encoded the way S3 signs it: every byte but the unreserved ones and `/`."""
    return quote(text, safe="/~")


def canonical_query(params: Mapping[str, str]) -> str:
    """`k=v&...` sorted by key, each part percent-encoded (a key without a value keeps its `=`)."""
    pairs = sorted((quote(k, safe="~"), quote(v, safe="~")) for k, v in params.items())
    return "&".join(f"{k}={v}" for k, v in pairs)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signing_key(secret: str, day: str, region: str, service: str) -> bytes:
    key = _hmac(f"AWS4{secret}".encode(), day)
    return _hmac(_hmac(_hmac(key, region), service), "aws4_request")


def sign(
    method: str,
    host: str,
    path: str,
    query: str,
    headers: Mapping[str, str],
    payload_sha256: str,
    *,
    access_key: str,
    secret_key: str,
    region: str,
    session_token: str | None = None,
    service: str = "s3",
    now: float | None = None,
) -> dict[str, str]:
    """The headers to send: `headers` plus host, x-amz-date, x-amz-content-sha256, the session
    token when there is one, and `Authorization`. Every header given is signed. `path` and
    `query` are as sent (already encoded); `now` is epoch seconds (tests fix it)."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() if now is None else now))
    day = stamp[:8]
    out = {k.lower(): str(v).strip() for k, v in headers.items()}
    out["host"] = host
    out["x-amz-date"] = stamp
    out["x-amz-content-sha256"] = payload_sha256
    if session_token:
        out["x-amz-security-token"] = session_token
    names = sorted(out)
    canonical = "\n".join(
        [
            method,
            path or "/",
            query,
            "".join(f"{n}:{' '.join(out[n].split())}\n" for n in names),
            ";".join(names),
            payload_sha256,
        ]
    )
    scope = f"{day}/{region}/{service}/aws4_request"
    to_sign = "\n".join([ALGORITHM, stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signature = hmac.new(signing_key(secret_key, day, region, service), to_sign.encode(), hashlib.sha256).hexdigest()
    out["authorization"] = (
        f"{ALGORITHM} Credential={access_key}/{scope}, SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return out
