"""What travels on an agent's link, shared by both ends.

The agent makes every request (the hub never connects to it):
- `POST /agent/v1/{agent}/messages` `{"messages": [message, ...]}`: what the agent's sources read.
  Answered 200 `{"accepted": n}` once the hub committed all of them; each carries the agent's
  message id, which the hub keeps as an idempotency key, so a batch sent again after a cut is
  recognised and not enqueued twice.
- `POST /agent/v1/{agent}/poll` `{"results": [...], "wait": s, "limit": n, "buffered": n}`: the
  results of the deliveries of the previous answer (`{"id", "result"}` or `{"id", "error"}`),
  answered with the next deliveries for the agent's systems, waiting up to `wait` seconds for
  one: `{"deliveries": [{"id": delivery id, "flow", "index": n of the flow's deliver,
  "message": message}, ...]}`. A delivery handed out and not reported by the next poll was lost
  on the way and is handed out again; the sink's idempotency (the delivery id) makes that safe.

Every request carries `Authorization: Bearer <the agent's token>`; a token admits only its agent.
"""

from __future__ import annotations

from typing import Any

from interlace.message import Message

PREFIX = "/agent/v1"
WAIT = 20.0
"""Seconds a poll waits on the hub for a delivery before it is answered empty."""
BATCH = 500
"""Most messages in one uplink request, and most deliveries in one poll answer."""


def messages_path(agent: str) -> str:
    return f"{PREFIX}/{agent}/messages"


def poll_path(agent: str) -> str:
    return f"{PREFIX}/{agent}/poll"


def dump(message: Message) -> dict[str, Any]:
    return message.to_dict()


_TEXT = ("id", "flow")
_OPTIONAL_TEXT = ("correlation_id", "causation_id", "source", "event", "key")


def load(data: Any) -> Message:
    """A message the other end sent; ValueError when it is not one (the hub admits the agent by its
    token, and still checks the shape of what it sends)."""
    if not isinstance(data, dict):
        raise ValueError("a message is a JSON object")
    for name in _TEXT:
        if not isinstance(data.get(name), str) or not data[name]:
            raise ValueError(f"a message's `{name}` is a non-empty string")
    for name in _OPTIONAL_TEXT:
        if data.get(name) is not None and not isinstance(data[name], str):
            raise ValueError(f"a message's `{name}` is a string or null")
    headers = data.get("headers", {})
    if not isinstance(headers, dict) or not all(isinstance(v, str) for v in headers.values()):
        raise ValueError("a message's `headers` map names to strings")
    return Message.from_dict(data)


def idempotency_key(agent: str, message_id: str) -> str:
    """The key under which the hub enqueues a message an agent sent: the same message sent again
    (its answer lost in a cut) finds the first one."""
    return f"agent:{agent}:{message_id}"
