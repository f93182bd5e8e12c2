"""The checkout inspector in the browser: a customer checks out with a coupon and points, pays, and
returns one unit; a head office operator looks the customer up on the screen and sees the session
partly refunded, with the coupon (its funder and return policy), the points (their funder), the
payment and the refund with what it gave back. A branch operator whose subtree does not hold the
customer is told the customer is not found, as through the API. The screen passes axe."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.browser.conftest import OPERATOR, Console, unique
from tests.browser.seed import OPS, coupon_template, ok
from tests.e2e.conftest import RunningSystem
from tests.support.api import eventually_ok
from tests.support.org import HEAD_OFFICE, ROOT

CUSTOMER = "c-003"  # a demo bank customer with a profile (infra/local/seed.py), of the Beijing branch
SESSIONS = "/v1/checkout/sessions"
INSPECTOR = "/checkout-sessions"


def yuan(minor: int) -> str:
    """As the console shows an amount of CNY in Chinese (Intl.NumberFormat zh-CN)."""
    return f"¥{minor / 100:,.2f}"


def checkout(system: RunningSystem) -> dict[str, Any]:
    """Through the real API, as the customer: a coupon claimed and points given, a session over both,
    confirmed by a payment, then one of its two units refunded. The refund's answer."""
    api = system.api
    template = unique("tpl-inspect")
    coupon_template(api, template)  # 50 yuan off, funded by cc-marketing
    coupon_id = ok(api.call("POST", "/v1/coupons/claims", as_=CUSTOMER, body={"templateId": template}))["couponId"]
    # The customer's profile comes over the bus when the system starts: the adjustment waits for it
    eventually_ok(lambda: api.call("POST", f"/v1/admin/customers/{CUSTOMER}/points/adjustments",
                                   body={"points": 5000, "reason": "test", "costCentre": "cc-retail"}, **OPS), timeout_s=30)
    order = {"merchantId": "m-1", "channel": "app", "currency": "CNY",
             "lines": [{"lineId": "l1", "sku": "beans", "category": "food", "unitPriceMinor": 8900, "quantity": 2}]}
    opened = ok(api.call("POST", SESSIONS, as_=CUSTOMER, body={"order": order, "coupons": [coupon_id], "points": 1000}))
    session_id = opened["sessionId"]
    assert (opened["state"], [c["couponId"] for c in opened["coupons"]], opened["points"]["points"]) == ("locked", [coupon_id], 1000), opened
    payment_id = unique("pay")
    assert ok(api.call("POST", f"{SESSIONS}/{session_id}/confirm", as_=CUSTOMER, body={"paymentId": payment_id}))["state"] == "confirmed"
    refunded = ok(api.call("POST", f"{SESSIONS}/{session_id}/refunds", as_=CUSTOMER,
                           body={"refundId": unique("rf"), "lines": [{"lineId": "l1", "quantity": 1}]}))
    assert refunded["session"]["state"] == "partly_refunded", refunded
    return refunded


def test_an_operator_inspects_a_customers_checkout_and_another_branch_cannot(system: RunningSystem,
                                                                             open_console: Callable[..., Console]) -> None:
    # Given a customer's checkout: a coupon and points, paid, then one unit of two refunded
    refunded = checkout(system)
    session, refund = refunded["session"], refunded["refund"]
    session_id, coupon = session["sessionId"], session["coupons"][0]

    # When a head office operator opens the inspector and looks the customer up
    head = open_console(OPERATOR, sign_in="token")
    head.goto(INSPECTOR)
    head.settle(INSPECTOR)
    head.page.get_by_test_id("inspector-customer").fill(CUSTOMER)
    head.page.get_by_test_id("inspector-search").click()
    # Then the lookup is in the link, and the session is listed, partly refunded
    head.page.wait_for_url(re.compile(rf"/console{INSPECTOR}\?customer={CUSTOMER}$"))
    head.settle(INSPECTOR)
    card = head.page.get_by_test_id(f"session-{session_id}")
    card.wait_for()
    assert card.get_by_test_id("session-state").get_attribute("data-status") == "partly_refunded"
    assert card.get_by_test_id("session-payment").inner_text() == session["paymentId"]
    # With the coupon's discount on the order line
    lines = card.get_by_role("table", name=f"会话 {session_id} 的订单明细")
    assert yuan(coupon["lines"][0]["discountMinor"]) in lines.locator('tr[data-row-key="l1"]').inner_text()
    # The coupon, with who funds it, its return policy and that it is not back in the wallet
    coupon_row = card.get_by_role("table", name=f"会话 {session_id} 所用卡券").locator(f'tr[data-row-key="{coupon["couponId"]}"]')
    coupon_text = coupon_row.inner_text()
    assert coupon["funding"]["costCentre"] == "cc-marketing"
    for shown in ("成本中心 cc-marketing", "全额退款后退回卡包", yuan(coupon["discountMinor"]), "否"):
        assert shown in coupon_text, (shown, coupon_text)
    # The points, with the cost centre that funded them
    points = card.get_by_test_id("session-points").inner_text()
    assert "1,000 积分" in points and "cc-retail" in points, points
    # And the refund: the coupon's discount, the points and the cash it gave back, and the totals so far
    refunds = card.get_by_role("table", name=f"会话 {session_id} 的退款")
    refund_text = refunds.locator(f'tr[data-row-key="{refund["refundId"]}"]').inner_text()
    for shown in ("l1 × 1", f"{coupon['couponId']}: {yuan(refund['coupons'][0]['discountMinor'])}",
                  yuan(refund["cashMinor"]), f"{refund['points']['points']:,} 积分"):
        assert shown in refund_text, (shown, refund_text)
    totals = refunds.get_by_test_id("session-refunded").inner_text()
    assert "累计退款" in totals and yuan(session["refunded"]["refundedMinor"]) in totals, totals
    assert head.axe() == []
    head.screenshot("checkout-inspector")
    # And looked up by its id, the session is shown alone, as the customer's
    head.page.get_by_test_id("inspector-session").fill(session_id)
    head.page.get_by_test_id("inspector-search").click()
    head.page.wait_for_url(re.compile(rf"\?customer={CUSTOMER}&session={session_id}$"))
    head.settle(INSPECTOR)
    assert card.get_by_test_id("session-state").get_attribute("data-status") == "partly_refunded"
    assert head.page.get_by_test_id("inspector-count").count() == 0
    assert head.page.get_by_test_id("inspector-other-customer").count() == 0

    # When an operator of another branch (its subtree does not hold the customer) follows the same link
    branch = unique("br-inspect")
    assert head.api("POST", ROOT, {"unitId": branch, "kind": "branch", "name": branch, "parentId": HEAD_OFFICE})["status"] == 201
    other = open_console({"subject": f"op-{branch}", "groups": ["operators"], "orgUnit": branch}, sign_in="token")
    other.goto(f"{INSPECTOR}?customer={CUSTOMER}")
    # Then the customer is not found to them, as through the API, and no session is shown
    other.page.get_by_test_id("api-error").get_by_text("CUSTOMER_NOT_FOUND").wait_for()
    assert other.page.get_by_test_id(f"session-{session_id}").count() == 0
    assert other.api("GET", f"/v1/admin/customers/{CUSTOMER}/checkout-sessions")["status"] == 404
    assert other.api("GET", f"{SESSIONS}/{session_id}")["status"] == 404
    assert other.axe() == []
