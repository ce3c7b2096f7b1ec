"""Webhook signatures (issue 13, defect 7), with an injected clock: a replay is refused with or
without a timestamp header, a timestamp from the future or one that is not a plain number is
refused, and the memory of seen signatures stays bounded. Then once through the real hub."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from pathlib import Path

import httpx
import pytest

from interlace.config.loader import load_config
from interlace.connectors.webhook.settings import Signature
from interlace.connectors.webhook.signature import SignatureCheck
from interlace.hub import Hub

SECRET = "shh"
BODY = b'{"id": "A1"}'


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def sign(body: bytes, stamp: str | None = None, secret: str = SECRET) -> dict[str, str]:
    text = body if stamp is None else stamp.encode() + b"." + body
    headers = {"X-Signature": "sha256=" + hmac.new(secret.encode(), text, hashlib.sha256).hexdigest()}
    if stamp is not None:
        headers["X-Timestamp"] = stamp
    return headers


def checker(clock: Clock, *, timestamp: bool = True, **settings: object) -> SignatureCheck:
    sig = Signature.model_validate(
        {"secret": SECRET, "timestamp_header": "X-Timestamp" if timestamp else None, "tolerance": 300, **settings}
    )
    return SignatureCheck(sig, clock=clock)


def test_the_same_signature_and_timestamp_are_taken_once() -> None:
    clock = Clock()
    check = checker(clock)
    headers = sign(BODY, "1800000000")
    assert check.problem(headers, BODY) is None
    clock.now += 10
    assert check.problem(headers, BODY) == "signature already used (a replay)"
    assert check.problem(sign(BODY, "1800000005"), BODY) is None, "a new timestamp is a new request"
    clock.now += 300
    assert check.problem(headers, BODY) == "signature timestamp is outside the tolerance"
    assert check.problem(sign(BODY, "1800000310"), BODY) is None
    assert len(check.cache) == 1, "signatures past the window are forgotten"


def test_without_a_timestamp_a_replay_is_refused_within_the_tolerance() -> None:
    clock = Clock()
    check = checker(clock, timestamp=False)
    headers = sign(BODY)
    assert check.problem(headers, BODY) is None
    clock.now += 299
    assert check.problem(headers, BODY) == "signature already used (a replay)"
    clock.now += 2  # past the window nothing tells a replay from a new event: use a timestamp
    assert check.problem(headers, BODY) is None


def test_a_timestamp_from_the_future_is_refused_past_the_skew() -> None:
    clock = Clock()
    check = checker(clock, max_skew=30)
    assert check.problem(sign(BODY, "1800000290"), BODY) == "signature timestamp is in the future"
    assert check.problem(sign(BODY, "1800000031"), BODY) == "signature timestamp is in the future"
    assert check.problem(sign(BODY, "1800000030"), BODY) is None
    assert check.problem(sign(BODY, "1799999700.25"), BODY) is None


@pytest.mark.parametrize(
    "stamp",
    [
        "nan",
        "NaN",
        "inf",
        "-inf",
        "Infinity",
        "1e9",
        "-1800000000",
        "",
        " ",
        "0x6b49d200",
        "1_800_000_000",
        "\uff11\uff18",
    ],
)
def test_a_timestamp_that_is_not_plain_seconds_is_refused(stamp: str) -> None:
    check = checker(Clock())
    problem = check.problem(sign(BODY, stamp), BODY)
    assert problem is not None and problem.startswith("missing or bad timestamp header X-Timestamp")


def test_a_wrong_signature_is_refused_and_not_remembered() -> None:
    check = checker(Clock())
    assert check.problem(sign(BODY, "1800000000", secret="other"), BODY) == "signature does not match"
    assert check.problem({"X-Timestamp": "1800000000"}, BODY) == "missing signature header X-Signature"
    assert len(check.cache) == 0


def test_the_memory_of_signatures_is_bounded() -> None:
    clock = Clock()
    check = checker(clock, replay_cache=50)
    for n in range(200):
        body = json.dumps({"n": n}).encode()
        assert check.problem(sign(body, "1800000000"), body) is None
    assert len(check.cache) == 50
    newest = json.dumps({"n": 199}).encode()
    assert check.problem(sign(newest, "1800000000"), newest) == "signature already used (a replay)"


def test_a_request_not_stored_can_be_retried() -> None:
    check = checker(Clock())
    headers = sign(BODY, "1800000000")
    assert check.problem(headers, BODY) is None
    check.release(headers, BODY)
    assert check.problem(headers, BODY) is None


async def test_the_hub_refuses_a_replayed_webhook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOOK_SECRET", SECRET)
    (tmp_path / "hub.yaml").write_text(
        """
hub: {name: replay}
systems:
  shop:
    connector: webhook
    signature: {secret: "${env:HOOK_SECRET}", timestamp_header: X-Timestamp}
flows:
  orders: {trigger: {system: shop}}
"""
    )
    hub = Hub(load_config(tmp_path / "hub.yaml"))
    await hub.start(workers=False)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=hub.app()), base_url="http://hub") as c:
            headers = {**sign(BODY, str(int(time.time()))), "Content-Type": "application/json"}
            assert (await c.post("/hooks/shop", content=BODY, headers=headers)).status_code == 202
            replay = await c.post("/hooks/shop", content=BODY, headers=headers)
            assert (replay.status_code, replay.json()["error"]) == (401, "signature already used (a replay)")
            assert await hub.backend.pending() == 1
    finally:
        await hub.stop()
