"""What points publish on the bus: ledger changes through the `points` table's outbox and stream
(points-outbox), and PointsExpiringSoon directly from the expiry run.

A tap (an SQS queue behind a rule on `loyalty-events` matching source `loyalty.points`) shows what
reached the bus; each event is checked against its schema in events/schemas/outbound.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from infra.local.cloud import LocalCloud
from tests.support.api import Api, eventually
from tests.support.points import (
    PointsTap,
    accrue,
    adjust,
    bank_today,
    card_refund,
    card_transaction,
    conforms,
    create_rule,
    known_customer,
    new_customer,
    posted,
    publish,
    refunded,
    rule_body,
    run_expiry,
    unique,
    yesterday,
)


@pytest.fixture(scope="module")
def tap(cloud: LocalCloud) -> Iterator[PointsTap]:
    points_tap = PointsTap(cloud, f"points-tap-{uuid.uuid4().hex[:8]}")
    yield points_tap
    points_tap.close()


def test_an_accrual_publishes_points_earned(cloud: LocalCloud, api: Api, tap: PointsTap) -> None:
    # Given a rule, and a card transaction published by core banking
    customer, merchant, rule_id, cost_centre = new_customer(), unique("m"), unique("r"), unique("cc")
    create_rule(api, rule_body(rule_id, merchant, cost_centre=cost_centre))
    tx = card_transaction(customer, merchant, 128_800)
    # When it is booked
    publish(cloud.clients.events, posted(tx))
    # Then PointsEarned reaches the bus, from the outbox, with the customer, points, payer and source
    (event,) = eventually(lambda: tap.of(customer, "PointsEarned"), timeout_s=15)
    assert event["source"] == "loyalty.points"
    detail = conforms(event)
    assert detail["customerId"] == customer and detail["points"] == 128 and detail["kind"] == "earn"
    assert detail["costCentre"] == cost_centre
    assert detail["source"]["ruleId"] == rule_id and detail["source"]["ruleVersion"] == 1
    assert detail["source"]["subject"] == tx["transactionId"] and detail["source"]["eventType"] == "CardTransactionPosted"
    assert detail["entryId"] == f"earn:CardTransactionPosted:{tx['transactionId']}:{rule_id}"


def test_adjustments_and_reversals_are_published_once_each(cloud: LocalCloud, api: Api, tap: PointsTap) -> None:
    # Given 100 points earned
    customer, merchant, rule_id = known_customer(cloud), unique("m"), unique("r")
    create_rule(api, rule_body(rule_id, merchant))
    tx = card_transaction(customer, merchant, 100_000)
    accrue(cloud, posted(tx))
    # When an operator takes 20 (the same request sent twice) and the transaction is half refunded
    key = unique("adj")
    assert adjust(api, customer, -20, key=key).status_code == 201
    assert adjust(api, customer, -20, key=key).status_code == 201
    accrue(cloud, refunded(card_refund(customer, tx["transactionId"], 50_000)))
    # (and, written last, a marker adjustment: the stream is ordered, so once it is out, all before it are)
    marker = unique("marker")
    assert adjust(api, customer, 1, key=marker).status_code == 201
    eventually(lambda: [e for e in tap.of(customer, "PointsAdjusted") if e["detail"]["points"] == 1], timeout_s=15)
    # Then each ledger change was published once, with its own event id
    events = tap.of(customer)
    assert sorted((e["detail-type"], e["detail"]["points"]) for e in events) == [
        ("PointsAdjusted", -20), ("PointsAdjusted", 1), ("PointsEarned", 100), ("PointsReversed", -50)
    ]
    assert len({e["detail"]["eventId"] for e in events}) == 4
    details = {e["detail-type"] + str(e["detail"]["points"]): conforms(e) for e in events}
    assert details["PointsAdjusted-20"]["source"] == {"operator": "op-points", "reason": "test adjustment"}
    assert details["PointsReversed-50"]["source"]["originalTransactionId"] == tx["transactionId"]


def test_the_expiry_run_publishes_points_expired_and_expiring_soon(cloud: LocalCloud, api: Api, tap: PointsTap) -> None:
    # Given a lot dated yesterday (due) and one dated a week ahead (expiring soon)
    customer, merchant = new_customer(), unique("m")
    soon = (bank_today() + timedelta(days=7)).isoformat()
    create_rule(api, rule_body(unique("r"), merchant, validity={"type": "fixed_date", "date": yesterday()}))
    create_rule(api, rule_body(unique("r"), merchant, award={"mode": "fixed", "points": 30}, validity={"type": "fixed_date", "date": soon}))
    accrue(cloud, posted(card_transaction(customer, merchant, 20_000)))
    # When the expiry runs
    run_expiry(cloud)
    # Then the lapsed lot's PointsExpired (from the outbox) and the PointsExpiringSoon notice reach the bus
    (expired,) = eventually(lambda: tap.of(customer, "PointsExpired"), timeout_s=15)
    assert conforms(expired)["points"] == -20 and expired["detail"]["expiredOn"] == yesterday()
    (notice,) = eventually(lambda: tap.of(customer, "PointsExpiringSoon"), timeout_s=15)
    assert conforms(notice) | {"eventId": "-"} == {"customerId": customer, "points": 30, "expiresOn": soon, "eventId": "-"}


def test_a_correlation_id_follows_a_redemption_through_the_bus_and_both_queues(cloud: LocalCloud, api: Api, tap: PointsTap) -> None:
    # Given a customer with points and a coupon in the catalogue
    from tests.support.coupons import active_template

    customer, item_id = known_customer(cloud), unique("item")
    assert adjust(api, customer, 500).status_code == 201
    body = {"itemId": item_id, "name": "n", "kind": "coupon", "points": 100, "templateId": active_template(api)}
    assert api.call("PUT", f"/v1/admin/points/catalogue/{item_id}", body=body, as_="op-points", groups=["operators"]).status_code == 200
    # When the customer redeems it in a request with its own correlation id
    correlation = unique("corr")
    redeemed = api.call("POST", "/v1/points/redemptions", as_=customer, body={"itemId": item_id}, headers={"X-Correlation-Id": correlation})
    assert redeemed.status_code == 201 and redeemed.headers["X-Correlation-Id"] == correlation
    # Then the points event, and the completion that came back through coupons' queue and the
    # outcomes queue, all carry it
    (completed,) = eventually(lambda: tap.of(customer, "PointsRedemptionCompleted"), timeout_s=20)
    assert completed["detail"]["correlationId"] == correlation
    assert all(e["detail"]["correlationId"] == correlation for e in tap.of(customer, "PointsRedeemed"))
