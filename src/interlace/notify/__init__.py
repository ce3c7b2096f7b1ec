"""Owners are told: when exceptions are parked, each owner gets one digest per window, by email
(SMTP) and/or a webhook, never a message per exception.

How a notice is kept (the outbox is in the store, so a restart neither loses nor repeats one):
1. parking an exception adds it to its owner's pending tally, in the same transaction (a
   trigger of the store: the worker's path is unchanged);
2. once an owner's window has passed since the first exception of the tally (`hub.notify.window`),
   the notifier turns the tally into one notice per channel of that owner, with the digest
   composed then and stored (one transaction: the tally is gone, the notices are there);
3. each notice is claimed for a while, sent, and marked sent; one that fails is tried again
   later (doubling waits up to an hour). A crash between the sending and the marking sends it
   again on restart, with the same Message-ID (email) or Idempotency-Key (webhook) so that the
   receiver can tell: the one repeat that cannot be ruled out over SMTP.

The clock is injected (`Notifier(clock=...)`) so that a window can pass in a test at once.
"""

from __future__ import annotations

from interlace.notify.notifier import Notifier, channels_of

__all__ = ["Notifier", "channels_of"]
