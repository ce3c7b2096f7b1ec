"""Reading a paged list from an API, in the style the config declares: a cursor from the
answer, page numbers, offsets, or the `Link: <...>; rel="next"` header. A 429 answer is waited
out (its Retry-After, through the system's limiter) and the same page asked again."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx

from interlace.connectors.http.guard import check_target
from interlace.connectors.http.ratelimit import retry_after
from interlace.connectors.http.settings import CursorPages, LinkPages, OffsetPages, PagePages
from interlace.errors import ConnectorError
from interlace.types import JSON

Pages = CursorPages | PagePages | OffsetPages | LinkPages
RETRIES_429 = 5
"""How many 429 answers in a row one page may get before the read fails (and is tried later)."""


def dig(data: JSON, path: str) -> JSON:
    """The value at a dotted path (`meta.next`), or None."""
    current: Any = data
    for part in path.split("."):
        if not isinstance(current, dict):
            return None
        current = current.get(part)
    return current


async def fetch(
    client: httpx.AsyncClient, url: str | httpx.URL, params: dict[str, str] | None, *, max_wait: float = 300.0
) -> httpx.Response:
    """GET `url` (on the client's base_url only); a 429 is waited out, up to RETRIES_429 times."""
    for _ in range(RETRIES_429 + 1):
        request = client.build_request("GET", url, params=params)
        check_target(client.base_url, request.url, "the request")
        try:
            response = await client.send(request)
        except httpx.HTTPError as exc:
            raise ConnectorError(f"GET {request.url.path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code != 429:
            if not response.is_success:
                raise ConnectorError(f"GET {request.url.path} answered {response.status_code}: {response.text[:200]}")
            return response
        wait = retry_after(response)
        if wait is not None and wait > max_wait:
            raise ConnectorError(f"GET {request.url.path}: 429, asked to wait {wait:.0f}s (more than max_wait)")
    raise ConnectorError(f"GET {url}: still 429 after {RETRIES_429} waits")


async def read(
    client: httpx.AsyncClient, path: str, params: dict[str, str], pages: Pages | None, *, max_wait: float = 300.0
) -> AsyncIterator[list[JSON]]:
    """Each page's records, in order."""
    url: str | httpx.URL = path
    query: dict[str, str] | None = dict(params)
    cursor: str | None = None
    number = pages.first_page if isinstance(pages, PagePages) else 0
    offset = 0
    for _ in range(pages.max_pages if pages is not None else 1):
        sent = dict(query) if query is not None else None
        if sent is not None:
            if isinstance(pages, CursorPages):
                if cursor is not None:
                    sent[pages.cursor_param] = cursor
                if pages.size_param:
                    sent[pages.size_param] = str(pages.size)
            elif isinstance(pages, PagePages):
                sent[pages.page_param] = str(number)
                if pages.size_param:
                    sent[pages.size_param] = str(pages.size)
            elif isinstance(pages, OffsetPages):
                sent[pages.offset_param] = str(offset)
                sent[pages.size_param] = str(pages.size)
        response = await fetch(client, url, sent, max_wait=max_wait)
        try:
            data: JSON = response.json()
        except ValueError:
            raise ConnectorError(f"GET {response.url.path}: the answer is not JSON") from None
        items = dig(data, pages.items) if pages is not None and pages.items else data
        if not isinstance(items, list):
            where = f"at {pages.items!r}" if pages is not None and pages.items else "(set pagination.items)"
            raise ConnectorError(f"GET {response.url.path}: no list of records {where} in the answer")
        yield items
        if pages is None or not items:
            return
        if isinstance(pages, CursorPages):
            following = dig(data, pages.next_cursor)
            if following in (None, "") or str(following) == cursor:
                return
            cursor = str(following)
        elif isinstance(pages, PagePages | OffsetPages):
            short = len(items) < pages.size if (not isinstance(pages, PagePages) or pages.size_param) else False
            if short:
                return
            number, offset = number + 1, offset + len(items)
        else:
            following = response.links.get("next", {}).get("url")
            if not following:
                return
            url, query = response.url.join(following), None
            check_target(client.base_url, url, "a Link: rel=next")
    raise ConnectorError(f"GET {path}: more than {pages.max_pages if pages else 1} pages (max_pages)")
