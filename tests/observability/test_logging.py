"""observability/logging.py: text and JSON lines, secrets redacted, one debug line per request,
Python warnings kept off the console, and the event lines the worker writes."""

from __future__ import annotations

import io
import json
import logging
import warnings
from collections.abc import Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from interlace.observability import logging as logs


@pytest.fixture
def stream() -> Iterator[io.StringIO]:
    buffer = io.StringIO()
    yield buffer
    logs.setup("warning", "text")  # back to a quiet handler on stderr for the next tests


def hide(value: object) -> object:
    return json.loads(json.dumps(value).replace("s3cr3t", "***"))


def test_json_lines_carry_the_event_fields_redacted(stream: io.StringIO) -> None:
    logs.setup("info", "json", redact=hide, stream=stream)
    log = logging.getLogger("interlace.worker")
    logs.event(log, logging.INFO, "parked", flow="orders", message="m1", reason="crm said s3cr3t is wrong")
    log.debug("not at info")
    log.warning("token %s refused", "s3cr3t")
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["level"] == "info" and first["logger"] == "interlace.worker" and first["msg"] == "parked"
    assert (first["flow"], first["message"], first["reason"]) == ("orders", "m1", "crm said *** is wrong")
    assert first["ts"].endswith("+00:00")
    assert second["msg"] == "token *** refused"


def test_text_lines_put_the_fields_after_the_message(stream: io.StringIO) -> None:
    logs.setup("info", "text", redact=hide, stream=stream)
    logs.event(logging.getLogger("interlace.worker"), logging.INFO, "retry", flow="orders", attempt=2, error="a b")
    try:
        raise RuntimeError("s3cr3t in a traceback")
    except RuntimeError:
        logging.getLogger("interlace.hub").exception("failed")
    text = stream.getvalue()
    assert ' INFO interlace.worker: retry flow=orders attempt=2 error="a b"\n' in text
    assert "RuntimeError: *** in a traceback" in text and "s3cr3t" not in text


def test_a_python_warning_is_a_debug_line_not_console_noise(stream: io.StringIO) -> None:
    logs.setup("info", "text", stream=stream)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("(1050, \"Table '_interlace_delivered' already exists\")", UserWarning, stacklevel=1)
    assert stream.getvalue() == ""
    logs.setup("debug", "text", stream=stream)
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("a driver note", UserWarning, stacklevel=1)
    assert "py.warnings" in stream.getvalue() and "a driver note" in stream.getvalue()


async def test_one_debug_line_per_request(stream: io.StringIO) -> None:
    async def hello(request: object) -> PlainTextResponse:
        return PlainTextResponse("hi", status_code=201)

    app = logs.RequestLog(Starlette(routes=[Route("/hooks/shop", hello, methods=["POST"])]))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as client:
        logs.setup("info", "json", stream=stream)
        assert (await client.post("/hooks/shop")).status_code == 201
        assert stream.getvalue() == ""  # not at info
        logs.setup("debug", "json", stream=stream)
        await client.post("/hooks/shop")
        await client.get("/nowhere")
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if '"interlace.http"' in line]
    assert [(r["msg"], r["method"], r["path"], r["status"]) for r in lines] == [
        ("request", "POST", "/hooks/shop", 201),
        ("request", "GET", "/nowhere", 404),
    ]
    assert all(isinstance(r["ms"], float) for r in lines)


def test_an_unknown_format_is_refused() -> None:
    with pytest.raises(ValueError, match="not one of text, json"):
        logs.setup("info", "xml")
