"""Each kind of benefit end to end: voucher codes, bundles, random amounts, red packets, gifts, and
the discounts of the payment kinds; plus daily stock and daily limits."""

from __future__ import annotations

import collections
import concurrent.futures
import uuid
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from tests.support.api import Api
from tests.support.coupons import (
    active_template,
    add_stock,
    bundle,
    claim,
    claimed,
    coupon_action,
    coupons_in_table,
    create_template,
    error_code,
    fixed_amount,
    new_customer,
    order,
    percentage,
    random_amount,
    red_packet,
    stock_left,
    template_body,
    threshold,
    upload_codes,
    voucher_code,
    wallet_items,
)

# ---- voucher codes -----------------------------------------------------------------------------


def test_forty_concurrent_claims_share_thirty_codes_exactly(cloud: LocalCloud) -> None:
    # Given a voucher template with 30 uploaded codes
    api = Api(cloud.api_url)
    body = template_body(benefit=voucher_code(), stock=0)
    template_id = body["templateId"]
    create_template(api, body)
    codes = [f"CODE-{uuid.uuid4().hex[:8].upper()}" for _ in range(30)]
    uploaded = upload_codes(api, template_id, codes)
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.json() == {"templateId": template_id, "added": 30}
    assert api.call("PUT", f"/v1/admin/coupon-templates/{template_id}/status", body={"status": "active"},
                    as_="op", groups=["operators"]).status_code == 200
    assert stock_left(api, template_id) == 30
    customers = [new_customer() for _ in range(40)]

    # When 40 customers claim at once, from 40 threads
    def grab(customer: str) -> tuple[int, Any]:
        response = claim(Api(cloud.api_url), customer, template_id)
        return response.status_code, response.json()

    with concurrent.futures.ThreadPoolExecutor(40) as pool:
        outcomes = list(pool.map(grab, customers))

    # Then 30 got a coupon, each with its own code from the upload, and 10 were told it is out of stock
    issued = [body for status, body in outcomes if status == 201]
    refused = collections.Counter((status, body["error"]["code"]) for status, body in outcomes if status != 201)
    assert len(issued) == 30, refused
    assert refused == {(409, "COUPON_OUT_OF_STOCK"): 10}
    assert sorted(c["code"] for c in issued) == sorted(codes)
    assert stock_left(api, template_id) == 0
    held = [item for customer in customers for item in coupons_in_table(cloud.clients.dynamodb, customer)]
    assert sorted(item["code"]["S"] for item in held) == sorted(codes)
    # And a new upload restocks it
    assert upload_codes(api, template_id, ["LATE-1"]).status_code == 201
    assert claimed(api, new_customer(), template_id)["code"] == "LATE-1"


# ---- bundles -----------------------------------------------------------------------------------


@pytest.fixture()
def bundle_templates(api: Api) -> tuple[str, str, str]:
    """Two part templates (5 each) and an active bundle of them (5): (part a, part b, bundle)."""
    part_a = active_template(api, benefit=fixed_amount(1_000), stock=5)
    part_b = active_template(api, benefit=percentage(10, 5_000), stock=5)
    return part_a, part_b, active_template(api, benefit=bundle(part_a, part_b), stock=5)


def test_a_bundle_claim_issues_one_coupon_per_part(api: Api, bundle_templates: tuple[str, str, str]) -> None:
    part_a, part_b, bundle_id = bundle_templates
    customer, key = new_customer(), str(uuid.uuid4())
    # When a customer claims the bundle
    response = claim(api, customer, bundle_id, key=key)
    # Then one coupon per part is issued, sharing the bundle id, and each template gave one
    assert response.status_code == 201, response.text
    body = response.json()
    assert [c["templateId"] for c in body["coupons"]] == [part_a, part_b]
    assert {c["bundleId"] for c in body["coupons"]} == {body["bundleId"]}
    assert [stock_left(api, t) for t in (part_a, part_b, bundle_id)] == [4, 4, 4]
    assert sorted(c["couponId"] for c in wallet_items(api, customer)) == sorted(c["couponId"] for c in body["coupons"])
    # And a replay answers the same bundle, taking nothing more
    replay = claim(api, customer, bundle_id, key=key)
    assert replay.status_code == 201
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert replay.json() == body
    assert [stock_left(api, t) for t in (part_a, part_b, bundle_id)] == [4, 4, 4]


def test_a_bundle_is_all_or_nothing(cloud: LocalCloud, api: Api) -> None:
    # Given a bundle whose second part has no stock left
    part_a = active_template(api, stock=5)
    part_b = active_template(api, stock=0)
    bundle_id = active_template(api, benefit=bundle(part_a, part_b), stock=5)
    customer = new_customer()
    # When a customer claims it
    response = claim(api, customer, bundle_id)
    # Then it is refused as out of stock: no coupon, and neither the bundle nor the other part gave any
    assert (response.status_code, error_code(response)) == (409, "COUPON_OUT_OF_STOCK")
    assert coupons_in_table(cloud.clients.dynamodb, customer) == []
    assert [stock_left(api, t) for t in (part_a, part_b, bundle_id)] == [5, 0, 5]
    # And once the part is restocked the bundle issues
    assert add_stock(api, part_b, 1).status_code == 200
    assert len(claimed(api, customer, bundle_id)["coupons"]) == 2
    assert [stock_left(api, t) for t in (part_a, part_b, bundle_id)] == [4, 0, 4]


def test_a_bundle_out_of_its_own_stock_takes_nothing_from_the_parts(api: Api) -> None:
    part_a, part_b = active_template(api, stock=5), active_template(api, stock=5)
    bundle_id = active_template(api, benefit=bundle(part_a, part_b), stock=1)
    claimed(api, new_customer(), bundle_id)
    refused = claim(api, new_customer(), bundle_id)
    assert (refused.status_code, error_code(refused)) == (409, "COUPON_OUT_OF_STOCK")
    assert [stock_left(api, t) for t in (part_a, part_b, bundle_id)] == [4, 4, 0]


def test_returning_one_part_returns_the_parts_redeemed_for_the_same_order(api: Api, bundle_templates: tuple[str, str, str]) -> None:
    # Given a bundle whose two parts were redeemed for order X
    _, _, bundle_id = bundle_templates
    customer = new_customer()
    first, second = (c["couponId"] for c in claimed(api, customer, bundle_id)["coupons"])
    for coupon_id in (first, second):
        assert coupon_action(api, coupon_id, "redeem", customer, {"orderId": "order-x"}).status_code == 200
    # When the order is refunded and one part is returned
    returned = coupon_action(api, coupon_id=second, action="return", customer=customer, body={"orderId": "order-x"})
    # Then both parts are available again
    assert returned.status_code == 200, returned.text
    assert sorted(c["couponId"] for c in returned.json()["coupons"]) == sorted([first, second])
    assert {c["status"] for c in wallet_items(api, customer)} == {"available"}


def test_returning_a_part_leaves_parts_redeemed_for_other_orders(api: Api, bundle_templates: tuple[str, str, str]) -> None:
    _, _, bundle_id = bundle_templates
    customer = new_customer()
    first, second = (c["couponId"] for c in claimed(api, customer, bundle_id)["coupons"])
    assert coupon_action(api, first, "redeem", customer, {"orderId": "order-x"}).status_code == 200
    assert coupon_action(api, second, "redeem", customer, {"orderId": "order-y"}).status_code == 200
    returned = coupon_action(api, first, "return", customer, {"orderId": "order-x"})
    assert [c["couponId"] for c in returned.json()["coupons"]] == [first]
    assert {c["couponId"]: c["status"] for c in wallet_items(api, customer)} == {first: "available", second: "redeemed"}


def test_returning_a_part_for_an_order_it_was_not_redeemed_for_changes_nothing(api: Api, bundle_templates: tuple[str, str, str]) -> None:
    # Given a bundle whose part A was redeemed for order X and part B for order Y
    _, _, bundle_id = bundle_templates
    customer = new_customer()
    first, second = (c["couponId"] for c in claimed(api, customer, bundle_id)["coupons"])
    assert coupon_action(api, first, "redeem", customer, {"orderId": "order-x"}).status_code == 200
    assert coupon_action(api, second, "redeem", customer, {"orderId": "order-y"}).status_code == 200
    # When part B is returned citing order X
    returned = coupon_action(api, second, "return", customer, {"orderId": "order-x"})
    # Then it is refused (B was redeemed for Y), and neither part changed
    assert (returned.status_code, returned.json().get("error", {}).get("code")) == (409, "COUPON_ALREADY_REDEEMED"), returned.text
    assert {c["couponId"]: c["status"] for c in wallet_items(api, customer)} == {first: "redeemed", second: "redeemed"}


# ---- random amounts, red packets, gifts --------------------------------------------------------


def test_random_amounts_fall_within_the_range_and_are_what_the_coupon_takes_off(api: Api) -> None:
    # Given a random-amount template from 1.00 to 8.88
    template_id = active_template(api, benefit=random_amount(100, 888), stock=50)
    # When 15 customers claim it
    coupons = [claimed(api, new_customer(), template_id) for _ in range(15)]
    # Then every amount is in range, and they are not all the same
    amounts = [c["amountMinor"] for c in coupons]
    assert all(100 <= a <= 888 for a in amounts), amounts
    assert len(set(amounts)) > 1
    # And a coupon takes off its own drawn amount
    coupon = coupons[0]
    quote = coupon_action(api, coupon["couponId"], "quote", coupon["customerId"], order(10_000), idempotency_key=None).json()
    assert quote["discountMinor"] == coupon["amountMinor"]


def test_a_red_packet_is_issued_already_redeemed(api: Api) -> None:
    # Given a red packet template, when a customer claims it
    customer = new_customer()
    coupon = claimed(api, customer, active_template(api, benefit=red_packet(1_888)))
    # Then the coupon is redeemed at once (core banking credits it), and cannot be used or returned
    assert coupon["status"] == "redeemed"
    assert coupon["kind"] == "red_packet"
    assert coupon["redemption"]["orderId"] == "credit"
    assert [c["status"] for c in wallet_items(api, customer)] == ["redeemed"]
    for action in ("lock", "redeem"):
        refused = coupon_action(api, coupon["couponId"], action, customer, {"orderId": "o-1"})
        assert (refused.status_code, error_code(refused)) == (422, "COUPON_NOT_REDEEMABLE")
    back = coupon_action(api, coupon["couponId"], "return", customer, {"orderId": "credit"})
    assert (back.status_code, error_code(back)) == (409, "COUPON_NOT_REDEEMED")


def test_a_gift_is_not_a_payment_coupon(api: Api) -> None:
    customer = new_customer()
    gift = {"kind": "gift", "sku": "umbrella-01", "fulfilment": "physical"}
    coupon = claimed(api, customer, active_template(api, benefit=gift))
    assert coupon["status"] == "available"
    quote = coupon_action(api, coupon["couponId"], "quote", customer, order(), idempotency_key=None).json()
    assert (quote["applicable"], quote["reason"]) == (False, "NOT_A_PAYMENT_COUPON")


# ---- discounts ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("benefit", "order_minor", "discount", "reason"),
    [
        (fixed_amount(3_000), 20_000, 3_000, None),
        (fixed_amount(3_000), 2_000, 2_000, None),  # never more than the order
        (threshold(10_000, 1_500), 10_000, 1_500, None),
        (threshold(10_000, 1_500), 9_999, 0, "THRESHOLD_NOT_MET"),
        (percentage(15, 5_000), 12_345, 1_851, None),  # 1,851.75 rounded down, in the bank's favour
        (percentage(15, 1_000), 12_345, 1_000, None),  # capped
        (percentage(100, 50_000), 12_345, 12_345, None),
        (fixed_amount(3_000, "USD"), 20_000, 0, "CURRENCY_MISMATCH"),
    ],
    ids=["fixed", "fixed-capped-by-order", "threshold-met", "threshold-not-met", "percentage", "percentage-cap",
         "percentage-100", "currency"],
)
def test_quotes_per_kind(api: Api, benefit: dict[str, Any], order_minor: int, discount: int, reason: str | None) -> None:
    customer = new_customer()
    coupon_id = claimed(api, customer, active_template(api, benefit=benefit))["couponId"]
    quote = coupon_action(api, coupon_id, "quote", customer, order(order_minor), idempotency_key=None).json()
    assert (quote["applicable"], quote["discountMinor"], quote["reason"]) == (reason is None, discount, reason)
    assert quote["payableMinor"] == order_minor - discount


def test_redemption_rules_limit_merchants_and_channels(api: Api) -> None:
    customer = new_customer()
    template_id = active_template(api, redemption={"merchants": ["m-coffee"], "channels": ["app"]})
    coupon_id = claimed(api, customer, template_id)["couponId"]

    def quote(merchant: str, channel: str) -> Any:
        return coupon_action(api, coupon_id, "quote", customer, order(merchant=merchant, channel=channel), idempotency_key=None).json()

    assert quote(merchant="m-coffee", channel="app")["applicable"] is True
    assert quote(merchant="m-tea", channel="app")["reason"] == "MERCHANT_NOT_ALLOWED"
    assert quote(merchant="m-coffee", channel="branch")["reason"] == "CHANNEL_NOT_ALLOWED"
    refused = coupon_action(api, coupon_id, "redeem", customer, {"orderId": "o-1", "order": order(merchant="m-tea")})
    assert (refused.status_code, error_code(refused)) == (422, "COUPON_NOT_APPLICABLE")


# ---- daily stock and limits --------------------------------------------------------------------


def test_daily_stock_caps_a_day_across_shards(api: Api) -> None:
    # Given 100 in stock, at most 4 a day, over 2 shards
    template_id = active_template(api, stock=100, dailyStock=4, shards=2)
    outcomes = [claim(api, new_customer(), template_id) for _ in range(6)]
    statuses = [(r.status_code, None if r.ok else error_code(r)) for r in outcomes]
    assert statuses == [(201, None)] * 4 + [(409, "COUPON_OUT_OF_STOCK")] * 2
    assert stock_left(api, template_id) == 96


def test_a_daily_limit_per_customer(api: Api) -> None:
    template_id = active_template(api, stock=100, daily_limit=2)
    customer = new_customer()
    statuses = [claim(api, customer, template_id).status_code for _ in range(3)]
    assert statuses == [201, 201, 409]
    assert claim(api, new_customer(), template_id).status_code == 201


def test_the_template_list_pages_newest_first(api: Api) -> None:
    created = [active_template(api) for _ in range(3)]
    response = api.call("GET", "/v1/admin/coupon-templates?limit=2", as_="op", groups=["operators"])
    assert response.status_code == 200, response.text
    first_page = [t["templateId"] for t in response.json()["items"]]
    assert first_page == [created[2], created[1]]
    cursor = response.json()["nextCursor"]
    assert cursor
    more = api.call("GET", f"/v1/admin/coupon-templates?limit=2&cursor={cursor}", as_="op", groups=["operators"]).json()
    assert more["items"][0]["templateId"] == created[0]
