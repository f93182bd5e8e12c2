"""e2e, a checkout through the running system (issue 19's "done when"): a customer holds a campaign's
threshold coupon (granted for a card payment core banking published), a percentage coupon they
claimed, and points; the app quotes a 3-line order with both coupons and points, opens a session,
the payment confirms it, then the merchant refunds one line and then the rest. At each step the
wallet, the points ledger, the campaign's report and the session agree (docs/checkout.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tests.e2e.conftest import RunningSystem
from tests.e2e.test_points_flow import put
from tests.support import campaigns as cmp
from tests.support import coupons as cpn
from tests.support import points as pts
from tests.support.api import Api, eventually
from tests.support.checkout import ORDER, SESSIONS, act, coupon_status, in_force

POINTS = 50_000


def redeemed_in_report(api: Api, campaign_id: str) -> int:
    return int(cmp.arm(cmp.report(api, campaign_id), "main")["redeemed"])


def history_kinds(api: Api, customer: str) -> list[str]:
    return [entry["kind"] for entry in pts.history(api, customer)]


def test_two_coupons_and_points_quoted_locked_confirmed_and_refunded_agree_everywhere(system: RunningSystem) -> None:
    api = system.api
    # Given a campaign that grants a threshold coupon (30.00 off 200.00) for a card payment of 1,000.00
    threshold = cpn.active_template(api, benefit=cpn.threshold(threshold_minor=20_000, amount_minor=3_000), stock=10)
    percent = cpn.active_template(api, benefit=cpn.percentage(percent_off=10, max_discount_minor=2_000), stock=10)
    campaign = cmp.launch(api, cmp.coupon_campaign(threshold))
    # And a policy under which the two stack, the percentage on food and drink only, points paying up to half
    in_force(api, {"groups": {"default": {"combinesWith": ["*"]}, "bank-card": {"combinesWith": ["*"]}}, "templateGroups": {threshold: "bank-card"},
                   "maxCoupons": 3, "lineScopes": {percent: {"categories": ["food", "drink"]}}, "points": {"pointValueMinor": 1, "maxSharePercent": 50}})
    # And a customer core banking knows (their profile published), who pays 1,500.00 by card at the campaign's merchant
    customer = cpn.new_customer()
    put(system, "CustomerProfileChanged", {"customerId": customer, "changedAt": cmp.iso(datetime.now(UTC))})
    eventually(lambda: api.call("GET", f"/v1/customers/{customer}", as_=customer).status_code == 200, timeout_s=30)
    put(system, "CardTransactionPosted", cmp.card_spend(customer, 150_000, merchant=campaign))
    granted = eventually(lambda: [c for c in cpn.wallet_items(api, customer) if c["templateId"] == threshold] or None, timeout_s=60)
    coupons = [granted[0]["couponId"], cpn.claimed(api, customer, percent)["couponId"]]
    assert pts.adjust(api, customer, POINTS, cost_centre="cc-retail").status_code == 201

    # When the app asks for the best the wallet can do with points, then opens a session with it
    best = api.call("POST", "/v1/checkout/quote", as_=customer, body={"order": ORDER, "best": True, "points": "max"}, idempotency_key=None)
    assert best.status_code == 200, best.text
    quoted = best.json()
    assert sorted(c["couponId"] for c in quoted["coupons"]) == sorted(coupons), quoted
    assert (quoted["discountMinor"], quoted["points"]["points"], quoted["payableMinor"]) == (4_906, 10_572, 10_572)
    opened = api.call("POST", SESSIONS, as_=customer, body={"order": ORDER, "coupons": coupons, "points": "max"})
    assert opened.status_code == 201, opened.text
    sid = opened.json()["sessionId"]
    # Then the session holds what the quote priced: both coupons locked, the points held
    assert (opened.json()["discountMinor"], opened.json()["payableMinor"]) == (quoted["discountMinor"], quoted["payableMinor"])
    assert {coupon_status(api, customer, c) for c in coupons} == {"locked"}
    assert (pts.balance(api, customer)["available"], pts.balance(api, customer)["held"]) == (POINTS - 10_572, 10_572)

    # When the payment confirms it (and its retry arrives)
    for _ in range(2):
        confirmed = act(api, customer, sid, "confirm", {"paymentId": "pay-e2e"})
        assert confirmed.status_code == 200 and confirmed.json()["state"] == "confirmed", confirmed.text
    # Then the coupons are redeemed once, the points spent, and the campaign's report counts its coupon's redemption
    assert {coupon_status(api, customer, c) for c in coupons} == {"redeemed"}
    assert (pts.balance(api, customer)["available"], pts.balance(api, customer)["held"]) == (POINTS - 10_572, 0)
    eventually(lambda: redeemed_in_report(api, campaign) == 1, timeout_s=60)

    # When the merchant refunds one bag of beans, then the rest
    part = act(api, customer, sid, "refunds", {"refundId": "rf-e2e-1", "lines": [{"lineId": "l1", "quantity": 1}]})
    assert part.status_code == 201, part.text
    points_back = part.json()["refund"]["points"]["points"]
    assert pts.balance(api, customer)["available"] == POINTS - 10_572 + points_back
    rest = act(api, customer, sid, "refunds", {"refundId": "rf-e2e-2", "lines": [
        {"lineId": "l1", "quantity": 1}, {"lineId": "l2", "quantity": 1}, {"lineId": "l3", "quantity": 3}]})
    assert rest.status_code == 201, rest.text
    # Then the refunds add up to the order exactly, the points are all back, the coupons back in the wallet,
    # and the campaign's report no longer counts the redemption
    session: dict[str, Any] = rest.json()["session"]
    assert session["state"] == "refunded"
    refunds = session["refunds"]
    assert sum(r["refundedMinor"] for r in refunds) == 26_050
    assert sum(c["discountMinor"] for r in refunds for c in r["coupons"]) == 4_906
    assert (sum(r["points"]["points"] for r in refunds), sum(r["cashMinor"] for r in refunds)) == (10_572, 10_572)
    assert pts.balance(api, customer)["available"] == POINTS
    assert {coupon_status(api, customer, c) for c in coupons} == {"available"}
    eventually(lambda: redeemed_in_report(api, campaign) == 0, timeout_s=60)
    # And the ledger tells the same story: the points held for the session, then given back by the two refunds
    kinds = history_kinds(api, customer)
    assert kinds.count("redeem") == 1 and kinds.count("reverse") == 2, kinds
    assert api.call("GET", f"{SESSIONS}/{sid}", as_=customer).json() == session
