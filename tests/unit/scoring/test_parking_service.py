"""Events before the profile, as use cases on the in-memory store (tests/unit/scoring/fakes.py): parked
once, applied once when the profile's event comes (in the order they occurred), the race of a profile
arriving while an event is parked, and the sweep that applies what a profile's event missed and
reports what waits too long."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from loyalty.core import config_cache
from loyalty.core.errors import Conflict
from loyalty.scoring import inbound, service
from loyalty.scoring.features import FeatureState
from tests.unit.scoring.fakes import InMemoryScoringStore

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
PHONE_OLD, PHONE_NEW = "o" * 64, "n" * 64


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    config_cache.clear()
    monkeypatch.setattr(service.time, "sleep", lambda seconds: None)
    yield
    config_cache.clear()


@pytest.fixture
def metrics(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    counted: dict[str, int] = {}

    def count(name: str, value: int = 1) -> None:
        if value:
            counted[name] = counted.get(name, 0) + value

    monkeypatch.setattr(service, "count", count)
    monkeypatch.setattr("loyalty.core.parking.count", count)  # the shared sweep's
    return counted


def card(amount: int = 10_000, at: str = "2026-11-23T02:00:00Z", customer: str = "c-1") -> inbound.Inbound:
    return inbound.CardTransactionPosted.model_validate({"customerId": customer, "amountMinor": amount, "postedAt": at})


def opened(at: str = "2026-11-20T02:00:00Z", phone: str = PHONE_OLD) -> inbound.Inbound:
    return inbound.AccountOpened.model_validate({"customerId": "c-1", "productCode": "debit", "openedAt": at, "phoneHash": phone})


def profile_event(changed_at: str = "2026-11-21T00:00:00.000000Z", **fields: Any) -> inbound.Inbound:
    return inbound.ProfileChanged.model_validate({"customerId": "c-1", "changedAt": changed_at, **fields})


def profile_arrives(store: InMemoryScoringStore, changed_at: str = "2026-11-21T00:00:00.000000Z", **fields: Any) -> bool:
    """customers-ingest stores the snapshot, then scoring sees the same event."""
    store.add_profile("c-1", changedAt=changed_at)
    return service.ingest(store, "CustomerProfileChanged", profile_event(changed_at, **fields), f"profile-{changed_at}", None, NOW)


def card_count(store: InMemoryScoringStore) -> int:
    state = FeatureState.model_validate_json(store.states["c-1"]["features"])
    return sum(day["card_spend"].count for day in state.days.values() if "card_spend" in day)


def test_an_event_before_the_profile_is_parked_once_and_applied_once_when_the_profile_arrives(metrics: dict[str, int]) -> None:
    store = InMemoryScoringStore()
    # Given a card transaction of a customer core banking has not published yet, delivered twice
    assert service.ingest(store, "CardTransactionPosted", card(), "tx-1", None, NOW) is False
    first = store.parked_events[("c-1", "tx-1")]
    assert service.ingest(store, "CardTransactionPosted", card(), "tx-1", None, NOW + timedelta(minutes=5)) is False
    # Then it is parked once (the first parking's time stays), and nothing is scored
    assert list(store.parked_events) == [("c-1", "tx-1")] and store.parked_events[("c-1", "tx-1")] == first
    assert store.commits == [] and metrics == {"ScoringEventsParked": 1}
    # When the profile arrives
    assert profile_arrives(store) is True
    # Then the transaction is applied once, by its own marker, and no longer parked
    assert card_count(store) == 1 and ("c-1", "tx-1") in store.markers and store.parked_events == {}
    assert metrics["ScoringParkedEventsApplied"] == 1
    # And when it is delivered again, it changes nothing
    version = store.states["c-1"]["version"]
    assert service.ingest(store, "CardTransactionPosted", card(), "tx-1", None, NOW) is False
    assert card_count(store) == 1 and store.states["c-1"]["version"] == version and store.parked_events == {}


def test_parked_events_are_applied_in_the_order_they_occurred_with_the_profile_in_its_place() -> None:
    store = InMemoryScoringStore()
    # Given, before the profile, a transaction of the 22nd, an account opening of the 20th with a phone
    service.ingest(store, "CardTransactionPosted", card(at="2026-11-22T02:00:00Z"), "tx-22", None, NOW)
    service.ingest(store, "AccountOpened", opened(), "AccountOpened:acc-1", None, NOW)
    # When the profile of the 21st, naming another phone, arrives
    profile_arrives(store, phone=PHONE_NEW)
    # Then the opening was applied first, then the profile (whose phone retires the opening's), then the transaction
    markers = [commit[0].marker[0] for commit in store.commits if commit[0].marker]
    assert markers == ["AccountOpened:acc-1", "profile-2026-11-21T00:00:00.000000Z", "tx-22"]
    assert list(store.states["c-1"]["identities"].values()) == ["phone"] and len(store.identity) == 1
    assert store.parked_events == {}


def test_a_profile_event_before_customers_ingest_stored_it_waits_and_parks_nothing() -> None:
    store = InMemoryScoringStore()
    # Given a parked transaction, and the profile's event reaching scoring before customers-ingest stored it
    service.ingest(store, "CardTransactionPosted", card(), "tx-1", None, NOW)
    with pytest.raises(Conflict) as waits:
        service.ingest(store, "CustomerProfileChanged", profile_event(), "profile-1", None, NOW)
    # Then it is retried (not parked: nothing would apply it), and the transaction stays parked
    assert waits.value.code == "PROFILE_NOT_CAUGHT_UP" and list(store.parked_events) == [("c-1", "tx-1")]


def test_a_profile_arriving_while_an_event_is_parked_applies_it_at_once() -> None:
    store = InMemoryScoringStore()
    # Given the event read no profile, and the profile arrives (its own event finding nothing parked)
    # just before the event's parking lands
    def meanwhile(event: Any) -> None:
        store.before_park = None
        profile_arrives(store)
        assert card_count(store) == 0  # the profile's event applied nothing parked: nobody else will apply this one

    store.before_park = meanwhile
    service.ingest(store, "CardTransactionPosted", card(), "tx-1", None, NOW)
    # Then the event, reading the profile again after parking, applied it itself: nothing left parked
    assert card_count(store) == 1 and store.parked_events == {}


def test_a_parked_tier_change_is_applied_with_the_profile_as_it_is() -> None:
    store = InMemoryScoringStore()
    # Given a TierChanged parked before the profile (customers-ingest will never show its tier: it had no profile either)
    tier = inbound.ProfileChanged.model_validate({"customerId": "c-1", "changedAt": "2026-11-22T00:00:00Z"})
    service.ingest(store, "TierChanged", tier, "tier-1", None, NOW)
    # When the profile arrives, then the tier change is applied with what the profile knows, not retried forever
    profile_arrives(store)
    assert ("c-1", "tier-1") in store.markers and store.parked_events == {}


def test_an_erased_customer_s_parked_events_are_dropped() -> None:
    store = InMemoryScoringStore()
    service.ingest(store, "CardTransactionPosted", card(), "tx-1", None, NOW)
    store.add_profile("c-1", erased=True)
    assert service.drain(store, "c-1", NOW) == 0
    assert store.parked_events == {} and store.states == {}


def test_a_parked_event_that_cannot_be_applied_stays_parked_and_the_others_go_on(monkeypatch: pytest.MonkeyPatch) -> None:
    store = InMemoryScoringStore()
    service.ingest(store, "CardTransactionPosted", card(at="2026-11-20T02:00:00Z"), "tx-bad", None, NOW)
    service.ingest(store, "CardTransactionPosted", card(at="2026-11-22T02:00:00Z"), "tx-good", None, NOW)
    apply = service.apply

    def failing(store_: Any, incoming: service.Incoming, now: datetime) -> service.Result:
        if incoming.occurrence == "tx-bad":
            raise RuntimeError("DynamoDB is having a day")
        return apply(store_, incoming, now)

    monkeypatch.setattr(service, "apply", failing)
    profile_arrives(store, changed_at="2026-11-19T00:00:00.000000Z")
    # Then the other was applied, and the failing one waits for the sweep
    assert card_count(store) == 1 and list(store.parked_events) == [("c-1", "tx-bad")]


# ---- the sweep ---------------------------------------------------------------------------------------


def test_the_sweep_applies_what_a_profile_s_event_missed_and_reports_what_waits_too_long(metrics: dict[str, int]) -> None:
    store = InMemoryScoringStore()
    # Given three events parked 8 days ago: two of c-1 (whose profile came, but its event never reached
    # scoring) and one of c-2 (no profile ever); one of c-3 parked 2 days ago; one of c-4 a minute ago
    eight_days_ago, two_days_ago, at = NOW - timedelta(days=8), NOW - timedelta(days=2), "2026-11-14T02:00:00Z"
    service.ingest(store, "CardTransactionPosted", card(at=at), "tx-1", None, eight_days_ago)
    service.ingest(store, "CardTransactionPosted", card(at="2026-11-13T02:00:00Z"), "tx-2", None, eight_days_ago)
    service.ingest(store, "CardTransactionPosted", card(at=at, customer="c-2"), "tx-3", None, eight_days_ago)
    service.ingest(store, "CardTransactionPosted", card(at=at, customer="c-3"), "tx-4", None, two_days_ago)
    service.ingest(store, "CardTransactionPosted", card(at=at, customer="c-4"), "tx-5", None, NOW - timedelta(minutes=1))
    store.add_profile("c-1")
    # When the sweep runs (pages of one, to page through)
    report = service.sweep(store, NOW, page_size=1)
    # Then c-1's events were applied and are gone; c-2's is stale, c-3's waits, c-4's is left to its profile
    assert card_count(store) == 2 and {c for c, _ in store.parked_events} == {"c-2", "c-3", "c-4"}
    assert report.as_dict() == {"waiting": 2, "stale": 1, "applied": 2, "customersApplied": 1,
                                "oldestParkedAt": "2026-11-15T04:00:00.000000Z"}
    assert [e["customerId"] for e in report.examples] == ["c-2"]
    # And the stale one is counted for the alarm; nothing was deleted that was not applied
    assert metrics["ScoringParkedEventsStale"] == 1 and metrics["ScoringParkedEventsWaiting"] == 2
