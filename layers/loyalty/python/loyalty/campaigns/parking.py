"""Triggers that arrive before their customer's profile (pure: no AWS).

A campaign whose audience reads the profile (a rule, or `requireProfile`, the default) cannot decide
on a customer whose `CustomerProfileChanged` has not arrived. Core banking often publishes
`AccountOpened` and the first card transactions first: that is a normal order, so the trigger is
neither dropped nor retried into the DLQ. It is **parked** in the campaigns table, naming the
campaigns that wait for the profile, and those campaigns decide on it when the profile arrives, at
the time the trigger arrived (window, budget periods, birthday), as if the profile had been there.
What every consumer that parks shares is in `loyalty.core.parking`; the use cases are in
`before_profile.py`. docs/campaigns.md, "Triggers before the profile".

What is kept is the trigger's detail, which a campaign's pattern may read in full, except the bank's
device and phone hashes: only their keyed hashes (`identities`), which a referral's self-referral
check reads instead (as scoring keeps them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from loyalty.campaigns.model import TRIGGER_DETAILS, TriggerDetail
from loyalty.core.clock import iso_utc
from loyalty.core.parking import expires_at

# granting.on_event's outcome for a campaign whose audience reads a profile that has not arrived.
AWAITING_PROFILE = "awaiting_profile"
RAW_HASHES = ("deviceHash", "phoneHash")  # as the bank sent them: never stored


@dataclass(frozen=True)
class ParkedTrigger:
    """One parked trigger, as the store keeps it (`items_customer.ParkedTriggerItem`)."""

    customerId: str
    occurrence: str  # the trigger's occurrence: its grants' key, and the parking's
    detailType: str
    detail: dict[str, Any]  # JSON-ready, without the raw hashes
    campaignIds: list[str]  # the campaigns that wait for the profile (a referral's binding among them)
    occurredAt: str  # fixed-width ISO UTC: the order parked triggers are applied in
    parkedAt: str  # when it first arrived: the campaigns decide as of then
    expiresAt: int  # epoch seconds: the table's TTL
    identities: list[str] = field(default_factory=list)  # keyed device and phone hashes

    def trigger_detail(self) -> dict[str, Any]:
        """The detail as the triggers function hands it to the campaigns (validated again: times parsed)."""
        return TRIGGER_DETAILS[self.detailType].model_validate(self.detail).model_dump()

    def decided_at(self) -> datetime:
        return datetime.fromisoformat(self.parkedAt.replace("Z", "+00:00"))


def waiting(outcomes: Mapping[str, str]) -> list[str]:
    """The campaigns an event's outcomes say wait for the customer's profile."""
    return sorted(c for c, outcome in outcomes.items() if outcome == AWAITING_PROFILE)


def occurred_at(detail: TriggerDetail, now: datetime) -> datetime:
    """The trigger's own time, by the field its contract names (as task progress reads it); else now."""
    from loyalty.campaigns.tasks import occurred_at as own_time  # tasks imports granting, which imports this

    return own_time(detail.model_dump(), now)


def raw_hashes(detail: TriggerDetail) -> list[str]:
    return [str(value) for name in RAW_HASHES if (value := getattr(detail, name, None))]


def parked(detail_type: str, detail: TriggerDetail, occurrence: str, campaign_ids: Sequence[str], keyed: Sequence[str],
           now: datetime, keep_days: int) -> ParkedTrigger:
    """The trigger as it is parked: its keyed hashes only, and a TTL `keep_days` after now."""
    kept = detail.model_dump(mode="json", exclude=set(RAW_HASHES))
    return ParkedTrigger(customerId=detail.customerId, occurrence=occurrence, detailType=detail_type, detail=kept,
                         campaignIds=sorted(campaign_ids), occurredAt=iso_utc(occurred_at(detail, now)), parkedAt=iso_utc(now),
                         expiresAt=expires_at(now, keep_days), identities=list(keyed))
