"""The events scoring listens to, reduced to feature events (pure: no AWS).

Bank events (`bank.core`, ../shared/EVENTS.md) and the engine's own (coupons, points, campaigns). Each
model reads only what scoring needs and ignores unknown fields, so the contracts can grow. The
business date of an event is its own time (postedAt, changedAt, ...) in the bank's time zone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StringConstraints

from loyalty.core.clock import business_date
from loyalty.core.money import MinorUnits
from loyalty.scoring.features import Activity, AumFigure, FeatureEvent, ProductOpened

Key = Annotated[str, StringConstraints(min_length=1, max_length=128)]
# deviceHash / phoneHash as the bank sends them (events/schemas/inbound: 16 to 128 characters). Kept
# out of reprs: they are only keyed (loyalty.scoring.identities) and never stored or logged as is.
BankHash = Annotated[str | None, StringConstraints(min_length=16, max_length=128), Field(default=None, repr=False)]


class Inbound(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    customerId: Key


class CardTransactionPosted(Inbound):
    amountMinor: MinorUnits
    postedAt: AwareDatetime


class DepositBalanceChanged(Inbound):
    balanceMinor: MinorUnits
    previousBalanceMinor: MinorUnits
    changedAt: AwareDatetime


class LoginCompleted(Inbound):
    loggedInAt: AwareDatetime
    deviceHash: BankHash


class AccountOpened(Inbound):
    productCode: Key
    openedAt: AwareDatetime
    deviceHash: BankHash
    phoneHash: BankHash


class MonthlyAumComputed(Inbound):
    month: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    averageAumMinor: MinorUnits


class EngineEvent(Inbound):
    """The engine's own events all carry `occurredAt` (loyalty.core.outbox)."""

    occurredAt: AwareDatetime | None = None


class CouponEvent(EngineEvent):
    source: str | None = None  # how the coupon was issued: "claim" is the customer's own claim
    campaignId: Key | None = None
    bundleId: Key | None = None  # a part of a bundle (礼包): one claim issues every part


def occurrence_of(detail_type: str, detail: Inbound, occurrence: str) -> str:
    """The occurrence scoring counts once: a bundle's parts are issued by one claim, so they share
    one (the first part counts, the others find it applied); anything else is the event's own."""
    if detail_type == "CouponIssued" and isinstance(detail, CouponEvent) and detail.bundleId:
        return f"CouponIssued:bundle:{detail.bundleId}"
    return occurrence


class PointsEarned(EngineEvent):
    points: Annotated[StrictInt, Field(ge=0)]


class RewardGranted(EngineEvent):
    campaignId: Key | None = None
    arm: str | None = None  # "control": would have received, and got nothing: not an offer


class ProfileChanged(Inbound):
    """CustomerProfileChanged (bank.core), TierChanged (loyalty.points) or CustomerTagsChanged
    (loyalty.customers): nothing for the features, but segments read the profile, so the customer is
    re-scored once the profile shows the change."""

    changedAt: AwareDatetime
    deviceHash: BankHash  # CustomerProfileChanged only
    phoneHash: BankHash


PROFILE_EVENTS = ("CustomerProfileChanged", "TierChanged", "CustomerTagsChanged")

DETAIL_MODELS: dict[str, type[Inbound]] = {
    "CustomerProfileChanged": ProfileChanged,
    "TierChanged": ProfileChanged,
    "CustomerTagsChanged": ProfileChanged,
    "CardTransactionPosted": CardTransactionPosted,
    "DepositBalanceChanged": DepositBalanceChanged,
    "LoginCompleted": LoginCompleted,
    "AccountOpened": AccountOpened,
    "MonthlyAumComputed": MonthlyAumComputed,
    "CouponIssued": CouponEvent,
    "CouponRedeemed": CouponEvent,
    "PointsEarned": PointsEarned,
    "RewardGranted": RewardGranted,
}


# An event's business date may run a day ahead of the bank's (a clock, a time zone at a day's edge);
# one dated further ahead is malformed: counting it would make it the newest day, push a customer's
# real history out of the windows, and score them as of that future day.
DAYS_AHEAD_ACCEPTED = 1


def dated_ahead(found: list[FeatureEvent], today: date) -> date | None:
    """The date of the first feature event dated after what is accepted, if any."""
    limit = today + timedelta(days=DAYS_AHEAD_ACCEPTED)
    for event in found:
        day = event.day if not isinstance(event, AumFigure) else date.fromisoformat(f"{event.month}-01")
        if day > limit:
            return day
    return None


def _day(at: datetime | None, fallback: datetime | None, zone: ZoneInfo) -> date:
    instant = at or fallback
    if instant is None:
        raise ValueError("the event carries no time")
    return business_date(instant, zone)


def feature_events(detail_type: str, detail: Inbound, event_id: str, sent_at: datetime | None, zone: ZoneInfo) -> list[FeatureEvent]:
    """What the event adds to the customer's features; empty when it adds nothing (a withdrawal, a
    coupon granted rather than claimed). One event can count twice (a campaign coupon redeemed is a
    redemption and a campaign response), each under its own derived id."""
    mapper = _MAPPERS[detail_type]
    return mapper(detail, event_id, sent_at, zone)


def _card(d: Any, eid: str, sent: datetime | None, zone: ZoneInfo) -> list[FeatureEvent]:
    return [Activity(kind="card_spend", eventId=eid, day=_day(d.postedAt, sent, zone), amountMinor=d.amountMinor)]


def _deposit(d: Any, eid: str, sent: datetime | None, zone: ZoneInfo) -> list[FeatureEvent]:
    # A deposit is money in: a balance that went up, by how much. A withdrawal is not a deposit.
    increase = d.balanceMinor - d.previousBalanceMinor
    if increase <= 0:
        return []
    return [Activity(kind="deposit", eventId=eid, day=_day(d.changedAt, sent, zone), amountMinor=increase)]


def _login(d: Any, eid: str, sent: datetime | None, zone: ZoneInfo) -> list[FeatureEvent]:
    return [Activity(kind="login", eventId=eid, day=_day(d.loggedInAt, sent, zone))]


def _opened(d: Any, eid: str, sent: datetime | None, zone: ZoneInfo) -> list[FeatureEvent]:
    return [ProductOpened(kind="product_opened", eventId=eid, day=_day(d.openedAt, sent, zone), productCode=d.productCode)]


def _aum(d: Any, eid: str, sent: datetime | None, zone: ZoneInfo) -> list[FeatureEvent]:
    return [AumFigure(kind="aum_month", eventId=eid, month=d.month, averageAumMinor=d.averageAumMinor)]


def _issued(d: Any, eid: str, sent: datetime | None, zone: ZoneInfo) -> list[FeatureEvent]:
    # Claim velocity counts the customer's own claims; campaign grants count as offers (RewardGranted).
    if d.source != "claim":
        return []
    return [Activity(kind="coupon_claim", eventId=eid, day=_day(d.occurredAt, sent, zone))]


def _redeemed(d: Any, eid: str, sent: datetime | None, zone: ZoneInfo) -> list[FeatureEvent]:
    day = _day(d.occurredAt, sent, zone)
    found: list[FeatureEvent] = [Activity(kind="coupon_redemption", eventId=eid, day=day)]
    if d.campaignId:
        found.append(Activity(kind="campaign_response", eventId=f"{eid}#response", day=day))
    return found


def _points(d: Any, eid: str, sent: datetime | None, zone: ZoneInfo) -> list[FeatureEvent]:
    return [Activity(kind="points_activity", eventId=eid, day=_day(d.occurredAt, sent, zone), amountMinor=d.points)]


def _reward(d: Any, eid: str, sent: datetime | None, zone: ZoneInfo) -> list[FeatureEvent]:
    if d.arm == "control":
        return []
    return [Activity(kind="campaign_offer", eventId=eid, day=_day(d.occurredAt, sent, zone))]


def _nothing(d: Any, eid: str, sent: datetime | None, zone: ZoneInfo) -> list[FeatureEvent]:
    return []


_MAPPERS: dict[str, Callable[[Any, str, datetime | None, ZoneInfo], list[FeatureEvent]]] = {
    "CustomerProfileChanged": _nothing,
    "TierChanged": _nothing,
    "CustomerTagsChanged": _nothing,
    "CardTransactionPosted": _card,
    "DepositBalanceChanged": _deposit,
    "LoginCompleted": _login,
    "AccountOpened": _opened,
    "MonthlyAumComputed": _aum,
    "CouponIssued": _issued,
    "CouponRedeemed": _redeemed,
    "PointsEarned": _points,
    "RewardGranted": _reward,
}
