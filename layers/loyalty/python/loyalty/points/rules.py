"""Pure earn-rule evaluation: which rules an event matches, and how many points each awards."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from loyalty.core.clock import business_date, iso_utc
from loyalty.points.model import (
    CardTransactionPosted,
    CheckInCompleted,
    DepositBalanceChanged,
    Inbound,
    LoginCompleted,
    MonthlyAumComputed,
    PerAmount,
    Rule,
    SalaryCredited,
    Tiered,
)


@dataclass(frozen=True)
class EarnContext:
    """What rules look at. `subject` is the business id that makes an award happen once."""

    event_type: str
    subject: str
    customer_id: str
    occurred_at: datetime
    amount_minor: int | None = None
    currency: str | None = None
    mcc: str | None = None
    channel: str | None = None
    merchant_id: str | None = None
    business_day: date | None = None  # when the event names its own business date (check-in, AUM month)


def context_of(event_type: str, detail: Inbound) -> EarnContext:
    """Natural keys, not envelope ids: the bank re-publishing an event under a new id still earns once."""
    if isinstance(detail, CardTransactionPosted):
        return EarnContext(event_type, detail.transactionId, detail.customerId, detail.postedAt, detail.amountMinor,
                           detail.currency, detail.mcc, detail.channel, detail.merchantId)
    if isinstance(detail, SalaryCredited):
        return EarnContext(event_type, detail.transactionId, detail.customerId, detail.creditedAt, detail.amountMinor, detail.currency)
    if isinstance(detail, DepositBalanceChanged):
        increase = max(0, detail.balanceMinor - detail.previousBalanceMinor)
        # In UTC, so the same instant re-published with another offset is the same subject.
        return EarnContext(event_type, f"{detail.accountId}@{iso_utc(detail.changedAt)}", detail.customerId, detail.changedAt,
                           increase, detail.currency)
    if isinstance(detail, MonthlyAumComputed):
        first_day = date.fromisoformat(f"{detail.month}-01")
        at = datetime(first_day.year, first_day.month, 1, tzinfo=UTC)
        return EarnContext(event_type, detail.month, detail.customerId, at, detail.averageAumMinor, detail.currency,
                           business_day=first_day)
    if isinstance(detail, CheckInCompleted):
        return EarnContext(event_type, detail.businessDate.isoformat(), detail.customerId, detail.checkedInAt,
                           business_day=detail.businessDate)
    if isinstance(detail, LoginCompleted):
        return EarnContext(event_type, iso_utc(detail.loggedInAt), detail.customerId, detail.loggedInAt, channel=detail.channel)
    raise TypeError(f"no earn context for {event_type}")


def matches(rule: Rule, ctx: EarnContext) -> bool:
    d = rule.definition
    c = d.conditions
    if not d.active or d.eventType != ctx.event_type:
        return False
    if c.mccs and ctx.mcc not in c.mccs:
        return False
    if c.channels and ctx.channel not in c.channels:
        return False
    if c.merchantIds and ctx.merchant_id not in c.merchantIds:
        return False
    if c.currency and ctx.currency != c.currency:
        return False
    return not (c.minAmountMinor is not None and (ctx.amount_minor or 0) < c.minAmountMinor)


def base_points(rule: Rule, amount_minor: int | None) -> int:
    award = rule.definition.award
    if isinstance(award, PerAmount):
        units, rest = divmod(amount_minor or 0, award.perAmountMinor)
        if (award.rounding == "up" and rest) or (award.rounding == "half_up" and rest * 2 >= award.perAmountMinor):
            units += 1
        return units * award.points
    if isinstance(award, Tiered):
        reached = [t.points for t in award.tiers if (amount_minor or 0) >= t.fromAmountMinor]
        return reached[-1] if reached else 0
    return award.points


def with_multiplier(rule: Rule, points: int, tier: str | None) -> int:
    """Multipliers are whole percent (150 = 1.5x), rounded down."""
    percent = rule.definition.tierMultipliersPercent.get(tier or "", 100)
    return points * percent // 100


@dataclass(frozen=True)
class Proposed:
    rule: Rule
    points: int  # before caps


def evaluate(rules: list[Rule], ctx: EarnContext, tier: str | None) -> list[Proposed]:
    """Rules by descending priority (then id, so the order is total); an exclusive match ends it."""
    proposed = []
    for rule in sorted(rules, key=lambda r: (-r.definition.priority, r.definition.ruleId)):
        if not matches(rule, ctx):
            continue
        points = with_multiplier(rule, base_points(rule, ctx.amount_minor), tier)
        if points > 0:
            proposed.append(Proposed(rule, points))
        if rule.definition.stacking == "exclusive":
            break
    return proposed


def earned_on(ctx: EarnContext, zone: ZoneInfo) -> date:
    return ctx.business_day or business_date(ctx.occurred_at, zone)


def cap_periods(ctx: EarnContext, zone: ZoneInfo) -> tuple[str, str]:
    day = earned_on(ctx, zone)
    return day.isoformat(), day.isoformat()[:7]


def capped(points: int, cap: int | None, used: int) -> int:
    return points if cap is None else max(0, min(points, cap - used))


def lot_expiry(rule: Rule, earned_on: date) -> date:
    validity = rule.definition.validity
    if validity.type == "fixed_date":
        return validity.date
    if validity.type == "days":
        return earned_on + timedelta(days=validity.days)
    month_index = earned_on.month - 1 + validity.monthsLater
    year, month = earned_on.year + month_index // 12, month_index % 12 + 1
    return date(year, month, calendar.monthrange(year, month)[1])
