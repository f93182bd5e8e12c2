"""What the API answers about points (response models; the stored records are in `store`, `redemption`
and `risk`, the request models in `model`, `redemption`, `risk` and `tiers`)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from loyalty.core.api_responses import SparseView
from loyalty.points.model import Category, EntryKind, RuleDefinition
from loyalty.points.redemption import CatalogueItem
from loyalty.points.tiers import TierLadder

# A view extending a request model keeps its fields, not its request examples.
_NO_EXAMPLES = ConfigDict(json_schema_extra=None)


class ExpiringPoints(BaseModel):
    date: str = Field(description="The last day the points are valid (the bank's time zone), YYYY-MM-DD.")
    points: int


class BalanceView(BaseModel):
    """A customer's points; a customer with no points yet has zeros."""

    customerId: str
    available: int = Field(description="Spendable now (lots already lapsed are not counted, even before the daily expiry run).")
    pending: int = Field(description="Earned but held by the risk warning until an operator decides.")
    held: int = Field(description="Taken by redemptions that have not settled yet.")
    debt: int = Field(description="Points owed after a refund took back points already spent; repaid from the next points earned.")
    growth: int = Field(description="Growth value (成长值) earned, all time.")
    tier: str | None = Field(description="The member level; null until levels are set.")
    expiringWithin30Days: list[ExpiringPoints] = Field(description="By expiry date, soonest first.")


class HistoryEntry(BaseModel):
    entryId: str
    kind: EntryKind
    points: int = Field(description="Signed: positive credits, negative debits.")
    growth: int = Field(description="Growth value this entry moved.")
    at: str = Field(description="When it was booked (UTC).")
    costCentre: str | None = Field(description="Who pays for credited points; null for debits.")
    source: dict[str, Any] = Field(description="What caused the entry (the event, rule, redemption, refund or operator); its fields vary by kind.")
    debtChange: int = Field(description="How much this entry changed the debt (negative: repaid).")


class HistoryPage(BaseModel):
    items: list[HistoryEntry] = Field(description="Newest first.")
    nextCursor: str | None


class CapUse(BaseModel):
    cap: int
    used: int = Field(description="Awarded so far in the period, before this event.")


class QuoteCaps(SparseView):
    """Only the caps the rule has."""

    daily: CapUse | None = None
    monthly: CapUse | None = None


class QuotedRule(BaseModel):
    ruleId: str
    version: int
    category: Category
    points: int = Field(description="After the caps.")
    beforeCaps: int
    caps: QuoteCaps


class QuoteView(BaseModel):
    """积分试算: what each matching rule would award now. Nothing is booked."""

    customerId: str
    total: int = Field(description="Points, over every rule, after caps (growth rules excluded).")
    growth: int = Field(description="Growth value from growth rules.")
    rules: list[QuotedRule]


class CatalogueItemView(SparseView, CatalogueItem):
    """A catalogue item; the fields of the other kind are left out."""

    model_config = _NO_EXAMPLES


class CataloguePage(BaseModel):
    items: list[CatalogueItemView]


class RuleView(RuleDefinition):
    """An earn rule's current (or requested) version."""

    model_config = _NO_EXAMPLES

    version: int = Field(description="1 on creation, raised by every change.")
    updatedAt: str
    updatedBy: str


class RuleList(BaseModel):
    items: list[RuleView]


class LiabilityRow(BaseModel):
    costCentre: str
    expiryMonth: str = Field(description="YYYY-MM")
    points: int


class LiabilityView(BaseModel):
    """Outstanding points from the lots, by who pays and when they lapse."""

    rows: list[LiabilityRow]
    outstanding: int = Field(description="The rows' total.")
    balancesAvailable: int = Field(description="The balances' total; equal to `outstanding` when the books agree.")
    debt: int = Field(description="Points owed by customers, in total.")
    agrees: bool


RedemptionStatus = Literal["issuing", "held", "completed", "released"]


class RedemptionView(SparseView):
    """A redemption (积分兑换); fields that do not apply (yet) are left out."""

    redemptionId: str
    customerId: str
    itemId: str
    kind: Literal["coupon", "mall_item"]
    points: int
    status: RedemptionStatus = Field(
        description="`issuing` (coupon being issued) or `held` (mall payment awaited), then `completed` or `released` (points back)."
    )
    createdAt: str
    cashMinor: int | None = None
    currency: str | None = None
    templateId: str | None = None
    settledAt: str | None = None
    holdExpiresAt: str | None = Field(default=None, description="A mall hold not settled by then is released.")
    reason: str | None = Field(default=None, description="How it settled: `paid`, `payment_failed`, `hold_expired`, `coupon_refused:<code>`...")
    paymentId: str | None = None


class TierLadderView(TierLadder):
    model_config = _NO_EXAMPLES

    version: int
    updatedBy: str
    updatedAt: str


class RiskSettingsView(BaseModel):
    """The velocity limits; every field null when none were ever saved (nothing is held)."""

    maxPointsPerDay: int | None
    maxEventsPerHour: int | None
    updatedBy: str | None
    updatedAt: str | None


class RiskHoldView(SparseView):
    """Accrual held by the risk warning; `decidedBy`, `decidedAt` and `note` once decided."""

    holdId: str
    customerId: str
    status: Literal["pending", "released", "rejected"]
    points: int
    growth: int
    reason: Literal["points_per_day", "events_per_hour"]
    observed: int = Field(description="What the count would have become.")
    limit: int
    eventType: str
    sourceEventId: str
    heldAt: str
    decidedBy: str | None = None
    decidedAt: str | None = None
    note: str | None = None


class RiskHoldList(BaseModel):
    items: list[RiskHoldView] = Field(description="Oldest first.")
