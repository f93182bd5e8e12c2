"""Events that arrive before their customer's profile (pure: no AWS).

Core banking often publishes `AccountOpened` before the customer's first `CustomerProfileChanged`, and
a customer may claim a coupon before their profile arrives. That is a normal order, not poison: such
an event is **parked** in the scoring table and applied when the profile arrives (scoring consumes
`CustomerProfileChanged` too), in the order the events occurred, each once by its source event's
marker, as if it had come after the profile. The decisions are here; the items are
`items.ParkedEventItem`, written and read by the store (`store_parking.py`); the use cases are in
`service.py` (`ingest`, `drain`, `sweep`). docs/scoring.md, "Events before the profile".

What is kept of an event is what scoring reads of it (its inbound model's fields) and the bank's
device and phone hashes already keyed: a parked event holds nothing a scored one would not.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from loyalty.core.clock import iso_utc
from loyalty.scoring import inbound

# What to do with an event, given what the customers port says of its customer:
# apply          the profile exists: score it now
# park           no profile yet: keep it until the profile arrives
# await_profile  a CustomerProfileChanged whose profile customers-ingest has not stored yet: it is
#                the profile arriving (through its own queue), so it is retried, not parked
# keep           a parked event being applied while there is still no profile: it stays parked
# drop           an erased customer (PIPL): nothing is derived about them again
Decision = Literal["apply", "park", "await_profile", "keep", "drop"]

# The parked events the sweep leaves alone: younger ones are the normal case, applied by the profile's
# own event within seconds; the sweep applies older ones whose profile has arrived (a missed trigger).
SETTLE = timedelta(minutes=10)

# The event's own time, by the first of these fields it carries (else the envelope's time).
_OWN_TIME = ("postedAt", "changedAt", "loggedInAt", "openedAt", "occurredAt")
_RAW_HASHES = frozenset({"deviceHash", "phoneHash"})  # as the bank sent them: never stored
STALE_EXAMPLES = 20  # stale events a sweep names in its log (it counts them all)


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
        expiresAt=int((now + timedelta(days=keep_days)).timestamp()), sentAt=iso_utc(sent_at) if sent_at else None,
        identities=dict(identities),
    )


def in_order(events: Iterable[ParkedEvent]) -> list[ParkedEvent]:
    """The order they are applied in: as they occurred (ties by occurrence, so always the same)."""
    return sorted(events, key=lambda e: (e.occurredAt, e.occurrence))


def around(events: Iterable[ParkedEvent], changed_at: datetime) -> tuple[list[ParkedEvent], list[ParkedEvent]]:
    """(those that occurred up to the profile snapshot's `changedAt`, those after), each in order: the
    snapshot takes its place among them (a phone it names retires an earlier account opening's)."""
    at = iso_utc(changed_at)
    ordered = in_order(events)
    return [e for e in ordered if e.occurredAt <= at], [e for e in ordered if e.occurredAt > at]


def reported_after(now: datetime, report_days: int) -> str:
    """Events parked before this instant (ISO UTC) are stale: reported and alarmed."""
    return iso_utc(now - timedelta(days=report_days))


def is_stale(event: ParkedEvent, now: datetime, report_days: int) -> bool:
    return event.parkedAt < reported_after(now, report_days)


def settled_before(now: datetime) -> str:
    """The sweep looks at events parked before this instant only (see SETTLE)."""
    return iso_utc(now - SETTLE)


def index_sort_key(event: ParkedEvent) -> str:
    """gsi1's sort key: parked time first, so "parked before t" is one key condition."""
    return f"{event.parkedAt}#{event.customerId}#{event.occurrence}"


def to_json(detail: Mapping[str, Any]) -> str:
    return json.dumps(detail, sort_keys=True, separators=(",", ":"))


@dataclass
class SweepReport:
    """What a sweep found: events still waiting for a profile (`waiting`), the stale ones among
    them (`stale`, a few listed in `examples`), and those applied because their profile had come."""

    waiting: int = 0
    stale: int = 0
    applied: int = 0
    customers_applied: int = 0
    oldest_parked_at: str | None = None
    examples: list[dict[str, str]] = field(default_factory=list)

    def still_waiting(self, event: ParkedEvent, now: datetime, report_days: int) -> None:
        self.waiting += 1
        if self.oldest_parked_at is None or event.parkedAt < self.oldest_parked_at:
            self.oldest_parked_at = event.parkedAt
        if is_stale(event, now, report_days):
            self.stale += 1
            if len(self.examples) < STALE_EXAMPLES:
                self.examples.append({"customerId": event.customerId, "detailType": event.detailType,
                                      "occurrence": event.occurrence, "parkedAt": event.parkedAt})

    def as_dict(self) -> dict[str, Any]:
        return {"waiting": self.waiting, "stale": self.stale, "applied": self.applied, "customersApplied": self.customers_applied,
                "oldestParkedAt": self.oldest_parked_at}
