"""Campaign triggers before the customer's profile (loyalty.campaigns.before_profile), on the in-memory
store and directory: parked for the campaigns whose audience reads the profile, never dropped;
applied once when the profile arrives, as of when the trigger arrived; the race of a profile arriving
while a trigger is parked; a sign-up's hashes kept keyed only; and the sweep that applies what a
profile's event missed and reports what waits too long."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from loyalty.campaigns import before_profile, granting, parking, referrals, service, tasks
from loyalty.campaigns.model import TRIGGER_DETAILS, CampaignDefinition, Transition
from loyalty.core import config_cache
from loyalty.core.auth import Caller
from loyalty.core.errors import Conflict
from loyalty.core.pii import keyed_hash
from tests.unit.campaigns_fakes import InMemoryCampaignStore, InMemoryDirectory

NOW = datetime(2027, 2, 10, 4, 0, tzinfo=UTC)  # noon in Shanghai: no quiet hours
MAKER = Caller("op-maker", frozenset({"operators"}))
CHECKER = Caller("op-checker", frozenset({"operators", "approvers"}))
DEVICE = "d" * 40


@pytest.fixture
def directory(monkeypatch: pytest.MonkeyPatch) -> InMemoryDirectory:
    fake = InMemoryDirectory()
    monkeypatch.setattr("loyalty.customers.ports.directory", lambda: fake)
    return fake


@pytest.fixture
def store(directory: InMemoryDirectory, monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemoryCampaignStore]:
    monkeypatch.setattr(granting.time, "sleep", lambda _: None)
    monkeypatch.setattr(tasks.time, "sleep", lambda _: None)
    config_cache.clear()
    yield InMemoryCampaignStore(directory)
    config_cache.clear()


@pytest.fixture
def metrics(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    counted: dict[str, int] = {}

    def count(name: str, value: int = 1) -> None:
        counted[name] = counted.get(name, 0) + value

    monkeypatch.setattr(before_profile, "count", count)
    monkeypatch.setattr("loyalty.core.parking.count", count)
    return counted


def launch(store: InMemoryCampaignStore, campaign_id: str, **overrides: Any) -> None:
    body: dict[str, Any] = {
        "campaignId": campaign_id, "name": "Spend 1000, get points",
        "window": {"startsAt": "2027-01-01T00:00:00+08:00", "endsAt": "2027-04-01T00:00:00+08:00"},
        "trigger": {"type": "event", "eventType": "CardTransactionPosted", "minAmountMinor": 100_000},
        "variants": [{"variantId": "main", "weightPercent": 100, "actions": [{"type": "award_points", "points": 10, "costCentre": "cc"}]}],
        "controlPercent": 0, "budget": {"unit": "rewards", "total": 10}, "frequencyCaps": {"lifetime": 5},
        "fundingCostCentre": "cc-marketing", **overrides,
    }
    service.save(store, CampaignDefinition.model_validate(body), MAKER.subject, NOW, create=True)
    service.transition(store, campaign_id, "submit", Transition(), MAKER, NOW)
    service.transition(store, campaign_id, "approve", Transition(), CHECKER, NOW)


def spend(customer: str = "c-1", transaction: str = "tx-1", at: datetime = NOW) -> Any:
    return TRIGGER_DETAILS["CardTransactionPosted"].model_validate(
        {"customerId": customer, "transactionId": transaction, "amountMinor": 150_000, "currency": "CNY", "postedAt": at.isoformat()})


def arrives(store: InMemoryCampaignStore, detail: Any, occurrence: str | None = None, now: datetime = NOW,
            event_type: str = "CardTransactionPosted") -> dict[str, str]:
    return before_profile.on_trigger(store, event_type, detail, occurrence or detail.transactionId, now)


def grants(store: InMemoryCampaignStore, campaign_id: str, customer: str = "c-1") -> list[dict[str, Any]]:
    return store._under(f"GRANT#{campaign_id}#{customer}")


def test_a_trigger_before_the_profile_is_parked_then_granted_once_when_the_profile_arrives(
        store: InMemoryCampaignStore, directory: InMemoryDirectory, metrics: dict[str, int]) -> None:
    # Given a campaign whose audience reads the profile (requireProfile, the default)
    launch(store, "camp-1")
    # When a qualifying card payment comes before the customer's profile (delivered twice)
    first, again = arrives(store, spend()), arrives(store, spend())
    # Then nothing is granted yet, and the trigger is parked once, for that campaign
    assert first == again == {"camp-1": parking.AWAITING_PROFILE} and grants(store, "camp-1") == []
    (parked,) = store.parked.values()
    assert (parked.occurrence, parked.campaignIds, parked.parkedAt) == ("tx-1", ["camp-1"], "2027-02-10T04:00:00.000000Z")
    assert metrics["CampaignTriggersParked"] == 1
    # When the profile arrives (customers-ingest stored it), and its event is delivered twice
    directory.add("c-1")
    applied = [before_profile.on_profile(store, "c-1") for _ in range(2)]
    # Then the trigger granted once, keyed by its occurrence, as of when it arrived, and nothing is parked
    assert applied == [1, 0] and store.parked == {}
    (grant,) = grants(store, "camp-1")
    assert (grant["sk"], grant["at"], grant["status"]) == ("tx-1", "2027-02-10T04:00:00.000000Z", "granted")
    # And the same trigger delivered again later grants nothing more
    assert arrives(store, spend(), now=NOW + timedelta(hours=1)) == {"camp-1": "already"}


def test_a_campaign_that_needs_no_profile_grants_at_once_and_only_the_others_wait(
        store: InMemoryCampaignStore, directory: InMemoryDirectory) -> None:
    # Given one campaign for anyone and one whose audience reads the profile
    launch(store, "camp-open", audience={"requireProfile": False})
    launch(store, "camp-gold", audience={"tiers": ["gold"]})
    # When a qualifying payment comes before the profile
    assert arrives(store, spend()) == {"camp-open": "granted", "camp-gold": parking.AWAITING_PROFILE}
    # Then it is parked for the one that waits only
    assert [t.campaignIds for t in store.parked.values()] == [["camp-gold"]]
    # When the profile arrives, of a gold member
    directory.add("c-1", tier="gold")
    assert before_profile.on_profile(store, "c-1") == 1
    # Then each campaign granted once
    assert len(grants(store, "camp-open")) == len(grants(store, "camp-gold")) == 1


def test_a_trigger_whose_customer_turns_out_outside_the_audience_is_decided_and_not_kept(
        store: InMemoryCampaignStore, directory: InMemoryDirectory) -> None:
    launch(store, "camp-gold", audience={"tiers": ["gold"]})
    arrives(store, spend())
    # When the profile arrives, of a customer who is not gold
    directory.add("c-1", tier="silver")
    before_profile.on_profile(store, "c-1")
    # Then nothing is granted, and nothing waits any more
    assert grants(store, "camp-gold") == [] and store.parked == {}


def test_the_profile_s_event_before_customers_ingest_stored_it_is_retried(store: InMemoryCampaignStore) -> None:
    launch(store, "camp-1")
    arrives(store, spend())
    # When campaigns hear CustomerProfileChanged before customers-ingest has stored the profile
    with pytest.raises(Conflict) as refused:
        before_profile.on_profile(store, "c-1")
    # Then it is retried (it is the profile arriving), and the trigger stays parked
    assert refused.value.code == "PROFILE_NOT_CAUGHT_UP" and len(store.parked) == 1


def test_a_profile_stored_while_the_trigger_is_parked_is_not_missed(store: InMemoryCampaignStore, directory: InMemoryDirectory) -> None:
    # Given a campaign, and a profile stored (and its event handled, finding nothing parked) just
    # before the parking lands
    launch(store, "camp-1")

    def profile_arrives(_: parking.ParkedTrigger) -> None:
        directory.add("c-1")
        assert before_profile.on_profile(store, "c-1") == 0

    store.before_park = profile_arrives
    # When the trigger that read no profile is parked
    arrives(store, spend())
    # Then it reads the profile again, finds it, and applies itself
    assert len(grants(store, "camp-1")) == 1 and store.parked == {}


def test_an_erased_customer_s_parked_trigger_is_dropped(store: InMemoryCampaignStore, directory: InMemoryDirectory) -> None:
    launch(store, "camp-1")
    arrives(store, spend())
    # When the customer is erased before anything was applied (their tombstone is a profile)
    directory.add("c-1", erased=True)
    before_profile.on_profile(store, "c-1")
    # Then nothing is granted, and nothing of theirs is kept
    assert grants(store, "camp-1") == [] and store.parked == {}


def test_parked_triggers_are_applied_in_the_order_they_occurred(store: InMemoryCampaignStore, directory: InMemoryDirectory) -> None:
    # Given a campaign that pays once per customer, and two payments that arrived in the other order
    launch(store, "camp-1", frequencyCaps={"lifetime": 1})
    arrives(store, spend(transaction="tx-late", at=NOW - timedelta(hours=1)))
    arrives(store, spend(transaction="tx-early", at=NOW - timedelta(hours=2)))
    # When the profile arrives
    directory.add("c-1")
    before_profile.on_profile(store, "c-1")
    # Then the earlier payment is the one rewarded; the later one is capped
    assert [g["sk"] for g in grants(store, "camp-1")] == ["tx-early"] and store.parked == {}


def test_a_sign_up_before_the_profile_is_bound_when_it_arrives_its_hashes_kept_keyed_only(
        store: InMemoryCampaignStore, directory: InMemoryDirectory, monkeypatch: pytest.MonkeyPatch) -> None:
    asked: list[tuple[str, list[str]]] = []

    class Identities:
        def shares_identity(self, customer_id: str, raw: list[str]) -> bool:
            raise AssertionError("a parked sign-up holds no hash as received")

        def shares_keyed_identity(self, customer_id: str, keyed: list[str]) -> bool:
            asked.append((customer_id, list(keyed)))
            return False

    monkeypatch.setattr("loyalty.scoring.ports.shared_identities", lambda: Identities())
    # Given an MGM campaign whose audience reads the profile, and an inviter's code
    launch(store, "mgm", trigger={"type": "referral", "minAmountMinor": 10_000, "withinDays": 30,
                                  "inviterActions": [{"type": "award_points", "points": 500, "costCentre": "cc-mgm"}]})
    code = referrals.invite_code(store, "c-inviter", NOW)["code"]
    # When the invitee's account opening, with their device hash, comes before their profile
    opened = TRIGGER_DETAILS["AccountOpened"].model_validate({"customerId": "c-1", "accountId": "a-1", "openedAt": NOW.isoformat(),
                                                              "referralCode": code, "deviceHash": DEVICE})
    assert arrives(store, opened, "AccountOpened:a-1", event_type="AccountOpened") == {"mgm": parking.AWAITING_PROFILE}
    # Then it is parked with the hash keyed, never as received
    (parked,) = store.parked.values()
    assert DEVICE not in repr(parked) and parked.identities == [keyed_hash(DEVICE)]
    # When the profile arrives
    directory.add("c-1")
    before_profile.on_profile(store, "c-1")
    # Then the referral is bound, checked against the inviter's devices by the keyed hash
    bound = store.referral("mgm", "c-1")
    assert bound is not None and bound["status"] == "bound" and asked == [("c-inviter", [keyed_hash(DEVICE)])]


def test_the_sweep_applies_what_a_profile_s_event_missed_and_reports_what_waits_too_long(
        store: InMemoryCampaignStore, directory: InMemoryDirectory, metrics: dict[str, int]) -> None:
    launch(store, "camp-1")
    # Given triggers parked 8 days ago for c-1 (whose profile came, its event lost) and c-2 (no profile
    # ever), and one parked a minute ago for c-3
    week_ago = NOW - timedelta(days=8)
    arrives(store, spend("c-1", "tx-1", week_ago), now=week_ago)
    arrives(store, spend("c-2", "tx-2", week_ago), now=week_ago)
    arrives(store, spend("c-3", "tx-3"), now=NOW - timedelta(minutes=1))
    directory.add("c-1")
    # When the sweep runs
    report = before_profile.sweep(store, NOW)
    # Then c-1's is granted (as of when it arrived: the campaign's window was open then too)
    assert len(grants(store, "camp-1", "c-1")) == 1 and {c for c, _ in store.parked} == {"c-2", "c-3"}
    # And c-2's is stale: counted for the alarm and named; c-3's is left to its profile's own event
    assert (report.applied, report.waiting, report.stale) == (1, 1, 1) and [e["customerId"] for e in report.examples] == ["c-2"]
    assert metrics["CampaignsParkedEventsStale"] == 1


def test_the_ttl_of_a_parked_trigger_must_outlive_the_report_limit() -> None:
    from pydantic import ValidationError

    from loyalty.core.config import Settings

    assert Settings().campaigns_parked_report_days == 7 and Settings().campaigns_parked_keep_days == 30
    with pytest.raises(ValidationError, match="CAMPAIGNS_PARKED_KEEP_DAYS"):
        Settings(campaigns_parked_report_days=10, campaigns_parked_keep_days=10)
