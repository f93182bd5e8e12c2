"""Events that arrive before their customer's profile: what every consumer that parks them shares.

Core banking may publish a customer's events before their first `CustomerProfileChanged`. A consumer
that needs the profile **parks** such an event in its own table (scoring: `loyalty.scoring.parking`;
campaigns: `loyalty.campaigns.parking`) and applies it when the profile arrives. Each keeps what it
reads of the event; the rest is here: the order parked events are applied in, when one is stale, the
index key the hourly sweep reads, and the sweep itself, which applies what a profile's own event
missed and reports (metric, log, alarm) what waits too long. docs/scoring.md, "Events before the
profile".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from loyalty.core.clock import iso_utc
from loyalty.core.observability import count, logger

# The parked events a sweep leaves alone: younger ones are the normal case, applied by the profile's
# own event within seconds; the sweep applies older ones whose profile has arrived (a missed trigger).
SETTLE = timedelta(minutes=10)
STALE_EXAMPLES = 20  # stale events a sweep names in its log (it counts them all)
BUCKETS = 16  # the sweep's index partitions: "parked before t" is one key condition per bucket


class Parked(Protocol):
    """What the shared parts read of a parked event (each consumer's own type has more)."""

    @property
    def customerId(self) -> str: ...

    @property
    def occurrence(self) -> str: ...  # the source event's occurrence: the parking's idempotency key

    @property
    def detailType(self) -> str: ...

    @property
    def occurredAt(self) -> str: ...  # fixed-width ISO UTC: compares as text

    @property
    def parkedAt(self) -> str: ...


P = TypeVar("P", bound=Parked)
Cursor = dict[str, Any] | None


def bucket(customer_id: str) -> int:
    """The sweep's index partition of a customer's parked events."""
    return int(hashlib.sha256(customer_id.encode()).hexdigest()[:8], 16) % BUCKETS


def expires_at(now: datetime, keep_days: int) -> int:
    """The table's TTL (epoch seconds): `keep_days` after parking."""
    return int((now + timedelta(days=keep_days)).timestamp())


def in_order(events: Iterable[P]) -> list[P]:
    """The order they are applied in: as they occurred (ties by occurrence, so always the same)."""
    return sorted(events, key=lambda e: (e.occurredAt, e.occurrence))


def reported_after(now: datetime, report_days: int) -> str:
    """Events parked before this instant (ISO UTC) are stale: reported and alarmed."""
    return iso_utc(now - timedelta(days=report_days))


def is_stale(event: Parked, now: datetime, report_days: int) -> bool:
    return event.parkedAt < reported_after(now, report_days)


def settled_before(now: datetime) -> str:
    """The sweep looks at events parked before this instant only (see SETTLE)."""
    return iso_utc(now - SETTLE)


def index_sort_key(event: Parked) -> str:
    """The sweep index's sort key: parked time first, so "parked before t" is one key condition."""
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

    def still_waiting(self, event: Parked, now: datetime, report_days: int) -> None:
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


@dataclass(frozen=True)
class Sweep:
    """One consumer's sweep: `parked_before(bucket, before, limit, cursor)` pages a bucket's events
    parked before an instant; `with_profile(ids)` answers which of these customers have a profile now;
    `drain(customer)` applies a customer's parked events and answers how many it applied. Its metrics
    are `<metrics>ParkedEventsWaiting` and `<metrics>ParkedEventsStale` (the one alarmed)."""

    metrics: str
    parked_before: Callable[[int, str, int, Cursor], tuple[Sequence[Parked], Cursor]]
    with_profile: Callable[[list[str]], set[str]]
    drain: Callable[[str], int]


def sweep(consumer: Sweep, now: datetime, report_days: int, page_size: int = 100) -> SweepReport:
    """Bucket by bucket, the events parked more than SETTLE ago: those whose customer now has a profile
    are applied (their profile's event normally does it within seconds: this catches one that did
    not); the others are counted, and those parked longer than `report_days` are stale: counted in the
    alarmed metric and named in a warning. None is deleted here: the table's TTL does, later, so a
    stale event is reported every hour for days first, and applied if its profile comes meanwhile."""
    report = SweepReport()
    before = settled_before(now)
    for number in range(BUCKETS):
        cursor: Cursor = None
        while True:
            events, cursor = consumer.parked_before(number, before, page_size, cursor)
            known = consumer.with_profile(sorted({e.customerId for e in events})) if events else set()
            for customer in sorted(known):
                report.applied += consumer.drain(customer)
                report.customers_applied += 1
            for event in events:
                if event.customerId not in known:
                    report.still_waiting(event, now, report_days)
            if cursor is None:
                break
    count(f"{consumer.metrics}ParkedEventsWaiting", report.waiting)
    count(f"{consumer.metrics}ParkedEventsStale", report.stale)
    if report.stale:
        logger.warning(f"events parked longer than {report_days} days: their customers' profiles never arrived",
                       extra={**report.as_dict(), "examples": report.examples, "consumer": consumer.metrics})
    return report
