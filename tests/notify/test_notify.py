"""Owners are told: a burst of parked exceptions becomes one digest per owner and channel (a real
SMTP server, aiosmtpd, and a real webhook receiver), after the digest window of an injected
clock; the outbox in the store survives a restart without losing or repeating a notice."""

from __future__ import annotations

import asyncio
import email
import email.policy
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from interlace.config.loader import load_config
from interlace.connectors.base import Incoming
from interlace.hub import Hub
from interlace.notify import Notifier

from support import serving

CONFIG = """
hub:
  name: told
  lease: 5s
  workers: 1000
  notify:
    window: 5m
    samples: 20
    link: https://hub.told.test/exceptions
    smtp: {{host: 127.0.0.1, port: {smtp}, from: hub@told.test, timeout: 10s}}
owners:
  ops: {{email: ops@told.test, webhook: "http://127.0.0.1:{hook}/digest"}}
  quiet: {{description: nobody to tell}}
systems:
  shop: {{connector: webhook}}
  db: {{connector: sqlite, path: ./out.db, setup: ./schema.sql}}
entities:
  order:
    key: id
    schema: {{type: object, required: [id]}}
flows:
  orders:
    trigger: {{system: shop, event: order}}
    steps: [{{validate: order}}]
    deliver: {{system: db, table: orders, mode: insert}}
    on_error: {{owner: ops}}
  notes:
    trigger: {{system: shop, event: note}}
    steps: [{{validate: order}}]
    deliver: {{system: db, table: orders, mode: insert}}
    on_error: {{owner: quiet}}
"""


class Mailbox:
    """aiosmtpd's handler: keeps every message the server accepted."""

    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[Envelope] = []
        self.refuse = False

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.refuse:
            return "451 try again later"
        self.envelopes.append(envelope)
        raw = envelope.original_content or b""
        self.messages.append(email.message_from_bytes(raw, policy=email.policy.default))  # type: ignore[arg-type]
        return "250 OK"


@dataclass
class Hooks:
    """A webhook receiver run in a thread: every POST it got."""

    received: list[tuple[dict[str, str], Any]] = field(default_factory=list)
    status: int = 200
    lock: threading.Lock = field(default_factory=threading.Lock)

    def app(self) -> Starlette:
        async def digest(request: Request) -> JSONResponse:
            body = await request.json()
            with self.lock:
                self.received.append((dict(request.headers), body))
            return JSONResponse({"ok": True}, status_code=self.status)

        return Starlette(routes=[Route("/digest", digest, methods=["POST"])])


@pytest.fixture
async def mailbox() -> AsyncIterator[tuple[Mailbox, int]]:
    box = Mailbox()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(box, hostname="mail.told.test"), "127.0.0.1", 0)
    try:
        yield box, int(server.sockets[0].getsockname()[1])
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
def hooks() -> Iterator[tuple[Hooks, int]]:
    h = Hooks()
    with serving(h.app()) as port:
        yield h, port


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mailbox: tuple[Mailbox, int],
           hooks: tuple[Hooks, int]) -> Path:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    (tmp_path / "schema.sql").write_text("CREATE TABLE IF NOT EXISTS orders (id TEXT);")
    path = tmp_path / "hub.yaml"
    path.write_text(CONFIG.format(smtp=mailbox[1], hook=hooks[1]))
    return path


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


async def _hub(config: Path) -> Hub:
    hub = Hub(load_config(config))
    await hub.start(sources=False)  # the notifier is driven by the test, on its clock
    return hub


async def _park(hub: Hub, n: int, flow: str = "orders") -> None:
    await hub.ingress.submit(flow, [Incoming({"no_id": i}) for i in range(n)])  # each fails validation
    await hub.worker.drain(timeout=120)


async def test_a_burst_of_1000_parked_messages_sends_one_digest_per_channel(
    config: Path, mailbox: tuple[Mailbox, int], hooks: tuple[Hooks, int]
) -> None:
    box, hook = mailbox[0], hooks[0]
    hub = await _hub(config)
    clock = Clock()
    notifier = Notifier(hub.backend, hub.loaded.config, clock=clock)
    try:
        await _park(hub, 1000)
        assert len(await hub.backend.exceptions(owner="ops")) == 1000
        assert await notifier.tick() == 0, "the window has not passed yet"
        clock.now += 301
        assert await notifier.tick() == 2
        assert await notifier.tick() == 0
        clock.now += 3600
        assert await notifier.tick() == 0, "nothing new was parked: nothing more to say"
    finally:
        await hub.stop()

    [mail] = box.messages
    assert box.envelopes[0].rcpt_tos == ["ops@told.test"]
    assert mail["Subject"] == "[interlace told] 1,000 exceptions parked for ops"
    assert mail["From"] == "hub@told.test" and mail["Message-ID"].startswith("<interlace.told.ops.")
    text = mail.get_content()
    assert "1,000 message(s) were parked for ops" in text and "orders: 1,000" in text
    assert "The first 20 (of 1,000):" in text and text.count(" orders: validate:order:") == 20
    assert "https://hub.told.test/exceptions" in text

    [(headers, body)] = hook.received
    assert body["count"] == 1000 and body["owner"] == "ops" and body["hub"] == "told"
    assert body["flows"] == {"orders": 1000} and len(body["samples"]) == 20
    assert headers["idempotency-key"] == body["notice"]
    assert [n.channel for n in await notices_in(config, sent=True)] == ["email", "webhook"]


async def notices_in(config: Path, *, sent: bool) -> list[Any]:
    """The store's notices, read after the hub stopped."""
    hub = Hub(load_config(config))
    await hub.backend.open()
    try:
        return await hub.backend.notices(sent=sent)
    finally:
        await hub.backend.close()


async def test_a_restart_keeps_a_pending_tally_and_sends_it_once(
    config: Path, mailbox: tuple[Mailbox, int], hooks: tuple[Hooks, int]
) -> None:
    box, hook = mailbox[0], hooks[0]
    clock = Clock()
    hub = await _hub(config)
    await _park(hub, 5)
    assert await Notifier(hub.backend, hub.loaded.config, clock=clock).tick() == 0
    await hub.stop()  # before the window passed: the tally is in the store

    hub = await _hub(config)
    try:
        clock.now += 301
        assert await Notifier(hub.backend, hub.loaded.config, clock=clock).tick() == 2
        assert await Notifier(hub.backend, hub.loaded.config, clock=clock).tick() == 0
    finally:
        await hub.stop()
    assert [m["Subject"] for m in box.messages] == ["[interlace told] 5 exceptions parked for ops"]
    assert len(hook.received) == 1


async def test_a_notice_composed_but_not_sent_before_a_crash_is_sent_once_after(
    config: Path, mailbox: tuple[Mailbox, int], hooks: tuple[Hooks, int]
) -> None:
    box, hook = mailbox[0], hooks[0]
    clock = Clock()
    hub = await _hub(config)
    await _park(hub, 3)
    notifier = Notifier(hub.backend, hub.loaded.config, clock=clock)
    clock.now += 301
    composed = await hub.backend.compose_notices(clock.now - 300, notifier.channels, context=notifier.context,
                                                 now=clock.now)  # fmt: skip
    assert len(composed) == 2
    claimed = await hub.backend.claim_notices(clock.now, 120)  # taken by a notifier that then died
    assert len(claimed) == 2
    await hub.stop()

    hub = await _hub(config)
    try:
        notifier = Notifier(hub.backend, hub.loaded.config, clock=clock)
        assert await notifier.tick() == 0, "still held by the notifier that died"
        clock.now += 121
        assert await notifier.tick() == 2
        assert await notifier.tick() == 0
    finally:
        await hub.stop()
    assert len(box.messages) == 1 and len(hook.received) == 1
    assert hook.received[0][1]["count"] == 3


async def test_a_refused_notice_is_tried_again_later_and_sent_once(
    config: Path, mailbox: tuple[Mailbox, int], hooks: tuple[Hooks, int]
) -> None:
    box, hook = mailbox[0], hooks[0]
    box.refuse, hook.status = True, 503
    clock = Clock()
    hub = await _hub(config)
    try:
        notifier = Notifier(hub.backend, hub.loaded.config, clock=clock)
        await _park(hub, 2)
        clock.now += 301
        assert await notifier.tick() == 0
        unsent = await hub.backend.notices(sent=False)
        assert [(n.attempts, n.error is not None) for n in unsent] == [(1, True), (1, True)]
        assert "451" in (unsent[0].error or "") and "503" in (unsent[1].error or "")
        box.refuse, hook.status = False, 200
        assert await notifier.tick() == 0, "not before its retry is due"
        clock.now += 31
        assert await notifier.tick() == 2
        assert await hub.backend.notices(sent=False) == []
    finally:
        await hub.stop()
    assert len(box.messages) == 1 and len(hook.received) == 2  # the 503 answer and the accepted one


async def test_owners_with_no_way_to_be_told_and_a_hub_without_channels(
    config: Path, tmp_path: Path, mailbox: tuple[Mailbox, int]
) -> None:
    clock = Clock()
    hub = await _hub(config)
    try:
        notifier = Notifier(hub.backend, hub.loaded.config, clock=clock)
        await _park(hub, 2, flow="notes")  # owner `quiet` has neither email nor webhook
        clock.now += 301
        assert await notifier.tick() == 0
        assert await hub.backend.notices() == []
        assert await hub.backend.notice_times() == (None, None), "the tally of nobody is dropped"
    finally:
        await hub.stop()
    assert mailbox[0].messages == []
    plain = load_config(config).config.model_copy(deep=True)
    plain.hub.notify.smtp = None
    plain.owners["ops"].webhook = None
    assert not Notifier(hub.backend, plain).enabled
