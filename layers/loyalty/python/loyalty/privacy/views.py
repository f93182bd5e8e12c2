"""What the PIPL API answers: an export of everything held on one customer, and an erasure's receipt.

An export's sections are the capabilities' own stored items, as they are: their shape is each
capability's storage, so they are open objects here. The sections themselves are fixed, and the
export models allow more: a section the service adds must reach the customer, never be dropped by
the response model (the export must be complete).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


def _json_numbers(value: Any) -> Any:
    """DynamoDB's fractional numbers (Decimals) as JSON numbers, not the strings pydantic makes of them."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _json_numbers(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_numbers(v) for v in value]
    return value


Item = Annotated[dict[str, Any], BeforeValidator(_json_numbers)]
Items = Annotated[list[Item], Field(description="Stored items, as the capability keeps them (keys and index attributes left out).")]


class Section(BaseModel):
    model_config = ConfigDict(extra="allow")


class PointsExport(Section):
    account: Items = Field(description="The account: its balance item and its lots.")
    ledger: Items = Field(description="Every ledger entry, with `source` and `lots` decoded.")
    redemptions: Items = Field(description="The customer's redemptions (积分兑换).")
    riskHolds: Items = Field(description="Risk holds (积分风险预警), decided or not.")


class CampaignsExport(Section):
    progress: Items = Field(description="Task and check-in progress.")
    notifications: Items = Field(description="The day's notification counters.")
    inviteCode: Items
    referredBy: Items = Field(description="Their referral as an invitee.")
    referralsMade: Items = Field(description="Their referrals as an inviter; the invitees are other customers, masked.")
    audiences: Items = Field(description="Their places in uploaded audiences.")
    targeted: Items = Field(description="The campaigns that targeted them.")
    frequency: Items = Field(description="Frequency-cap counters.")
    grants: Items = Field(description="Rewards granted to them.")
    parkedTriggers: Items = Field(default_factory=list, description="Their events that came before their profile, waiting for it.")


class MotExport(Section):
    tasks: Items = Field(description="Relationship managers' tasks about them: talking points, outcomes, the RM's notes (docs/mot.md).")
    heldOutMoments: Items = Field(description="Their moments held out of a rule (no task), for its uplift.")
    relationshipManager: Items = Field(description="Their relationship manager, as MOT last heard it.")


class IdentityExport(BaseModel):
    keyedHash: str = Field(description="A keyed hash of a device or phone: the engine never holds them as received.")
    kind: str | None = Field(description="`device` or `phone`.")
    firstSeenAt: str | None


class CustomerExport(Section):
    """Everything the engine holds on the customer (PIPL)."""

    customerId: str
    exportedAt: str
    profile: Item | None = Field(description="The profile from core banking with the engine's own fields; null if the engine has none.")
    points: PointsExport
    coupons: Items = Field(description="The customer's coupons (wallet).")
    campaigns: CampaignsExport
    scoring: Items = Field(description="The scoring state (features, scores) and segment memberships.")
    identities: list[IdentityExport]
    mot: MotExport
    operatorActions: Items = Field(description="The audit log's entries about the customer.")


class ErasureReceipt(BaseModel):
    """What an erasure removed, and what it kept (the books must stay correct)."""

    customerId: str
    erasedAt: str
    profileFieldsRemoved: list[str] = Field(description="The names of the personal fields removed from the profile.")
    scoringItemsDeleted: int = Field(description="The scoring state, memberships and index items deleted.")
    campaignItemsErased: int = Field(description="Campaign records of their behaviour and relations deleted or anonymised.")
    motItemsErased: int = Field(description="MOT tasks emptied of what they said, held-out moments, the manager and book entry deleted.")
    kept: list[str] = Field(description="What stays, under the customer id (a pseudonym once the profile is gone).")
