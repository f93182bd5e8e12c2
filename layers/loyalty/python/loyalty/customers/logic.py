"""Pure profile logic: no AWS, no HTTP."""

from __future__ import annotations

from typing import Any

from loyalty.core.clock import iso_utc
from loyalty.customers.model import CustomerProfile, ProfileChangedDetail

# Snapshot semantics: a CustomerProfileChanged carries the whole core-banking profile, so an
# optional field it omits is cleared. Operator tags are ours and survive every snapshot.
CORE_FIELDS = (
    "birthday",
    "branchId",
    "tags",
    "aumMinor",
    "currency",
    "riskLevel",
    "openedAt",
    "channels",
    "relationshipManagerId",
)


def snapshot_from_event(detail: ProfileChangedDetail, event_id: str) -> dict[str, Any]:
    """The stored attributes an event sets; `None` means the attribute is removed."""
    return {
        "changedAt": iso_utc(detail.changedAt),
        "sourceEventId": event_id,
        "birthday": detail.birthday.isoformat() if detail.birthday else None,
        "branchId": detail.branchId,
        "tags": normalise_tags(detail.tags) or None,
        "aumMinor": detail.aumMinor,
        "currency": detail.currency,
        "riskLevel": detail.riskLevel,
        "openedAt": iso_utc(detail.openedAt) if detail.openedAt else None,
        "channels": sorted(set(detail.channels)) or None,
        "relationshipManagerId": detail.relationshipManagerId,
    }


def normalise_tags(tags: list[str]) -> list[str]:
    return sorted(set(tags))


def customer_view(profile: CustomerProfile, *, operator: bool = True) -> dict[str, Any]:
    """What a customer or an operator sees; internal bookkeeping stays inside. A customer sees their
    own member level and lifecycle stage, not the scores or the segments they are in."""
    scoring = {"segments": profile.segments, "scores": profile.scores, "scoredAt": profile.scoredAt} if operator else {}
    return {
        "customerId": profile.customerId,
        "birthday": profile.birthday,
        "branchId": profile.branchId,
        "tags": profile.tags,
        "operatorTags": profile.operatorTags,
        "aum": {"amountMinor": profile.aumMinor, "currency": profile.currency} if profile.aumMinor is not None else None,
        "riskLevel": profile.riskLevel,
        "openedAt": profile.openedAt,
        "channels": profile.channels,
        "relationshipManagerId": profile.relationshipManagerId,
        "updatedAt": profile.changedAt,
        "tier": profile.tier,
        "lifecycleStage": profile.lifecycleStage,
        **scoring,
    }
