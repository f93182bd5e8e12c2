"""What every consumer that parks events before the profile shares (loyalty.core.parking), pure with
in-memory pages: when a parked event is stale, the sweep index's key, and the sweep, which applies
what a profile's own event missed and reports what waits too long."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from loyalty.core import parking

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Event:
    customerId: str
    occurrence: str
    parkedAt: str
    detailType: str = "CardTransactionPosted"
    occurredAt: str = "2026-11-01T00:00:00.000000Z"


@pytest.fixture
def metrics(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    counted: dict[str, int] = {}
    monkeypatch.setattr(parking, "count", lambda name, value=1: counted.__setitem__(name, counted.get(name, 0) + value))
    return counted


def test_an_event_parked_longer_than_the_report_limit_is_stale() -> None:
    # Given the limit of 7 days
    exactly = Event("c-1", "a", parkedAt="2026-11-16T04:00:00.000000Z")
    older = Event("c-1", "b", parkedAt="2026-11-16T03:59:59.999999Z")
    # Then one parked more than 7 days ago is stale; one parked exactly 7 days ago is not yet
    assert parking.is_stale(older, NOW, 7) and not parking.is_stale(exactly, NOW, 7)
    # And a sweep's report counts every one waiting and names the stale ones
    report = parking.SweepReport()
    for waiting in (exactly, older):
        report.still_waiting(waiting, NOW, 7)
    assert (report.waiting, report.stale, report.oldest_parked_at) == (2, 1, older.parkedAt)
    assert report.examples == [{"customerId": "c-1", "detailType": "CardTransactionPosted", "occurrence": "b", "parkedAt": older.parkedAt}]


def test_the_sweep_leaves_events_parked_moments_ago_to_their_profile_s_own_event() -> None:
    assert parking.settled_before(NOW) == "2026-11-23T03:50:00.000000Z"
    assert parking.index_sort_key(Event("c-1", "tx-1", "2026-11-23T04:00:00.000000Z")) == "2026-11-23T04:00:00.000000Z#c-1#tx-1"


def test_parked_events_are_applied_in_the_order_they_occurred_ties_by_occurrence() -> None:
    late, early = Event("c-1", "b", "p", occurredAt="2026-11-22"), Event("c-1", "z", "p", occurredAt="2026-11-20")
    tie = Event("c-1", "a", "p", occurredAt="2026-11-22")
    assert [e.occurrence for e in parking.in_order([late, early, tie])] == ["z", "a", "b"]


def test_a_customer_s_bucket_and_the_ttl_are_stable() -> None:
    assert parking.bucket("c-1") == parking.bucket("c-1") and 0 <= parking.bucket("c-1") < parking.BUCKETS
    assert parking.expires_at(NOW, 30) == int(NOW.timestamp()) + 30 * 86400


def test_the_sweep_applies_customers_whose_profile_came_and_reports_the_others(metrics: dict[str, int]) -> None:
    # Given events parked in the index: c-1's profile has come since, c-2's never did (8 days), c-3's
    # is 2 days old, and c-4's was parked a minute ago (left to its profile's own event)
    parked = [Event("c-1", "tx-1", "2026-11-15T00:00:00.000000Z"), Event("c-1", "tx-2", "2026-11-15T00:00:01.000000Z"),
              Event("c-2", "tx-3", "2026-11-15T00:00:00.000000Z"), Event("c-3", "tx-4", "2026-11-21T00:00:00.000000Z"),
              Event("c-4", "tx-5", "2026-11-23T03:59:00.000000Z")]
    drained: list[str] = []

    def parked_before(number: int, before: str, limit: int, cursor: dict[str, Any] | None) -> tuple[list[Event], dict[str, Any] | None]:
        found = sorted((e for e in parked if parking.bucket(e.customerId) == number and parking.index_sort_key(e) < before),
                       key=parking.index_sort_key)
        start = int((cursor or {}).get("n", 0))
        return found[start:start + limit], {"n": start + limit} if start + limit < len(found) else None

    def drain(customer: str) -> int:
        drained.append(customer)
        return sum(1 for e in parked if e.customerId == customer)

    consumer = parking.Sweep("Test", parked_before, lambda ids: {i for i in ids if i == "c-1"}, drain)
    # When the sweep runs, in pages of one
    report = parking.sweep(consumer, NOW, report_days=7, page_size=1)
    # Then c-1's events are applied (once per page that finds them: draining twice changes nothing)
    assert set(drained) == {"c-1"} and report.applied >= 2
    # And c-2's is stale, c-3's waits, c-4's is not looked at
    assert (report.waiting, report.stale) == (2, 1) and [e["customerId"] for e in report.examples] == ["c-2"]
    assert metrics == {"TestParkedEventsWaiting": 2, "TestParkedEventsStale": 1}
