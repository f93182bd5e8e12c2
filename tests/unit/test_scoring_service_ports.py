"""The scoring use cases on an in-memory store (tests/unit/scoring/fakes.py), no AWS: retries on a
version or transaction conflict, refusals mapped to domain errors, the configuration cache, the
nightly run's transactions and lease."""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import pytest

from loyalty.core import config_cache
from loyalty.core.errors import BusinessRuleViolation, Conflict, NotFound
from loyalty.scoring import admin, inbound, nightly, service
from loyalty.scoring.defaults import DEFAULT_MODELS
from loyalty.scoring.features import FeatureState
from loyalty.scoring.segments import MAX_SEGMENTS, SegmentDefinition
from loyalty.scoring.store import Rescoring
from tests.unit.scoring.fakes import InMemoryScoringStore

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
DEVICE = "d" * 64


@pytest.fixture(autouse=True)
def fresh_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    config_cache.clear()
    monkeypatch.setattr(service.time, "sleep", lambda seconds: None)  # the retry back-off
    yield
    config_cache.clear()


@pytest.fixture
def scoring() -> InMemoryScoringStore:
    store = InMemoryScoringStore()
    store.add_profile("c-1")
    return store


def card(customer: str = "c-1", amount: int = 10_000) -> inbound.Inbound:
    return inbound.CardTransactionPosted.model_validate({"customerId": customer, "amountMinor": amount, "postedAt": "2026-11-23T02:00:00Z"})


def login(customer: str, device: str = DEVICE) -> inbound.Inbound:
    return inbound.LoginCompleted.model_validate({"customerId": customer, "loggedInAt": "2026-11-23T02:00:00Z", "deviceHash": device})


def ingest(store: InMemoryScoringStore, detail: inbound.Inbound, event_id: str, detail_type: str = "CardTransactionPosted",
           now: datetime = NOW) -> bool:
    return service.ingest(store, detail_type, detail, event_id, None, now)


def card_count(store: InMemoryScoringStore, customer: str = "c-1") -> int:
    state = FeatureState.model_validate_json(store.states[customer]["features"])
    return sum(day["card_spend"].count for day in state.days.values() if "card_spend" in day)


# ---- an event re-scores its customer ---------------------------------------------------------------


def test_an_event_writes_the_state_the_profile_s_scores_the_marker_and_the_events_in_one_commit(scoring: InMemoryScoringStore) -> None:
    # When a card transaction of a customer with a profile is ingested
    assert ingest(scoring, card(), "tx-1") is True
    # Then one commit wrote everything: the marker, the state at version 1, the profile's scores, the events
    (commit,) = scoring.commits
    (rescoring,) = commit
    assert rescoring.marker == ("tx-1", int(NOW.timestamp())) and rescoring.version == 0 and rescoring.replace
    assert scoring.states["c-1"]["version"] == 1 and card_count(scoring) == 1
    assert scoring.scored["c-1"]["scores"] == scoring.states["c-1"]["scores"]
    assert {e.detail_type for e in scoring.outbox} == {"ScoreChanged"}


def test_an_event_applied_before_changes_nothing(scoring: InMemoryScoringStore) -> None:
    # Given an event applied
    assert ingest(scoring, card(), "tx-1") is True
    # When it is delivered again (its marker exists)
    assert ingest(scoring, card(), "tx-1") is False
    # Then the state is as the first delivery left it
    assert scoring.states["c-1"]["version"] == 1 and card_count(scoring) == 1


def test_a_version_changed_since_the_read_is_read_again_and_both_events_count(scoring: InMemoryScoringStore) -> None:
    # Given another event of the customer committed between this event's read and its write
    def concurrent(customer: str) -> None:
        scoring.after_state_read = None
        assert ingest(scoring, card(amount=500), "tx-other") is True

    scoring.after_state_read = concurrent
    # When the event is ingested
    assert ingest(scoring, card(), "tx-1") is True
    # Then its first write was refused (stale version), it read again, and both events count
    assert [c[0].version for c in scoring.commits] == [0, 0, 1]
    assert scoring.states["c-1"]["version"] == 2 and card_count(scoring) == 2


def test_a_conflicting_transaction_is_retried(scoring: InMemoryScoringStore) -> None:
    # Given DynamoDB cancels the first write for a conflicting transaction
    scoring.conflicts = 1
    # When the event is ingested
    assert ingest(scoring, card(), "tx-1") is True
    # Then it was written on the second attempt
    assert len(scoring.commits) == 2 and scoring.states["c-1"]["version"] == 1


def test_a_customer_contended_on_every_attempt_is_refused_for_the_queue_to_retry(scoring: InMemoryScoringStore) -> None:
    scoring.conflicts = 100
    with pytest.raises(Conflict) as refused:
        ingest(scoring, card(), "tx-1")
    assert refused.value.code == "SCORING_CONTENDED" and len(scoring.commits) == service.MAX_ATTEMPTS
    assert "c-1" not in scoring.states


def test_an_event_before_the_profile_is_parked_and_nothing_is_scored() -> None:
    # (the parking itself: tests/unit/scoring/test_parking_service.py)
    store = InMemoryScoringStore()
    assert ingest(store, card(), "tx-1") is False
    assert store.commits == [] and store.states == {} and list(store.parked_events) == [("c-1", "tx-1")]


def test_a_profile_erased_between_the_read_and_the_write_refuses_the_write(scoring: InMemoryScoringStore,
                                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the customer is erased after the profile was read (the tombstone refuses the write)
    commit = scoring.commit

    def erased_first(rescorings: Any) -> None:
        scoring.add_profile("c-1", erased=True)
        commit(rescorings)

    monkeypatch.setattr(scoring, "commit", erased_first)
    # When the event is ingested, then it is refused as for an unknown customer, and nothing written
    with pytest.raises(NotFound) as refused:
        ingest(scoring, card(), "tx-1")
    assert refused.value.code == "CUSTOMER_NOT_FOUND" and scoring.states == {}


def test_an_erased_customer_is_not_scored_again(scoring: InMemoryScoringStore) -> None:
    scoring.add_profile("c-1", erased=True)
    assert ingest(scoring, card(), "tx-1") is False and scoring.commits == []


def test_the_customers_already_on_a_device_are_re_scored_when_another_joins_it(scoring: InMemoryScoringStore) -> None:
    # Given a customer who logged in from a device
    scoring.add_profile("c-2")
    assert ingest(scoring, login("c-1"), "login-1", "LoginCompleted") is True
    assert scoring.states["c-1"]["sharedAccounts"] == 0
    # When another customer logs in from it
    assert ingest(scoring, login("c-2"), "login-2", "LoginCompleted") is True
    # Then both count one other account: the first was re-scored at once
    assert scoring.states["c-2"]["sharedAccounts"] == 1 and scoring.states["c-1"]["sharedAccounts"] == 1
    assert set(scoring.identity) == {next(iter(scoring.states["c-1"]["identities"]))}


# ---- configuration: the cache, versions, segments --------------------------------------------------


def test_models_and_segments_are_read_once_within_the_cache_time_and_again_after_it(scoring: InMemoryScoringStore,
                                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a clock for the configuration cache (RULES_CACHE_SECONDS: 30 by default)
    clock = {"now": 1000.0}
    monkeypatch.setattr(config_cache, "cached", functools.partial(config_cache.cached, clock=lambda: clock["now"]))
    # When events come within 30 s of the first
    ingest(scoring, card(), "tx-1")
    clock["now"] += 29
    ingest(scoring, card(), "tx-2")
    # Then the models and the segments were read once
    assert scoring.reads["in_force"] == 2
    # And when one comes after, they are read again
    clock["now"] += 2
    ingest(scoring, card(), "tx-3")
    assert scoring.reads["in_force"] == 4


def test_a_model_saved_here_is_in_force_at_once_here(scoring: InMemoryScoringStore) -> None:
    # Given the models read and cached by an event
    ingest(scoring, card(), "tx-1")
    assert scoring.commits[-1][0].state["modelVersions"]["churn"] == 0
    # When an operator saves a churn model on this instance
    saved = admin.save_model(scoring, "churn", {**DEFAULT_MODELS["churn"], "intercept": -2.5}, "op-1", "2026-11-23T04:00:00Z")
    # Then the next event scores with it, within the cache time
    ingest(scoring, card(), "tx-2")
    assert saved["version"] == 1 and scoring.commits[-1][0].state["modelVersions"]["churn"] == 1


def test_a_model_saved_by_another_operator_meanwhile_is_a_version_conflict(scoring: InMemoryScoringStore,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # Given another operator saves the churn model right after this save read the version in force
    in_force = scoring.in_force

    def raced(kind: Any) -> list[dict[str, Any]]:
        found = in_force(kind)
        monkeypatch.setattr(scoring, "in_force", in_force)
        scoring.save_version("MODEL", "churn", 1, {"config": json.dumps(DEFAULT_MODELS["churn"]), "updatedBy": "op-2", "updatedAt": "t"})
        return found

    monkeypatch.setattr(scoring, "in_force", raced)
    # When this save is made, then it is refused as a conflict, and the other's version stays in force
    with pytest.raises(Conflict) as refused:
        admin.save_model(scoring, "churn", {**DEFAULT_MODELS["churn"], "intercept": -2.5}, "op-1", "2026-11-23T04:00:00Z")
    assert refused.value.code == "VERSION_CONFLICT" and scoring.version("MODEL", "churn")["updatedBy"] == "op-2"


def segment(segment_id: str) -> SegmentDefinition:
    return SegmentDefinition.model_validate({"segmentId": segment_id, "name": segment_id, "rule": {"tagsAny": ["payroll"]}})


def test_a_segment_id_is_taken_once_and_segments_are_limited(scoring: InMemoryScoringStore) -> None:
    # Given a segment created
    created = admin.save_segment(scoring, segment("gold"), "op-1", "t", create=True)
    assert created["version"] == 1
    # When it is created again, then it is a conflict
    with pytest.raises(Conflict) as exists:
        admin.save_segment(scoring, segment("gold"), "op-1", "t", create=True)
    assert exists.value.code == "SEGMENT_EXISTS"
    # And when the limit is reached, a new one is refused
    scoring.segment_count = MAX_SEGMENTS
    with pytest.raises(BusinessRuleViolation) as full:
        admin.save_segment(scoring, segment("silver"), "op-1", "t", create=True)
    assert full.value.code == "SEGMENT_LIMIT_REACHED"


def test_an_event_enters_the_customer_into_a_new_segment(scoring: InMemoryScoringStore) -> None:
    # Given a segment of payroll customers, and a payroll customer
    admin.save_segment(scoring, segment("payroll"), "op-1", "t", create=True)
    scoring.add_profile("c-1", tags=["payroll"])
    # When their event is scored
    ingest(scoring, card(), "tx-1")
    # Then they are a member, and it was announced
    assert admin.members(scoring, "payroll", 10, None)["items"] == [{"customerId": "c-1", "since": "2026-11-23T04:00:00.000000Z"}]
    assert [e.detail["segmentId"] for e in scoring.outbox if e.detail_type == "SegmentEntered"] == ["payroll"]


# ---- the nightly run --------------------------------------------------------------------------------


def rescoring_of(store: InMemoryScoringStore, customer: str, version: int = 0, entered: int = 0) -> Rescoring:
    store.add_profile(customer)
    return Rescoring(customer, version, {"features": FeatureState().model_dump_json()}, True, "potential", [], {}, "t",
                     entered=[f"s-{i}" for i in range(entered)])


def test_the_nightly_writes_leave_out_a_customer_changed_meanwhile_and_write_the_others() -> None:
    store = InMemoryScoringStore()
    # Given three customers' writes, the second read at a version an event has moved since
    groups = [rescoring_of(store, "a"), rescoring_of(store, "b", version=3), rescoring_of(store, "c")]
    # When they are written, then the first transaction is refused and each is tried alone
    assert nightly.write_groups(store, groups) == 2
    assert [len(commit) for commit in store.commits] == [3, 1, 1, 1]
    assert set(store.states) == {"a", "c"}


def test_the_nightly_writes_fill_transactions_with_whole_customers_and_leave_out_invalid_ones() -> None:
    store = InMemoryScoringStore()
    # Given customers of 42 items each, and one of more than a transaction holds
    groups = [rescoring_of(store, "a", entered=40), rescoring_of(store, "b", entered=40), rescoring_of(store, "c", entered=40),
              rescoring_of(store, "big", entered=99)]
    assert groups[0].items == 42 and groups[3].items == 101
    # When they are written, then two customers a transaction, and the invalid one alone, left out
    assert nightly.write_groups(store, groups) == 3
    assert [[r.customer_id for r in commit] for commit in store.commits] == [["a", "b"], ["c"], ["big"]]


def test_a_nightly_run_scores_everybody_and_a_held_lease_keeps_a_second_invocation_out() -> None:
    store = InMemoryScoringStore()
    for customer in ("a", "b", "c"):
        store.add_profile(customer)
        assert ingest(store, card(customer), f"tx-{customer}") is True
    run_date = date(2026, 11, 24)
    # Given another invocation holds the lease of the day's run
    assert store.claim(run_date.isoformat(), "2026-11-24T03:00:00Z", "2026-11-24T02:00:00Z")
    busy = nightly.start_or_resume(store, run_date, NOW, lambda: 900.0)
    assert busy["busy"] is True and busy["processed"] == 0
    # When the lease is released and the run resumed
    store.release(run_date.isoformat())
    done = nightly.start_or_resume(store, None, NOW, lambda: 900.0)
    # Then everybody was scanned once and scored as of the run's day
    assert done["status"] == "done" and done["processed"] == done["customers"] == 3
    assert {store.states[c]["asOf"] for c in ("a", "b", "c")} == {"2026-11-24"} and store.leases == {}
