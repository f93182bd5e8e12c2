"""The best combination is exact: for up to 10 candidate coupons it equals a brute-force search over
every combination, under random policies, and respects every rule of the policy; for 40 the bound
keeps the search small and still proves its answer best."""

from __future__ import annotations

from itertools import combinations
from typing import Literal

from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.checkout.best import NODE_LIMIT, best, evaluate, preference
from loyalty.checkout.policy import GroupRule, LineScope, StackingPolicy, Step
from loyalty.checkout.pricing import Candidate, Line, Order, conflict, refusal

NOW = "2027-01-10T00:00:00Z"
GROUPS = ("default", "cards", "merchant", "vip")
CATEGORIES = ("food", "drink", "gift")


@st.composite
def policies(draw: st.DrawFn) -> StackingPolicy:
    groups: dict[str, GroupRule] = {}
    for name in GROUPS:
        exclusive = draw(st.booleans()) if name == "vip" else False
        others = [] if exclusive else draw(st.lists(st.sampled_from([*GROUPS, "*"]), max_size=3, unique=True))
        others = [g for g in others if g == "*" or g != name]
        groups[name] = GroupRule(exclusive=exclusive, maxPerOrder=1 if exclusive else draw(st.integers(1, 3)), combinesWith=others)
    # a group may not name an exclusive one: drop such names once every group is drawn
    alone = {n for n, r in groups.items() if r.exclusive}
    groups = {n: r.model_copy(update={"combinesWith": [g for g in r.combinesWith if g not in alone]}) for n, r in groups.items()}
    templates = {f"t{i}": draw(st.sampled_from(GROUPS)) for i in range(6)}
    scopes = {f"t{i}": LineScope(categories=draw(st.lists(st.sampled_from(CATEGORIES), max_size=2, unique=True))) for i in range(6)}
    percent_base: Literal["original", "discounted"] = draw(st.sampled_from(["original", "discounted"]))
    order = [Step(kind="threshold", base="original"), Step(kind="fixed_amount", base="discounted"),
             Step(kind="random_amount", base="original"), Step(kind="percentage", base=percent_base)]
    if draw(st.booleans()):
        order.reverse()
    return StackingPolicy(groups=groups, templateGroups=templates, maxCoupons=draw(st.integers(1, 4)), order=order, lineScopes=scopes)


@st.composite
def candidates(draw: st.DrawFn, count: int) -> list[Candidate]:
    found = []
    for i in range(count):
        kind = draw(st.sampled_from(["threshold", "fixed_amount", "random_amount", "percentage"]))
        benefit: dict[str, object] = {"currency": "CNY"}
        if kind == "threshold":
            benefit.update(thresholdMinor=draw(st.integers(1, 30_000)), amountMinor=draw(st.integers(1, 5_000)))
        elif kind == "percentage":
            benefit.update(percentOff=draw(st.integers(1, 50)), maxDiscountMinor=draw(st.integers(1, 8_000)))
        elif kind == "fixed_amount":
            benefit.update(amountMinor=draw(st.integers(1, 5_000)))
        expiry = f"2027-0{draw(st.integers(2, 9))}-01T00:00:00Z"
        found.append(Candidate(f"c{i:02d}", f"t{draw(st.integers(0, 5))}", kind, benefit, "2027-01-01T00:00:00Z", expiry, "available",
                               amount_minor=draw(st.integers(1, 5_000)) if kind == "random_amount" else None))
    return found


@st.composite
def orders(draw: st.DrawFn) -> Order:
    lines = tuple(Line(f"l{i}", f"sku{i}", draw(st.sampled_from(CATEGORIES)), draw(st.integers(0, 9_000)), draw(st.integers(1, 3)))
                  for i in range(draw(st.integers(1, 4))))
    return Order("m-1", "app", "CNY", lines)


def brute_force(order: Order, usable: list[Candidate], policy: StackingPolicy) -> tuple[object, ...]:
    best_key = preference((), 0)
    for size in range(1, policy.maxCoupons + 1):
        for combination in combinations(usable, size):
            if any(conflict(combination[:i], c, policy) is not None for i, c in enumerate(combination)):
                continue
            applied = evaluate(order, combination, policy)
            if applied is not None:
                best_key = min(best_key, preference(combination, sum(a.discount_minor for a in applied)))
    return best_key


@settings(max_examples=300, deadline=None)
@given(policy=policies(), order=orders(), wallet=st.integers(0, 10).flatmap(candidates))
def test_the_best_combination_equals_a_brute_force_search_and_keeps_every_rule(policy: StackingPolicy, order: Order,
                                                                             wallet: list[Candidate]) -> None:
    # Given a random policy, order and wallet of up to 10 coupons, those applicable alone
    usable = [c for c in wallet if refusal(c, order, policy, NOW) is None]
    # When the best combination is searched
    found = best(order, usable, policy)
    # Then it is the brute force's best, proven so
    assert found.exact
    assert preference(found.coupons, found.discount) == brute_force(order, usable, policy)
    # And it keeps every rule: the coupon count, each group's limit and combinations, and no coupon takes nothing
    assert len(found.coupons) <= policy.maxCoupons
    assert all(conflict(found.coupons[:i], c, policy) is None for i, c in enumerate(found.coupons))
    assert all(a.discount_minor > 0 for a in found.applied)
    # And the discounts spread over the lines exactly, never more than a line costs
    taken: dict[str, int] = {}
    for applied in found.applied:
        assert sum(applied.lines.values()) == applied.discount_minor
        for line, part in applied.lines.items():
            taken[line] = taken.get(line, 0) + part
    assert all(taken.get(line.line_id, 0) <= line.amount for line in order.lines)


def test_the_bound_keeps_a_search_over_40_coupons_small_and_exact() -> None:
    # Given 40 coupons of four groups that all combine, at most 3 on an order
    policy = StackingPolicy(groups={g: GroupRule(maxPerOrder=3, combinesWith=["*"]) for g in GROUPS},
                            templateGroups={f"t{i}": GROUPS[i % 4] for i in range(40)})
    order = Order("m-1", "app", "CNY", (Line("l1", "s1", "food", 12_000, 1), Line("l2", "s2", "drink", 3_000, 2)))
    wallet = [Candidate(f"c{i:02d}", f"t{i}", "fixed_amount" if i % 2 else "percentage",
                        {"currency": "CNY", "amountMinor": 100 + 37 * i} if i % 2 else
                        {"currency": "CNY", "percentOff": 5 + i % 20, "maxDiscountMinor": 2_000 + 11 * i},
                        "2027-01-01T00:00:00Z", f"2027-0{2 + i % 8}-01T00:00:00Z", "available") for i in range(40)]
    # When the best is searched
    found = best(order, wallet, policy)
    # Then it is proven best within a small part of the node limit: C(40, 3) alone would be 9,880 combinations
    assert found.exact and found.nodes < NODE_LIMIT // 10
    assert len(found.coupons) == 3 and found.discount == brute_force(order, wallet, policy)[0] * -1  # type: ignore[operator]
