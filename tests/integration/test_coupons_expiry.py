"""The scheduled expiry sweep: lapsed live coupons become expired, once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from infra.local.cloud import LocalCloud
from tests.support.api import Api
from tests.support.coupons import (
    active_template,
    claimed,
    coupon_action,
    coupon_item,
    earlier_today,
    move_validity_end,
    new_customer,
    wallet_items,
)

SWEEP = "coupons-expiry-sweep"


def test_the_sweep_expires_lapsed_coupons_once(cloud: LocalCloud, api: Api) -> None:
    # Given a customer with four coupons: two lapsed earlier today (one of them locked), one redeemed
    # and one still valid
    customer = new_customer()
    template_id = active_template(api, stock=10)
    lapsed, lapsed_locked, redeemed, valid = (claimed(api, customer, template_id)["couponId"] for _ in range(4))
    assert coupon_action(api, lapsed_locked, "lock", customer, {"orderId": "o-1"}).status_code == 200
    assert coupon_action(api, redeemed, "redeem", customer, {"orderId": "o-2"}).status_code == 200
    for coupon_id in (lapsed, lapsed_locked):
        move_validity_end(cloud.clients.dynamodb, coupon_id, earlier_today(seconds=30))
    dynamodb = cloud.clients.dynamodb

    # When the schedule fires
    first = cloud.scheduler.fire_now(SWEEP)
    # Then both lapsed coupons are stored as expired, out of the expiry index, the lock dropped
    assert first["expired"] >= 2, first
    for coupon_id in (lapsed, lapsed_locked):
        item = coupon_item(dynamodb, coupon_id)
        assert item is not None
        assert item["status"] == {"S": "expired"}
        assert "gsi2pk" not in item and "locked_until" not in item
    # And the others are untouched
    assert coupon_item(dynamodb, redeemed)["status"] == {"S": "redeemed"}  # type: ignore[index]
    assert coupon_item(dynamodb, valid)["status"] == {"S": "available"}  # type: ignore[index]
    assert {c["couponId"]: c["status"] for c in wallet_items(api, customer)} == {
        lapsed: "expired", lapsed_locked: "expired", redeemed: "redeemed", valid: "available",
    }

    # When it fires again, now through the local control endpoint (`make fire`)
    second = api.session.post(f"{api.base_url}/_local/schedules/fire", params={"schedule": SWEEP}, timeout=30)
    # Then there is nothing left to expire
    assert second.status_code == 200, second.text
    assert second.json()["result"]["expired"] == 0
    assert coupon_item(dynamodb, lapsed)["version"] == {"N": "2"}  # type: ignore[index]


def test_the_sweep_expires_a_coupon_of_a_day_it_has_not_finished(cloud: LocalCloud, api: Api) -> None:
    # Given a sweep that already ran today, and a coupon that lapses after it
    cloud.scheduler.fire_now(SWEEP)
    customer = new_customer()
    coupon_id = claimed(api, customer, active_template(api))["couponId"]
    move_validity_end(cloud.clients.dynamodb, coupon_id, earlier_today(seconds=5))
    # When the sweep runs again today, then it expires it: today is never marked done
    assert cloud.scheduler.fire_now(SWEEP)["expired"] >= 1
    assert coupon_item(cloud.clients.dynamodb, coupon_id)["status"] == {"S": "expired"}  # type: ignore[index]


def test_an_expired_coupon_cannot_be_used(cloud: LocalCloud, api: Api) -> None:
    customer = new_customer()
    coupon_id = claimed(api, customer, active_template(api))["couponId"]
    move_validity_end(cloud.clients.dynamodb, coupon_id, datetime.now(UTC) - timedelta(seconds=1))
    cloud.scheduler.fire_now(SWEEP)
    for action in ("lock", "redeem"):
        response = coupon_action(api, coupon_id, action, customer, {"orderId": "o-1"})
        assert (response.status_code, response.json()["error"]["code"]) == (422, "COUPON_EXPIRED")
