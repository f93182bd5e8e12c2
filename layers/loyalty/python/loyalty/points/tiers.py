"""Member levels (会员等级) from growth value (成长值), pure.

A customer's qualifying growth is what they earned in the last `qualifyingMonths` business months,
this one included. Crossing a threshold upgrades at once, in the accrual's own transaction. A
downgrade waits for the periodic re-evaluation: the first run that finds the tier no longer earned
sets a due date `downgradeGraceDays` ahead, and only a run on or after that date, still finding it
unearned, lowers it. Earning it back before then cancels the downgrade.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictInt, StringConstraints, model_validator

from loyalty.core.outbox import PendingEvent
from loyalty.core.text import SINGLE_LINE
from loyalty.points.ledger import Account, Change
from loyalty.points.model import Points, RuleId, Strict

SOURCE = "loyalty.points"


class TierBenefit(Strict):
    """A coupon granted through `IssueCoupon`: every month while at the tier, or once on reaching it."""

    templateId: RuleId
    cadence: Literal["monthly", "on_upgrade"]


class TierLevel(Strict):
    tierId: RuleId
    name: Annotated[str, StringConstraints(min_length=1, max_length=100, pattern=SINGLE_LINE)]
    minGrowth: Points = Field(description="The qualifying growth value (成长值) from which a customer is at this level.")
    benefits: Annotated[list[TierBenefit], Field(max_length=10)] = Field(default_factory=list)


class TierLadder(Strict):
    """The levels, lowest first; the first starts at 0 growth, so every customer has a level."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "tiers": [
            {"tierId": "silver", "name": "Silver", "minGrowth": 0},
            {"tierId": "gold", "name": "Gold", "minGrowth": 5000,
             "benefits": [{"templateId": "tpl-gold-welcome", "cadence": "on_upgrade"}]},
            {"tierId": "platinum", "name": "Platinum", "minGrowth": 20000,
             "benefits": [{"templateId": "tpl-platinum-monthly", "cadence": "monthly"}]},
        ],
        "qualifyingMonths": 12,
        "downgradeGraceDays": 30,
    }]})

    tiers: Annotated[list[TierLevel], Field(min_length=1, max_length=10)]
    qualifyingMonths: Annotated[StrictInt, Field(ge=1, le=36)] = 12
    downgradeGraceDays: Annotated[StrictInt, Field(ge=0, le=366)] = 30

    @model_validator(mode="after")
    def _ascending_from_zero(self) -> TierLadder:
        thresholds = [t.minGrowth for t in self.tiers]
        if thresholds[0] != 0:
            raise ValueError("the first tier starts at minGrowth 0")
        if thresholds != sorted(set(thresholds)):
            raise ValueError("tiers must be in strictly ascending minGrowth")
        if len({t.tierId for t in self.tiers}) != len(self.tiers):
            raise ValueError("tier ids must be unique")
        return self

    def rank(self, tier_id: str | None) -> int:
        """0 for the base tier (and for a customer not placed yet, or on a tier since removed)."""
        return next((i for i, t in enumerate(self.tiers) if t.tierId == tier_id), 0)

    def earned_by(self, growth: int) -> TierLevel:
        return [t for t in self.tiers if t.minGrowth <= growth][-1]

    def level_of(self, account: Account) -> TierLevel:
        return self.tiers[self.rank(account.tier)]


def qualifying_growth(growth_by_month: tuple[tuple[str, int], ...], month: str, months: int) -> int:
    year, number = int(month[:4]), int(month[5:7])
    first = year * 12 + number - 1 - (months - 1)
    oldest = f"{first // 12:04d}-{first % 12 + 1:02d}"
    return sum(points for m, points in growth_by_month if oldest <= m <= month)


def upgrade_on_growth(ladder: TierLadder, account: Account, change: Change, at: str) -> list[PendingEvent]:
    """After growth is earned: the new tier, if it rose, with its events; nothing otherwise."""
    if not change.growth or not change.growth_month:
        return []
    months = dict(account.growth_by_month)
    months[change.growth_month] = months.get(change.growth_month, 0) + change.growth
    growth = qualifying_growth(tuple(months.items()), change.growth_month, ladder.qualifyingMonths)
    earned = ladder.earned_by(growth)
    if ladder.rank(earned.tierId) > ladder.rank(account.tier):
        return _change_tier(ladder, account, change, earned, at, growth, "up")
    if ladder.rank(earned.tierId) == ladder.rank(account.tier) and account.downgrade_due_on is not None:
        change.balance_sets["downgradeDueOn"] = None  # earned back before the downgrade was due
    return []


def reevaluate(ladder: TierLadder, account: Account, change: Change, today: date, at: str) -> list[PendingEvent]:
    """The periodic re-evaluation of one account: upgrades, due or cancelled downgrades, and this
    month's benefits (once a month; their command ids make a repeat harmless anyway)."""
    month = today.isoformat()[:7]
    growth = qualifying_growth(account.growth_by_month, month, ladder.qualifyingMonths)
    earned, current = ladder.earned_by(growth), ladder.level_of(account)
    events: list[PendingEvent] = []
    if ladder.rank(earned.tierId) > ladder.rank(current.tierId):
        events += _change_tier(ladder, account, change, earned, at, growth, "up")
    elif ladder.rank(earned.tierId) < ladder.rank(current.tierId):
        if account.downgrade_due_on is None:
            change.balance_sets["downgradeDueOn"] = (today + timedelta(days=ladder.downgradeGraceDays)).isoformat()
        elif account.downgrade_due_on <= today.isoformat():
            events += _change_tier(ladder, account, change, earned, at, growth, "down")
    elif account.downgrade_due_on is not None:
        change.balance_sets["downgradeDueOn"] = None
    level = next((t for t in ladder.tiers if t.tierId == change.balance_sets.get("tier")), current)
    monthly = [b for b in level.benefits if b.cadence == "monthly"]
    if monthly and account.benefits_month != month:
        events += [_issue(account.customer_id, b.templateId, f"{month}:{level.tierId}") for b in monthly]
        change.balance_sets["benefitsMonth"] = month
    return events


def _change_tier(ladder: TierLadder, account: Account, change: Change, to: TierLevel, at: str, growth: int, direction: str) -> list[PendingEvent]:
    change.balance_sets.update(tier=to.tierId, tierSince=at, downgradeDueOn=None)
    before = account.tier or ladder.tiers[0].tierId
    detail = {"customerId": account.customer_id, "fromTier": before, "toTier": to.tierId, "direction": direction,
              "qualifyingGrowth": growth, "qualifyingMonths": ladder.qualifyingMonths, "changedAt": at}
    events = [PendingEvent(SOURCE, "TierChanged", detail)]
    if direction == "up":
        events += [_issue(account.customer_id, b.templateId, f"upgrade:{to.tierId}") for b in to.benefits if b.cadence == "on_upgrade"]
    return events


def _issue(customer_id: str, template_id: str, occasion: str) -> PendingEvent:
    # One command per customer, benefit and occasion: the coupons capability serves each id once.
    command_id = "tb-" + hashlib.sha256(f"{customer_id}\x1f{template_id}\x1f{occasion}".encode()).hexdigest()[:32]
    detail: dict[str, Any] = {"commandId": command_id, "customerId": customer_id, "templateId": template_id,
                              "source": "tier_benefit", "reason": f"tier benefit ({occasion})"}
    return PendingEvent(SOURCE, "IssueCoupon", detail)
