"""Risk warning (积分风险预警) on the local cloud: accrual past a velocity limit is held as pending,
flagged on the bus, and booked or dropped by an operator's decision, once.

The limits are one per bank, so this module sets them and removes them again when it is done.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from loyalty.points import service
from tests.support.api import Api, eventually
from tests.support.points import (
    OPERATOR,
    POINTS_TABLE,
    PointsTap,
    accrue,
    balance,
    card_transaction,
    conforms,
    create_rule,
    error_code,
    history,
    new_customer,
    posted,
    rule_body,
    stored,
    unique,
)

SETTINGS = "/v1/admin/points/risk-settings"
HOLDS = "/v1/admin/points/risk-holds"


@pytest.fixture(scope="module")
def limits(cloud: LocalCloud, api: Api) -> Iterator[None]:
    """At most 500 points a business day and 3 earning events an hour per customer."""
    response = api.call("PUT", SETTINGS, body={"maxPointsPerDay": 500, "maxEventsPerHour": 3}, **OPERATOR)
    assert response.status_code == 200, response.text
    yield
    cloud.clients.dynamodb.delete_item(TableName=POINTS_TABLE, Key={"pk": {"S": "RISK"}, "sk": {"S": "CURRENT"}})
    service.forget_cached_config()


@pytest.fixture(scope="module")
def tap(cloud: LocalCloud) -> Iterator[PointsTap]:
    points_tap = PointsTap(cloud, f"risk-tap-{uuid.uuid4().hex[:8]}")
    yield points_tap
    points_tap.close()


def shop(api: Api) -> tuple[str, str]:
    """A new customer, and a merchant where 10 yuan earns 1 point."""
    merchant = unique("m")
    create_rule(api, rule_body(unique("r"), merchant))
    return new_customer(), merchant


def holds_of(api: Api, customer: str) -> list[dict[str, Any]]:
    response = api.call("GET", HOLDS, **OPERATOR)
    assert response.status_code == 200, response.text
    return [h for h in response.json()["items"] if h["customerId"] == customer]


def decide(api: Api, hold_id: str, decision: str) -> Any:
    return api.call("POST", f"{HOLDS}/{hold_id}/decision", body={"decision": decision, "note": "checked with the branch"}, **OPERATOR)


# Before the `limits` fixture: it needs a bank without limits, and leaves none behind.
def test_the_limits_read_back_as_saved_and_as_none_before_any_were_saved(cloud: LocalCloud, api: Api) -> None:
    # Given a bank where no limits were ever saved
    cloud.clients.dynamodb.delete_item(TableName=POINTS_TABLE, Key={"pk": {"S": "RISK"}, "sk": {"S": "CURRENT"}})
    # When an operator reads them
    before = api.call("GET", SETTINGS, **OPERATOR)
    # Then there are none
    assert before.status_code == 200, before.text
    assert before.json() == {"maxPointsPerDay": None, "maxEventsPerHour": None, "updatedBy": None, "updatedAt": None}
    # And once saved (too high to hold anything other tests' deliveries earn), they read back with who saved them
    try:
        saved = api.call("PUT", SETTINGS, body={"maxPointsPerDay": 100_000_000, "maxEventsPerHour": 100_000}, **OPERATOR)
        assert saved.status_code == 200, saved.text
        after = api.call("GET", SETTINGS, **OPERATOR).json()
        assert after == saved.json() and after["maxPointsPerDay"] == 100_000_000 and after["updatedBy"] == OPERATOR["as_"]
        # And a customer may not read them
        assert api.call("GET", SETTINGS, as_=new_customer()).status_code == 403
    finally:
        cloud.clients.dynamodb.delete_item(TableName=POINTS_TABLE, Key={"pk": {"S": "RISK"}, "sk": {"S": "CURRENT"}})
        service.forget_cached_config()


def test_accrual_within_the_limits_is_booked(cloud: LocalCloud, api: Api, limits: None) -> None:
    customer, merchant = shop(api)
    accrue(cloud, posted(card_transaction(customer, merchant, 40_000)))
    after = balance(api, customer)
    assert after["available"] == 40 and after["pending"] == 0


def test_points_past_the_daily_limit_are_held_flagged_and_released_once(cloud: LocalCloud, api: Api, limits: None, tap: PointsTap) -> None:
    # Given a customer who earned 100 points today
    customer, merchant = shop(api)
    accrue(cloud, posted(card_transaction(customer, merchant, 100_000)))
    # When a transaction worth 450 points more arrives (550 > 500), three times over
    big = posted(card_transaction(customer, merchant, 450_000))
    for _ in range(3):
        accrue(cloud, big)
    # Then its points are pending, not available, and one hold waits for an operator
    after = balance(api, customer)
    assert after["available"] == 100 and after["pending"] == 450
    (hold,) = holds_of(api, customer)
    assert hold["status"] == "pending" and hold["points"] == 450 and hold["reason"] == "points_per_day"
    assert hold["observed"] == 550 and hold["limit"] == 500
    (flagged,) = eventually(lambda: tap.of(customer, "PointsRiskFlagged"), timeout_s=15)
    assert conforms(flagged)["holdId"] == hold["holdId"]
    # When an operator releases it, and releases it again
    released = decide(api, hold["holdId"], "release")
    again = decide(api, hold["holdId"], "release")
    # Then the points are booked once, under the entry the accrual would have written
    assert released.status_code == 200 and released.json()["status"] == "released", released.text
    assert released.json()["decidedBy"] == OPERATOR["as_"]
    assert again.status_code == 409 and error_code(again) == "RISK_HOLD_DECIDED"
    after = balance(api, customer)
    assert after["available"] == 550 and after["pending"] == 0
    assert sorted(e["points"] for e in history(api, customer, kind="earn")) == [100, 450]
    assert holds_of(api, customer) == []
    stored(cloud.clients.dynamodb, customer).check_invariants()
    # And the event delivered once more after the release changes nothing
    accrue(cloud, big)
    assert balance(api, customer)["available"] == 550
    # And the customer's data export lists the decided hold
    exported = api.call("POST", f"/v1/admin/customers/{customer}/export", **OPERATOR).json()
    assert [(h["holdId"], h["status"]) for h in exported["points"]["riskHolds"]] == [(hold["holdId"], "released")]


def test_too_many_events_in_an_hour_are_held_and_a_rejection_books_nothing(cloud: LocalCloud, api: Api, limits: None) -> None:
    # Given a customer with three small transactions this hour
    customer, merchant = shop(api)
    for _ in range(3):
        accrue(cloud, posted(card_transaction(customer, merchant, 1_000)))
    # When a fourth arrives, and an operator rejects its hold
    accrue(cloud, posted(card_transaction(customer, merchant, 1_000)))
    (hold,) = holds_of(api, customer)
    assert hold["reason"] == "events_per_hour" and hold["observed"] == 4
    rejected = decide(api, hold["holdId"], "reject")
    # Then nothing of it is booked, and nothing is pending
    assert rejected.status_code == 200 and rejected.json()["status"] == "rejected"
    after = balance(api, customer)
    assert after["available"] == 3 and after["pending"] == 0
    assert len(history(api, customer, kind="earn")) == 3
    stored(cloud.clients.dynamodb, customer).check_invariants()


def test_invalid_limits_and_unknown_holds_are_refused(cloud: LocalCloud, api: Api, limits: None) -> None:
    negative = api.call("PUT", SETTINGS, body={"maxPointsPerDay": -1}, **OPERATOR)
    unknown = decide(api, "rh-" + "0" * 32, "release")
    as_customer = api.call("GET", HOLDS, as_=new_customer())
    assert negative.status_code == 400 and error_code(negative) == "VALIDATION_ERROR"
    assert unknown.status_code == 404 and error_code(unknown) == "RISK_HOLD_NOT_FOUND"
    assert as_customer.status_code == 403


def test_points_released_after_a_long_review_are_valid_from_the_release(cloud: LocalCloud, api: Api, limits: None) -> None:
    from tests.support.points import bank_today, yesterday

    # Given a hold whose points, as accrual planned them, lapsed yesterday (the review took that long)
    customer, merchant = shop(api)
    accrue(cloud, posted(card_transaction(customer, merchant, 600_000)))
    (hold,) = holds_of(api, customer)
    cloud.clients.dynamodb.update_item(TableName=POINTS_TABLE, Key={"pk": {"S": f"RISKHOLD#{hold['holdId']}"}, "sk": {"S": "RISKHOLD"}},
                                       UpdateExpression="SET planned[0].expires_on = :y", ExpressionAttributeValues={":y": {"S": yesterday()}})
    # When an operator releases it
    assert decide(api, hold["holdId"], "release").status_code == 200
    # Then the points can be spent, valid from today by their rule
    assert balance(api, customer)["available"] == 600
    assert all(lot["expiresOn"] >= bank_today().isoformat() for lot in stored(cloud.clients.dynamodb, customer).lots)
