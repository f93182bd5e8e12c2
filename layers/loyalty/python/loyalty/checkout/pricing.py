"""What coupons and points take off an order under the stacking policy (docs/checkout.md). Pure, in
integers: no AWS, no HTTP.

A combination applies in the policy's order of kinds (then by coupon id, so a combination's discount
does not depend on the order it was listed or searched in). Each coupon
reads its base (the lines it covers, as ordered or as the coupons before it left them), takes its
discount (a threshold's amount once its base reaches it, a percentage rounded down and capped, a
fixed or drawn amount), never more than those lines have left, and spreads it over them in
proportion to what each has left: whole minor units, the remainder one unit at a time to the
largest fractions, ties to the earlier line. A coupon's discount in a combination is never more than
it takes alone, and once it takes nothing, adding coupons never makes it take something: the best
combination's search (`loyalty.checkout.best`) rests on both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from loyalty.checkout.policy import PAYMENT_KINDS, StackingPolicy
from loyalty.core.errors import BusinessRuleViolation

# Why a coupon is left out (the quote's `leftOut[].reason`).
Reason = Literal["NOT_A_PAYMENT_COUPON", "EXPIRED", "NOT_YET_VALID", "LOCKED_ELSEWHERE", "NOT_AVAILABLE", "CURRENCY_MISMATCH",
                 "MERCHANT_NOT_ALLOWED", "CHANNEL_NOT_ALLOWED", "LINE_NOT_ELIGIBLE", "THRESHOLD_NOT_MET", "NOT_STACKABLE_WITH",
                 "GROUP_LIMIT", "MAX_COUPONS", "NO_GAIN", "NOT_CHOSEN"]


@dataclass(frozen=True)
class Line:
    line_id: str
    sku: str
    category: str
    unit_price_minor: int
    quantity: int

    @property
    def amount(self) -> int:
        return self.unit_price_minor * self.quantity


@dataclass(frozen=True)
class Order:
    merchant_id: str
    channel: str
    currency: str
    lines: tuple[Line, ...]

    @property
    def total(self) -> int:
        return sum(line.amount for line in self.lines)


@dataclass(frozen=True)
class Candidate:
    """A coupon of the customer's wallet, as checkout reads it."""

    coupon_id: str
    template_id: str
    kind: str
    benefit: Mapping[str, Any]
    valid_from: str
    valid_until: str
    status: str  # effective: available, locked, redeemed, expired...
    redemption: Mapping[str, Any] = field(default_factory=dict)  # merchants, channels
    amount_minor: int | None = None  # a random_amount coupon's drawn amount
    lock_order_id: str | None = None


@dataclass(frozen=True)
class Applied:
    coupon_id: str
    discount_minor: int
    lines: dict[str, int]  # line id: the part of the discount it took


@dataclass(frozen=True)
class LeftOut:
    coupon_id: str
    reason: Reason
    other: str | None = None  # the coupon it clashes with (NOT_STACKABLE_WITH, GROUP_LIMIT)


def check_order(order: Order) -> None:
    """An order checkout can price: lines, non-negative prices, one currency (the API's model checks shapes)."""
    if not order.lines:
        raise BusinessRuleViolation("an order has at least one line", code="ORDER_EMPTY")
    if len({line.line_id for line in order.lines}) != len(order.lines):
        raise BusinessRuleViolation("each line has its own lineId", code="ORDER_LINES_DUPLICATED")
    if any(line.unit_price_minor < 0 or line.quantity < 1 for line in order.lines):
        raise BusinessRuleViolation("prices are not negative and quantities at least 1", code="ORDER_AMOUNT_INVALID")


# ---- one coupon alone -------------------------------------------------------------------------------


def covered(order: Order, template_id: str, policy: StackingPolicy) -> list[int]:
    """The indexes of the lines the template's coupons cover."""
    scope = policy.lineScopes.get(template_id)
    if scope is None or (not scope.categories and not scope.skus):
        return list(range(len(order.lines)))
    return [i for i, line in enumerate(order.lines) if line.category in scope.categories or line.sku in scope.skus]


def refusal(coupon: Candidate, order: Order, policy: StackingPolicy, now_iso: str, order_id: str | None = None) -> Reason | None:
    """Why the coupon cannot apply to the order at all, whatever else is on it; None if it can."""
    if coupon.kind not in PAYMENT_KINDS:
        return "NOT_A_PAYMENT_COUPON"
    if coupon.status == "expired" or coupon.valid_until <= now_iso:
        return "EXPIRED"
    if coupon.status == "locked" and coupon.lock_order_id != order_id:
        return "LOCKED_ELSEWHERE"
    if coupon.status not in ("available", "locked"):
        return "NOT_AVAILABLE"
    if now_iso < coupon.valid_from:
        return "NOT_YET_VALID"
    if coupon.benefit.get("currency") != order.currency:
        return "CURRENCY_MISMATCH"
    if coupon.redemption.get("merchants") and order.merchant_id not in coupon.redemption["merchants"]:
        return "MERCHANT_NOT_ALLOWED"
    if coupon.redemption.get("channels") and order.channel not in coupon.redemption["channels"]:
        return "CHANNEL_NOT_ALLOWED"
    lines = covered(order, coupon.template_id, policy)
    if not lines or sum(order.lines[i].amount for i in lines) == 0:
        return "LINE_NOT_ELIGIBLE"
    if alone(coupon, order, policy) == 0:
        return "THRESHOLD_NOT_MET" if coupon.kind == "threshold" else "NO_GAIN"
    return None


def alone(coupon: Candidate, order: Order, policy: StackingPolicy) -> int:
    """The discount the coupon takes on its own: an upper bound of what it takes in any combination."""
    return apply(order, [coupon], policy)[0].discount_minor


# ---- a combination ------------------------------------------------------------------------------------


def _discount(coupon: Candidate, base: int) -> int:
    benefit = coupon.benefit
    if coupon.kind == "threshold":
        return int(benefit["amountMinor"]) if base >= int(benefit["thresholdMinor"]) else 0
    if coupon.kind == "percentage":  # rounded down, in the bank's favour, then capped
        return min(base * int(benefit["percentOff"]) // 100, int(benefit["maxDiscountMinor"]))
    if coupon.kind == "random_amount":
        return int(coupon.amount_minor or 0)
    return int(benefit["amountMinor"])


def spread(amount: int, weights: Sequence[int]) -> list[int]:
    """`amount` over the weights in proportion, in whole units summing to it exactly: floors first,
    then one unit each to the largest remainders (ties to the earlier). Weights sum to at least `amount`."""
    total = sum(weights)
    if amount == 0 or total == 0:
        return [0] * len(weights)
    parts = [amount * w // total for w in weights]
    remainders = sorted(range(len(weights)), key=lambda i: (-(amount * weights[i] % total), i))
    for i in remainders[: amount - sum(parts)]:
        parts[i] += 1
    return parts


def apply(order: Order, coupons: Sequence[Candidate], policy: StackingPolicy) -> list[Applied]:
    """Each coupon's discount and its lines' parts, in the order they apply (the policy's order of
    kinds, then by coupon id). The coupons are assumed to stack (`conflict`)."""
    original = [line.amount for line in order.lines]
    left = list(original)
    applied: list[Applied] = []
    for coupon in sorted(coupons, key=lambda c: (policy.rank_of(c.kind), c.coupon_id)):
        lines = covered(order, coupon.template_id, policy)
        source = original if policy.base_of(coupon.kind) == "original" else left
        room = sum(left[i] for i in lines)
        off = min(_discount(coupon, sum(source[i] for i in lines)), room)
        parts = spread(off, [left[i] for i in lines])
        for i, part in zip(lines, parts, strict=True):
            left[i] -= part
        applied.append(Applied(coupon.coupon_id, off, {order.lines[i].line_id: p for i, p in zip(lines, parts, strict=True) if p}))
    return applied


def conflict(chosen: Sequence[Candidate], coupon: Candidate, policy: StackingPolicy) -> LeftOut | None:
    """Why `coupon` cannot join `chosen` on one order under the policy; None if it can."""
    if len(chosen) >= policy.maxCoupons:
        return LeftOut(coupon.coupon_id, "MAX_COUPONS")
    group = policy.group_of(coupon.template_id)
    same = [c for c in chosen if policy.group_of(c.template_id) == group]
    if len(same) >= policy.groups[group].maxPerOrder:
        return LeftOut(coupon.coupon_id, "GROUP_LIMIT", same[0].coupon_id)
    for other in chosen:
        if not policy.combine(policy.group_of(other.template_id), group):
            return LeftOut(coupon.coupon_id, "NOT_STACKABLE_WITH", other.coupon_id)
    return None


def total_of(applied: Sequence[Applied]) -> int:
    return sum(a.discount_minor for a in applied)


# ---- points as payment ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Points:
    points: int
    value_minor: int
    reason: str | None = None  # why none were used though some were asked for


def points_payment(payable: int, asked: int | Literal["max"], balance: int, policy: StackingPolicy, with_coupons: bool) -> Points:
    """The points that pay part of `payable` (what is left after the coupons): `max` takes what the
    balance and the policy's share allow; a number more than the balance, or than the share allows,
    is refused (422), never cut down silently."""
    rule = policy.points
    if asked == 0:
        return Points(0, 0)
    if with_coupons and not rule.withCoupons:
        if asked == "max":
            return Points(0, 0, "POINTS_NOT_WITH_COUPONS")
        raise BusinessRuleViolation("the policy does not let points pay on an order with coupons", code="POINTS_NOT_WITH_COUPONS")
    allowed = payable * rule.maxSharePercent // 100 // rule.pointValueMinor
    if asked == "max":
        used = min(balance, allowed)
        return Points(used, used * rule.pointValueMinor)
    if asked > balance:
        raise BusinessRuleViolation(f"{asked} points asked for, {balance} on the balance", code="INSUFFICIENT_POINTS")
    if asked > allowed:
        raise BusinessRuleViolation(f"points may pay at most {rule.maxSharePercent}% of {payable}: {allowed} points",
                                    code="POINTS_OVER_SHARE")
    return Points(asked, asked * rule.pointValueMinor)
