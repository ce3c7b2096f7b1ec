"""Steps for flows that take EDI documents, used as `- python: interlace.formats.edi.steps:NAME`.

`require_partner` passes a document from a known trading partner on unchanged, and refuses one
from a sender no partner profile matches: the message is parked as an exception for the flow's
owner (`on_error.owner`), with the interchange and the sender in its reason, instead of reaching
the ERP. Put it first in a flow that reads a partner's folder or webhook.

`require_flow` parks every document it sees: the end of a route for the sets no flow takes (a
partner sending an 855 where none is agreed), so that they wait for a person instead of vanishing.
"""

from __future__ import annotations

from interlace.errors import StepError
from interlace.types import JSON


def require_partner(body: JSON) -> JSON:
    if isinstance(body, dict) and body.get("standard") in ("x12", "edifact") and body.get("partner") is None:
        notes = [str(p) for p in body.get("problems") or [] if "trading partner" in str(p)]
        raise StepError("unknown sender: " + ("; ".join(notes) or "the document names no trading partner"))
    return body


def require_flow(body: JSON) -> JSON:
    what = "a document"
    if isinstance(body, dict):
        kind = body.get("set") or body.get("message")
        control = body.get("control")
        chg = (body.get("interchange") or {}).get("control") if isinstance(body.get("interchange"), dict) else None
        what = f"{kind or 'a document'} {control or ''} (interchange {chg})".replace("  ", " ")
    raise StepError(f"no flow takes {what}: route it, or agree with the partner not to send it")
