"""Refunds give back in proportion and never drift: whatever an order's refunds are cut into, once it
is all refunded the coupons' discounts, the points and the cash come back exactly, and no refund
gives back a negative amount of anything (docs/checkout.md, "Refunds")."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.checkout.pricing import spread
from loyalty.checkout.refunds import Paid, Refund, Refunded, by_amount, by_lines
from loyalty.core.errors import BusinessRuleViolation


@st.composite
def paid_orders(draw: st.DrawFn) -> Paid:
    lines = {f"l{i}": (draw(st.integers(1, 20_000)), draw(st.integers(1, 6))) for i in range(draw(st.integers(1, 4)))}
    coupons = []
    left = {line_id: price * quantity for line_id, (price, quantity) in lines.items()}
    for c in range(draw(st.integers(0, 3))):
        covered = draw(st.lists(st.sampled_from(sorted(lines)), min_size=1, unique=True))
        room = sum(left[line_id] for line_id in covered)
        amount = draw(st.integers(0, room))
        parts = dict(zip(covered, spread(amount, [left[line_id] for line_id in covered]), strict=True))
        for line_id, part in parts.items():
            left[line_id] -= part
        coupons.append((f"c{c}", parts))
    net = sum(left.values())
    point_value = draw(st.integers(1, 50))
    points = draw(st.integers(0, net // 2 // point_value))
    return Paid(lines, coupons, points, point_value)


def check_totals(paid: Paid, refunds: list[Refund]) -> None:
    for refund in refunds:
        assert min([refund.cash_minor, refund.points, refund.gross_minor, *refund.coupons.values()]) >= 0
    assert sum(r.gross_minor for r in refunds) == paid.total
    for coupon_id, parts in paid.coupons:
        assert sum(r.coupons[coupon_id] for r in refunds) == sum(parts.values())
    assert sum(r.points for r in refunds) == paid.points
    assert sum(r.cash_minor for r in refunds) == paid.cash
    assert refunds[-1].complete(paid)


@settings(max_examples=400, deadline=None)
@given(paid=paid_orders(), data=st.data())
def test_refunds_by_lines_in_any_cut_give_back_exactly_what_was_taken(paid: Paid, data: st.DataObject) -> None:
    # Given a confirmed order, refunded unit by unit in a random order and grouping
    units = [line_id for line_id, (_, quantity) in paid.lines.items() for _ in range(quantity)]
    units = data.draw(st.permutations(units))
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, len(units) - 1)), max_size=4)))
    refunds, before = [], Refunded()
    for start, end in zip([0, *cuts], [*cuts, len(units)], strict=True):
        if start >= end:
            continue
        asked: dict[str, int] = {}
        for line_id in units[start:end]:
            asked[line_id] = asked.get(line_id, 0) + 1
        # When each part is refunded
        refund = by_lines(paid, before, asked)
        refunds.append(refund)
        before = refund.after
    # Then nothing drifts and nothing is negative
    check_totals(paid, refunds)


@settings(max_examples=400, deadline=None)
@given(paid=paid_orders(), data=st.data())
def test_refunds_by_amount_in_any_cut_give_back_exactly_what_was_taken(paid: Paid, data: st.DataObject) -> None:
    cuts = sorted(data.draw(st.sets(st.integers(1, max(1, paid.total - 1)), max_size=5)))
    refunds, before = [], Refunded()
    for start, end in zip([0, *cuts], [*cuts, paid.total], strict=True):
        if start < end:
            refund = by_amount(paid, before, end - start)
            refunds.append(refund)
            before = refund.after
    check_totals(paid, refunds)


WORKED = Paid({"l1": (8_900, 2), "l2": (4_500, 1), "l3": (1_250, 3)},
              [("c-threshold", {"l1": 2_050, "l2": 518, "l3": 432}), ("c-pct", {"l1": 1_574, "l3": 332})], 10_572, 1)


def test_one_unit_of_a_line_gives_back_its_share_of_each_coupon_in_the_order_they_applied() -> None:
    # Given the worked example's order (docs/checkout.md)
    # When one of the two bags of beans (l1) is refunded
    refund = by_lines(WORKED, Refunded(), {"l1": 1})
    # Then the line's 3,624 of discount spread over its 2 units: 1,812 back, the threshold coupon's first
    assert (refund.gross_minor, refund.coupons) == (8_900, {"c-threshold": 1_812, "c-pct": 0})
    # And the net 7,088 comes back as cash and points in the proportions they paid the order (half each)
    assert (refund.cash_minor, refund.points, refund.points_value_minor) == (3_544, 3_544, 3_544)


def test_a_refund_beyond_the_order_or_of_another_kind_is_refused() -> None:
    first = by_lines(WORKED, Refunded(), {"l2": 1})
    with pytest.raises(BusinessRuleViolation) as beyond:
        by_lines(WORKED, first.after, {"l2": 1})
    assert beyond.value.code == "REFUND_EXCEEDS_ORDER"
    with pytest.raises(BusinessRuleViolation) as mixed:
        by_amount(WORKED, first.after, 100)
    assert mixed.value.code == "REFUND_MODE_MIXED"
    with pytest.raises(BusinessRuleViolation) as unknown:
        by_lines(WORKED, Refunded(), {"l9": 1})
    assert unknown.value.code == "REFUND_LINE_UNKNOWN"
    with pytest.raises(BusinessRuleViolation) as too_much:
        by_amount(WORKED, Refunded(), WORKED.total + 1)
    assert too_much.value.code == "REFUND_EXCEEDS_ORDER"
