"""Per-customer features kept current from events: daily buckets by business date, windows summed from them.

A window is the N business days ending at the as-of date, inclusive: [as_of - N + 1, as_of]. It is a
sum of whole days, so it is exact at its edges whatever order the events arrive in, and the state
stays bounded: buckets older than the 365 days ending at the newest bucket are dropped. Dates are
business dates in the bank's time zone (the caller converts); money is integer minor units.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from loyalty.core.money import MinorUnits

RETENTION_DAYS = 365  # the longest window; a bucket older than this, counted from the newest one, is dropped
RECENT_IDS = 64  # event ids remembered to drop an immediate redelivery; the caller's idempotency is the guarantee
AUM_MONTHS = 3  # the trend is over the three months ending at the newest figure

Key = Annotated[str, StringConstraints(min_length=1, max_length=128)]
Month = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
ActivityKind = Literal[
    "card_spend",
    "deposit",
    "login",
    "coupon_claim",
    "coupon_redemption",
    "points_activity",
    "campaign_offer",
    "campaign_response",
]
TRANSACTION_KINDS = ("card_spend", "deposit")  # what recency, frequency and monetary count


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Activity(Strict):
    """An event reduced to what a bucket counts. `amountMinor` is money for card spend and deposits,
    points for points activity, and 0 for the kinds that are only counted."""

    kind: ActivityKind
    eventId: Key
    day: date
    amountMinor: MinorUnits = 0


class AumFigure(Strict):
    """MonthlyAumComputed: a month's average AUM. A figure published again for a month replaces it."""

    kind: Literal["aum_month"]
    eventId: Key
    month: Month
    averageAumMinor: MinorUnits


class ProductOpened(Strict):
    """AccountOpened. No closing event exists yet, so the products held are the product codes opened."""

    kind: Literal["product_opened"]
    eventId: Key
    day: date
    productCode: Key


FeatureEvent = Annotated[Activity | AumFigure | ProductOpened, Field(discriminator="kind")]


class Tally(Strict):
    count: Annotated[StrictInt, Field(ge=0)] = 0
    amountMinor: MinorUnits = 0


class FeatureState(Strict):
    """What a customer's feature item holds; `model_dump(mode="json")` is a DynamoDB-friendly map."""

    latestDay: date | None = None  # the newest bucket: retention and window validity count from it
    days: dict[date, dict[ActivityKind, Tally]] = Field(default_factory=dict)
    aumByMonth: dict[Month, MinorUnits] = Field(default_factory=dict)  # the AUM_MONTHS newest months
    products: tuple[Key, ...] = ()  # sorted, distinct
    onboardedOn: date | None = None  # the day of the first product
    recentEventIds: tuple[Key, ...] = ()


def apply(state: FeatureState, event: FeatureEvent) -> FeatureState:
    """The state after `event`; the same state for an event id among the last RECENT_IDS, or for an
    activity older than the retained days (no window that `window` accepts could contain it)."""
    if event.eventId in state.recentEventIds:
        return state
    ids = (*state.recentEventIds, event.eventId)[-RECENT_IDS:]
    if isinstance(event, AumFigure):
        months = sorted({**state.aumByMonth, event.month: event.averageAumMinor}.items())
        return state.model_copy(update={"aumByMonth": dict(months[-AUM_MONTHS:]), "recentEventIds": ids})
    if isinstance(event, ProductOpened):
        onboarded = event.day if state.onboardedOn is None else min(state.onboardedOn, event.day)
        products = tuple(sorted({*state.products, event.productCode}))
        return state.model_copy(update={"products": products, "onboardedOn": onboarded, "recentEventIds": ids})
    latest = event.day if state.latestDay is None else max(state.latestDay, event.day)
    first_kept = latest - timedelta(days=RETENTION_DAYS - 1)
    if event.day < first_kept:
        return state
    days = state.days if latest == state.latestDay else {d: b for d, b in state.days.items() if d >= first_kept}
    bucket = dict(days.get(event.day, {}))
    before = bucket.get(event.kind, Tally())
    bucket[event.kind] = Tally(count=before.count + 1, amountMinor=before.amountMinor + event.amountMinor)
    return state.model_copy(update={"latestDay": latest, "days": {**days, event.day: bucket}, "recentEventIds": ids})


@dataclass(frozen=True)
class Window:
    """Sums over the business days [as_of - days + 1, as_of], per kind."""

    as_of: date
    days: int
    counts: dict[str, int]
    amounts: dict[str, int]
    last_days: dict[str, date]  # per kind present, its newest day in the window

    def count(self, *kinds: str) -> int:
        return sum(self.counts.get(k, 0) for k in kinds)

    def amount(self, *kinds: str) -> int:
        return sum(self.amounts.get(k, 0) for k in kinds)

    def recency(self, *kinds: str) -> int:
        """Days from the newest of these kinds to as_of (0 = on the day); `days` when none is in the window."""
        last = max((self.last_days[k] for k in kinds if k in self.last_days), default=None)
        return self.days if last is None else (self.as_of - last).days


def window(state: FeatureState, as_of: date, days: int) -> Window:
    """Exact as long as the window starts within the retained days, i.e. as_of >= latestDay - 365 + days;
    earlier as-of dates are refused (their buckets may be gone). Buckets after as_of are left out."""
    if not 1 <= days <= RETENTION_DAYS:
        raise ValueError(f"a window is 1 to {RETENTION_DAYS} days, not {days}")
    start = as_of - timedelta(days=days - 1)
    if state.latestDay is not None and start < state.latestDay - timedelta(days=RETENTION_DAYS - 1):
        raise ValueError(f"a {days}-day window to {as_of} starts before the {RETENTION_DAYS} days kept to {state.latestDay}")
    counts: dict[str, int] = {}
    amounts: dict[str, int] = {}
    last_days: dict[str, date] = {}
    for day, bucket in state.days.items():
        if start <= day <= as_of:
            for kind, tally in bucket.items():
                counts[kind] = counts.get(kind, 0) + tally.count
                amounts[kind] = amounts.get(kind, 0) + tally.amountMinor
                last_days[kind] = max(day, last_days.get(kind, day))
    return Window(as_of, days, counts, amounts, last_days)


FeatureName = Literal[
    "recency30", "frequency30", "monetary30Minor", "recency90", "frequency90", "monetary90Minor",
    "recency365", "frequency365", "monetary365Minor", "logins30", "daysSinceLastLogin", "couponClaims7",
    "couponClaims30", "couponRedemptions90", "pointsEvents90", "campaignResponseRate", "aumMinor", "aumTrend",
    "productsHeld", "daysSinceOnboarding", "sharedIdentityAccounts",
]  # fmt: skip
FLOAT_FEATURES = frozenset({"campaignResponseRate", "aumTrend"})  # the others are whole numbers


@dataclass(frozen=True, slots=True)
class CustomerFeatures:
    """The numbers the scores read; names as score models name them. A recency is `days` of its
    window when nothing happened in it; daysSinceLastLogin is 365 when no login is kept."""

    recency30: int
    frequency30: int
    monetary30Minor: int
    recency90: int
    frequency90: int
    monetary90Minor: int
    recency365: int
    frequency365: int
    monetary365Minor: int
    logins30: int
    daysSinceLastLogin: int
    couponClaims7: int
    couponClaims30: int
    couponRedemptions90: int
    pointsEvents90: int
    campaignResponseRate: float  # responses / offers over 365 days; 0 without offers
    aumMinor: int  # the newest monthly average AUM
    aumTrend: float  # least-squares slope of the 3 months ending at the newest figure, over their mean, per month
    productsHeld: int
    daysSinceOnboarding: int  # 0 before the first product: rules tell potential customers apart by productsHeld
    sharedIdentityAccounts: int  # other customers sharing a device or phone hash, from the caller's index


def aum_trend(state: FeatureState) -> float:
    """3·(y3 − y1) / (2·(y1 + y2 + y3)): one division, so the batch computes the same float. A month
    without a figure counts as 0 AUM."""
    if not state.aumByMonth:
        return 0.0
    year, month = map(int, max(state.aumByMonth).split("-"))
    index = year * 12 + month - 1
    y1, y2, y3 = (state.aumByMonth.get(f"{i // 12:04d}-{i % 12 + 1:02d}", 0) for i in range(index - 2, index + 1))
    total = y1 + y2 + y3
    return 3 * (y3 - y1) / (2 * total) if total else 0.0


def snapshot(state: FeatureState, as_of: date, shared_identity_accounts: int = 0) -> CustomerFeatures:
    """The features on `as_of`, which must not be before the newest bucket (the 365-day window's rule)."""
    w7, w30, w90, w365 = (window(state, as_of, d) for d in (7, 30, 90, RETENTION_DAYS))
    offers = w365.count("campaign_offer")
    return CustomerFeatures(
        recency30=w30.recency(*TRANSACTION_KINDS),
        frequency30=w30.count(*TRANSACTION_KINDS),
        monetary30Minor=w30.amount(*TRANSACTION_KINDS),
        recency90=w90.recency(*TRANSACTION_KINDS),
        frequency90=w90.count(*TRANSACTION_KINDS),
        monetary90Minor=w90.amount(*TRANSACTION_KINDS),
        recency365=w365.recency(*TRANSACTION_KINDS),
        frequency365=w365.count(*TRANSACTION_KINDS),
        monetary365Minor=w365.amount(*TRANSACTION_KINDS),
        logins30=w30.count("login"),
        daysSinceLastLogin=w365.recency("login"),
        couponClaims7=w7.count("coupon_claim"),
        couponClaims30=w30.count("coupon_claim"),
        couponRedemptions90=w90.count("coupon_redemption"),
        pointsEvents90=w90.count("points_activity"),
        # At most 1: a bundle from one offer, redeemed part by part, is several redemptions of one response
        campaignResponseRate=min(1.0, w365.count("campaign_response") / offers) if offers else 0.0,
        aumMinor=state.aumByMonth[max(state.aumByMonth)] if state.aumByMonth else 0,
        aumTrend=aum_trend(state),
        productsHeld=len(state.products),
        daysSinceOnboarding=max(0, (as_of - state.onboardedOn).days) if state.onboardedOn else 0,
        sharedIdentityAccounts=shared_identity_accounts,
    )
