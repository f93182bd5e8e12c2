"""Checkout against the local cloud: the stacking policy's maker-checker versions, and quotes of a
customer's real wallet and balance (docs/checkout.md's worked example), with the bad input refused."""

from __future__ import annotations

from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from tests.support import coupons as cpn
from tests.support import org
from tests.support import points as pts
from tests.support.api import Api
from tests.support.checkout import CHECKER, MAKER, ORDER, POLICY, in_force

QUOTE = "/v1/checkout/quote"


@pytest.fixture(scope="module")
def shopper(cloud: LocalCloud, api: Api) -> dict[str, Any]:
    """A customer with the worked example's three coupons and 100,000 points, under its policy."""
    threshold = cpn.active_template(api, benefit=cpn.threshold(threshold_minor=20_000, amount_minor=3_000))
    percent = cpn.active_template(api, benefit=cpn.percentage(percent_off=10, max_discount_minor=2_000))
    vip = cpn.active_template(api, benefit=cpn.fixed_amount(4_000))
    version = in_force(api, {"groups": {"default": {"combinesWith": ["*"]}, "bank-card": {"combinesWith": ["*"]}, "vip": {"exclusive": True}},
                             "templateGroups": {threshold: "bank-card", vip: "vip"},
                             "lineScopes": {percent: {"categories": ["food", "drink"]}},
                             "points": {"pointValueMinor": 1, "maxSharePercent": 50}})
    customer = pts.known_customer(cloud)
    coupons = {name: cpn.claimed(api, customer, template)["couponId"] for name, template in
               (("threshold", threshold), ("percent", percent), ("vip", vip))}
    credited = api.call("POST", f"/v1/admin/customers/{customer}/points/adjustments", body={"points": 100_000, "reason": "test",
                                                                                          "costCentre": "cc"}, **pts.OPERATOR)
    assert credited.status_code == 201, credited.text
    return {"customer": customer, "coupons": coupons, "version": version}


def quote(api: Api, customer: str, **body: Any) -> Any:
    return api.call("POST", QUOTE, as_=customer, body={"order": ORDER, **body}, idempotency_key=None)


def test_the_policy_is_proposed_by_one_operator_and_approved_by_another(api: Api) -> None:
    # Given a proposal by the head office's maker
    proposed = api.call("PUT", POLICY, body={"policy": {"maxCoupons": 2}}, **MAKER)
    assert proposed.status_code == 200 and proposed.json()["status"] == "pending", proposed.text
    version = proposed.json()["version"]
    # When its author approves it, then a branch's operator proposes one
    own = api.call("POST", f"{POLICY}/versions/{version}/approve", as_="op-maker", groups=["operators", "approvers"], org=org.HEAD_OFFICE)
    branch = api.call("PUT", POLICY, body={"policy": {"maxCoupons": 5}}, **org.operator(org.branch(api)))
    # Then both are refused, and the version still waits
    assert (own.status_code, own.json()["error"]["code"]) == (403, "APPROVER_IS_AUTHOR")
    assert (branch.status_code, branch.json()["error"]["code"]) == (403, "ORG_HEAD_OFFICE_REQUIRED")
    assert api.call("GET", POLICY, **MAKER).json()["pending"]["version"] == version
    # When an approver approves it
    approved = api.call("POST", f"{POLICY}/versions/{version}/approve", **CHECKER)
    # Then it is in force, and no longer pending; approving it again is refused
    assert approved.status_code == 200 and approved.json()["approvedBy"] == "op-checker"
    now = api.call("GET", POLICY, **MAKER).json()
    assert (now["inForce"]["version"], now["inForce"]["policy"]["maxCoupons"], now["pending"]) == (version, 2, None)
    again = api.call("POST", f"{POLICY}/versions/{version}/approve", **CHECKER)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "POLICY_NOT_PENDING")


def test_a_policy_that_makes_a_group_exclusive_and_stackable_at_once_changes_nothing(api: Api) -> None:
    before = api.call("GET", POLICY, **MAKER).json()
    refused = api.call("PUT", POLICY, body={"policy": {"groups": {"default": {}, "vip": {"exclusive": True, "combinesWith": ["default"]}}}},
                       **MAKER)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "VALIDATION_ERROR", refused.text
    assert api.call("GET", POLICY, **MAKER).json() == before


def test_the_worked_example_is_quoted_from_the_real_wallet_and_balance(api: Api, shopper: dict[str, Any]) -> None:
    coupons = shopper["coupons"]
    # Given the customer's three coupons, all chosen, and as many points as the policy lets pay
    chosen = quote(api, shopper["customer"], coupons=[coupons["threshold"], coupons["percent"], coupons["vip"]], points="max")
    # Then the two that stack take 30.00 and 19.06, spread by line; the exclusive one is left out; points pay half the rest
    assert chosen.status_code == 200, chosen.text
    body = chosen.json()
    assert [(c["couponId"], c["discountMinor"]) for c in body["coupons"]] == [(coupons["threshold"], 3_000), (coupons["percent"], 1_906)]
    assert {p["lineId"]: p["discountMinor"] for p in body["coupons"][0]["lines"]} == {"l1": 2_050, "l2": 518, "l3": 432}
    assert body["leftOut"] == [{"couponId": coupons["vip"], "reason": "NOT_STACKABLE_WITH", "otherCouponId": coupons["threshold"]}]
    assert (body["points"]["points"], body["payableMinor"], body["policyVersion"]) == (10_572, 26_050 - 4_906 - 10_572, shopper["version"])
    # And the best combination of the wallet is the same two
    best = quote(api, shopper["customer"], best=True).json()
    assert [c["couponId"] for c in best["coupons"]] == [coupons["threshold"], coupons["percent"]] and best["exact"]


@pytest.mark.parametrize(("change", "status", "code"), [
    ({"order": {**ORDER, "lines": []}}, 400, "VALIDATION_ERROR"),
    ({"order": {**ORDER, "lines": [{**ORDER["lines"][0], "unitPriceMinor": -1}]}}, 400, "VALIDATION_ERROR"),
    ({"order": {**ORDER, "lines": [{**ORDER["lines"][0], "currency": "USD"}]}}, 422, "ORDER_CURRENCY_MIXED"),
    ({"coupons": ["someone-elses-coupon"]}, 403, "NOT_RESOURCE_OWNER"),
    ({"points": 100_001}, 422, "INSUFFICIENT_POINTS"),
    ({"best": True, "coupons": ["x"]}, 400, "VALIDATION_ERROR"),
])
def test_bad_input_is_refused_with_a_clear_code(api: Api, shopper: dict[str, Any], change: dict[str, Any], status: int, code: str) -> None:
    response = api.call("POST", QUOTE, as_=shopper["customer"], body={"order": ORDER, **change}, idempotency_key=None)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code), response.text


def test_an_operators_token_cannot_quote_in_its_own_name(api: Api) -> None:
    response = api.call("POST", QUOTE, body={"order": ORDER}, idempotency_key=None, **MAKER)
    assert (response.status_code, response.json()["error"]["code"]) == (403, "CUSTOMER_TOKEN_REQUIRED")
