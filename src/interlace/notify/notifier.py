"""The notifier: turns owners' pending tallies into digests once their window has passed, and
sends the store's outbox of notices (see `interlace.notify` for how a notice is kept)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from interlace.backends.base import Backend, Notice
from interlace.config.models import HubConfig
from interlace.notify import digest
from interlace.observability import metrics
from interlace.options import parse_duration
from interlace.types import JSONObject

log = logging.getLogger("interlace.notify")

HOLD = 120.0
"""Seconds a notice is held by the notifier sending it: another notifier on the same store (or
this one after a restart) sends it only once the hold has passed without it being marked sent."""

RETRY = (30.0, 3600.0)
"""A failed notice is tried again after the first wait, doubled each time, up to the longest."""

Sender = Callable[[Notice], Awaitable[None]]


def channels_of(config: HubConfig) -> dict[str, list[tuple[str, str]]]:
    """Each owner's ways of being told: ("email", address) when `hub.notify.smtp` is set, and
    ("webhook", url)."""
    smtp = config.hub.notify.smtp
    found: dict[str, list[tuple[str, str]]] = {}
    for name, owner in config.owners.items():
        channels = []
        if owner.email and smtp is not None:
            channels.append(("email", owner.email))
        if owner.webhook:
            channels.append(("webhook", owner.webhook))
        found[name] = channels
    return found


class Notifier:
    def __init__(
        self,
        backend: Backend,
        config: HubConfig,
        *,
        clock: Callable[[], float] = time.time,
        every: float = 1.0,
    ) -> None:
        self.backend = backend
        self.config = config
        self.settings = config.hub.notify
        self.window = parse_duration(self.settings.window)
        self.channels = channels_of(config)
        self.clock = clock
        self.every = every
        self.context: JSONObject = {"hub": config.hub.name, "link": self.settings.link}
        self.senders: dict[str, Sender] = {"email": self._email, "webhook": self._webhook}

    @property
    def enabled(self) -> bool:
        """Some owner can be told."""
        return any(self.channels.values())

    async def tick(self) -> int:
        """Compose the digests that are due and send the notices that are due; the number sent."""
        now = self.clock()
        pending, unsent = await self.backend.notice_times()
        due = unsent is not None and unsent <= now
        if pending is not None and pending + self.window <= now:
            composed = await self.backend.compose_notices(
                now - self.window, self.channels, samples=self.settings.samples, context=self.context, now=now
            )
            if composed:
                log.info("composed %d notice(s) of parked exceptions", len(composed))
                due = True
        if not due:
            return 0
        sent = 0
        for notice in await self.backend.claim_notices(now, HOLD):
            sent += await self._send(notice)
        return sent

    async def _send(self, notice: Notice) -> int:
        try:
            await self.senders[notice.channel](notice)
        except Exception as exc:
            wait = min(RETRY[1], RETRY[0] * 2**notice.attempts)
            error = f"{type(exc).__name__}: {exc}"
            log.warning("notice %d to %s (%s) failed, again in %.0fs: %s", notice.id, notice.owner, notice.channel,
                        wait, error)  # fmt: skip
            metrics.NOTICES.labels(notice.channel, "failed").inc()
            await self.backend.notice_failed(notice.id, error, self.clock() + wait)
            return 0
        await self.backend.notice_sent(notice.id, self.clock())
        metrics.NOTICES.labels(notice.channel, "sent").inc()
        log.info("told %s of %s exception(s) by %s", notice.owner, notice.digest.get("count"), notice.channel)
        return 1

    async def _email(self, notice: Notice) -> None:
        from interlace.notify.email import send_email  # here: a hub that never mails never loads smtplib

        smtp = self.settings.smtp
        if smtp is None:
            raise RuntimeError("hub.notify.smtp is not set")
        await send_email(
            smtp, notice.target, digest.subject(notice.digest), digest.text(notice.digest), digest.key(notice)
        )

    async def _webhook(self, notice: Notice) -> None:
        from interlace.notify.webhook import send_webhook  # here: httpx only when a webhook is told

        await send_webhook(notice.target, digest.payload(notice), digest.key(notice))

    async def run(self) -> None:
        """Tick until cancelled; a failing store is logged and tried again next time."""
        while True:
            try:
                await self.tick()
            except Exception:
                log.exception("notifier tick failed")
            await asyncio.sleep(self.every)
