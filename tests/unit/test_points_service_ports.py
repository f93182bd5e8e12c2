"""The points services against an in-memory store (tests/unit/points_fakes.py): retries on a race,
conflicts retried, the configuration cache, and refusals mapped to the domain's answers. No AWS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from loyalty.core import config_cache
from loyalty.core.errors import BusinessRuleViolation, Conflict, NotFound
from loyalty.points import redemption, risk_service, service, tier_service
from loyalty.points.model import AdjustmentRequest, AwardPointsCommand, ReversePointsCommand, Rule
from loyalty.points.redemption import CatalogueItem, RedemptionRequest, SettlementRequest
from loyalty.points.risk import RiskDecision, RiskSettings
from loyalty.points.tiers import TierLadder
from tests.unit.points_builders import NOW, card, definition, rule
from tests.unit.points_fakes import InMemoryPointsStore

CUSTOMER = "c-001"  # the builders' card transactions are this customer's
RULE = rule()  # 1 point per 10 yuan of card spend
OPERATOR = "op-1"


class MovingClock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(autouse=True)
def fresh_configuration(monkeypatch: pytest.MonkeyPatch) -> Iterator[MovingClock]:
    clock = MovingClock()
    monkeypatch.setattr(service, "_monotonic", clock)
    monkeypatch.setattr(service.time, "sleep", lambda seconds: None)
    config_cache.clear()
    yield clock
    config_cache.clear()


@pytest.fixture
def store() -> InMemoryPointsStore:
    fake = InMemoryPointsStore()
    fake.save_rule(RULE)
    return fake


def available(store: InMemoryPointsStore, customer: str = CUSTOMER) -> int:
    return int(service.balance(store, customer, NOW)["available"])


def adjust(store: InMemoryPointsStore, points: int, key: str) -> None:
    request = AdjustmentRequest(points=points, reason="goodwill", costCentre="cc-service")
    service.adjust(store, CUSTOMER, request, OPERATOR, key, NOW)


# ---- the ledger's retries ---------------------------------------------------------------------------


def test_an_accrual_raced_by_another_write_reads_the_account_again_and_books_on_top_of_it(store: InMemoryPointsStore) -> None:
    # Given an operator's adjustment that lands between the accrual's read and its write
    store.before_commit = lambda: adjust(store, 50, "k-race")
    # When the card transaction is accrued
    booked = service.accrue(store, "CardTransactionPosted", card(), "evt-1", NOW)
    # Then the first write was refused (the version moved), the account read again, and both are booked
    assert booked is not None and store.calls["load"] == 3  # accrual, the adjustment, the accrual again
    assert available(store) == 128 + 50
    assert store.balances[CUSTOMER]["version"] == 2


def test_a_transaction_conflict_is_retried_until_the_write_goes_through(store: InMemoryPointsStore) -> None:
    # Given two transaction conflicts in a row
    store.conflicts = 2
    # When a card transaction is accrued
    service.accrue(store, "CardTransactionPosted", card(), "evt-1", NOW)
    # Then it was read and written three times, and booked once
    assert store.calls["load"] == 3 and store.calls["commit"] == 3
    assert available(store) == 128 and len(store.entries[CUSTOMER]) == 1


def test_an_account_that_conflicts_on_every_try_answers_account_contended(store: InMemoryPointsStore) -> None:
    # Given an account whose every write conflicts
    store.conflicts = service.MAX_ATTEMPTS
    # When a card transaction is accrued, Then the caller is told to retry, and nothing is booked
    with pytest.raises(Conflict) as refused:
        service.accrue(store, "CardTransactionPosted", card(), "evt-1", NOW)
    assert refused.value.code == "ACCOUNT_CONTENDED"
    assert store.calls["commit"] == service.MAX_ATTEMPTS and CUSTOMER not in store.balances


def test_the_same_transaction_delivered_again_is_refused_by_its_entry_and_books_nothing(store: InMemoryPointsStore) -> None:
    # Given a card transaction booked once
    service.accrue(store, "CardTransactionPosted", card(), "evt-1", NOW)
    # When it is delivered again (under another envelope id)
    again = service.accrue(store, "CardTransactionPosted", card(), "evt-2", NOW)
    # Then the entry's condition refuses it: nothing more is booked or announced
    assert again is None
    assert available(store) == 128 and len(store.outbox) == 1


def test_a_redemption_of_more_than_the_balance_is_insufficient_points(store: InMemoryPointsStore) -> None:
    # Given 128 points and an item costing 500
    service.accrue(store, "CardTransactionPosted", card(), "evt-1", NOW)
    item = CatalogueItem(itemId="mug", name="Mug", kind="mall_item", points=500, cashMinor=990, currency="CNY")
    redemption.save_catalogue_item(store, item, OPERATOR, NOW)
    # When the customer redeems it, Then it is refused and nothing is held
    with pytest.raises(BusinessRuleViolation) as refused:
        redemption.redeem(store, CUSTOMER, RedemptionRequest(itemId="mug"), "k-1", NOW)
    assert refused.value.code == "INSUFFICIENT_POINTS" and store.redemptions == {}


# ---- the configuration cache ------------------------------------------------------------------------


def test_the_earn_rules_are_read_once_within_their_lifetime_and_again_after_it(
        store: InMemoryPointsStore, fresh_configuration: MovingClock) -> None:
    # Given two accruals within the rules' cache lifetime (RULES_CACHE_SECONDS, 30 s)
    service.accrue(store, "CardTransactionPosted", card(transactionId="tx-1"), "evt-1", NOW)
    fresh_configuration.now += 29
    service.accrue(store, "CardTransactionPosted", card(transactionId="tx-2"), "evt-2", NOW)
    # Then the rules, the ladder and the limits were read once
    assert (store.calls["rules"], store.calls["ladder"], store.calls["risk_settings"]) == (1, 1, 1)
    # When an accrual comes after the lifetime
    fresh_configuration.now += 2
    service.accrue(store, "CardTransactionPosted", card(transactionId="tx-3"), "evt-3", NOW)
    # Then the configuration is read again
    assert (store.calls["rules"], store.calls["ladder"], store.calls["risk_settings"]) == (2, 2, 2)


def test_a_rule_saved_by_this_instance_is_in_force_at_once(store: InMemoryPointsStore) -> None:
    # Given the rules cached by an accrual
    service.accrue(store, "CardTransactionPosted", card(transactionId="tx-1"), "evt-1", NOW)
    # When an operator saves a rule doubling the award through this instance
    doubled = definition(ruleId="card-double", award={"mode": "per_amount", "points": 1, "perAmountMinor": 1000})
    service.save_rule(store, doubled, OPERATOR, NOW, create=True)
    # Then the next accrual reads the rules again and awards both
    service.accrue(store, "CardTransactionPosted", card(transactionId="tx-2"), "evt-2", NOW)
    assert store.calls["rules"] == 2 and available(store) == 128 + 2 * 128


# ---- refusals mapped to the domain's answers ----------------------------------------------------------


def test_a_rule_changed_meanwhile_is_a_version_conflict(store: InMemoryPointsStore) -> None:
    # Given an operator who read version 1, and another who saved version 2 meanwhile
    stale = Rule(definition=RULE.definition, version=2, updatedAt="2026-06-01T12:00:00Z", updatedBy="op-2")
    store.save_rule(stale)
    # When the first saves their version 2, Then it is refused as a conflict
    with pytest.raises(Conflict) as refused:
        store.save_rule(Rule(definition=RULE.definition, version=2, updatedAt="2026-06-01T12:01:00Z", updatedBy=OPERATOR))
    assert refused.value.code == "RULE_VERSION_CONFLICT"
    # And a rule id already taken cannot be created again
    with pytest.raises(Conflict):
        service.save_rule(store, RULE.definition, OPERATOR, NOW, create=True)


def test_a_ladder_saved_twice_from_the_same_version_is_a_version_conflict(store: InMemoryPointsStore) -> None:
    # Given the first ladder
    ladder = TierLadder.model_validate({"tiers": [{"tierId": "base", "name": "Base", "minGrowth": 0}]})
    tier_service.save_ladder(store, ladder, OPERATOR, NOW)
    # When version 2 is saved by one operator while another saves their version 2
    store.save_ladder(ladder, 2, "op-2", "2026-06-01T12:00:00Z")
    with pytest.raises(Conflict) as refused:
        store.save_ladder(ladder, 2, OPERATOR, "2026-06-01T12:00:01Z")
    # Then the second is refused
    assert refused.value.code == "TIERS_VERSION_CONFLICT" and tier_service.current_view(store)["version"] == 2


def test_an_operator_adjusts_only_a_customer_the_customers_port_knows(monkeypatch: pytest.MonkeyPatch) -> None:
    from loyalty.customers import ports

    class Directory:
        def profile(self, customer_id: str) -> Any:
            return object() if customer_id == "c-known" else None

    monkeypatch.setattr(ports, "directory", lambda: Directory())
    # Given a known and an unknown customer, When each is checked, Then only the unknown one is 404
    service.require_known_customer("c-known")
    with pytest.raises(NotFound) as refused:
        service.require_known_customer("c-typo")
    assert refused.value.code == "CUSTOMER_NOT_FOUND"


# ---- redemptions and risk holds: guarded records ------------------------------------------------------


def mall_item(store: InMemoryPointsStore, points: int = 100) -> str:
    item = CatalogueItem(itemId="umbrella", name="Umbrella", kind="mall_item", points=points, cashMinor=990, currency="CNY")
    redemption.save_catalogue_item(store, item, OPERATOR, NOW)
    return item.itemId


def test_a_redemption_retried_with_its_key_answers_the_same_one_and_takes_the_points_once(store: InMemoryPointsStore) -> None:
    # Given 128 points and a mall item of 100
    service.accrue(store, "CardTransactionPosted", card(), "evt-1", NOW)
    item = mall_item(store)
    # When the customer redeems it, and the call is retried with the same key
    first, created = redemption.redeem(store, CUSTOMER, RedemptionRequest(itemId=item), "k-1", NOW)
    again, created_again = redemption.redeem(store, CUSTOMER, RedemptionRequest(itemId=item), "k-1", NOW)
    # Then one redemption holds the points
    assert (created, created_again) == (True, False) and first == again
    assert service.balance(store, CUSTOMER, NOW)["held"] == 100 and available(store) == 28


def test_a_redemption_racing_its_own_retry_is_answered_as_the_one_that_won(store: InMemoryPointsStore) -> None:
    # Given 128 points, and the same redemption committed by a retry between this call's read and write
    service.accrue(store, "CardTransactionPosted", card(), "evt-1", NOW)
    item = mall_item(store)
    store.before_commit = lambda: redemption.redeem(store, CUSTOMER, RedemptionRequest(itemId=item), "k-1", NOW)
    # When the call writes, Then its redemption record refuses it (already applied): it answers the stored one
    view, created = redemption.redeem(store, CUSTOMER, RedemptionRequest(itemId=item), "k-1", NOW)
    assert created is False and view["status"] == "held"
    assert available(store) == 28


def test_a_failed_payment_puts_the_points_back_once_however_often_it_is_reported(store: InMemoryPointsStore) -> None:
    # Given a held mall redemption
    service.accrue(store, "CardTransactionPosted", card(), "evt-1", NOW)
    rid = redemption.redeem(store, CUSTOMER, RedemptionRequest(itemId=mall_item(store)), "k-1", NOW)[0]["redemptionId"]
    # When the payment backend reports the failure twice
    failed = SettlementRequest(outcome="failed", paymentId="pay-1")
    redemption.settle_payment(store, rid, failed, NOW)
    settled = redemption.settle_payment(store, rid, failed, NOW)
    # Then the points are back once, and the redemption is released
    assert settled["status"] == "released" and available(store) == 128
    assert service.balance(store, CUSTOMER, NOW)["held"] == 0
    # And the lapsed-holds sweep finds nothing to release
    assert redemption.release_lapsed_holds(store, NOW + timedelta(days=1)) == 0


def test_an_accrual_past_the_limit_is_held_and_released_once(store: InMemoryPointsStore) -> None:
    # Given a limit of 100 points a day
    risk_service.save_settings(store, RiskSettings(maxPointsPerDay=100), OPERATOR, NOW)
    # When a card transaction earning 128 is accrued
    service.accrue(store, "CardTransactionPosted", card(), "evt-1", NOW)
    # Then it is held, not booked
    (hold,) = risk_service.pending_holds(store)
    assert hold["points"] == 128 and available(store) == 0 and service.balance(store, CUSTOMER, NOW)["pending"] == 128
    # And delivered again it is still the one hold (the hold's record refuses a second)
    service.accrue(store, "CardTransactionPosted", card(), "evt-2", NOW)
    assert len(store.holds) == 1 and service.balance(store, CUSTOMER, NOW)["pending"] == 128
    # When an operator releases it, Then the points are booked; a second decision is refused
    decided = risk_service.decide(store, hold["holdId"], RiskDecision(decision="release", note="genuine"), OPERATOR, NOW)
    assert decided["status"] == "released" and available(store) == 128
    with pytest.raises(Conflict) as refused:
        risk_service.decide(store, hold["holdId"], RiskDecision(decision="reject", note="late"), OPERATOR, NOW)
    assert refused.value.code == "RISK_HOLD_DECIDED"


def test_a_hold_decided_by_another_operator_between_the_read_and_the_write_is_a_conflict(store: InMemoryPointsStore) -> None:
    # Given a held accrual
    risk_service.save_settings(store, RiskSettings(maxPointsPerDay=100), OPERATOR, NOW)
    service.accrue(store, "CardTransactionPosted", card(), "evt-1", NOW)
    (hold,) = risk_service.pending_holds(store)
    # And another operator who rejects it just before this one's release is written
    store.before_commit = lambda: risk_service.decide(store, hold["holdId"], RiskDecision(decision="reject", note="fraud"), "op-2", NOW)
    # When this operator releases it, Then the decision's condition refuses it: 409, nothing booked
    with pytest.raises(Conflict) as refused:
        risk_service.decide(store, hold["holdId"], RiskDecision(decision="release", note="genuine"), OPERATOR, NOW)
    assert refused.value.code == "RISK_HOLD_DECIDED"
    assert store.holds[hold["holdId"]]["status"] == "rejected" and available(store) == 0


# ---- campaign awards and their compensation (ReversePoints) ------------------------------------------


def award_command(points: int = 200) -> AwardPointsCommand:
    return AwardPointsCommand(commandId="cg-1", customerId=CUSTOMER, points=points, costCentre="cc-marketing", campaignId="camp-1")


def reverse_command() -> ReversePointsCommand:
    return ReversePointsCommand(commandId="cg-1", customerId=CUSTOMER, grantId="gr-1", campaignId="camp-1",
                                reason="CouponIssueFailed:COUPON_LIMIT_REACHED")


def points_events(store: InMemoryPointsStore, detail_type: str) -> list[dict[str, Any]]:
    return [e.detail for e in store.outbox if e.detail_type == detail_type]


def test_an_award_taken_back_twice_is_reversed_once_with_an_entry_naming_the_grant(store: InMemoryPointsStore) -> None:
    # Given a customer with 100 points of their own, then awarded 200 by a campaign
    adjust(store, 100, "k-own")
    service.award_for_command(store, award_command(), NOW)
    assert available(store) == 300 and points_events(store, "PointsAwarded")[0]["commandId"] == "cg-1"
    # When the grant's compensation is delivered twice
    first = service.reverse_award(store, reverse_command(), NOW)
    again = service.reverse_award(store, reverse_command(), NOW)
    # Then the award is taken back once: the customer's points are what they were before it
    assert first is not None and again is None and available(store) == 100
    (entry,) = store.entries_with_prefix(CUSTOMER, "reverse:award:cg-1")
    assert (entry["kind"], entry["points"]) == ("reverse", -200)
    assert json.loads(entry["source"]) == {"awardCommandId": "cg-1", "grantId": "gr-1", "campaignId": "camp-1",
                                           "reason": "CouponIssueFailed:COUPON_LIMIT_REACHED", "category": "campaign"}
    # And it is answered once
    assert [(e["booked"], e["points"], e["debt"]) for e in points_events(store, "PointsAwardReversed")] == [(True, 200, 0)]


def test_an_award_already_spent_is_taken_back_as_debt(store: InMemoryPointsStore) -> None:
    # Given a campaign's 200 points, 150 of them spent since
    service.award_for_command(store, award_command(), NOW)
    adjust(store, -150, "k-spend")
    # When the grant is undone
    service.reverse_award(store, reverse_command(), NOW)
    # Then what is left is taken and the rest is owed: the books net the award to nothing
    stored = service.balance(store, CUSTOMER, NOW)
    assert (stored["available"], stored["debt"]) == (0, 150)
    assert [(e["points"], e["debt"]) for e in points_events(store, "PointsAwardReversed")] == [(200, 150)]


def test_a_compensation_before_the_award_forestalls_it(store: InMemoryPointsStore) -> None:
    # Given a grant undone before its AwardPoints was served
    service.reverse_award(store, reverse_command(), NOW)
    # When the award arrives after its compensation
    late = service.award_for_command(store, award_command(), NOW)
    # Then it is not booked: the ledger holds only the reversal, of no points, and the balance never moved
    assert late is None and available(store) == 0
    assert [(e["entryId"], e["points"]) for e in store.entries_with_prefix(CUSTOMER, "")] == [("reverse:award:cg-1", 0)]
    assert [(e["booked"], e["points"]) for e in points_events(store, "PointsAwardReversed")] == [(False, 0)]
    assert points_events(store, "PointsAwarded") == [] and points_events(store, "PointsEarned") == []
