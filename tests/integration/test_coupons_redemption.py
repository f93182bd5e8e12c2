"""The payment flow over HTTP (quote, lock, redeem, release, return) and the customer's wallet."""

from __future__ import annotations

import concurrent.futures
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from tests.support.api import Api
from tests.support.coupons import (
    COUPONS_TABLE,
    active_template,
    claimed,
    coupon_action,
    error_code,
    fixed_amount,
    iso,
    move_validity_end,
    new_customer,
    order,
    wallet,
    wallet_items,
    window,
)


def status_of(api: Api, customer: str, coupon_id: str) -> str:
    return next(str(c["status"]) for c in wallet_items(api, customer) if c["couponId"] == coupon_id)


def set_locked_until(cloud: LocalCloud, coupon_id: str, until: datetime) -> None:
    cloud.clients.dynamodb.update_item(
        TableName=COUPONS_TABLE,
        Key={"pk": {"S": f"CPN#{coupon_id}"}, "sk": {"S": "CPN"}},
        UpdateExpression="SET locked_until = :u",
        ExpressionAttributeValues={":u": {"S": iso(until)}},
    )


def test_quote_lock_redeem_and_return(api: Api) -> None:
    # Given a customer holding a 30.00 CNY coupon
    customer = new_customer()
    coupon_id = claimed(api, customer, active_template(api, benefit=fixed_amount(3_000)))["couponId"]
    basket = order(20_000)

    # When the payment flow quotes it, without an Idempotency-Key (a quote changes nothing)
    quote = coupon_action(api, coupon_id, "quote", customer, basket, idempotency_key=None)
    # Then it applies: 30.00 off 200.00
    assert quote.status_code == 200, quote.text
    assert quote.json() == {"couponId": coupon_id, "applicable": True, "discountMinor": 3_000, "payableMinor": 17_000,
                            "currency": "CNY", "reason": None}
    assert status_of(api, customer, coupon_id) == "available"

    # When it locks the coupon for the order
    lock = coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-1", "ttlSeconds": 600, "order": basket})
    # Then it is locked for that order, and a new quote says so
    assert lock.status_code == 200, lock.text
    assert lock.json()["status"] == "locked"
    assert lock.json()["lock"]["orderId"] == "o-1"
    assert lock.json()["lock"]["until"] > iso(datetime.now(UTC) + timedelta(seconds=590))
    assert [c["status"] for c in wallet_items(api, customer)] == ["locked"]
    requote = coupon_action(api, coupon_id, "quote", customer, basket, idempotency_key=None).json()
    assert (requote["applicable"], requote["reason"]) == (False, "COUPON_LOCKED")

    # When the order is paid and the coupon redeemed for it
    redeem = coupon_action(api, coupon_id, "redeem", customer, {"orderId": "o-1"})
    # Then it is redeemed with the discount quoted at lock time
    assert redeem.status_code == 200, redeem.text
    assert redeem.json()["status"] == "redeemed"
    assert redeem.json()["redemption"]["orderId"] == "o-1"
    assert redeem.json()["redemption"]["discountMinor"] == 3_000
    assert "lock" not in redeem.json()

    # When the order is refunded and the coupon returned
    returned = coupon_action(api, coupon_id, "return", customer, {"orderId": "o-1"})
    # Then it is available again, and can be used for another order
    assert returned.status_code == 200, returned.text
    assert [c["status"] for c in returned.json()["coupons"]] == ["available"]
    assert status_of(api, customer, coupon_id) == "available"
    assert coupon_action(api, coupon_id, "redeem", customer, {"orderId": "o-2"}).json()["status"] == "redeemed"


def test_release_gives_a_locked_coupon_back(api: Api) -> None:
    customer = new_customer()
    coupon_id = claimed(api, customer, active_template(api))["couponId"]
    assert coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-1"}).status_code == 200
    released = coupon_action(api, coupon_id, "release", customer, {"orderId": "o-1"})
    assert released.status_code == 200, released.text
    assert released.json()["status"] == "available"
    assert "lock" not in released.json()
    assert coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-2"}).status_code == 200


def test_concurrent_locks_for_different_orders_let_one_through(cloud: LocalCloud) -> None:
    # Given one available coupon, and 10 checkouts trying to lock it at once, each for its own order
    api = Api(cloud.api_url)
    customer = new_customer()
    coupon_id = claimed(api, customer, active_template(api))["couponId"]

    def lock(n: int) -> tuple[int, str]:
        response = coupon_action(Api(cloud.api_url), coupon_id, "lock", customer, {"orderId": f"o-{n}"})
        return response.status_code, response.json()["lock"]["orderId"] if response.ok else error_code(response)

    with concurrent.futures.ThreadPoolExecutor(10) as pool:
        outcomes = list(pool.map(lock, range(10)))
    # Then exactly one order holds the lock, and the others are told of the conflict
    winners = [order_id for status, order_id in outcomes if status == 200]
    assert len(winners) == 1, outcomes
    assert {(status, code) for status, code in outcomes if status != 200} <= {(409, "COUPON_LOCKED"), (409, "COUPON_CHANGED")}
    assert next(c for c in wallet_items(api, customer) if c["couponId"] == coupon_id)["lock"]["orderId"] == winners[0]


def test_a_replayed_lock_returns_the_first_answer(api: Api) -> None:
    customer = new_customer()
    coupon_id = claimed(api, customer, active_template(api))["couponId"]
    key = str(uuid.uuid4())
    first = coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-1"}, idempotency_key=key)
    replay = coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-1"}, idempotency_key=key)
    assert first.status_code == replay.status_code == 200
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == first.json()


def test_an_operator_may_run_the_flow_for_a_customer(api: Api) -> None:
    customer = new_customer()
    coupon_id = claimed(api, customer, active_template(api))["couponId"]
    response = api.call("POST", f"/v1/coupons/{coupon_id}/redeem", as_="op-pos", groups=["operators"], body={"orderId": "o-9"})
    assert response.status_code == 200, response.text
    assert status_of(api, customer, coupon_id) == "redeemed"


def test_a_lapsed_lock_releases_itself(cloud: LocalCloud, api: Api) -> None:
    # Given a coupon locked for an order that was never paid, whose lock has lapsed
    customer = new_customer()
    coupon_id = claimed(api, customer, active_template(api))["couponId"]
    assert coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-1", "ttlSeconds": 10}).status_code == 200
    set_locked_until(cloud, coupon_id, datetime.now(UTC) - timedelta(seconds=1))
    # Then the wallet shows it available, and another order can lock it
    assert status_of(api, customer, coupon_id) == "available"
    relock = coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-2"})
    assert relock.status_code == 200, relock.text
    assert relock.json()["lock"]["orderId"] == "o-2"


@pytest.mark.slow
def test_a_lock_lapses_after_its_ttl_in_real_time(api: Api) -> None:
    # Given a coupon locked with the shortest TTL, 10 s
    customer = new_customer()
    coupon_id = claimed(api, customer, active_template(api))["couponId"]
    assert coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-1", "ttlSeconds": 10}).status_code == 200
    assert coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-2"}).status_code == 409
    # When 11 s pass
    time.sleep(11)
    # Then the lock has lapsed: the coupon is available and another order takes it
    assert status_of(api, customer, coupon_id) == "available"
    assert coupon_action(api, coupon_id, "redeem", customer, {"orderId": "o-2"}).json()["status"] == "redeemed"


def test_a_coupon_past_its_window_shows_expired_before_any_sweep(api: Api) -> None:
    # Given a template valid from a minute ago until 4 s from now, and a coupon claimed from it
    now = datetime.now(UTC)
    valid_until = now + timedelta(seconds=4)
    customer = new_customer()
    coupon_id = claimed(api, customer, active_template(api, validity=window(now - timedelta(minutes=1), valid_until)))["couponId"]
    assert status_of(api, customer, coupon_id) == "available"
    # When its window passes
    time.sleep(max(0.0, (valid_until - datetime.now(UTC)).total_seconds()) + 0.3)
    # Then it shows expired, and it cannot be locked or redeemed
    assert status_of(api, customer, coupon_id) == "expired"
    assert [c["couponId"] for c in wallet_items(api, customer, status="expired")] == [coupon_id]
    assert wallet_items(api, customer, status="available") == []
    lock = coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-1"})
    assert (lock.status_code, error_code(lock)) == (422, "COUPON_EXPIRED")
    quote = coupon_action(api, coupon_id, "quote", customer, order(), idempotency_key=None).json()
    assert (quote["applicable"], quote["reason"]) == (False, "COUPON_EXPIRED")


def test_a_coupon_not_valid_yet_is_not_quoted_as_applicable(api: Api) -> None:
    # Given a coupon issued ahead of its window, which opens tomorrow
    now = datetime.now(UTC)
    customer = new_customer()
    template_id = active_template(api, validity=window(now + timedelta(days=1), now + timedelta(days=2)))
    coupon_id = claimed(api, customer, template_id)["couponId"]
    # When the payment flow tries it today
    lock = coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-1"})
    quote = coupon_action(api, coupon_id, "quote", customer, order(), idempotency_key=None).json()
    # Then lock refuses it, and the quote agrees
    assert (lock.status_code, error_code(lock)) == (422, "COUPON_NOT_YET_VALID")
    assert (quote["applicable"], quote["discountMinor"], quote["reason"]) == (False, 0, "COUPON_NOT_YET_VALID")


def test_a_coupon_returned_after_its_window_comes_back_expired(cloud: LocalCloud, api: Api) -> None:
    customer = new_customer()
    coupon_id = claimed(api, customer, active_template(api))["couponId"]
    assert coupon_action(api, coupon_id, "redeem", customer, {"orderId": "o-1"}).status_code == 200
    move_validity_end(cloud.clients.dynamodb, coupon_id, datetime.now(UTC) - timedelta(minutes=1))
    returned = coupon_action(api, coupon_id, "return", customer, {"orderId": "o-1"})
    assert returned.status_code == 200, returned.text
    assert [c["status"] for c in returned.json()["coupons"]] == ["expired"]
    assert status_of(api, customer, coupon_id) == "expired"


def test_the_wallet_filters_by_status(cloud: LocalCloud, api: Api) -> None:
    # Given a customer with two available, one locked, one redeemed and one expired coupon
    customer = new_customer()
    template_id = active_template(api, stock=10)
    ids = [claimed(api, customer, template_id)["couponId"] for _ in range(5)]
    assert coupon_action(api, ids[2], "lock", customer, {"orderId": "o-lock"}).status_code == 200
    assert coupon_action(api, ids[3], "redeem", customer, {"orderId": "o-paid"}).status_code == 200
    move_validity_end(cloud.clients.dynamodb, ids[4], datetime.now(UTC) - timedelta(seconds=5))
    # When the wallet is read with each status filter, and without
    by_status = {s: [c["couponId"] for c in wallet_items(api, customer, status=s)] for s in ("available", "locked", "redeemed", "expired")}
    everything = wallet_items(api, customer)
    # Then each filter returns exactly its coupons, newest first, and no filter returns all five
    assert by_status == {"available": [ids[1], ids[0]], "locked": [ids[2]], "redeemed": [ids[3]], "expired": [ids[4]]}
    assert [c["couponId"] for c in everything] == list(reversed(ids))
    locked = next(c for c in everything if c["couponId"] == ids[2])
    assert locked["lock"]["orderId"] == "o-lock" and "redemption" not in locked
    # And the customer reads their own wallet too
    assert wallet(api, customer).status_code == 200


def test_the_wallet_pages_with_a_cursor(api: Api) -> None:
    # Given a customer with 7 coupons, 4 of them redeemed
    customer = new_customer()
    template_id = active_template(api, stock=10)
    ids = [claimed(api, customer, template_id)["couponId"] for _ in range(7)]
    for coupon_id in ids[:4]:
        assert coupon_action(api, coupon_id, "redeem", customer, {"orderId": f"o-{coupon_id}"}).status_code == 200

    def pages(**query: Any) -> list[list[str]]:
        found, cursor = [], None
        for _ in range(10):
            response = wallet(api, customer, cursor=cursor, **query)
            assert response.status_code == 200, response.text
            found.append([c["couponId"] for c in response.json()["items"]])
            cursor = response.json()["nextCursor"]
            if cursor is None:
                return found
        raise AssertionError("the cursor never ended")

    # When the wallet is read 3 at a time
    # Then the pages hold 3, 3 and 1 coupons, newest first, none twice, and the last has no cursor
    assert pages(limit=3) == [list(reversed(ids))[0:3], list(reversed(ids))[3:6], list(reversed(ids))[6:7]]
    # And a filter pages over the matching coupons only
    assert pages(limit=3, status="redeemed") == [[ids[3], ids[2], ids[1]], [ids[0]]]
    assert pages(limit=2, status="available") == [[ids[6], ids[5]], [ids[4]]]
