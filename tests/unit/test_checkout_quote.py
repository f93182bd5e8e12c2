"""Quotes under the stacking policy, pure: docs/checkout.md's worked example (two coupons and points on a
3-line order) worked out by hand, the reason for every coupon left out, and the bad input refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from loyalty.checkout.policy import GroupRule, LineScope, PointsRule, StackingPolicy, Step
from loyalty.checkout.pricing import Candidate, LeftOut, Line, Order, spread
from loyalty.checkout.quote import quote
from loyalty.core.errors import BusinessRuleViolation, Forbidden

NOW = "2027-01-10T00:00:00Z"
POLICY = StackingPolicy(
    groups={"default": GroupRule(combinesWith=["*"]), "bank-card": GroupRule(combinesWith=["*"]), "vip": GroupRule(exclusive=True)},
    templateGroups={"tpl-threshold": "bank-card", "tpl-vip": "vip"},
    lineScopes={"tpl-pct": LineScope(categories=["food", "drink"])},
    points=PointsRule(pointValueMinor=1, maxSharePercent=50),
)
ORDER = Order("m-coffee", "app", "CNY", (Line("l1", "beans", "food", 8_900, 2), Line("l2", "mug", "gift", 4_500, 1),
                                          Line("l3", "latte", "drink", 1_250, 3)))


def coupon(coupon_id: str, template_id: str, kind: str, until: str = "2027-03-01T00:00:00Z", status: str = "available",
           **benefit: int) -> Candidate:
    return Candidate(coupon_id, template_id, kind, {"currency": "CNY", **benefit}, "2027-01-01T00:00:00Z", until, status)


THRESHOLD = coupon("c-threshold", "tpl-threshold", "threshold", thresholdMinor=20_000, amountMinor=3_000)
PERCENT = coupon("c-pct", "tpl-pct", "percentage", until="2027-02-01T00:00:00Z", percentOff=10, maxDiscountMinor=2_000)
VIP = coupon("c-vip", "tpl-vip", "fixed_amount", until="2027-06-01T00:00:00Z", amountMinor=4_000)
WALLET = [THRESHOLD, PERCENT, VIP]


def test_the_worked_example_two_coupons_and_points_on_three_lines() -> None:
    # Given a 3-line order of 260.50 CNY and the customer's three coupons, all chosen, and as many points as allowed
    # When it is quoted
    found = quote(ORDER, WALLET, POLICY, NOW, coupon_ids=["c-threshold", "c-pct", "c-vip"], points="max", balance=100_000)
    # Then the threshold coupon (200 reached on the order as ordered) takes 30.00, spread by line amount:
    # floors 2049, 518, 431 (2,998), the 2 units left to the largest remainders (l1 .90, l3 .86)
    threshold, percent = found.applied
    assert (threshold.discount_minor, threshold.lines) == (3_000, {"l1": 2_050, "l2": 518, "l3": 432})
    # And the 10% coupon reads food and drink as the threshold left them, 157.50 + 33.18, and takes 19.06 (rounded down)
    assert (percent.discount_minor, percent.lines) == ((15_750 + 3_318) * 10 // 100, {"l1": 1_574, "l3": 332})
    # And the exclusive VIP coupon is left out, naming the coupon it clashes with
    assert found.left_out == (LeftOut("c-vip", "NOT_STACKABLE_WITH", "c-threshold"),)
    # And points pay half of what is left: (26,050 - 4,906) / 2 = 10,572 points of 1 minor unit
    assert (found.points.points, found.points.value_minor, found.payable) == (10_572, 10_572, 26_050 - 4_906 - 10_572)


def test_best_picks_the_largest_discount_and_says_why_the_others_are_out() -> None:
    # Given the same wallet, and a coupon already locked for another order
    locked = Candidate("c-locked", "tpl-x", "fixed_amount", {"currency": "CNY", "amountMinor": 9_000}, "2027-01-01T00:00:00Z",
                       "2027-03-01T00:00:00Z", "locked", lock_order_id="o-other")
    # When the best combination is asked for
    found = quote(ORDER, [*WALLET, locked], POLICY, NOW, best=True)
    # Then the threshold and percentage coupons (49.06) beat the VIP coupon alone (40.00)
    assert [a.coupon_id for a in found.applied] == ["c-threshold", "c-pct"] and found.discount == 4_906 and found.exact
    assert set(found.left_out) == {LeftOut("c-locked", "LOCKED_ELSEWHERE"), LeftOut("c-vip", "NOT_STACKABLE_WITH", "c-threshold")}


def test_ties_go_to_the_coupons_that_expire_first() -> None:
    # Given two 5.00 coupons of one group (one per order), one expiring in February, one in March
    later = coupon("c-later", "tpl-a", "fixed_amount", until="2027-03-01T00:00:00Z", amountMinor=500)
    sooner = coupon("c-sooner", "tpl-b", "fixed_amount", until="2027-02-01T00:00:00Z", amountMinor=500)
    # When the best is searched
    found = quote(ORDER, [later, sooner], StackingPolicy(), NOW, best=True)
    # Then the one that expires first is used
    assert [a.coupon_id for a in found.applied] == ["c-sooner"]
    assert found.left_out == (LeftOut("c-later", "GROUP_LIMIT", "c-sooner"),)


@pytest.mark.parametrize(("candidate", "reason"), [
    (coupon("c-1", "t", "fixed_amount", until="2027-01-05T00:00:00Z", amountMinor=100), "EXPIRED"),
    (coupon("c-2", "t", "threshold", thresholdMinor=90_000, amountMinor=100), "THRESHOLD_NOT_MET"),
    (coupon("c-3", "tpl-socks", "fixed_amount", amountMinor=100), "LINE_NOT_ELIGIBLE"),
    (coupon("c-4", "t", "fixed_amount", status="redeemed", amountMinor=100), "NOT_AVAILABLE"),
    (Candidate("c-5", "t", "fixed_amount", {"currency": "USD", "amountMinor": 1}, "2027-01-01T00:00:00Z", "2027-03-01T00:00:00Z",
               "available"), "CURRENCY_MISMATCH"),
    (Candidate("c-6", "t", "fixed_amount", {"currency": "CNY", "amountMinor": 1}, "2027-01-01T00:00:00Z", "2027-03-01T00:00:00Z",
               "available", redemption={"merchants": ["m-other"]}), "MERCHANT_NOT_ALLOWED"),
])
def test_a_coupon_that_cannot_apply_is_left_out_with_its_reason(candidate: Candidate, reason: str) -> None:
    policy = POLICY.model_copy(update={"lineScopes": {"tpl-socks": LineScope(skus=["socks"])}})
    found = quote(ORDER, [candidate], policy, NOW, coupon_ids=[candidate.coupon_id])
    assert found.applied == () and found.left_out == (LeftOut(candidate.coupon_id, reason),)  # type: ignore[arg-type]


def test_bad_input_is_refused() -> None:
    # An order with no lines, a negative price; a coupon of another customer; more points than the balance
    with pytest.raises(BusinessRuleViolation, match="at least one line"):
        quote(Order("m", "app", "CNY", ()), WALLET, POLICY, NOW)
    with pytest.raises(BusinessRuleViolation) as negative:
        quote(Order("m", "app", "CNY", (Line("l1", "s", "food", -1, 1),)), WALLET, POLICY, NOW)
    assert negative.value.code == "ORDER_AMOUNT_INVALID"
    with pytest.raises(Forbidden) as stranger:
        quote(ORDER, WALLET, POLICY, NOW, coupon_ids=["someone-elses"])
    assert stranger.value.code == "NOT_RESOURCE_OWNER"
    with pytest.raises(BusinessRuleViolation) as points:
        quote(ORDER, WALLET, POLICY, NOW, points=500, balance=499)
    assert points.value.code == "INSUFFICIENT_POINTS"
    with pytest.raises(BusinessRuleViolation) as share:
        quote(ORDER, WALLET, POLICY, NOW, points=20_000, balance=50_000)
    assert share.value.code == "POINTS_OVER_SHARE"


def test_a_policy_that_makes_a_group_exclusive_and_stackable_at_once_is_refused() -> None:
    with pytest.raises(ValidationError, match="exclusive group combines with nothing"):
        StackingPolicy(groups={"default": GroupRule(), "vip": GroupRule(exclusive=True, combinesWith=["default"])})
    with pytest.raises(ValidationError, match="which is exclusive"):
        StackingPolicy(groups={"default": GroupRule(combinesWith=["vip"]), "vip": GroupRule(exclusive=True)})
    with pytest.raises(ValidationError, match="each payment kind once"):
        StackingPolicy(order=[Step(kind="threshold", base="original")] * 4)


def test_points_do_not_pay_beside_coupons_when_the_policy_says_so() -> None:
    policy = POLICY.model_copy(update={"points": PointsRule(withCoupons=False)})
    found = quote(ORDER, WALLET, policy, NOW, coupon_ids=["c-threshold"], points="max", balance=1_000)
    assert (found.points.points, found.points.reason) == (0, "POINTS_NOT_WITH_COUPONS")
    with pytest.raises(BusinessRuleViolation, match="does not let points pay"):
        quote(ORDER, WALLET, policy, NOW, coupon_ids=["c-threshold"], points=10, balance=1_000)


def test_a_spread_sums_exactly_and_places_the_remainder_deterministically() -> None:
    assert spread(10, [1, 1, 1]) == [4, 3, 3]
    assert spread(7, [0, 5, 5]) == [0, 4, 3]
    assert sum(spread(3_000, [17_800, 4_500, 3_750])) == 3_000
