"""The cash-need forecast's arithmetic, pure (docs/org-units.md, "The cash-need forecast").

For a unit and each month ahead, the cash its rights will need, in minor units of one currency:
- **campaigns**: each budget's remaining (limit − spent), spread over what is left of its window at
  its observed burn (spent ÷ time elapsed since the window opened), capped by what is left; a
  campaign that has spent nothing yet, or opened less than a day ago, has no burn to observe and is
  spread evenly over what is left of its window (its plan);
- **coupons**: per template, value × outstanding coupons whose validity ends in the month × the
  template's observed redemption rate (redeemed ÷ (redeemed + expired + revoked));
- **points**: the liability expiring in the month × the observed redemption rate (points redeemed ÷
  (redeemed + expired)) × the value of a point.

Everything is computed with exact fractions; each figure is rounded once (campaigns: the cumulative
spread floored, month by month, so a budget's months add up to its remaining floored; coupons per
template and month, points per month: half up). Reading the books is `loyalty.org.forecast_sources`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from fractions import Fraction
from typing import Literal
from zoneinfo import ZoneInfo

# Fewer settled coupons (of a template) or points (of the unit) than these and the observed rate is
# not trusted: a template falls back to the rate pooled over every template, then to 1; points to 1.
MIN_SETTLED_COUPONS = 20
MIN_SETTLED_POINTS = 1000
DAY_SECONDS = 86_400

RateBasis = Literal["observed", "pooled", "assumed"]


@dataclass(frozen=True)
class Month:
    label: str  # YYYY-MM
    starts: datetime  # the first instant of the month in the bank's time zone
    ends: datetime  # the first instant of the next


def months_ahead(now: datetime, count: int, zone: ZoneInfo) -> list[Month]:
    """The month `now` is in (bank time), then the `count - 1` after it."""
    local = now.astimezone(zone)
    year, month = local.year, local.month
    found = []
    for _ in range(count):
        following = (year + month // 12, month % 12 + 1)
        found.append(Month(f"{year:04d}-{month:02d}", datetime.combine(date(year, month, 1), time(), zone),
                           datetime.combine(date(*following, 1), time(), zone)))
        year, month = following
    return found


def half_up(value: Fraction) -> int:
    """Rounded to the nearest integer, halves away from zero (values here are never negative)."""
    return int((value + Fraction(1, 2)) // 1) if value >= 0 else -half_up(-value)


def _seconds(start: datetime, end: datetime) -> Fraction:
    """The time from `start` to `end` in seconds, exactly (to the microsecond); 0 when `end` is not later."""
    return Fraction(max((end - start) // timedelta(microseconds=1), 0), 1_000_000)


# ---- campaigns -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CampaignBudget:
    campaign_id: str
    total: int
    spent: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class CampaignForecast:
    campaign_id: str
    remaining: int
    method: Literal["burn", "plan", "none"]  # observed burn, even over the window left, nothing left to spend
    per_second: Fraction
    by_month: dict[str, int]
    beyond: int  # what the spread leaves after the last month (the window goes on)

    @property
    def burn_per_day(self) -> Fraction:
        return self.per_second * DAY_SECONDS


def campaign_forecast(budget: CampaignBudget, now: datetime, months: list[Month]) -> CampaignForecast:
    remaining = max(budget.total - budget.spent, 0)
    left_from = max(now, budget.starts_at)
    window_left = _seconds(left_from, budget.ends_at)
    if remaining == 0 or window_left == 0:
        return CampaignForecast(budget.campaign_id, remaining, "none", Fraction(0), {m.label: 0 for m in months}, 0)
    elapsed = _seconds(budget.starts_at, now)
    if budget.spent > 0 and elapsed >= DAY_SECONDS:
        method: Literal["burn", "plan"] = "burn"
        per_second = Fraction(budget.spent) / elapsed
    else:
        method, per_second = "plan", Fraction(remaining) / window_left
    by_month, placed = {}, 0
    for month in months:
        # the window's time from now to the month's end (months are contiguous): the spread so far
        cumulative = min(Fraction(remaining), per_second * _seconds(left_from, min(budget.ends_at, month.ends))) // 1
        by_month[month.label] = int(cumulative) - placed
        placed = int(cumulative)
    whole = int(min(Fraction(remaining), per_second * window_left) // 1)
    return CampaignForecast(budget.campaign_id, remaining, method, per_second, by_month, whole - placed)


# ---- coupons -------------------------------------------------------------------------------------------


@dataclass
class TemplateTally:
    """One template's coupons as the forecast counts them: settled (every customer's: the rate), and
    the unit's outstanding ones by the month their validity ends."""

    template_id: str
    value_minor: int
    basis: str  # face, unit_cost (loyalty.coupons.ports.TemplateValue)
    redeemed: int = 0
    expired: int = 0  # expired, or past their validity and not swept yet
    revoked: int = 0
    outstanding: dict[str, int] = field(default_factory=dict)  # by month of validUntil
    outstanding_beyond: int = 0  # ends after the horizon

    @property
    def settled(self) -> int:
        return self.redeemed + self.expired + self.revoked


@dataclass(frozen=True)
class Rate:
    value: Fraction
    basis: RateBasis


def coupon_rates(tallies: Iterable[TemplateTally]) -> dict[str, Rate]:
    """Each template's redemption rate: its own when at least `MIN_SETTLED_COUPONS` of its coupons
    settled; else the rate pooled over every template's settled coupons (when that many settled);
    else 1, every coupon assumed redeemed (the prudent figure for cash)."""
    tallies = list(tallies)
    redeemed, settled = sum(t.redeemed for t in tallies), sum(t.settled for t in tallies)
    pooled = Rate(Fraction(redeemed, settled), "pooled") if settled >= MIN_SETTLED_COUPONS else Rate(Fraction(1), "assumed")
    return {t.template_id: Rate(Fraction(t.redeemed, t.settled), "observed") if t.settled >= MIN_SETTLED_COUPONS else pooled
            for t in tallies}


def coupon_amounts(tallies: Iterable[TemplateTally], rates: Mapping[str, Rate], months: list[Month]) -> dict[str, dict[str, int]]:
    """By month, by template: value × outstanding × rate, rounded half up."""
    return {m.label: {t.template_id: half_up(t.value_minor * t.outstanding.get(m.label, 0) * rates[t.template_id].value)
                      for t in tallies if t.outstanding.get(m.label)}
            for m in months}


# ---- points --------------------------------------------------------------------------------------------


def points_rate(redeemed: int, expired: int) -> Rate:
    """Points redeemed ÷ (redeemed + expired), when at least `MIN_SETTLED_POINTS` settled; else 1."""
    settled = redeemed + expired
    return Rate(Fraction(redeemed, settled), "observed") if settled >= MIN_SETTLED_POINTS else Rate(Fraction(1), "assumed")


def points_amount(expiring: int, rate: Rate, point_value_minor: Fraction) -> tuple[Fraction, int]:
    """The points expected to be redeemed of those expiring in a month, and their value, half up."""
    expected = expiring * rate.value
    return expected, half_up(expected * point_value_minor)


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"
