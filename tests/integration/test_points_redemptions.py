"""Points redemption (积分兑换) on the local cloud: points for a coupon through `IssueCoupon` and back
on `CouponIssueFailed`; points and cash held, then settled or released; never above the balance."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from infra.local.cloud import LocalCloud
from loyalty.points.redemption import release_lapsed_holds
from loyalty.points.store import DynamoPointsStore
from tests.support.api import Api, eventually
from tests.support.coupons import active_template, set_status, wallet_items
from tests.support.points import (
    OPERATOR,
    adjust,
    balance,
    error_code,
    history,
    known_customer,
    new_customer,
    stored,
    unique,
)

CATALOGUE = "/v1/admin/points/catalogue"
REDEMPTIONS = "/v1/points/redemptions"


def catalogue_item(api: Api, **fields: Any) -> str:
    item_id = unique("item")
    body = {"itemId": item_id, "name": "Test reward", **fields}
    response = api.call("PUT", f"{CATALOGUE}/{item_id}", body=body, **OPERATOR)
    assert response.status_code == 200, response.text
    return item_id


def coupon_item(api: Api, points: int = 300, **template: Any) -> tuple[str, str]:
    template_id = active_template(api, **template)
    return catalogue_item(api, kind="coupon", points=points, templateId=template_id), template_id


def mall_item(api: Api, points: int = 200, cash_minor: int = 990) -> str:
    return catalogue_item(api, kind="mall_item", points=points, cashMinor=cash_minor, currency="CNY", holdMinutes=5)


def customer_with(cloud: LocalCloud, api: Api, points: int) -> str:
    customer = known_customer(cloud)
    assert adjust(api, customer, points).status_code == 201
    return customer


def redeem(api: Api, customer: str, item_id: str, *, key: str = "auto") -> requests.Response:
    return api.call("POST", REDEMPTIONS, as_=customer, body={"itemId": item_id}, idempotency_key=key)


def redemption(api: Api, customer: str, rid: str) -> dict[str, Any]:
    response = api.call("GET", f"{REDEMPTIONS}/{rid}", as_=customer)
    assert response.status_code == 200, response.text
    return dict(response.json())


def settled(api: Api, customer: str, rid: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        found = redemption(api, customer, rid)
        return found if found["status"] not in ("issuing", "held") else None

    return eventually(probe, timeout_s=20)


def settle(api: Api, rid: str, outcome: str, payment_id: str = "pay-1") -> requests.Response:
    return api.call("POST", f"/v1/admin/points/redemptions/{rid}/settlement", body={"outcome": outcome, "paymentId": payment_id}, **OPERATOR)


# ---- points for a coupon -------------------------------------------------------------------------


def test_a_redemption_takes_the_points_and_the_coupon_reaches_the_wallet(cloud: LocalCloud, api: Api) -> None:
    # Given a customer with 1000 points and a coupon that costs 300
    customer = customer_with(cloud, api, 1000)
    item_id, template_id = coupon_item(api, points=300)
    # When they redeem it
    response = redeem(api, customer, item_id)
    # Then the points leave the balance at once and are shown as held
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "issuing" and body["points"] == 300 and body["templateId"] == template_id
    assert {k: balance(api, customer)[k] for k in ("available", "held")} in ({"available": 700, "held": 300}, {"available": 700, "held": 0})
    # And the coupon is issued into the wallet, and the redemption completes
    assert settled(api, customer, body["redemptionId"])["status"] == "completed"
    coupons = wallet_items(api, customer)
    assert [c["templateId"] for c in coupons] == [template_id]
    after = balance(api, customer)
    assert after["available"] == 700 and after["held"] == 0
    stored(cloud.clients.dynamodb, customer).check_invariants()


def test_a_repeated_redemption_with_the_same_key_takes_the_points_once(cloud: LocalCloud, api: Api) -> None:
    # Given a redemption already made with a key
    customer = customer_with(cloud, api, 1000)
    item_id, _ = coupon_item(api, points=300)
    key = unique("k")
    first = redeem(api, customer, item_id, key=key)
    assert first.status_code == 201, first.text
    # When it is sent again with the same key, and once with the same key for another item
    again = redeem(api, customer, item_id, key=key)
    other_item, _ = coupon_item(api, points=100)
    reused = redeem(api, customer, other_item, key=key)
    # Then the repeat answers the same redemption, and the reuse is refused
    assert again.status_code == 200 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json()["redemptionId"] == first.json()["redemptionId"]
    assert reused.status_code == 422 and error_code(reused) == "IDEMPOTENCY_KEY_REUSED"
    # And the points were taken once, and one coupon issued
    settled(api, customer, first.json()["redemptionId"])
    assert balance(api, customer)["available"] == 700
    assert len(wallet_items(api, customer)) == 1


def test_a_refused_coupon_gives_the_points_back_into_their_lots(cloud: LocalCloud, api: Api) -> None:
    # Given a customer with 500 points and a coupon template that is then paused
    customer = customer_with(cloud, api, 500)
    lots_before = sorted((lot["lotId"], lot["remaining"]) for lot in stored(cloud.clients.dynamodb, customer).lots)
    item_id, template_id = coupon_item(api, points=300)
    assert set_status(api, template_id, "paused").status_code == 200
    # When the customer redeems it
    response = redeem(api, customer, item_id)
    assert response.status_code == 201, response.text
    # Then the coupon is refused and the redemption is released with the reason
    done = settled(api, customer, response.json()["redemptionId"])
    assert done["status"] == "released" and done["reason"] == "coupon_refused:TEMPLATE_NOT_ACTIVE"
    # And the points are back in the lots they came from, with their expiry dates
    assert balance(api, customer)["available"] == 500 and balance(api, customer)["held"] == 0
    account = stored(cloud.clients.dynamodb, customer)
    assert sorted((lot["lotId"], lot["remaining"]) for lot in account.lots) == lots_before
    account.check_invariants()
    assert [e["kind"] for e in history(api, customer)] == ["reverse", "redeem", "adjust"]
    assert wallet_items(api, customer) == []


def test_a_redemption_above_the_balance_is_refused_and_changes_nothing(cloud: LocalCloud, api: Api) -> None:
    # Given a customer with 100 points and a 300-point coupon
    customer = customer_with(cloud, api, 100)
    item_id, _ = coupon_item(api, points=300)
    # When they try to redeem it, or redeem for somebody else, or an item that does not exist
    too_much = redeem(api, customer, item_id)
    for_another = api.call("POST", REDEMPTIONS, as_=new_customer(), body={"itemId": item_id, "customerId": customer})
    unknown = redeem(api, customer, "no-such-item")
    # Then each is refused with its code
    assert too_much.status_code == 422 and error_code(too_much) == "INSUFFICIENT_POINTS", too_much.text
    assert for_another.status_code == 403 and error_code(for_another) == "NOT_RESOURCE_OWNER"
    assert unknown.status_code == 404 and error_code(unknown) == "ITEM_NOT_FOUND"
    # And nothing changed
    assert balance(api, customer)["available"] == 100
    assert [e["kind"] for e in history(api, customer)] == ["adjust"]


def test_concurrent_redemptions_never_take_more_than_the_balance(cloud: LocalCloud, api: Api) -> None:
    # Given a customer with 1000 points and a 300-point item
    customer = customer_with(cloud, api, 1000)
    item_id = mall_item(api, points=300)
    # When ten redemptions race on ten threads
    with ThreadPoolExecutor(max_workers=10) as pool:
        responses = list(pool.map(lambda _: redeem(api, customer, item_id), range(10)))
    # Then exactly three go through, the rest are refused for the balance
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 3, [r.text for r in responses]
    assert all(error_code(r) in ("INSUFFICIENT_POINTS", "ACCOUNT_CONTENDED") for r in responses if r.status_code != 201)
    # And the balance and the ledger agree
    after = balance(api, customer)
    assert after["available"] == 100 and after["held"] == 900
    stored(cloud.clients.dynamodb, customer).check_invariants()


# ---- points and cash -----------------------------------------------------------------------------


def test_points_and_cash_are_held_then_confirmed_when_paid(cloud: LocalCloud, api: Api) -> None:
    # Given a held points-and-cash redemption
    customer = customer_with(cloud, api, 1000)
    response = redeem(api, customer, mall_item(api, points=200, cash_minor=990))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "held" and body["cashMinor"] == 990 and body["currency"] == "CNY" and "holdExpiresAt" in body
    assert balance(api, customer)["held"] == 200
    # When the payment backend reports it paid, twice
    paid = settle(api, body["redemptionId"], "paid", "pay-42")
    again = settle(api, body["redemptionId"], "paid", "pay-42")
    # Then it is completed once, and the points stay spent
    assert paid.status_code == 200 and paid.json()["status"] == "completed" and paid.json()["paymentId"] == "pay-42"
    assert again.status_code == 200 and again.json()["status"] == "completed"
    after = balance(api, customer)
    assert after["available"] == 800 and after["held"] == 0
    # And a different settlement of a settled redemption is refused
    late = settle(api, body["redemptionId"], "failed", "pay-43")
    assert late.status_code == 409 and error_code(late) == "REDEMPTION_SETTLED"


def test_a_failed_payment_releases_the_points(cloud: LocalCloud, api: Api) -> None:
    # Given a held points-and-cash redemption
    customer = customer_with(cloud, api, 1000)
    rid = redeem(api, customer, mall_item(api, points=200)).json()["redemptionId"]
    # When the payment fails
    failed = settle(api, rid, "failed")
    # Then the redemption is released and the points are back
    assert failed.status_code == 200 and failed.json()["status"] == "released" and failed.json()["reason"] == "payment_failed"
    after = balance(api, customer)
    assert after["available"] == 1000 and after["held"] == 0
    stored(cloud.clients.dynamodb, customer).check_invariants()


def test_a_hold_nobody_settles_is_released_by_the_sweep(cloud: LocalCloud, api: Api) -> None:
    # Given a held redemption (5-minute hold) and one that is settled
    customer = customer_with(cloud, api, 1000)
    item_id = mall_item(api, points=200)
    lapsing = redeem(api, customer, item_id).json()["redemptionId"]
    paid = redeem(api, customer, item_id).json()["redemptionId"]
    assert settle(api, paid, "paid").status_code == 200
    # When the sweep runs ten minutes later
    store = DynamoPointsStore()
    release_lapsed_holds(store, datetime.now(UTC) + timedelta(minutes=10))
    # Then only the unsettled hold is released
    assert redemption(api, customer, lapsing)["status"] == "released"
    assert redemption(api, customer, lapsing)["reason"] == "hold_expired"
    assert redemption(api, customer, paid)["status"] == "completed"
    assert balance(api, customer)["available"] == 800


def test_a_coupon_redemption_does_not_settle_by_payment(cloud: LocalCloud, api: Api) -> None:
    # Given a coupon redemption
    customer = customer_with(cloud, api, 1000)
    item_id, _ = coupon_item(api, points=100)
    rid = redeem(api, customer, item_id).json()["redemptionId"]
    # When the payment backend tries to settle it
    response = settle(api, rid, "failed")
    # Then it is refused: coupons settle by their issue
    assert response.status_code == 422 and error_code(response) == "NOT_A_MALL_REDEMPTION"


def test_catalogue_items_are_validated_and_customers_see_only_active_ones(cloud: LocalCloud, api: Api) -> None:
    # Given an active and an inactive mall item
    shown = mall_item(api)
    hidden = catalogue_item(api, kind="mall_item", points=10, cashMinor=100, currency="CNY", active=False)
    # When a coupon item without a template, and one with a made-up currency, are saved
    no_template = api.call("PUT", f"{CATALOGUE}/x1", body={"itemId": "x1", "name": "n", "kind": "coupon", "points": 5}, **OPERATOR)
    bad_currency = api.call("PUT", f"{CATALOGUE}/x2", body={"itemId": "x2", "name": "n", "kind": "mall_item", "points": 5,
                                                            "cashMinor": 1, "currency": "XXX"}, **OPERATOR)
    # Then both are refused
    assert no_template.status_code == 400 and error_code(no_template) == "VALIDATION_ERROR"
    assert bad_currency.status_code == 400 and error_code(bad_currency) == "VALIDATION_ERROR"
    # And a customer sees the active item, not the inactive one, and cannot redeem the inactive one
    customer = customer_with(cloud, api, 100)
    listed = {i["itemId"] for i in api.call("GET", "/v1/points/catalogue", as_=customer).json()["items"]}
    assert shown in listed and hidden not in listed
    refused = redeem(api, customer, hidden)
    assert refused.status_code == 422 and error_code(refused) == "ITEM_NOT_AVAILABLE"


def test_a_catalogue_change_is_audited_with_the_item_as_it_was(cloud: LocalCloud, api: Api) -> None:
    # Given a mall item for 200 points; when an operator makes it 250
    item_id = mall_item(api, points=200)
    body = {"itemId": item_id, "name": "Test reward", "kind": "mall_item", "points": 250, "cashMinor": 990, "currency": "CNY", "holdMinutes": 5}
    assert api.call("PUT", f"{CATALOGUE}/{item_id}", body=body, **OPERATOR).status_code == 200
    # Then the audit log has the price before and after the change
    log = api.call("GET", f"/v1/admin/audit?resource=points/{item_id}", **OPERATOR).json()["items"]
    requested = [e for e in log if e["phase"] == "requested" and e.get("before")]
    assert len(requested) == 1 and '"points":200' in requested[0]["before"] and '"points":250' in requested[0]["request"]


def test_points_redeemed_by_an_operator_for_a_customer_are_in_the_customers_audit_trail(cloud: LocalCloud, api: Api) -> None:
    # Given a customer with 300 points; when an operator redeems a coupon item for them
    customer = customer_with(cloud, api, 300)
    item_id, _ = coupon_item(api, points=300)
    response = api.call("POST", REDEMPTIONS, body={"itemId": item_id, "customerId": customer}, **OPERATOR)
    assert response.status_code == 201, response.text
    # Then the audit log has it under the customer, with the operator's name
    log = api.call("GET", f"/v1/admin/audit?resource=customers/{customer}", **OPERATOR).json()["items"]
    assert {(e["phase"], e["who"], e["route"]) for e in log} >= {("completed", OPERATOR["as_"], "POST /v1/points/redemptions")}



def test_an_operator_redeeming_for_a_customer_the_engine_has_never_seen_is_a_404_and_changes_nothing(cloud: LocalCloud, api: Api) -> None:
    # Given a coupon item, and a customer id with no profile
    item_id, _ = coupon_item(api, points=100)
    customer = new_customer()
    # When an operator redeems it on their behalf
    response = api.call("POST", REDEMPTIONS, body={"itemId": item_id, "customerId": customer}, **OPERATOR)
    # Then it is refused, and no points account was opened
    assert response.status_code == 404 and error_code(response) == "CUSTOMER_NOT_FOUND", response.text
    nothing = stored(cloud.clients.dynamodb, customer)
    assert nothing.balance == {} and nothing.entries == []
