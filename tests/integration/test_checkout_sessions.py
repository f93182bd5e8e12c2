"""Checkout sessions against the local cloud (docs/checkout.md, "Sessions" and "Refunds"): a basket's
coupons locked and points held in one transaction, confirmed once per payment, cancelled, lapsed,
refunded in part and whole, with the wallet, the points ledger and the bus agreeing at each step."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from loyalty.checkout import session_service
from loyalty.checkout.session_store import default_store as sessions
from loyalty.core.clock import utc_now
from tests.support import coupons as cpn
from tests.support import org
from tests.support import points as pts
from tests.support.api import Api
from tests.support.bus import BusTap
from tests.support.checkout import ORDER, SESSIONS, act, checked, coupon_status, open_session


@pytest.fixture
def shopper(cloud: LocalCloud, api: Api, basket_templates: dict[str, str]) -> dict[str, Any]:
    """A customer with one coupon of each template and 100,000 points."""
    customer = pts.known_customer(cloud)
    coupons = {name: cpn.claimed(api, customer, template)["couponId"] for name, template in basket_templates.items()}
    assert pts.adjust(api, customer, 100_000, cost_centre="cc-retail").status_code == 201
    return {"customer": customer, "coupons": coupons}


def test_a_basket_is_locked_confirmed_once_and_refunded_in_part_then_whole(api: Api, shopper: dict[str, Any], checkout_tap: BusTap) -> None:
    customer, coupons = shopper["customer"], shopper["coupons"]
    # Given a session over two coupons that stack and as many points as the policy lets pay
    opened = open_session(api, customer, coupons=[coupons["threshold"], coupons["percent"]], points="max")
    assert opened.status_code == 201, opened.text
    session = opened.json()
    sid = session["sessionId"]
    # Then the worked example's figures are locked and held
    assert (session["state"], session["discountMinor"], session["points"]["points"], session["payableMinor"]) == ("locked", 4_906, 10_572, 10_572)
    assert session["points"]["funders"] == [{"costCentre": "cc-retail", "points": 10_572}]
    assert {coupon_status(api, customer, c) for c in (coupons["threshold"], coupons["percent"])} == {"locked"}
    assert (pts.balance(api, customer)["available"], pts.balance(api, customer)["held"]) == (100_000 - 10_572, 10_572)

    # When the payment confirms it, and the same payment's confirmation comes again
    confirmed = act(api, customer, sid, "confirm", {"paymentId": "pay-1"})
    again = act(api, customer, sid, "confirm", {"paymentId": "pay-1"})
    other = act(api, customer, sid, "confirm", {"paymentId": "pay-2"})
    # Then it is confirmed once: the coupons redeemed, the points spent; another payment is refused
    assert confirmed.status_code == 200 and confirmed.json()["state"] == "confirmed", confirmed.text
    assert again.status_code == 200 and again.json() == confirmed.json()
    assert (other.status_code, other.json()["error"]["code"]) == (409, "SESSION_PAID_OTHERWISE")
    assert {coupon_status(api, customer, c) for c in (coupons["threshold"], coupons["percent"])} == {"redeemed"}
    assert (pts.balance(api, customer)["available"], pts.balance(api, customer)["held"]) == (100_000 - 10_572, 0)
    [event] = checked(checkout_tap, "CheckoutConfirmed", sid)
    assert (event["discountMinor"], event["paidMinor"], event["points"]["valueMinor"]) == (4_906, 10_572, 10_572)

    # When one bag of beans is refunded, and the same refund comes again
    part = act(api, customer, sid, "refunds", {"refundId": "rf-1", "lines": [{"lineId": "l1", "quantity": 1}]})
    assert part.status_code == 201, part.text
    assert act(api, customer, sid, "refunds", {"refundId": "rf-1", "lines": [{"lineId": "l1", "quantity": 1}]}).json()["refund"] == part.json()["refund"]
    # Then its share comes back: the line's discount over its units, the net half cash and half points
    refund = part.json()["refund"]
    assert ([c["discountMinor"] for c in refund["coupons"]], refund["cashMinor"], refund["points"]["points"]) == ([1_812, 0], 3_544, 3_544)
    assert part.json()["session"]["state"] == "partly_refunded"
    assert pts.balance(api, customer)["available"] == 100_000 - 10_572 + 3_544

    # When more is asked back than was bought, then two lattes, then the rest
    beyond = act(api, customer, sid, "refunds", {"refundId": "rf-x", "lines": [{"lineId": "l1", "quantity": 2}]})
    assert (beyond.status_code, beyond.json()["error"]["code"]) == (422, "REFUND_EXCEEDS_ORDER"), beyond.text
    assert act(api, customer, sid, "refunds", {"refundId": "rf-2", "lines": [{"lineId": "l3", "quantity": 2}]}).status_code == 201
    rest = act(api, customer, sid, "refunds", {"refundId": "rf-3", "lines": [{"lineId": "l1", "quantity": 1}, {"lineId": "l2", "quantity": 1},
                                                                            {"lineId": "l3", "quantity": 1}]})
    # Then everything is back: the points to the last one, the coupons in the wallet, and the three refunds add up to the order
    assert rest.status_code == 201, rest.text
    final = rest.json()["session"]
    assert final["state"] == "refunded"
    assert final["refunded"] == {"refundedMinor": 26_050, "discountMinor": 4_906, "points": 10_572, "cashMinor": 10_572}
    assert pts.balance(api, customer)["available"] == 100_000
    assert {coupon_status(api, customer, c) for c in (coupons["threshold"], coupons["percent"])} == {"available"}
    assert [sum(r["coupons"][i]["discountMinor"] for r in final["refunds"]) for i in (0, 1)] == [3_000, 1_906]
    after = act(api, customer, sid, "refunds", {"refundId": "rf-4", "amountMinor": 1})
    assert (after.status_code, after.json()["error"]["code"]) == (409, "SESSION_NOT_REFUNDABLE")
    events = checked(checkout_tap, "CheckoutRefunded", sid, count=3)
    assert (sum(e["cashMinor"] for e in events), sum(e["points"]["points"] for e in events)) == (10_572, 10_572)


def test_a_coupon_taken_by_another_session_locks_nothing_and_is_named(api: Api, shopper: dict[str, Any]) -> None:
    customer, coupons = shopper["customer"], shopper["coupons"]
    # Given the percent coupon locked by a first session
    first = open_session(api, customer, coupons=[coupons["percent"]])
    assert first.status_code == 201, first.text
    # When a second session asks for the threshold coupon and the same percent coupon, with points
    second = open_session(api, customer, coupons=[coupons["threshold"], coupons["percent"]], points=1_000)
    # Then it is refused naming the coupon, and neither the threshold coupon nor any points are held
    assert (second.status_code, second.json()["error"]["code"]) == (409, "COUPON_LOCKED"), second.text
    assert [d["couponId"] for d in second.json()["error"]["details"]] == [coupons["percent"]]
    assert coupon_status(api, customer, coupons["threshold"]) == "available"
    assert pts.balance(api, customer)["held"] == 0


def test_coupons_that_do_not_stack_are_refused_and_nothing_is_locked(api: Api, shopper: dict[str, Any]) -> None:
    customer, coupons = shopper["customer"], shopper["coupons"]
    refused = open_session(api, customer, coupons=[coupons["threshold"], coupons["vip"]])
    assert (refused.status_code, refused.json()["error"]["code"]) == (422, "COUPON_NOT_APPLICABLE"), refused.text
    assert refused.json()["error"]["details"][0]["reason"] == "NOT_STACKABLE_WITH"
    assert {coupon_status(api, customer, c) for c in (coupons["threshold"], coupons["vip"])} == {"available"}


def test_a_coupon_already_used_is_left_out_with_its_reason_not_refused_as_anothers(api: Api, shopper: dict[str, Any]) -> None:
    # Given the customer's coupon redeemed by a confirmed session
    customer, coupon = shopper["customer"], shopper["coupons"]["threshold"]
    sid = open_session(api, customer, coupons=[coupon]).json()["sessionId"]
    assert act(api, customer, sid, "confirm", {"paymentId": "pay-used"}).status_code == 200
    # When they quote it again, and open a session with it
    quoted = api.call("POST", "/v1/checkout/quote", as_=customer, body={"order": ORDER, "coupons": [coupon]}, idempotency_key=None)
    again = open_session(api, customer, coupons=[coupon])
    # Then the quote leaves it out as not available, and the session is refused naming it
    assert quoted.status_code == 200 and quoted.json()["leftOut"] == [{"couponId": coupon, "reason": "NOT_AVAILABLE", "otherCouponId": None}]
    assert (again.status_code, again.json()["error"]["details"][0]["reason"]) == (422, "NOT_AVAILABLE"), again.text


def test_a_cancelled_session_gives_everything_back(api: Api, shopper: dict[str, Any]) -> None:
    customer, coupons = shopper["customer"], shopper["coupons"]
    sid = open_session(api, customer, coupons=[coupons["threshold"]], points=2_000).json()["sessionId"]
    cancelled = act(api, customer, sid, "cancel")
    assert cancelled.status_code == 200 and cancelled.json()["state"] == "cancelled", cancelled.text
    assert coupon_status(api, customer, coupons["threshold"]) == "available"
    assert (pts.balance(api, customer)["available"], pts.balance(api, customer)["held"]) == (100_000, 0)
    late = act(api, customer, sid, "confirm", {"paymentId": "pay-late"})
    assert (late.status_code, late.json()["error"]["code"]) == (409, "SESSION_CANCELLED")


def test_a_lapsed_session_consumes_nothing_and_the_sweep_releases_it(api: Api, shopper: dict[str, Any]) -> None:
    customer, coupons = shopper["customer"], shopper["coupons"]
    # Given a session of one minute
    sid = open_session(api, customer, coupons=[coupons["threshold"]], points=2_000, ttlMinutes=1).json()["sessionId"]
    # When its time passes (the sweep run as of two minutes later)
    later = utc_now() + timedelta(minutes=2)
    swept = session_service.sweep(sessions(), later)
    # Then it is released as lapsed: the coupon back in the wallet, the points on the balance
    assert swept["lapsed"] >= 1
    session = api.call("GET", f"{SESSIONS}/{sid}", as_=customer).json()
    assert (session["state"], session["closedAt"] is not None) == ("lapsed", True)
    assert coupon_status(api, customer, coupons["threshold"]) == "available"
    assert (pts.balance(api, customer)["available"], pts.balance(api, customer)["held"]) == (100_000, 0)
    # And a confirmation now is refused, consuming nothing
    late = act(api, customer, sid, "confirm", {"paymentId": "pay-late"})
    assert (late.status_code, late.json()["error"]["code"]) == (409, "SESSION_EXPIRED")
    assert coupon_status(api, customer, coupons["threshold"]) == "available"


def test_a_coupon_whose_template_keeps_it_is_not_returned_by_a_full_refund(api: Api, shopper: dict[str, Any]) -> None:
    customer, coupons = shopper["customer"], shopper["coupons"]
    sid = open_session(api, customer, coupons=[coupons["kept"], coupons["threshold"]]).json()["sessionId"]
    assert act(api, customer, sid, "confirm", {"paymentId": "pay-k"}).status_code == 200
    full = act(api, customer, sid, "refunds", {"refundId": "rf-all", "amountMinor": 26_050})
    assert full.status_code == 201, full.text
    assert {c["couponId"]: c["returned"] for c in full.json()["refund"]["coupons"]} == {coupons["kept"]: False, coupons["threshold"]: True}
    assert (coupon_status(api, customer, coupons["kept"]), coupon_status(api, customer, coupons["threshold"])) == ("redeemed", "available")


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"order": {**ORDER, "lines": []}}, 400, "VALIDATION_ERROR"),
    ({"order": {**ORDER, "lines": [{**ORDER["lines"][0], "unitPriceMinor": -1}]}}, 400, "VALIDATION_ERROR"),
    ({"order": {**ORDER, "lines": [{**ORDER["lines"][0], "currency": "USD"}]}}, 422, "ORDER_CURRENCY_MIXED"),
    ({"order": ORDER, "coupons": ["someone-elses-coupon"]}, 403, "NOT_RESOURCE_OWNER"),
    ({"order": ORDER, "points": 100_001}, 422, "INSUFFICIENT_POINTS"),
    ({"order": ORDER, "coupons": ["x"], "best": True}, 400, "VALIDATION_ERROR"),
])
def test_bad_sessions_are_refused_and_hold_nothing(api: Api, shopper: dict[str, Any], body: dict[str, Any], status: int, code: str) -> None:
    response = api.call("POST", SESSIONS, as_=shopper["customer"], body=body)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text
    assert pts.balance(api, shopper["customer"])["held"] == 0


def test_a_confirm_without_a_payment_id_and_a_session_over_anothers_coupons_change_nothing(cloud: LocalCloud, api: Api,
                                                                                            shopper: dict[str, Any]) -> None:
    customer, coupons = shopper["customer"], shopper["coupons"]
    sid = open_session(api, customer, coupons=[coupons["threshold"]]).json()["sessionId"]
    for body in ({}, {"paymentId": ""}):
        refused = act(api, customer, sid, "confirm", body)
        assert (refused.status_code, refused.json()["error"]["code"]) == (400, "VALIDATION_ERROR"), refused.text
    assert api.call("GET", f"{SESSIONS}/{sid}", as_=customer).json()["state"] == "locked"
    stranger = pts.known_customer(cloud)
    taken = open_session(api, stranger, coupons=[coupons["percent"]])
    assert (taken.status_code, taken.json()["error"]["code"]) == (403, "NOT_RESOURCE_OWNER"), taken.text
    assert coupon_status(api, customer, coupons["percent"]) == "available"


def test_another_customers_session_is_not_found_and_a_branch_sees_only_its_own(cloud: LocalCloud, api: Api, shopper: dict[str, Any]) -> None:
    customer, coupons = shopper["customer"], shopper["coupons"]
    sid = open_session(api, customer, coupons=[coupons["threshold"]]).json()["sessionId"]
    stranger = pts.known_customer(cloud)
    for response in (api.call("GET", f"{SESSIONS}/{sid}", as_=stranger), act(api, stranger, sid, "confirm", {"paymentId": "p"}),
                     act(api, stranger, sid, "cancel")):
        assert (response.status_code, response.json()["error"]["code"]) == (404, "SESSION_NOT_FOUND"), response.text
    # The head office's inspector finds it; a branch the customer does not belong to does not
    listed = api.call("GET", f"/v1/admin/customers/{customer}/checkout-sessions", **org.HQ)
    assert sid in [s["sessionId"] for s in listed.json()["items"]], listed.text
    branch = api.call("GET", f"{SESSIONS}/{sid}", **org.operator(org.branch(api)))
    assert (branch.status_code, branch.json()["error"]["code"]) == (404, "SESSION_NOT_FOUND"), branch.text
