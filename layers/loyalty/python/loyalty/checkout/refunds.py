"""What a refund gives back (docs/checkout.md, "Refunds"). Pure, in integers.

Every figure is computed **cumulatively**, from everything refunded so far including this refund,
and this refund gives back the difference from what the refunds before it gave. So rounding never
drifts: once the whole order is refunded the sums are exactly what the order took, whatever the
refunds were cut into, and no refund ever gives back a negative amount of anything.

- **The discount**, by lines: a line's discount is spread over its units (whole minor units, the
  remainder on the first units), and refunding units gives back their part, so a unit's cash back
  is never negative. By an amount of the order's value: the discount times the share of the value
  refunded, rounded down. Within a line (or the order), the coupons' parts come back in the order
  they applied: every coupon's is whole once the line is.
- **The cash** the payment gave is given back in proportion to the order's net value (after the
  coupons) refunded so far, rounded down; **the points** give back the rest of that net value, in
  whole points: a part of a point's value waits for the next refund (all of it, on the last).

A session's refunds are all by lines or all by amount: the two shares do not add up to one order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from loyalty.core.errors import BusinessRuleViolation


@dataclass(frozen=True)
class Paid:
    """What the confirmed order took: its lines (id: (unit price, quantity)), each coupon's part of
    each line (in the order the coupons applied), and the points with the value of one point."""

    lines: Mapping[str, tuple[int, int]]
    coupons: Sequence[tuple[str, Mapping[str, int]]]  # (coupon id, {line id: discount}), as applied
    points: int
    point_value_minor: int

    @property
    def total(self) -> int:
        return sum(price * quantity for price, quantity in self.lines.values())

    @property
    def discount(self) -> int:
        return sum(sum(parts.values()) for _, parts in self.coupons)

    @property
    def cash(self) -> int:
        return self.total - self.discount - self.points * self.point_value_minor


@dataclass(frozen=True)
class Refunded:
    """Everything refunded so far (cumulative)."""

    gross_minor: int = 0  # of the order's value, before the coupons
    quantities: Mapping[str, int] = field(default_factory=dict)  # by lines: line id: quantity
    coupons: Mapping[str, int] = field(default_factory=dict)  # coupon id: discount given back
    points: int = 0
    cash_minor: int = 0
    mode: str | None = None  # lines | amount (None: nothing refunded yet)


@dataclass(frozen=True)
class Refund:
    """What one refund gives back, and everything refunded after it."""

    gross_minor: int
    coupons: dict[str, int]
    points: int
    points_value_minor: int
    cash_minor: int
    after: Refunded

    def complete(self, paid: Paid) -> bool:
        return self.after.gross_minor == paid.total


def _exceeds(message: str) -> BusinessRuleViolation:
    return BusinessRuleViolation(message, code="REFUND_EXCEEDS_ORDER")


def in_order(parts: Sequence[tuple[str, int]], back: int) -> dict[str, int]:
    """`back` minor units of the parts laid end to end, from the first: each part's share of them."""
    shares: dict[str, int] = {}
    start = 0
    for coupon_id, part in parts:
        shares[coupon_id] = shares.get(coupon_id, 0) + min(part, max(0, back - start))
        start += part
    return shares


def units_back(discount: int, quantity: int, refunded: int) -> int:
    """A line's discount spread over its units (the remainder one unit each on the first): what
    its first `refunded` units carry."""
    return refunded * (discount // quantity) + min(refunded, discount % quantity)


def by_lines(paid: Paid, before: Refunded, lines: Mapping[str, int]) -> Refund:
    if before.mode == "amount":
        raise BusinessRuleViolation("this order was refunded by amount: refund it by amount again", code="REFUND_MODE_MIXED")
    unknown = sorted(set(lines) - set(paid.lines))
    if unknown:
        raise BusinessRuleViolation(f"the order has no line {', '.join(unknown)}", code="REFUND_LINE_UNKNOWN", details=unknown)
    quantities = dict(before.quantities)
    for line_id, quantity in lines.items():
        quantities[line_id] = quantities.get(line_id, 0) + quantity
        if quantities[line_id] > paid.lines[line_id][1]:
            raise _exceeds(f"line {line_id} had {paid.lines[line_id][1]}; {quantities[line_id]} would be refunded")
    coupons: dict[str, int] = {coupon_id: 0 for coupon_id, _ in paid.coupons}
    for line_id, refunded in quantities.items():
        parts = [(coupon_id, by_line.get(line_id, 0)) for coupon_id, by_line in paid.coupons]
        back = units_back(sum(part for _, part in parts), paid.lines[line_id][1], refunded)
        for coupon_id, share in in_order(parts, back).items():
            coupons[coupon_id] += share
    gross = sum(paid.lines[line_id][0] * quantity for line_id, quantity in quantities.items())
    return _refund(paid, before, gross, coupons, quantities, "lines")


def by_amount(paid: Paid, before: Refunded, amount_minor: int) -> Refund:
    if before.mode == "lines":
        raise BusinessRuleViolation("this order was refunded by lines: refund it by lines again", code="REFUND_MODE_MIXED")
    gross = before.gross_minor + amount_minor
    if gross > paid.total:
        raise _exceeds(f"the order was {paid.total}; {gross} would be refunded")
    back = paid.discount * gross // paid.total if paid.total else 0
    coupons = in_order([(coupon_id, sum(parts.values())) for coupon_id, parts in paid.coupons], back)
    return _refund(paid, before, gross, coupons, {}, "amount")


def _refund(paid: Paid, before: Refunded, gross: int, coupons: dict[str, int], quantities: dict[str, int], mode: str) -> Refund:
    net_total = paid.total - paid.discount
    net = gross - sum(coupons.values())
    cash = paid.cash * net // net_total if net_total else 0
    points = (net - cash) // paid.point_value_minor if paid.point_value_minor else 0
    after = Refunded(gross, quantities, coupons, min(points, paid.points), cash, mode)
    back = {c: v - before.coupons.get(c, 0) for c, v in coupons.items()}
    points_back = after.points - before.points
    return Refund(gross - before.gross_minor, back, points_back, points_back * paid.point_value_minor, cash - before.cash_minor, after)
