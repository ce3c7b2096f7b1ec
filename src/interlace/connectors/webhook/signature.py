"""Webhook signatures: HMAC-SHA256 of the body (or of `<timestamp>.<body>`), checked in constant
time, each accepted signature remembered so that the same request is not taken twice.

- With `timestamp_header` (strongly recommended): the timestamp must be plain seconds since the
  epoch (digits, an optional fraction: `nan`, `inf`, `1e9` and garbage are refused), at most
  `tolerance` seconds old and at most `max_skew` seconds ahead of the hub's clock. A signature is
  remembered until its timestamp leaves the tolerance window, after which the age check refuses it
  anyway: a replay is refused forever.
- Without it, the signature is remembered for `tolerance` seconds after it was first seen: the
  same body and signature sent again within that time is refused; after it, nothing tells a
  replay from a new event (docs/security.md says so; `interlace check` does not warn yet).

Only signatures that verify are remembered (garbage cannot fill the memory), at most
`replay_cache` of them: when more arrive within the window the oldest is forgotten first. A
signature is claimed before the message is stored and given back (`release`) when storing fails
for a reason the sender may retry (back-pressure, an unavailable store), so the retry is taken.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from interlace.connectors.webhook.settings import Signature

Clock = Callable[[], float]
_STAMP = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?")


class ReplayCache:
    """Keys seen until their expiry time, at most `size` of them (the oldest go first)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._expiry: OrderedDict[bytes, float] = OrderedDict()

    def __len__(self) -> int:
        return len(self._expiry)

    def claim(self, key: bytes, until: float, now: float) -> bool:
        """Remember `key` until `until`; False if it is already remembered (a replay)."""
        self._purge(now)
        if key in self._expiry:
            return False
        self._expiry[key] = until
        while len(self._expiry) > self.size:
            self._expiry.popitem(last=False)
        return True

    def release(self, key: bytes) -> None:
        self._expiry.pop(key, None)

    def _purge(self, now: float) -> None:
        expiry = self._expiry
        while expiry:
            key, until = next(iter(expiry.items()))
            if until > now:
                return
            del expiry[key]


class SignatureCheck:
    """The signature rules of one webhook system, with its memory of accepted signatures."""

    def __init__(self, settings: Signature, *, clock: Clock = time.time) -> None:
        self.settings = settings
        self.clock = clock
        self.cache = ReplayCache(settings.replay_cache)
        self._secret = settings.secret.encode()

    def problem(self, headers: Mapping[str, str], raw: bytes) -> str | None:
        """Why the request is refused (answer 401), or None: then its signature is claimed."""
        sig = self.settings
        given = headers.get(sig.header)
        if not given:
            return f"missing signature header {sig.header}"
        now = self.clock()
        signed = raw
        until = now + sig.tolerance
        if sig.timestamp_header is not None:
            text = headers.get(sig.timestamp_header, "").strip()
            if not _STAMP.fullmatch(text):
                return f"missing or bad timestamp header {sig.timestamp_header} (seconds since the epoch)"
            stamp = float(text)
            if now - stamp > sig.tolerance:
                return "signature timestamp is outside the tolerance"
            if stamp - now > sig.max_skew:
                return "signature timestamp is in the future"
            signed = text.encode() + b"." + raw
            until = stamp + sig.tolerance
        expected = hmac.new(self._secret, signed, hashlib.sha256).hexdigest()
        digest = given.strip().removeprefix("sha256=").lower()
        if not hmac.compare_digest(expected, digest):
            return "signature does not match"
        if not self.cache.claim(bytes.fromhex(expected), until, now):
            return "signature already used (a replay)"
        return None

    def release(self, headers: Mapping[str, str], raw: bytes) -> None:
        """Forget the signature of a request that was accepted by `problem` but not stored."""
        sig = self.settings
        signed = raw
        if sig.timestamp_header is not None:
            signed = headers.get(sig.timestamp_header, "").strip().encode() + b"." + raw
        self.cache.release(hmac.new(self._secret, signed, hashlib.sha256).digest())
