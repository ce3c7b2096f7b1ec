"""A small S3 API client over httpx: the dozen calls the connector makes, signed with SigV4.

Why not boto3 or aiobotocore: httpx is already the hub's HTTP client (async, pooled, HTTP/1.1
keep-alive), the calls the connector needs are few and stable (ListObjectsV2, GET, PUT, DELETE,
HEAD and the four multipart calls), and SigV4 is one page (`sigv4.py`); botocore would add some
20 MB and its own thread pool (boto3) or aiohttp and a tightly pinned botocore (aiobotocore) to
every hub, for a bucket connector. Objects are streamed both ways: a GET goes to a spooled
temporary file in blocks, a large PUT goes in parts.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import IO, Any
from urllib.parse import unquote_plus
from xml.etree.ElementTree import Element

import httpx
from defusedxml.ElementTree import fromstring

from interlace.connectors.s3.settings import S3Settings
from interlace.connectors.s3.sigv4 import EMPTY_SHA256, canonical_query, quote_path, sign
from interlace.errors import ConnectorError
from interlace.observability.redaction import remember

READ_BLOCK = 1024 * 1024


class S3Error(ConnectorError):
    """The server refused a request: its status, its error code (`NoSuchBucket`) and message."""

    def __init__(self, what: str, status: int, code: str, message: str) -> None:
        self.status = status
        self.code = code
        super().__init__(f"{what}: {status} {code}: {message}".rstrip(": "))

    @property
    def retryable(self) -> bool:
        return self.status >= 500 or self.status in (408, 429) or self.code in ("SlowDown", "RequestTimeout")


@dataclass(frozen=True)
class S3Object:
    key: str
    etag: str
    size: int
    last_modified: float
    """Epoch seconds."""


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(element: Element, name: str) -> str | None:
    for child in element:
        if _local(child.tag) == name:
            return child.text or ""
    return None


def _parse_time(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


class S3Client:
    """One bucket of one server. `clock` gives the signing time (tests may fix it)."""

    def __init__(self, settings: S3Settings, *, clock: Callable[[], float] = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.bucket = settings.bucket
        region = settings.region
        endpoint = settings.endpoint_url or f"https://s3.{region}.amazonaws.com"
        addressing = settings.addressing
        if addressing == "auto":
            addressing = "path" if settings.endpoint_url else "virtual"
        url = httpx.URL(endpoint)
        if addressing == "virtual":
            self.base = f"{url.scheme}://{self.bucket}.{url.netloc.decode()}"
            self.root = "/"
        else:
            self.base = f"{url.scheme}://{url.netloc.decode()}"
            self.root = f"/{self.bucket}/"
        self.host = httpx.URL(self.base).netloc.decode()
        self.secret = settings.secret_access_key.get_secret_value()
        self.token = settings.session_token.get_secret_value() if settings.session_token else None
        remember(self.secret)
        if self.token:
            remember(self.token)
        self._http: httpx.AsyncClient | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.settings.timeout, trust_env=False)
        return self._http

    def _request(
        self,
        method: str,
        key: str | None,
        params: Mapping[str, str] | None = None,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        path = quote_path(self.root + (key or "")) if key is not None else self.root.rstrip("/") or "/"
        query = canonical_query(params or {})
        payload = hashlib.sha256(body).hexdigest() if body else EMPTY_SHA256
        signed = sign(
            method, self.host, path, query, dict(headers or {}), payload,
            access_key=self.settings.access_key_id, secret_key=self.secret, region=self.settings.region,
            session_token=self.token, now=self.clock(),
        )  # fmt: skip
        url = f"{self.base}{path}" + (f"?{query}" if query else "")
        return self.http.build_request(method, url, content=body or None, headers=signed)

    async def _send(self, request: httpx.Request, what: str, *, stream: bool = False) -> httpx.Response:
        try:
            response = await self.http.send(request, stream=stream)
        except httpx.HTTPError as exc:
            raise ConnectorError(f"{what}: {type(exc).__name__}: {exc}") from exc
        if response.is_success:
            return response
        data = await response.aread()
        code, message = str(response.status_code), response.reason_phrase
        if data:
            try:
                root = fromstring(data)
                code = _child(root, "Code") or code
                message = _child(root, "Message") or message
            except Exception:  # not XML: the status says enough
                message = data[:200].decode(errors="replace")
        raise S3Error(what, response.status_code, code, message)

    async def call(
        self,
        method: str,
        key: str | None,
        params: Mapping[str, str] | None = None,
        body: bytes = b"",
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        what = f"{method} s3://{self.bucket}/{key or ''}"
        return await self._send(self._request(method, key, params, body, headers), what)

    async def head_bucket(self) -> None:
        await self._send(self._request("HEAD", None), f"bucket {self.bucket}")

    async def list(self, prefix: str, *, page: int = 1000) -> AsyncIterator[S3Object]:
        """Every object whose key starts with `prefix`, in key order (ListObjectsV2, page by page)."""
        token: str | None = None
        while True:
            params = {"list-type": "2", "prefix": prefix, "max-keys": str(page)}
            if token:
                params["continuation-token"] = token
            response = await self.call("GET", None, params)
            root = fromstring(response.content)
            for item in root:
                if _local(item.tag) != "Contents":
                    continue
                yield S3Object(
                    key=_child(item, "Key") or "",
                    etag=(_child(item, "ETag") or "").strip('"'),
                    size=int(_child(item, "Size") or 0),
                    last_modified=_parse_time(_child(item, "LastModified") or "1970-01-01T00:00:00Z"),
                )
            token = _child(root, "NextContinuationToken")
            if (_child(root, "IsTruncated") or "false").lower() != "true" or not token:
                return

    async def head(self, key: str) -> S3Object | None:
        try:
            response = await self.call("HEAD", key)
        except S3Error as exc:
            if exc.status == 404:
                return None
            raise
        stamp = response.headers.get("last-modified")
        from email.utils import parsedate_to_datetime

        return S3Object(
            key=key,
            etag=response.headers.get("etag", "").strip('"'),
            size=int(response.headers.get("content-length", 0)),
            last_modified=parsedate_to_datetime(stamp).timestamp() if stamp else 0.0,
        )

    async def download(self, key: str, into: IO[bytes], *, etag: str | None = None) -> None:
        """Stream the object into `into` (written from a worker thread, block by block). With
        `etag`, a changed object is refused (412) rather than read half old, half new."""
        headers = {"if-match": f'"{etag}"'} if etag else None
        what = f"GET s3://{self.bucket}/{key}"
        response = await self._send(self._request("GET", key, headers=headers), what, stream=True)
        try:
            async for block in response.aiter_bytes(READ_BLOCK):
                await asyncio.to_thread(into.write, block)
        except httpx.HTTPError as exc:
            raise ConnectorError(f"{what}: {type(exc).__name__}: {exc}") from exc
        finally:
            await response.aclose()

    async def put(self, key: str, data: bytes, content_type: str) -> str:
        response = await self.call("PUT", key, body=data, headers={"content-type": content_type})
        return str(response.headers.get("etag", "")).strip('"')

    async def put_multipart(self, key: str, data: bytes, content_type: str, part_size: int) -> str:
        """Upload in parts of `part_size` (the last may be smaller); an upload that fails is aborted,
        so no parts are left behind to be billed."""
        started = await self.call("POST", key, {"uploads": ""}, headers={"content-type": content_type})
        upload = _child(fromstring(started.content), "UploadId")
        if not upload:
            raise ConnectorError(f"POST s3://{self.bucket}/{key}?uploads: no UploadId in the answer")
        try:
            parts: list[tuple[int, str]] = []
            for number, start in enumerate(range(0, len(data), part_size), start=1):
                chunk = data[start : start + part_size]
                response = await self.call("PUT", key, {"partNumber": str(number), "uploadId": upload}, chunk)
                parts.append((number, response.headers.get("etag", "")))
            listing = "".join(f"<Part><PartNumber>{n}</PartNumber><ETag>{e}</ETag></Part>" for n, e in parts)
            body = f"<CompleteMultipartUpload>{listing}</CompleteMultipartUpload>".encode()
            done = await self.call("POST", key, {"uploadId": upload}, body, {"content-type": "application/xml"})
            root = fromstring(done.content)
            if _local(root.tag) == "Error":  # S3 may answer 200 and fail in the body
                code, message = _child(root, "Code") or "", _child(root, "Message") or ""
                raise S3Error(f"complete s3://{self.bucket}/{key}", 200, code, message)
            return (_child(root, "ETag") or "").strip('"')
        except BaseException:
            try:
                await self.call("DELETE", key, {"uploadId": upload})
            except ConnectorError:
                pass  # the abort is a courtesy; a lifecycle rule removes stale uploads
            raise

    async def delete(self, key: str) -> None:
        await self.call("DELETE", key)

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


class SqsQueue:
    """The SQS queue a bucket sends its event notifications to (AWS's way, and moto's): long-polled
    with ReceiveMessage, each message deleted once what it announced was read. SigV4-signed JSON
    protocol calls, like the bucket's."""

    def __init__(self, settings: S3Settings, url: str, http: Callable[[], httpx.AsyncClient], *,
                 clock: Callable[[], float] = time.time) -> None:  # fmt: skip
        self.settings = settings
        self.url = url
        self.origin = httpx.URL(url)
        self.http = http
        self.clock = clock
        self.secret = settings.secret_access_key.get_secret_value()
        self.token = settings.session_token.get_secret_value() if settings.session_token else None

    async def call(self, action: str, body: dict[str, object], *, timeout: float | None = None) -> dict[str, Any]:
        data = json.dumps({"QueueUrl": self.url, **body}).encode()
        headers = {"content-type": "application/x-amz-json-1.0", "x-amz-target": f"AmazonSQS.{action}"}
        signed = sign(
            "POST", self.origin.netloc.decode(), "/", "", headers, hashlib.sha256(data).hexdigest(),
            access_key=self.settings.access_key_id, secret_key=self.secret, region=self.settings.region,
            session_token=self.token, service="sqs", now=self.clock(),
        )  # fmt: skip
        where = f"{self.origin.scheme}://{self.origin.netloc.decode()}/"
        try:
            response = await self.http().post(where, content=data, headers=signed, timeout=timeout)
        except httpx.HTTPError as exc:
            raise ConnectorError(f"SQS {action} {self.url}: {type(exc).__name__}: {exc}") from exc
        try:
            answer = response.json() if response.content else {}
        except ValueError:
            answer = {}
        if not response.is_success:
            kind = str(answer.get("__type", response.status_code)).rsplit("#", 1)[-1]
            raise S3Error(f"SQS {action} {self.url}", response.status_code, kind, str(answer.get("message", "")))
        return answer if isinstance(answer, dict) else {}

    async def receive(self, wait: int) -> list[tuple[str, list[str]]]:
        """Messages that arrive within `wait` seconds: (receipt handle, the object keys each names)."""
        answer = await self.call(
            "ReceiveMessage", {"MaxNumberOfMessages": 10, "WaitTimeSeconds": wait}, timeout=wait + self.settings.timeout
        )
        out = []
        for message in answer.get("Messages") or []:
            keys = []
            try:
                event = json.loads(message.get("Body") or "{}")
                for record in event.get("Records") or []:
                    if str(record.get("eventName", "")).startswith("ObjectCreated"):
                        keys.append(unquote_plus(record["s3"]["object"]["key"]))
            except (ValueError, KeyError, TypeError, AttributeError):
                pass  # a test event or a foreign message: it still wakes the listing
            out.append((str(message["ReceiptHandle"]), keys))
        return out

    async def delete(self, handles: list[str]) -> None:
        for start in range(0, len(handles), 10):
            entries = [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(handles[start : start + 10])]
            await self.call("DeleteMessageBatch", {"Entries": entries})
