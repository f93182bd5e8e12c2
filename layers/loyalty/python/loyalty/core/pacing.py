"""Budgets' periods and pacing, pure: no I/O, integers only, the same answer everywhere
(docs/org-units.md, "Pacing"). Org pools and campaigns' own budgets pace alike.

A pool's **period** is a fiscal year (`2026`) or quarter (`2026-Q4`), calendar-aligned; a campaign's
is its window's business days (`window`). A **plan**
splits it into slices, weeks or months:
- months: the calendar months of the period;
- weeks: 7-day slices from the period's first day (the last one shorter), not ISO weeks, so a
  period's weeks never straddle it.
Each slice has a weight: `even` (every slice 1), `front_loaded` (n, n-1, ..., 1: the first slice
weighs most), or `custom` (one non-negative integer per slice). A slice's share is available in full
from its first day: the **plan to date** at a business date is
`floor(allocation × weights of the slices begun / all the weights)`, and the **running allowance**
adds the tolerance: `floor(allocation × begun × (100 + tolerance%) / (all × 100))`, never more than
the allocation. It is cumulative, so what was not spent carries over; spend beyond it is refused until
the plan catches up. Before the period nothing is allowed, after it the whole allocation.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt

Granularity = Literal["week", "month"]
Shape = Literal["even", "front_loaded", "custom"]
Direction = Literal["ahead", "behind"]
PERIOD_PATTERN = r"^[0-9]{4}(-Q[1-4])?$"
_PERIOD = re.compile(PERIOD_PATTERN)


@dataclass(frozen=True)
class Period:
    key: str
    first: date  # its first day
    last: date  # its last day

    def holds(self, day: date) -> bool:
        return self.first <= day <= self.last


def period(key: str) -> Period:
    """`2026` or `2026-Q4`; ValueError otherwise."""
    if not _PERIOD.match(key):
        raise ValueError(f"a period is a year (2026) or a quarter (2026-Q4), not {key!r}")
    year = int(key[:4])
    if len(key) == 4:
        return Period(key, date(year, 1, 1), date(year, 12, 31))
    quarter = int(key[-1])
    first_month, last_month = 3 * quarter - 2, 3 * quarter
    return Period(key, date(year, first_month, 1), date(year, last_month, calendar.monthrange(year, last_month)[1]))


def window(first: date, last: date) -> Period:
    """A campaign's period: its window's first and last business days."""
    return Period(f"{first.isoformat()}..{last.isoformat()}", first, last)


def _of(period_or_key: Period | str) -> Period:
    return period_or_key if isinstance(period_or_key, Period) else period(period_or_key)


def periods_holding(day: date) -> tuple[str, str]:
    """The quarter and the year a business date is in, narrowest first: a unit's pool for the quarter
    serves a grant before its pool for the year."""
    return f"{day.year}-Q{(day.month - 1) // 3 + 1}", str(day.year)


def slices(of: Period, granularity: Granularity) -> list[tuple[date, date]]:
    """The plan's slices of the period, first and last day of each, in order."""
    found: list[tuple[date, date]] = []
    start = of.first
    while start <= of.last:
        if granularity == "week":
            end = min(start + timedelta(days=6), of.last)
        else:
            end = min(date(start.year, start.month, calendar.monthrange(start.year, start.month)[1]), of.last)
        found.append((start, end))
        start = end + timedelta(days=1)
    return found


@dataclass(frozen=True)
class Plan:
    granularity: Granularity
    shape: Shape
    weights: tuple[int, ...] = ()  # custom only: one per slice
    tolerancePercent: int = 0

    def weights_for(self, of: Period) -> list[int]:
        n = len(slices(of, self.granularity))
        if self.shape == "even":
            return [1] * n
        if self.shape == "front_loaded":
            return list(range(n, 0, -1))
        if len(self.weights) != n:
            raise ValueError(f"a custom plan of {of.key} by {self.granularity} has {n} weights, not {len(self.weights)}")
        if any(w < 0 for w in self.weights) or sum(self.weights) <= 0:
            raise ValueError("custom weights are non-negative and not all zero")
        return list(self.weights)


def check(plan: Plan, period_key: Period | str) -> None:
    """The plan fits the period (ValueError otherwise)."""
    plan.weights_for(_of(period_key))
    if not 0 <= plan.tolerancePercent <= 100:
        raise ValueError("the tolerance is 0 to 100 percent")


def _begun(plan: Plan, of: Period, day: date) -> tuple[int, int]:
    """(the weights of the slices begun by `day`, all the weights)."""
    weights = plan.weights_for(of)
    begun = sum(w for (first, _), w in zip(slices(of, plan.granularity), weights, strict=True) if first <= day)
    return begun, sum(weights)


def plan_to_date(allocation: int, plan: Plan | None, period_key: Period | str, day: date) -> int:
    """What the plan means to have been spent by the end of `day` (no tolerance); the allocation
    without a plan."""
    if plan is None or allocation <= 0:
        return max(allocation, 0)
    of = _of(period_key)
    if day > of.last:
        return allocation
    begun, total = _begun(plan, of, day)
    return allocation * begun // total


def allowance(allocation: int, plan: Plan | None, period_key: Period | str, day: date) -> int:
    """The running allowance at `day`: what may have been spent by its end (tolerance included),
    never more than the allocation; the allocation itself without a plan."""
    if plan is None or allocation <= 0:
        return max(allocation, 0)
    of = _of(period_key)
    if day > of.last:
        return allocation
    begun, total = _begun(plan, of, day)
    return min(allocation, allocation * begun * (100 + plan.tolerancePercent) // (total * 100))


def drift(allocation: int, plan: Plan | None, period_key: Period | str, day: date, spent: int, threshold_percent: int) -> Direction | None:
    """`ahead` when spend runs past the plan to date by more than `threshold_percent` of it,
    `behind` when it lags it by more than that share (only once the plan means something to be
    spent); None otherwise, or without a plan."""
    if plan is None:
        return None
    planned = plan_to_date(allocation, plan, period_key, day)
    if planned <= 0:
        return None
    if spent * 100 > planned * (100 + threshold_percent):
        return "ahead"
    if spent * 100 < planned * (100 - threshold_percent):
        return "behind"
    return None


class PacingPlan(BaseModel):
    """A plan as the API takes and answers it (a pool's or a campaign budget's)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    granularity: Literal["week", "month"] = Field(description="Months of the period, or 7-day slices from its first day.")
    shape: Literal["even", "front_loaded", "custom"] = Field(description="`even`: every slice alike; `front_loaded`: n, n-1, ..., 1; "
                                                                        "`custom`: `weights`, one per slice.")
    weights: Annotated[list[Annotated[StrictInt, Field(ge=0)]], Field(max_length=60)] = Field(default_factory=list)
    tolerancePercent: Annotated[StrictInt, Field(ge=0, le=100)] = Field(default=0, description="Spend may run this far past the plan to date.")

    def plan(self) -> Plan:
        return Plan(self.granularity, self.shape, tuple(self.weights), self.tolerancePercent)

    @classmethod
    def of(cls, plan: Plan) -> PacingPlan:
        return cls(granularity=plan.granularity, shape=plan.shape, weights=list(plan.weights), tolerancePercent=plan.tolerancePercent)
