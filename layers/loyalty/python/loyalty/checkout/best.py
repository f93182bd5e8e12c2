"""The customer-optimal combination of their coupons under the stacking policy: an exact branch and
bound, bounded in the nodes it visits (docs/checkout.md, "The best combination").

A combination is **valid** when its coupons stack under the policy and each takes something off
(a coupon that would take nothing is left out, with its reason). The best is the valid combination
with the largest discount; of equal ones, the one whose coupons expire first (their expiry times,
earliest first, compared in order), then the fewer coupons, then the coupon ids.

The search walks subsets in order of each coupon's discount alone, largest first. A subtree is cut
when even the best it could hold cannot reach the best found: what its combination takes, plus the
largest discounts alone of the coupons it may still add (a coupon never takes more in a combination
than alone, and adding coupons never raises the others'), capped by the order's total. A coupon
that takes nothing in a combination takes nothing in any larger one, so that branch stops there.
Past `node_limit` combinations the best found so far is answered, marked as not proven best.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from loyalty.checkout.policy import StackingPolicy
from loyalty.checkout.pricing import Applied, Candidate, Order, alone, apply, conflict, total_of

NODE_LIMIT = 20_000


@dataclass(frozen=True)
class Search:
    coupons: tuple[Candidate, ...]
    applied: tuple[Applied, ...]
    exact: bool  # False: the node limit was reached before the search could prove it best
    nodes: int

    @property
    def discount(self) -> int:
        return total_of(self.applied)


def preference(coupons: Sequence[Candidate], discount: int) -> tuple[int, tuple[str, ...], int, tuple[str, ...]]:
    """The smaller, the better: the largest discount, then the earliest expiries, fewer coupons, ids."""
    return -discount, tuple(sorted(c.valid_until for c in coupons)), len(coupons), tuple(sorted(c.coupon_id for c in coupons))


def evaluate(order: Order, coupons: Sequence[Candidate], policy: StackingPolicy) -> list[Applied] | None:
    """The combination's discounts, or None when it is not valid (a coupon in it takes nothing)."""
    applied = apply(order, coupons, policy)
    return None if any(a.discount_minor == 0 for a in applied) else applied


def best(order: Order, candidates: Sequence[Candidate], policy: StackingPolicy, node_limit: int = NODE_LIMIT) -> Search:
    """The best valid combination of `candidates` (each applicable alone: `pricing.refusal` is None)."""
    alone_by_id = {c.coupon_id: alone(c, order, policy) for c in candidates}
    ranked = sorted(candidates, key=lambda c: (-alone_by_id[c.coupon_id], c.valid_until, c.coupon_id))
    upper = [alone_by_id[c.coupon_id] for c in ranked]
    found: tuple[tuple[Candidate, ...], tuple[Applied, ...]] = ((), ())
    found_key = preference((), 0)
    nodes = 0
    exact = True

    def bound(discount: int, start: int, slots: int) -> int:
        return min(order.total, discount + sum(upper[start:start + slots]))

    def visit(chosen: list[Candidate], discount: int, start: int) -> None:
        nonlocal found, found_key, nodes, exact
        for j in range(start, len(ranked)):
            if nodes >= node_limit:
                exact = False
                return
            slots = policy.maxCoupons - len(chosen)
            if slots <= 0 or bound(discount, j, slots) < -found_key[0]:
                return  # the rest are no better: they are ranked by what they take alone
            coupon = ranked[j]
            if conflict(chosen, coupon, policy) is not None:
                continue
            nodes += 1
            combination = [*chosen, coupon]
            applied = evaluate(order, combination, policy)
            if applied is None:
                continue  # it takes nothing here, so nothing in any larger combination either
            total = total_of(applied)
            key = preference(combination, total)
            if key < found_key:
                found, found_key = (tuple(combination), tuple(applied)), key
            visit(combination, total, j + 1)

    visit([], 0, 0)
    return Search(found[0], found[1], exact, nodes)
