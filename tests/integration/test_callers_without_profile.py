"""Who may claim coupons (docs/security.md, "Callers without a profile, and operators"): an operator's
token never claims, nor redeems points for a mall coupon, nor takes an invite code, not even for its own subject; a customer whose profile core banking has not sent
yet reads an empty wallet and balance, claims what asks nothing of the profile, is refused what does,
and their claim is parked by scoring until the profile arrives (never dead-lettered)."""

from __future__ import annotations

from typing import Any

from infra.local.cloud import LocalCloud
from tests.support.api import Api, eventually
from tests.support.coupons import active_template, claim, error_code, new_customer, stock_left, wallet, wallet_items
from tests.support.scoring import parked_items, profile_snapshot, scores_of


def test_an_operator_token_cannot_claim_a_coupon(api: Api) -> None:
    # Given an active template anyone may claim
    template_id = active_template(api, stock=5)
    for groups in (["operators"], ["operators", "approvers"]):
        # When an operator claims with their own token (the subject is a member of staff)
        response = api.call("POST", "/v1/coupons/claims", as_="op-claimer", groups=groups, body={"templateId": template_id})
        # Then it is a 403 with its own code, and nothing is issued
        assert response.status_code == 403, response.text
        assert error_code(response) == "CUSTOMER_TOKEN_REQUIRED"
    assert stock_left(api, template_id) == 5
    assert wallet_items(api, "op-claimer") == []


def test_an_operator_token_cannot_take_an_invite_code_for_its_own_subject(api: Api) -> None:
    # Given an operator whose subject names no customer
    # When they ask for "their" invite code (a customer-only route, like claims)
    response = api.call("POST", "/v1/customers/op-inviter/invite-code", as_="op-inviter", groups=["operators"])
    # Then it is refused: nothing is registered in a member of staff's name
    assert (response.status_code, error_code(response)) == (403, "CUSTOMER_TOKEN_REQUIRED")


def test_an_operator_token_cannot_redeem_points_for_a_coupon_for_itself(api: Api) -> None:
    # Given an operator whose subject names no customer (and even one that does would be staff's)
    for body in ({"itemId": "any-item"}, {"itemId": "any-item", "customerId": "op-redeemer"}):
        # When they redeem points in the mall for themselves, implicitly or by naming their own subject
        response = api.call("POST", "/v1/points/redemptions", as_="op-redeemer", groups=["operators"], body=body)
        # Then it is refused before anything is looked up: a mall coupon would be a coupon claimed
        assert (response.status_code, error_code(response)) == (403, "CUSTOMER_TOKEN_REQUIRED")


def test_a_customer_without_a_profile_reads_empty_things_and_claims_only_what_needs_no_profile(cloud: LocalCloud, api: Api) -> None:
    # Given a customer whose token is valid but whose profile core banking has not sent yet
    customer = new_customer()
    # Then they have no profile to read, and an empty wallet and balance
    assert api.call("GET", f"/v1/customers/{customer}", as_=customer).status_code == 404
    own_wallet = wallet(api, customer, as_=customer)
    assert own_wallet.status_code == 200 and own_wallet.json()["items"] == []
    balance: dict[str, Any] = api.call("GET", f"/v1/customers/{customer}/points", as_=customer).json()
    assert (balance["available"], balance["pending"], balance["held"]) == (0, 0, 0)
    assert api.call("GET", f"/v1/customers/{customer}/points/history", as_=customer).json()["items"] == []
    # And a template with eligibility rules (it reads the profile) refuses them, failing closed
    tagged = active_template(api, stock=5, eligibility={"tags": ["vip"]})
    refused = claim(api, customer, tagged)
    assert refused.status_code == 422 and error_code(refused) == "NOT_ELIGIBLE"
    # When they claim one that asks nothing of the profile
    open_to_all = active_template(api, stock=5)
    claimed = claim(api, customer, open_to_all)
    # Then they get it, and its CouponIssued reaches scoring and is parked for the profile (not retried)
    assert claimed.status_code == 201, claimed.text
    eventually(lambda: [p for p in parked_items(cloud, customer) if p["detailType"] == "CouponIssued"], timeout_s=30)
    # And when the profile arrives, the claim counts toward the customer's claim velocity
    profile_snapshot(cloud, customer)
    assert scores_of(api, customer)["features"]["couponClaims7"] == 1 and parked_items(cloud, customer) == []
