"""A quote: the coupons chosen (or the best of the wallet) and the points, on one order, with a reason
for every coupon left out (docs/checkout.md, "A quote"). Pure: the caller reads the wallet, the
balance and the policy, and nothing is written."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from loyalty.checkout import best as search
from loyalty.checkout.policy import StackingPolicy
from loyalty.checkout.pricing import (
    Applied,
    Candidate,
    LeftOut,
    Order,
    Points,
    apply,
    check_order,
    conflict,
    points_payment,
    refusal,
    total_of,
)
from loyalty.core.errors import BusinessRuleViolation, Forbidden


@dataclass(frozen=True)
class Quote:
    order_total: int
    applied: tuple[Applied, ...]
    left_out: tuple[LeftOut, ...]
    points: Points
    exact: bool  # `best` proved its combination best (False: its search hit the node limit)

    @property
    def discount(self) -> int:
        return total_of(self.applied)

    @property
    def payable(self) -> int:
        return self.order_total - self.discount - self.points.value_minor


def chosen(order: Order, wallet: Sequence[Candidate], coupon_ids: Sequence[str], policy: StackingPolicy,
           now_iso: str, order_id: str | None = None) -> tuple[list[Candidate], list[LeftOut]]:
    """The coupons the customer chose that apply together, in the order they were listed: each that
    cannot apply at all, or clashes with one taken before it, is left out with its reason. A coupon
    not in the customer's wallet is 403: it is someone else's, or no coupon at all."""
    mine = {c.coupon_id: c for c in wallet}
    strangers = [i for i in coupon_ids if i not in mine]
    if strangers:
        raise Forbidden("a coupon chosen is not the customer's", code="NOT_RESOURCE_OWNER", details=strangers)
    if len(set(coupon_ids)) != len(coupon_ids):
        raise BusinessRuleViolation("a coupon is chosen once", code="COUPON_CHOSEN_TWICE")
    taken: list[Candidate] = []
    left_out: list[LeftOut] = []
    for coupon in (mine[i] for i in coupon_ids):
        reason = refusal(coupon, order, policy, now_iso, order_id)
        clash = None if reason is not None else conflict(taken, coupon, policy)
        if reason is not None:
            left_out.append(LeftOut(coupon.coupon_id, reason))
        elif clash is not None:
            left_out.append(clash)
        else:
            taken.append(coupon)
    return taken, left_out


def quote(order: Order, wallet: Sequence[Candidate], policy: StackingPolicy, now_iso: str, *, coupon_ids: Sequence[str] = (),
          best: bool = False, points: int | Literal["max"] = 0, balance: int = 0, order_id: str | None = None) -> Quote:
    """The quote of the coupons chosen, or with `best` the best combination of the customer's
    wallet, then the points on what is left to pay."""
    check_order(order)
    if best:
        usable: list[Candidate] = []
        left_out = []
        for coupon in wallet:
            reason = refusal(coupon, order, policy, now_iso, order_id)
            if reason is None:
                usable.append(coupon)
            else:
                left_out.append(LeftOut(coupon.coupon_id, reason))
        found = search.best(order, usable, policy)
        picked = {c.coupon_id for c in found.coupons}
        left_out += [_why_not(c, found.coupons, policy) for c in usable if c.coupon_id not in picked]
        applied, exact = list(found.applied), found.exact
    else:
        taken, left_out = chosen(order, wallet, coupon_ids, policy, now_iso, order_id)
        applied, exact = apply(order, taken, policy), True
        nothing = {a.coupon_id for a in applied if a.discount_minor == 0}  # e.g. a threshold no longer met after the others
        left_out += [LeftOut(i, "THRESHOLD_NOT_MET" if _kind(taken, i) == "threshold" else "NO_GAIN") for i in sorted(nothing)]
        applied = [a for a in applied if a.coupon_id not in nothing]
    payable = order.total - total_of(applied)
    paid = points_payment(payable, points, balance, policy, with_coupons=bool(applied))
    return Quote(order.total, tuple(applied), tuple(left_out), paid, exact)


def _kind(coupons: Sequence[Candidate], coupon_id: str) -> str:
    return next(c.kind for c in coupons if c.coupon_id == coupon_id)


def _why_not(coupon: Candidate, picked: Sequence[Candidate], policy: StackingPolicy) -> LeftOut:
    """Why the best combination left out a coupon that applies alone: a rule against it, else it gains less."""
    return conflict(list(picked), coupon, policy) or LeftOut(coupon.coupon_id, "NOT_CHOSEN")
