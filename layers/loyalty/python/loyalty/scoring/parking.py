"""Events that arrive before their customer's profile (pure: no AWS).

Core banking often publishes `AccountOpened` before the customer's first `CustomerProfileChanged`, and
a customer may claim a coupon before their profile arrives. That is a normal order, not poison: such
an event is **parked** in the scoring table and applied when the profile arrives (scoring consumes
`CustomerProfileChanged` too), in the order the events occurred, each once by its source event's
marker, as if it had come after the profile. The decisions are here, with what every consumer that
parks shares in `loyalty.core.parking` (order, staleness, the sweep); the items are
`items.ParkedEventItem`, written and read by the store (`store_parking.py`); the use cases are in
`service.py` (`ingest`, `drain`, `sweep`). docs/scoring.md, "Events before the profile".

What is kept of an event is what scoring reads of it (its inbound model's fields) and the bank's
device and phone hashes already keyed: a parked event holds nothing a scored one would not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from loyalty.core.clock import iso_utc
from loyalty.core.parking import expires_at, in_order
from loyalty.scoring import inbound

# What to do with an event, given what the customers port says of its customer:
# apply          the profile exists: score it now
# park           no profile yet: keep it until the profile arrives
# await_profile  a CustomerProfileChanged whose profile customers-ingest has not stored yet: it is
#                the profile arriving (through its own queue), so it is retried, not parked
# keep           a parked event being applied while there is still no profile: it stays parked
# drop           an erased customer (PIPL): nothing is derived about them again
Decision = Literal["apply", "park", "await_profile", "keep", "drop"]

# The event's own time, by the first of these fields it carries (else the envelope's time).
_OWN_TIME = ("postedAt", "changedAt", "loggedInAt", "openedAt", "occurredAt")
_RAW_HASHES = frozenset({"deviceHash", "phoneHash"})  # as the bank sent them: never stored


def decide(detail_type: str, *, has_profile: bool, erased: bool = False, drained: bool = False) -> Decision:
    if has_profile:
        return "drop" if erased else "apply"
    if detail_type == "CustomerProfileChanged":
        return "await_profile"
    return "keep" if drained else "park"


@dataclass(frozen=True)
class ParkedEvent:
    """One parked event, as the store keeps it (`items.ParkedEventItem`)."""

    customerId: str
    occurrence: str  # the source event's occurrence: the idempotency key of its parking and of its scoring
    detailType: str
    detail: dict[str, Any]  # the inbound model's fields, JSON-ready, without the raw hashes
    occurredAt: str  # fixed-width ISO UTC (core.clock.iso_utc): compares as text
    parkedAt: str
    expiresAt: int  # epoch seconds: the table's TTL
    sentAt: str | None = None
    identities: dict[str, str] = field(default_factory=dict)  # keyed hash -> device | phone

    def model(self) -> inbound.Inbound:
        """The detail as the ingest reads it (validated again: it was valid when parked)."""
        return inbound.DETAIL_MODELS[self.detailType].model_validate(self.detail)

    def sent_at(self) -> datetime | None:
        return datetime.fromisoformat(self.sentAt.replace("Z", "+00:00")) if self.sentAt else None


def occurred_at(detail: inbound.Inbound, sent_at: datetime | None, now: datetime) -> datetime:
    """When the event happened: its own time field, else when it was sent, else now."""
    for name in _OWN_TIME:
        value = getattr(detail, name, None)
        if isinstance(value, datetime):
            return value
    return sent_at or now


def parked(detail_type: str, detail: inbound.Inbound, occurrence: str, sent_at: datetime | None, identities: Mapping[str, str],
           now: datetime, keep_days: int) -> ParkedEvent:
    """The event as it is parked: keyed identities only, and a TTL `keep_days` after now."""
    kept = detail.model_dump(mode="json", exclude=set(_RAW_HASHES), exclude_none=True)
    return ParkedEvent(
        customerId=detail.customerId, occurrence=occurrence, detailType=detail_type, detail=kept,
        occurredAt=iso_utc(occurred_at(detail, sent_at, now)), parkedAt=iso_utc(now),
        expiresAt=expires_at(now, keep_days), sentAt=iso_utc(sent_at) if sent_at else None,
        identities=dict(identities),
    )


def around(events: Iterable[ParkedEvent], changed_at: datetime) -> tuple[list[ParkedEvent], list[ParkedEvent]]:
    """(those that occurred up to the profile snapshot's `changedAt`, those after), each in order: the
    snapshot takes its place among them (a phone it names retires an earlier account opening's)."""
    at = iso_utc(changed_at)
    ordered = in_order(events)
    return [e for e in ordered if e.occurredAt <= at], [e for e in ordered if e.occurredAt > at]
