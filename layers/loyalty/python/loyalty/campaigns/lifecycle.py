"""The campaign lifecycle, pure: which action moves which state, and who may take it.

draft → pending_approval (submit) → approved (approve, by another operator in `approvers`) or back
to draft (reject). An approved campaign is *active* while its window is open; before, it is
scheduled; after, it has ended. pause (the kill switch) and resume work at any point between
approval and the end; end is final. Only a draft is edited.
"""

from __future__ import annotations

from datetime import datetime

from loyalty.core.auth import Caller
from loyalty.core.clock import iso_utc
from loyalty.core.errors import BusinessRuleViolation, Forbidden

TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    # action: (states it applies to, the state after)
    "submit": (("draft",), "pending_approval"),
    "approve": (("pending_approval",), "approved"),
    "reject": (("pending_approval",), "draft"),
    "pause": (("approved",), "paused"),
    "resume": (("paused",), "approved"),
    "end": (("draft", "pending_approval", "approved", "paused"), "ended"),
}
APPROVERS_GROUP = "approvers"


def effective_status(status: str, starts_at: str, ends_at: str, now: datetime) -> str:
    """What an approved campaign is right now; other states are what they say."""
    if status != "approved":
        return status
    instant = iso_utc(now)
    if instant < starts_at:
        return "scheduled"
    return "active" if instant < ends_at else "ended"


def next_status(action: str, status: str, caller: Caller, author: str) -> str:
    allowed, after = TRANSITIONS[action]
    if status not in allowed:
        raise BusinessRuleViolation(f"cannot {action} a campaign that is {status}", code="INVALID_TRANSITION")
    if action == "approve":
        if APPROVERS_GROUP not in caller.groups:
            raise Forbidden("approving needs the approvers group", code="APPROVER_REQUIRED")
        if caller.subject == author:
            raise Forbidden("the author of a campaign cannot approve it", code="APPROVER_IS_AUTHOR")
    return after
