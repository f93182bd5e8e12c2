"""The branch league table's arithmetic (docs/org-units.md, "Branch league table"): pure, no AWS.

The `org-kpis` consumer turns each event into `Contribution`s: a counter of a period (a month
`2026-11`, and its quarter `2026-Q4`) moved by an amount, once per source event, or once per
customer and period (`distinct`: the marker's sort key; a second activity of the month finds it).
`loyalty.org.kpi_store` adds them to the counters of the customer's unit and of every unit above it
in one transaction; the read turns the counters of a unit's children into rows (`row`, `ranked`).
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from loyalty.core.clock import business_date

# The head office's bucket for customers with no profile yet, no branch id, or a branch id no unit maps:
# counted at the head office and shown as a row of its league table. `~` is in no unit id.
UNASSIGNED = "~unassigned"
# Counters (and the distinct markers keyed by their period) live this many months after the end of
# their period: a month's figures can still be compared with the same month a year later, and the
# quarter's with the same quarter, for a year more.
RETENTION_MONTHS = 25
# A source event's own marker (grants, coupons): longer than a message lives on a queue (14 days) or
# a redrive takes; an event re-published later than this counts again.
EVENT_MARKER_DAYS = 35
ACTIVITY_EVENTS = ("CardTransactionPosted", "LoginCompleted")

PERIOD_PATTERN = r"^[0-9]{4}-(0[1-9]|1[0-2]|Q[1-4])$"
Key = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
BankId = Annotated[str, StringConstraints(min_length=1, max_length=64)]  # the bank events' ids (events/schemas)


# ---- periods ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    text: str
    first: date
    last: date

    @property
    def quarter(self) -> bool:
        return "Q" in self.text


def period(text: str) -> Period:
    """`2026-11` (a month) or `2026-Q4` (a quarter); ValueError otherwise."""
    if not re.match(PERIOD_PATTERN, text):
        raise ValueError(f"{text!r} is neither a month (2026-11) nor a quarter (2026-Q4)")
    year, part = int(text[:4]), text[5:]
    first_month, months = (3 * int(part[1]) - 2, 3) if part.startswith("Q") else (int(part), 1)
    last_month = first_month + months - 1
    return Period(text, date(year, first_month, 1), date(year, last_month, calendar.monthrange(year, last_month)[1]))


def month_of(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def quarter_of(day: date) -> str:
    return f"{day.year:04d}-Q{(day.month - 1) // 3 + 1}"


def previous_month(month: str) -> str:
    first = period(month).first
    return month_of(first - timedelta(days=1))


def aum_months(text: str) -> tuple[str, str]:
    """The months whose AUM a period's growth compares: (its last month, the month before it starts)."""
    found = period(text)
    return month_of(found.last), month_of(found.first - timedelta(days=1))


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def expires_at(text: str) -> int:
    """The counter's TTL (epoch seconds): `RETENTION_MONTHS` after its period ends."""
    end = _add_months(period(text).last, RETENTION_MONTHS)
    return int(datetime(end.year, end.month, end.day, tzinfo=UTC).timestamp())


def event_marker_expires(now: datetime) -> int:
    return int((now + timedelta(days=EVENT_MARKER_DAYS)).timestamp())


# ---- counters -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Counters:
    """A unit's counters for one period (customers of the unit and of every unit under it)."""

    newCustomers: int = 0  # profiles whose openedAt falls in the period, once per customer
    activeCustomers: int = 0  # customers with a card transaction or a login in the period, once each
    aumMinor: int = 0  # sum of the customers' MonthlyAumComputed averages (months only), in KPI currency
    aumCustomers: int = 0  # customers with such a figure
    grants: int = 0  # RewardGranted, control arm left out
    controlGrants: int = 0  # RewardGranted to the control arm (would have received, got nothing)
    grantCostMinor: int = 0  # cost of grants budgeted in minor units
    grantCostRewards: int = 0  # cost of grants budgeted in rewards
    couponsIssued: int = 0
    couponsRedeemed: int = 0
    # Campaign uplift: customers granted (treated) or held out (control) in the period, once each, and
    # their card spend in KPI currency after that, in the period (`requires`: their marker).
    treatedCustomers: int = 0
    controlCustomers: int = 0
    treatedSpendMinor: int = 0
    controlSpendMinor: int = 0

    @classmethod
    def of(cls, values: dict[str, object]) -> Counters:
        return cls(**{f.name: int(values.get(f.name) or 0) for f in fields(cls)})  # type: ignore[call-overload]


COUNTERS: tuple[str, ...] = tuple(f.name for f in fields(Counters))


@dataclass(frozen=True)
class Contribution:
    period: str
    counter: str
    amount: int
    distinct: str | None = None  # the customer's marker (sort key) making it count once; None: once per event
    requires: str | None = None  # a marker of the customer's that must be there already, else it is not counted


# ---- the events it reads (ignoring unknown fields, so the contracts can grow) --------------------


class _Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    customerId: Key


class ProfileChanged(_Event):
    branchId: str | None = None
    openedAt: AwareDatetime | None = None


class CardTransactionPosted(_Event):
    """The whole contract (events/schemas), though the table counts only who and when: a payment that
    breaks it is poison for every consumer alike, never counted here while refused elsewhere."""

    transactionId: BankId
    customerId: BankId
    amountMinor: Annotated[StrictInt, Field(ge=0)]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    merchantId: BankId
    mcc: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
    channel: Literal["pos", "online", "qr"]
    postedAt: AwareDatetime


class LoginCompleted(_Event):
    customerId: BankId
    channel: BankId
    loggedInAt: AwareDatetime


class MonthlyAumComputed(_Event):
    month: Month
    averageAumMinor: StrictInt
    currency: Annotated[str, StringConstraints(min_length=3, max_length=3)]


class RewardGranted(_Event):
    occurredAt: AwareDatetime
    cost: StrictInt
    budgetUnit: Literal["minor", "rewards"]
    arm: str | None = None


class CouponEvent(_Event):
    occurredAt: AwareDatetime


DETAIL_MODELS: dict[str, type[_Event]] = {
    "CustomerProfileChanged": ProfileChanged,
    "CardTransactionPosted": CardTransactionPosted,
    "LoginCompleted": LoginCompleted,
    "MonthlyAumComputed": MonthlyAumComputed,
    "RewardGranted": RewardGranted,
    "CouponIssued": CouponEvent,
    "CouponRedeemed": CouponEvent,
}


def _both(day: date, counter: str, amount: int, distinct: str | None) -> list[Contribution]:
    """The month's and the quarter's counter; a distinct marker per period (`<distinct>#<period>`),
    except `NEW` (once per customer, ever)."""
    return [Contribution(p, counter, amount, None if distinct is None else distinct if distinct == "NEW" else f"{distinct}#{p}")
            for p in (month_of(day), quarter_of(day))]


def contributions(detail_type: str, detail: BaseModel, zone: ZoneInfo, currency: str, now: datetime) -> list[Contribution]:
    """What the event adds; periods whose counters have already expired are left out (nothing to add to)."""
    found: list[Contribution] = []
    if isinstance(detail, ProfileChanged):
        if detail.openedAt is not None:
            found = _both(business_date(detail.openedAt, zone), "newCustomers", 1, "NEW")
    elif isinstance(detail, CardTransactionPosted):
        day = business_date(detail.postedAt, zone)
        found = _both(day, "activeCustomers", 1, "ACTIVE")
        if detail.currency == currency:  # spent after a grant (or a hold-out) of the period: the uplift's
            found += [Contribution(p, f"{arm}SpendMinor", detail.amountMinor, requires=f"{arm.upper()}#{p}")
                      for p in (month_of(day), quarter_of(day)) for arm in ("treated", "control")]
    elif isinstance(detail, LoginCompleted):
        found = _both(business_date(detail.loggedInAt, zone), "activeCustomers", 1, "ACTIVE")
    elif isinstance(detail, MonthlyAumComputed):
        if detail.currency == currency:
            found = [Contribution(detail.month, "aumMinor", detail.averageAumMinor, f"AUM#{detail.month}"),
                     Contribution(detail.month, "aumCustomers", 1, f"AUM#{detail.month}")]
    elif isinstance(detail, RewardGranted):
        day = business_date(detail.occurredAt, zone)
        if detail.arm == "control":
            found = _both(day, "controlGrants", 1, None) + _both(day, "controlCustomers", 1, "CONTROL")
        else:
            cost = "grantCostMinor" if detail.budgetUnit == "minor" else "grantCostRewards"
            found = _both(day, "grants", 1, None) + _both(day, cost, detail.cost, None) + _both(day, "treatedCustomers", 1, "TREATED")
    elif isinstance(detail, CouponEvent):
        counter = "couponsIssued" if detail_type == "CouponIssued" else "couponsRedeemed"
        found = _both(business_date(detail.occurredAt, zone), counter, 1, None)
    now_epoch = now.timestamp()
    return [c for c in found if expires_at(c.period) > now_epoch]


# ---- the league table ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    unitId: str
    counters: Counters
    aumMinor: int  # the period's last month
    aumPreviousMinor: int  # the month before the period
    aumGrowthMinor: int
    aumGrowthPercent: float | None  # None: nothing to grow from
    redemptionRate: float | None  # redeemed / issued in the period; None: none issued
    upliftPercent: float | None  # treated customers' spend each over control's, less 100%; None: no spend of control to compare


def ratio(numerator: int, denominator: int, digits: int = 4) -> float | None:
    return None if denominator == 0 else round(numerator / denominator, digits)


def row(unit_id: str, counters: Counters, aum_end: Counters, aum_base: Counters) -> Row:
    """A unit's row: the period's counters, and its AUM growth from the month before the period to its last month."""
    growth = aum_end.aumMinor - aum_base.aumMinor
    percent = ratio(growth * 100, aum_base.aumMinor, 2) if aum_base.aumMinor > 0 else None
    return Row(unit_id, counters, aum_end.aumMinor, aum_base.aumMinor, growth, percent, ratio(counters.couponsRedeemed, counters.couponsIssued),
               uplift_percent(counters))


def uplift_percent(c: Counters) -> float | None:
    """How much more the period's treated customers spent each than its control customers did, in
    percent of the control's: (tS / tC) / (cS / cC) - 1, as integers until the last step."""
    if c.treatedCustomers == 0 or c.controlCustomers == 0 or c.controlSpendMinor == 0:
        return None
    return round((c.treatedSpendMinor * c.controlCustomers * 100) / (c.controlSpendMinor * c.treatedCustomers) - 100, 2)


RANK_BY = ("activeCustomers", "newCustomers", "aumGrowthMinor", "grants", "grantCostMinor", "redemptionRate", "upliftPercent")


def _value(found: Row, rank_by: str) -> float:
    if rank_by in ("aumGrowthMinor", "redemptionRate", "upliftPercent"):
        value = getattr(found, rank_by)
        return float("-inf") if value is None else float(value)
    return float(getattr(found.counters, rank_by))


def ranked(rows: list[Row], rank_by: str) -> list[tuple[int, Row]]:
    """Highest first (ties share a rank, the next rank skips: 1, 1, 3), ties in unit id order."""
    ordered = sorted(rows, key=lambda r: (-_value(r, rank_by), r.unitId))
    result: list[tuple[int, Row]] = []
    for index, found in enumerate(ordered):
        same = result and _value(result[-1][1], rank_by) == _value(found, rank_by)
        result.append((result[-1][0] if same else index + 1, found))
    return result
