"""Points accrual: bank events in through the bus and the points-accrual queue, points out over HTTP.

Each test makes its own earn rule, matching only its own merchant, so the session's other rules
never award anything here.
"""

from __future__ import annotations

from typing import Any

from infra.local.cloud import LocalCloud
from loyalty.points import service
from tests.support.api import Api, eventually
from tests.support.points import (
    OPERATOR,
    RULES,
    accrue,
    adjust,
    available,
    card_refund,
    card_transaction,
    create_rule,
    envelope,
    history,
    invoke_accrual,
    known_customer,
    new_customer,
    posted,
    publish,
    quote,
    refunded,
    rule_body,
    stored,
    unique,
    watching_accrual,
)


def test_a_card_transaction_published_three_times_earns_once(cloud: LocalCloud, api: Api) -> None:
    # Given a rule of 1 point per 10 yuan, rounded down, at one merchant only
    customer, merchant, rule_id = new_customer(), unique("m"), unique("r")
    create_rule(api, rule_body(rule_id, merchant, points=1, per_amount_minor=1000, rounding="down"))
    tx = card_transaction(customer, merchant, 128_850)
    # When core banking publishes the same transaction three times on loyalty-events
    with watching_accrual(cloud) as deliveries:
        for _ in range(3):
            publish(cloud.clients.events, posted(tx))
        # Then all three deliveries are accepted (none left to retry)...
        eventually(lambda: deliveries.accepted(tx["transactionId"]) == 3, timeout_s=20)
    # ...and the points were booked once: 1288.50 yuan is 128 points
    assert available(api, customer) == 128
    (entry,) = history(api, customer)
    assert entry["kind"] == "earn" and entry["points"] == 128 and entry["debtChange"] == 0
    assert entry["costCentre"] == "cc-cards"
    assert entry["source"]["ruleId"] == rule_id and entry["source"]["ruleVersion"] == 1
    assert entry["source"]["eventType"] == "CardTransactionPosted"
    assert entry["source"]["subject"] == tx["transactionId"] and entry["source"]["amountMinor"] == 128_850
    stored(cloud.clients.dynamodb, customer).check_invariants()


def test_replaying_any_event_three_times_changes_nothing_after_the_first(cloud: LocalCloud, api: Api) -> None:
    # Given a customer with an earned transaction
    customer, merchant, rule_id = known_customer(cloud), unique("m"), unique("r")
    create_rule(api, rule_body(rule_id, merchant))
    tx = card_transaction(customer, merchant, 100_000)
    earn_body = envelope("CardTransactionPosted", tx)
    refund_body = envelope("CardTransactionRefunded", card_refund(customer, tx["transactionId"], 30_000))
    dynamodb = cloud.clients.dynamodb

    def replayed_three_times(deliver: Any) -> None:
        deliver()
        after_first = stored(dynamodb, customer)
        deliver()
        deliver()
        assert stored(dynamodb, customer) == after_first

    # When the earn (the same envelope, and a re-publication under a new envelope id), the refund and
    # an adjustment (the same Idempotency-Key) are each delivered three times
    replayed_three_times(lambda: invoke_accrual(cloud, earn_body))
    replayed_three_times(lambda: invoke_accrual(cloud, envelope("CardTransactionPosted", tx)))
    replayed_three_times(lambda: invoke_accrual(cloud, refund_body))
    key = unique("adj")
    replayed_three_times(lambda: adjust(api, customer, 5, key=key))
    # Then each counted once: 100 earned, 30 reversed, 5 added
    final = stored(dynamodb, customer)
    assert final.available == 75 and final.debt == 0
    assert sorted((e["kind"], e["points"]) for e in final.entries) == [("adjust", 5), ("earn", 100), ("reverse", -30)]
    final.check_invariants()
    # And a replayed adjustment answers with its first response
    replay = adjust(api, customer, 5, key=key)
    assert replay.status_code == 201 and replay.headers.get("Idempotent-Replayed") == "true"


def test_a_daily_cap_limits_what_a_rule_awards_and_the_quote_shows_it(cloud: LocalCloud, api: Api) -> None:
    # Given a rule capped at 100 points a day per customer
    customer, merchant, rule_id = new_customer(), unique("m"), unique("r")
    create_rule(api, rule_body(rule_id, merchant, caps={"perCustomerDaily": 100}))
    first, second = card_transaction(customer, merchant, 80_000), card_transaction(customer, merchant, 80_000)
    # When two transactions worth 80 points each are posted the same day
    accrue(cloud, posted(first))
    midway = quote(api, customer, card_transaction(customer, merchant, 80_000)).json()
    accrue(cloud, posted(second))
    # Then the second earns only what is left under the cap: 100 in all
    assert available(api, customer) == 100
    assert sorted(e["points"] for e in history(api, customer, kind="earn")) == [20, 80]
    # And the quotes showed the cap and what was used of it, before and after
    (before,) = midway["rules"]
    assert before["points"] == 20 and before["beforeCaps"] == 80
    assert before["caps"] == {"daily": {"cap": 100, "used": 80}}
    after = quote(api, customer, card_transaction(customer, merchant, 80_000)).json()
    assert after["total"] == 0
    (rule,) = after["rules"]
    assert rule["ruleId"] == rule_id and rule["points"] == 0 and rule["beforeCaps"] == 80
    assert rule["caps"] == {"daily": {"cap": 100, "used": 100}}
    stored(cloud.clients.dynamodb, customer).check_invariants()


def test_a_monthly_cap_applies_across_days(cloud: LocalCloud, api: Api) -> None:
    # Given a rule capped at 150 points a month, and two transactions on different days of one month
    customer, merchant, rule_id = new_customer(), unique("m"), unique("r")
    create_rule(api, rule_body(rule_id, merchant, caps={"perCustomerMonthly": 150}))
    day_one = card_transaction(customer, merchant, 100_000, postedAt="2026-03-02T02:00:00Z")
    day_two = card_transaction(customer, merchant, 100_000, postedAt="2026-03-20T02:00:00Z")
    # When both are posted
    accrue(cloud, posted(day_one), posted(day_two))
    # Then the month's total stops at the cap
    assert available(api, customer) == 150


def test_points_of_a_late_event_are_valid_from_the_day_they_are_credited(cloud: LocalCloud, api: Api) -> None:
    from datetime import UTC, datetime, timedelta

    from tests.support.points import bank_today

    # Given a rule whose points are valid for 30 days, and a transaction posted 40 days ago
    customer, merchant = new_customer(), unique("m")
    create_rule(api, rule_body(unique("r"), merchant, validity={"type": "days", "days": 30}))
    late = card_transaction(customer, merchant, 100_000, postedAt=(datetime.now(UTC) - timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    # When it is delivered today
    accrue(cloud, posted(late))
    # Then its 100 points can be spent, for 30 days from today rather than lapsed on arrival
    (lot,) = stored(cloud.clients.dynamodb, customer).lots
    assert lot["expiresOn"] == (bank_today() + timedelta(days=30)).isoformat()
    assert available(api, customer) == 100


def test_rules_are_versioned_and_accrual_books_the_current_version(cloud: LocalCloud, api: Api) -> None:
    # Given a rule at version 1 (1 point per 10 yuan) that has booked a transaction
    customer, merchant, rule_id = new_customer(), unique("m"), unique("r")
    v1 = create_rule(api, rule_body(rule_id, merchant))
    assert v1["version"] == 1 and v1["updatedBy"] == OPERATOR["as_"]
    accrue(cloud, posted(card_transaction(customer, merchant, 50_000)))
    # When an operator saves a new definition (2 points per 10 yuan)
    put = api.call("PUT", f"{RULES}/{rule_id}", body=rule_body(rule_id, merchant, points=2), **OPERATOR)
    # Then it is version 2, the current one, and version 1 is still readable as it was
    assert put.status_code == 200, put.text
    assert put.json()["version"] == 2
    current = api.call("GET", f"{RULES}/{rule_id}", **OPERATOR).json()
    assert current["version"] == 2 and current["award"]["points"] == 2
    old = api.call("GET", f"{RULES}/{rule_id}?version=1", **OPERATOR)
    assert old.status_code == 200
    assert old.json()["version"] == 1 and old.json()["award"]["points"] == 1
    assert api.call("GET", f"{RULES}/{rule_id}?version=3", **OPERATOR).status_code == 404
    listed = {r["ruleId"]: r["version"] for r in api.call("GET", RULES, **OPERATOR).json()["items"]}
    assert listed[rule_id] == 2
    # And once the accrual's rules cache has lapsed, a new transaction books with version 2
    service.forget_cached_config()
    accrue(cloud, posted(card_transaction(customer, merchant, 50_000)))
    versions = sorted((e["source"]["ruleVersion"], e["points"]) for e in history(api, customer, kind="earn"))
    assert versions == [(1, 50), (2, 100)]
    assert available(api, customer) == 150


def test_saving_a_rule_is_refused_when_it_clashes(api: Api) -> None:
    # Given a rule
    merchant, rule_id = unique("m"), unique("r")
    create_rule(api, rule_body(rule_id, merchant))
    # Then creating it again is a conflict, updating an unknown rule is not found,
    # and a body whose ruleId differs from the path is invalid
    again = api.call("POST", RULES, body=rule_body(rule_id, merchant, points=3), **OPERATOR)
    assert again.status_code == 409 and again.json()["error"]["code"] == "RULE_VERSION_CONFLICT"
    unknown = unique("r")
    assert api.call("PUT", f"{RULES}/{unknown}", body=rule_body(unknown, merchant), **OPERATOR).status_code == 404
    mismatch = api.call("PUT", f"{RULES}/{rule_id}", body=rule_body(unique("r"), merchant), **OPERATOR)
    assert mismatch.status_code == 400
    # And the rule is still its first version
    assert api.call("GET", f"{RULES}/{rule_id}", **OPERATOR).json()["version"] == 1


def test_refunds_on_the_bus_reverse_what_the_transaction_earned(cloud: LocalCloud, api: Api) -> None:
    # Given a transaction earned through the bus
    customer, merchant, rule_id = new_customer(), unique("m"), unique("r")
    create_rule(api, rule_body(rule_id, merchant))
    tx = card_transaction(customer, merchant, 128_800)
    publish(cloud.clients.events, posted(tx))
    eventually(lambda: available(api, customer) == 128)
    # When its refund is published
    publish(cloud.clients.events, refunded(card_refund(customer, tx["transactionId"], 128_800)))
    # Then the points go back
    eventually(lambda: available(api, customer) == 0)
    (reversal,) = history(api, customer, kind="reverse")
    assert reversal["points"] == -128 and reversal["source"]["originalTransactionId"] == tx["transactionId"]


def test_an_exclusive_rule_stops_the_rules_below_it_and_stack_rules_add_up(cloud: LocalCloud, api: Api) -> None:
    # Given, at one merchant, an exclusive rule (priority 900), a stacking rule above it (950) and one below it (800)
    customer, merchant = new_customer(), unique("m")
    above, exclusive, below = unique("r"), unique("r"), unique("r")
    create_rule(api, rule_body(above, merchant, award={"mode": "fixed", "points": 5}, priority=950))
    create_rule(api, rule_body(exclusive, merchant, points=2, priority=900, stacking="exclusive"))
    create_rule(api, rule_body(below, merchant, points=1, priority=800))
    # When a 100 yuan transaction is posted
    accrue(cloud, posted(card_transaction(customer, merchant, 10_000)))
    # Then the rule above and the exclusive one award, the one below does not
    assert sorted((e["source"]["ruleId"], e["points"]) for e in history(api, customer)) == sorted([(above, 5), (exclusive, 20)])
    assert available(api, customer) == 25


def test_a_growth_rule_accrues_growth_value_not_points(cloud: LocalCloud, api: Api) -> None:
    # Given a growth rule (成长值) and a points rule at one merchant
    customer, merchant = new_customer(), unique("m")
    create_rule(api, rule_body(unique("r"), merchant, category="growth", points=3))
    create_rule(api, rule_body(unique("r"), merchant))
    # When the quote is asked, then a transaction posted
    detail = card_transaction(customer, merchant, 10_000)
    quoted = quote(api, customer, detail).json()
    accrue(cloud, posted(detail))
    # Then growth is counted apart from redeemable points, in the quote and in the balance
    assert (quoted["total"], quoted["growth"]) == (10, 30)
    shown = api.call("GET", f"/v1/customers/{customer}/points", as_=customer).json()
    assert (shown["available"], shown["growth"]) == (10, 30)
    growth_entry = next(e for e in history(api, customer) if e["growth"])
    assert growth_entry["points"] == 0 and growth_entry["growth"] == 30
    stored(cloud.clients.dynamodb, customer).check_invariants()


def test_a_refund_reverses_each_rule_that_awarded_the_transaction(cloud: LocalCloud, api: Api) -> None:
    # Given a transaction that earned under two rules: 1 point per 10 yuan (128) and 3 per 10 yuan (386)
    customer, merchant = new_customer(), unique("m")
    one, three = unique("r"), unique("r")
    create_rule(api, rule_body(one, merchant))
    create_rule(api, rule_body(three, merchant, points=3))
    tx = card_transaction(customer, merchant, 128_800)
    accrue(cloud, posted(tx))
    assert available(api, customer) == 128 + 384
    # When a quarter, then the rest, is refunded
    accrue(cloud, refunded(card_refund(customer, tx["transactionId"], 32_200)))
    accrue(cloud, refunded(card_refund(customer, tx["transactionId"], 96_600)))
    # Then each rule's points were reversed in proportion, and in the end entirely
    reversals = sorted((e["source"]["ruleId"], e["points"]) for e in history(api, customer, kind="reverse"))
    assert reversals == sorted([(one, -32), (one, -96), (three, -96), (three, -288)])
    assert available(api, customer) == 0
