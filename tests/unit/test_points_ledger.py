"""`loyalty.points.ledger`: lots, debt, FIFO redemption, reversal, expiry, and the invariants under any sequence."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty.core.errors import BusinessRuleViolation
from loyalty.points import ledger
from loyalty.points.ledger import Account, Change, Entry, Lot, apply, earn, expire, lot_id_for, redeem, restore, reverse
from tests.unit.points_builders import account, lot

AT = "2026-06-01T12:00:00.000000Z"
CARD_SOURCE: dict[str, Any] = {"ruleId": "card-base", "eventType": "CardTransactionPosted"}


def _earn(acc: Account, change: Change, points: int, expires_on: str = "2027-06-01", *, cost_centre: str = "cc-cards",
          rule_id: str | None = "card-base", growth: bool = False, entry_id: str = "earn-1") -> None:
    source = {"ruleId": rule_id} if rule_id else {}
    earn(acc, change, entry_id=entry_id, points=points, growth=growth, expires_on=expires_on, cost_centre=cost_centre, at=AT, source=source)


def _remaining(acc: Account) -> dict[str, int]:
    return {x.lot_id: x.remaining for x in acc.lots}


# --- restore after a refund ---------------------------------------------------------------------------


def test_points_given_back_from_a_lapsed_redemption_repay_the_refund_debt_first() -> None:
    # Given 100 points earned, held for a redemption, then the earning purchase refunded (debt 100)
    acc, change = account(), Change()
    _earn(acc, change, 100)
    acc, change = apply(acc, change), Change()
    redeem(acc, change, entry_id="redeem-1", points=100, at=AT, source={})
    taken = change.entries[0].lots
    acc, change = apply(acc, change), Change()
    reverse(acc, change, entry_id="reverse-1", points=100, at=AT, source={})
    acc, change = apply(acc, change), Change()
    assert (acc.available, acc.debt) == (0, 100)
    # When the redemption lapses and its points are given back
    restore(acc, change, entry_id="restore-1", taken=taken, at=AT, source={})
    after = apply(acc, change)
    # Then they pay the debt, and none can be spent a second time
    assert (after.available, after.debt, after.lots) == (0, 0, ())
    assert change.entries[0].debt_change == -100 and change.entries[0].lots == ()


# --- lot ids ------------------------------------------------------------------------------------------


def test_lot_ids_are_expiry_payer_and_rule() -> None:
    assert lot_id_for("2027-06-01", "cc-cards", "card-base") == "2027-06-01#cc-cards#card-base"
    assert lot_id_for("2027-06-01", "cc-service", None) == "2027-06-01#cc-service#manual"


# --- earn ---------------------------------------------------------------------------------------------


def test_earn_into_a_new_lot() -> None:
    # Given an empty account
    acc = account()
    change = Change()
    # When 100 points are earned, valid to 2027-06-01
    _earn(acc, change, 100)
    # Then the change creates the lot (read at 0) and adds 100 to it
    lot_id = "2027-06-01#cc-cards#card-base"
    assert change.lots == {lot_id: Lot(lot_id, "2027-06-01", 0, "cc-cards", "card-base")}
    assert change.lot_delta == {lot_id: 100}
    assert (change.available, change.debt, change.growth) == (100, 0, 0)
    assert change.entries == [Entry("earn-1", "earn", 100, AT, "cc-cards", {"ruleId": "card-base"}, lots=((lot_id, 100),))]
    # And the account holds it
    after = apply(acc, change)
    assert after == Account("c-001", 100, 0, 0, 4, (Lot(lot_id, "2027-06-01", 100, "cc-cards", "card-base"),))


def test_earnings_with_the_same_expiry_payer_and_rule_share_a_lot() -> None:
    # Given an account holding 100 points in a lot
    acc = account(lot("2027-06-01", 100))
    # When 30 and 20 more are earned by the same rule, payer and expiry (one in the same change)
    change = Change()
    _earn(acc, change, 30, entry_id="e-1")
    _earn(acc, change, 20, entry_id="e-2")
    # Then they go into the same lot
    assert _remaining(apply(acc, change)) == {"2027-06-01#cc-cards#card-base": 150}


def test_earnings_differing_in_expiry_payer_or_rule_get_their_own_lots() -> None:
    acc = account()
    change = Change()
    _earn(acc, change, 10, entry_id="e-1")
    _earn(acc, change, 20, "2027-07-01", entry_id="e-2")
    _earn(acc, change, 30, cost_centre="cc-campaign", entry_id="e-3")
    _earn(acc, change, 40, rule_id="card-bonus", entry_id="e-4")
    _earn(acc, change, 50, rule_id=None, entry_id="e-5")
    assert _remaining(apply(acc, change)) == {
        "2027-06-01#cc-cards#card-base": 10,
        "2027-07-01#cc-cards#card-base": 20,
        "2027-06-01#cc-campaign#card-base": 30,
        "2027-06-01#cc-cards#card-bonus": 40,
        "2027-06-01#cc-cards#manual": 50,
    }


def test_growth_earns_only_growth() -> None:
    # Given an account with a lot and a debt
    acc = account(lot("2027-06-01", 100), debt=30, growth=5)
    change = Change()
    # When 40 growth points are earned
    _earn(acc, change, 40, growth=True)
    # Then only growth moves: no lot, no redeemable points, the debt stays
    assert (change.available, change.debt, change.growth, change.lot_delta) == (0, 0, 40, {})
    assert change.entries == [Entry("earn-1", "earn", 0, AT, "cc-cards", {"ruleId": "card-base"}, growth=40)]
    after = apply(acc, change)
    assert (after.available, after.debt, after.growth) == (100, 30, 45)


def test_earn_repays_a_debt_first() -> None:
    # Given a debt of 30 and no lots
    acc = account(debt=30)
    change = Change()
    # When 100 points are earned
    _earn(acc, change, 100)
    # Then 30 repay the debt and 70 go into the lot; the entry records all 100
    lot_id = "2027-06-01#cc-cards#card-base"
    assert change.entries[0].points == 100
    assert change.entries[0].debt_change == -30
    assert change.entries[0].lots == ((lot_id, 70),)
    after = apply(acc, change)
    assert (after.available, after.debt, _remaining(after)) == (70, 0, {lot_id: 70})


def test_an_earning_smaller_than_the_debt_only_repays() -> None:
    acc = account(debt=30)
    change = Change()
    _earn(acc, change, 20)
    assert change.entries[0].lots == ()
    assert change.entries[0].debt_change == -20
    assert change.lots == {}
    after = apply(acc, change)
    assert (after.available, after.debt, after.lots) == (0, 10, ())


# --- redeem -------------------------------------------------------------------------------------------


def test_redeem_takes_the_earliest_expiring_lots_first() -> None:
    # Given three lots, listed out of expiry order
    july, june, december = lot("2026-07-31", 50), lot("2026-06-30", 30), lot("2026-12-31", 100)
    acc = account(july, june, december)
    change = Change()
    # When 100 points are redeemed
    redeem(acc, change, entry_id="r-1", points=100, at=AT, source={"orderId": "o-1"})
    # Then June is drained, then July, then 20 come from December
    assert change.entries == [
        Entry("r-1", "redeem", -100, AT, None, {"orderId": "o-1"}, lots=((june.lot_id, -30), (july.lot_id, -50), (december.lot_id, -20)))
    ]
    after = apply(acc, change)
    assert (after.available, _remaining(after)) == (80, {december.lot_id: 80})


def test_lots_expiring_the_same_day_are_taken_by_lot_id() -> None:
    a, b = lot("2026-06-30", 10, cost_centre="cc-a"), lot("2026-06-30", 10, cost_centre="cc-b")
    acc = account(b, a)
    change = Change()
    redeem(acc, change, entry_id="r-1", points=15, at=AT, source={})
    assert change.entries[0].lots == ((a.lot_id, -10), (b.lot_id, -5))


def test_redeem_can_spend_what_the_same_change_earned() -> None:
    acc = account(lot("2026-06-30", 10))
    change = Change()
    _earn(acc, change, 50)
    redeem(acc, change, entry_id="r-1", points=60, at=AT, source={})
    after = apply(acc, change)
    assert (after.available, after.lots) == (0, ())


def test_redeeming_more_than_available_is_refused_and_writes_nothing() -> None:
    # Given 80 points
    acc = account(lot("2026-06-30", 30), lot("2026-07-31", 50))
    change = Change()
    # When 81 are redeemed
    with pytest.raises(BusinessRuleViolation) as refused:
        redeem(acc, change, entry_id="r-1", points=81, at=AT, source={})
    # Then it is refused with INSUFFICIENT_POINTS and the change holds nothing
    assert refused.value.code == "INSUFFICIENT_POINTS"
    assert change == Change()


def test_redeeming_exactly_the_balance_empties_the_account() -> None:
    acc = account(lot("2026-06-30", 30), lot("2026-07-31", 50))
    change = Change()
    redeem(acc, change, entry_id="r-1", points=80, at=AT, source={})
    after = apply(acc, change)
    assert (after.available, after.lots) == (0, ())


# --- reverse ------------------------------------------------------------------------------------------


def test_reverse_takes_the_preferred_lots_first_then_by_expiry() -> None:
    # Given three lots, the latest the one the reversed transaction earned into
    june, july, december = lot("2026-06-30", 30), lot("2026-07-31", 40), lot("2026-12-31", 100)
    acc = account(june, july, december)
    change = Change()
    # When 120 points are reversed, preferring the December lot
    reverse(acc, change, entry_id="v-1", points=120, at=AT, source={"refundId": "rf-1"}, prefer=(december.lot_id,))
    # Then December is drained first, then June by expiry
    assert change.entries == [
        Entry("v-1", "reverse", -120, AT, None, {"refundId": "rf-1"}, lots=((december.lot_id, -100), (june.lot_id, -20)))
    ]
    assert change.debt == 0
    assert _remaining(apply(acc, change)) == {june.lot_id: 10, july.lot_id: 40}


def test_reversing_points_already_spent_becomes_a_debt() -> None:
    # Given 170 points in three lots
    june, july, december = lot("2026-06-30", 30), lot("2026-07-31", 40), lot("2026-12-31", 100)
    acc = account(june, july, december)
    change = Change()
    # When 200 are reversed
    reverse(acc, change, entry_id="v-1", points=200, at=AT, source={}, prefer=(december.lot_id,))
    # Then every lot is drained and the 30 short become a debt
    entry = change.entries[0]
    assert entry.points == -200
    assert entry.debt_change == 30
    assert entry.lots == ((december.lot_id, -100), (june.lot_id, -30), (july.lot_id, -40))
    after = apply(acc, change)
    assert (after.available, after.debt, after.lots) == (0, 30, ())


def test_reversing_on_an_empty_account_is_all_debt() -> None:
    acc = account(debt=5)
    change = Change()
    reverse(acc, change, entry_id="v-1", points=50, at=AT, source={})
    assert change.entries[0].lots == ()
    assert (apply(acc, change).available, apply(acc, change).debt) == (0, 55)


def test_reverse_ignores_preferred_lots_that_are_gone() -> None:
    june, july = lot("2026-06-30", 30), lot("2026-07-31", 40)
    change = Change()
    reverse(account(june, july), change, entry_id="v-1", points=35, at=AT, source={}, prefer=("2026-05-31#cc-cards#card-base",))
    assert change.entries[0].lots == ((june.lot_id, -30), (july.lot_id, -5))


def test_a_refund_after_the_points_lapsed_takes_what_is_left_of_their_lot_and_nothing_more() -> None:
    # Given the transaction's own lot of 100 lapsed yesterday (the daily run has not come yet), and a valid lot of 100
    lapsed, valid = lot("2026-06-30", 60), lot("2027-06-30", 100)
    acc = account(lapsed, valid)
    change = Change(today="2026-07-01")
    # When the refund takes back 100 points preferring their own lot
    reverse(acc, change, entry_id="v-1", points=100, at=AT, source={}, prefer=(lapsed.lot_id,))
    # Then the 60 left of it are taken, the valid lot is untouched, and the other 40 are not owed
    (entry,) = change.entries
    assert entry.lots == ((lapsed.lot_id, -60),) and entry.points == -60 and entry.debt_change == 0
    assert entry.source == {"lapsedNotTaken": 40}
    after = apply(acc, change)
    assert after.available == 100 and after.debt == 0 and after.lots == (valid,)


def test_a_refund_after_the_lapsed_lot_was_expired_takes_nothing() -> None:
    valid = lot("2027-06-30", 100)
    change = Change(today="2026-07-01")
    reverse(account(valid), change, entry_id="v-1", points=100, at=AT, source={}, prefer=("2026-06-30#cc-cards#card-base",))
    assert change.entries[0].points == 0 and change.entries[0].debt_change == 0 and change.lot_delta == {}


def test_a_redemption_needing_more_lots_than_one_transaction_holds_is_refused_whole() -> None:
    # Given 100 lots of 10 points, one per earning day (validity counted in days)
    start = date(2027, 1, 1)
    acc = account(*(lot((start + timedelta(days=n)).isoformat(), 10) for n in range(100)))
    # When 810 points are redeemed (81 lots), then 800 (80 lots)
    with pytest.raises(BusinessRuleViolation) as refused:
        redeem(acc, Change(), entry_id="r-1", points=810, at=AT, source={})
    change = Change()
    redeem(acc, change, entry_id="r-2", points=800, at=AT, source={})
    # Then the first is refused with a code the caller can act on, and the second touches 80 lots
    assert refused.value.code == "POINTS_TOO_FRAGMENTED"
    assert len(change.lot_delta) == ledger.MAX_LOTS_PER_CHANGE and apply(acc, change).available == 200


def test_a_reversal_beyond_the_lots_one_transaction_holds_owes_the_rest() -> None:
    start = date(2027, 1, 1)
    acc = account(*(lot((start + timedelta(days=n)).isoformat(), 10) for n in range(100)))
    change = Change()
    reverse(acc, change, entry_id="v-1", points=1_000, at=AT, source={})
    after = apply(acc, change)
    assert len(change.lot_delta) == ledger.MAX_LOTS_PER_CHANGE and (after.available, after.debt) == (200, 200)


# --- expire -------------------------------------------------------------------------------------------


def test_expire_takes_the_lots_remaining() -> None:
    # Given two lots
    june, july = lot("2026-06-30", 30, cost_centre="cc-campaign"), lot("2026-07-31", 40)
    acc = account(june, july)
    change = Change()
    # When the June lot expires
    expire(acc, change, lot=june, at=AT, entry_id="x-1")
    # Then its 30 points lapse, charged back to its payer, and the lot is gone
    assert change.entries == [Entry("x-1", "expire", -30, AT, "cc-campaign", {"lotId": june.lot_id}, lots=((june.lot_id, -30),))]
    after = apply(acc, change)
    assert (after.available, _remaining(after)) == (40, {july.lot_id: 40})


def test_expire_after_a_redemption_in_the_same_change_takes_only_what_is_left() -> None:
    june, july = lot("2026-06-30", 30), lot("2026-07-31", 40)
    acc = account(june, july)
    change = Change()
    redeem(acc, change, entry_id="r-1", points=10, at=AT, source={})
    expire(acc, change, lot=june, at=AT, entry_id="x-1")
    assert change.entries[1].points == -20
    assert _remaining(apply(acc, change)) == {july.lot_id: 40}


def test_expiring_an_empty_lot_writes_nothing() -> None:
    june = lot("2026-06-30", 30)
    acc = account(june)
    change = Change()
    redeem(acc, change, entry_id="r-1", points=30, at=AT, source={})
    expire(acc, change, lot=june, at=AT, entry_id="x-1")
    assert [e.kind for e in change.entries] == ["redeem"]


# --- apply --------------------------------------------------------------------------------------------


def test_apply_is_what_the_store_would_hold() -> None:
    # Given an account at version 3 with three lots, a debt and growth
    june, july, december = lot("2026-06-30", 30), lot("2026-07-31", 40), lot("2026-12-31", 100)
    acc = account(december, july, june, debt=0, growth=7)
    change = Change()
    # When one change redeems 50, earns 20 growth and 10 redeemable points into a new lot
    redeem(acc, change, entry_id="r-1", points=50, at=AT, source={})
    _earn(acc, change, 20, growth=True, entry_id="g-1")
    _earn(acc, change, 10, "2026-09-30", entry_id="e-1")
    after = apply(acc, change)
    # Then the emptied lot is dropped, the rest are in expiry order, and the version moves on by one
    assert after == Account(
        "c-001",
        130,
        0,
        27,
        4,
        (
            Lot(july.lot_id, "2026-07-31", 20, "cc-cards", "card-base"),
            Lot("2026-09-30#cc-cards#card-base", "2026-09-30", 10, "cc-cards", "card-base"),
            Lot(december.lot_id, "2026-12-31", 100, "cc-cards", "card-base"),
        ),
    )
    # And the account it was applied to is unchanged
    assert acc.version == 3 and acc.available == 170


def test_apply_of_an_empty_change_only_bumps_the_version() -> None:
    acc = account(lot("2026-06-30", 30), debt=4, growth=9)
    after = apply(acc, Change())
    assert after == Account(acc.customer_id, acc.available, acc.debt, acc.growth, acc.version + 1, acc.lots)


# --- invariants under any sequence of operations ------------------------------------------------------

START = date(2026, 6, 1)
COST_CENTRES = ("cc-a", "cc-b")
RULE_IDS: tuple[str | None, ...] = ("r-1", "r-2", None)

EARN = st.tuples(
    st.just("earn"),
    st.integers(min_value=1, max_value=500),
    st.integers(min_value=0, max_value=90),  # days from START to the expiry
    st.sampled_from(COST_CENTRES),
    st.sampled_from(RULE_IDS),
    st.integers(min_value=0, max_value=4).map(lambda n: n == 0),  # growth, one time in five
)
REDEEM = st.tuples(st.just("redeem"), st.integers(min_value=1, max_value=800))
REVERSE = st.tuples(st.just("reverse"), st.integers(min_value=1, max_value=800), st.integers(min_value=0, max_value=255))
EXPIRE = st.tuples(st.just("expire"), st.integers(min_value=0, max_value=63))
RESTORE = st.tuples(st.just("restore"), st.integers(min_value=0, max_value=63))  # a redemption given back
OPERATION = st.one_of(EARN, EARN, REDEEM, REVERSE, EXPIRE, RESTORE)


def _fifo_key(x: Lot) -> tuple[str, str]:
    return (x.expires_on, x.lot_id)


@dataclass
class Ledger:
    """Drives the ledger one operation at a time and checks every invariant after each."""

    acc: Account = field(default_factory=lambda: Account("c-001"))
    entries: list[Entry] = field(default_factory=list)
    expired: set[str] = field(default_factory=set)
    restored: set[str] = field(default_factory=set)
    step: int = 0

    def run(self, op: tuple[Any, ...]) -> None:
        before = self.acc
        change = Change()
        kind = op[0]
        entry_id = f"{kind}-{self.step}"
        prefer: tuple[str, ...] = ()
        if kind == "earn":
            _, points, days, cost_centre, rule_id, growth = op
            expires_on = (START + timedelta(days=days)).isoformat()
            if lot_id_for(expires_on, cost_centre, rule_id) in self.expired:
                return  # time has passed that expiry: the service earns nothing into it
            source = {"ruleId": rule_id} if rule_id else {}
            earn(before, change, entry_id=entry_id, points=points, growth=growth, expires_on=expires_on, cost_centre=cost_centre,
                 at=AT, source=source)
        elif kind == "redeem":
            if op[1] > before.available:
                with pytest.raises(BusinessRuleViolation) as refused:
                    redeem(before, change, entry_id=entry_id, points=op[1], at=AT, source={})
                assert refused.value.code == "INSUFFICIENT_POINTS"
                assert change.entries == [] and change.lot_delta == {}
                return
            redeem(before, change, entry_id=entry_id, points=op[1], at=AT, source={})
        elif kind == "restore":
            # A redemption whose lots have all still to expire (the service re-creates a deleted
            # lot and lets the next daily run expire it; that is the integration tests' case)
            given_back = [e for e in self.entries if e.kind == "redeem" and e.entry_id not in self.restored
                          and e.lots and not self.expired & {lot_id for lot_id, _ in e.lots}]
            if not given_back:
                return
            original = given_back[op[1] % len(given_back)]
            restore(before, change, entry_id=entry_id, taken=original.lots, at=AT, source={})
            self.restored.add(original.entry_id)
            assert change.entries[0].points == -original.points
            if before.debt == 0:
                assert sorted(change.entries[0].lots) == sorted((lot_id, -delta) for lot_id, delta in original.lots)
            else:  # they repay the debt first
                assert change.entries[0].debt_change == -min(before.debt, -original.points)
        elif kind == "reverse":
            fifo = before.fifo()
            prefer = tuple(x.lot_id for i, x in enumerate(fifo) if op[2] >> i & 1)
            reverse(before, change, entry_id=entry_id, points=op[1], at=AT, source={}, prefer=prefer)
        else:
            if not before.lots:
                return
            target = before.lots[op[1] % len(before.lots)]
            expire(before, change, lot=target, at=AT, entry_id=entry_id)
            assert [e.points for e in change.entries] == [-target.remaining]
            self.expired.add(target.lot_id)

        self.acc = apply(before, change)
        self.entries.extend(change.entries)
        self.step += 1
        self._check(before, change, kind, op, prefer)

    def _check(self, before: Account, change: Change, kind: str, op: tuple[Any, ...], prefer: tuple[str, ...]) -> None:
        after = self.acc
        # The balances agree with the lots and with the entries
        assert after.available == sum(x.remaining for x in after.lots)
        assert after.available - after.debt == sum(e.points for e in self.entries)
        assert after.growth == sum(e.growth for e in self.entries)
        assert after.available >= 0 and after.debt >= 0
        assert all(x.remaining > 0 for x in after.lots)
        assert len({x.lot_id for x in after.lots}) == len(after.lots)
        assert after.version == before.version + 1
        # Each entry's lot moves are its effect on available, and they are what the change writes
        for e in change.entries:
            assert sum(delta for _, delta in e.lots) == e.points + e.debt_change
            assert e.debt_change <= 0 if e.points > 0 else e.debt_change >= 0  # points coming in repay, going out owe
        moved: dict[str, int] = {}
        for e in change.entries:
            for lot_id, delta in e.lots:
                moved[lot_id] = moved.get(lot_id, 0) + delta
        assert {k: v for k, v in moved.items() if v} == {k: v for k, v in change.lot_delta.items() if v}
        # Expired lots are gone and never touched again
        assert not self.expired & {x.lot_id for x in after.lots}
        assert not self.expired & {lot_id for e in change.entries if e.kind != "expire" for lot_id, _ in e.lots}
        # Consumption follows expiry order (preferred lots first for a reversal)
        if kind in ("redeem", "reverse"):
            self._check_order(before, after, change.entries[0], prefer)
        if kind == "reverse":
            assert change.entries[0].debt_change == max(0, op[1] - before.available)
        if kind == "earn" and not op[5]:
            assert change.entries[0].debt_change == -min(op[1], before.debt)

    @staticmethod
    def _check_order(before: Account, after: Account, entry: Entry, prefer: tuple[str, ...]) -> None:
        left = _remaining(after)
        order = [x for x in before.fifo() if x.lot_id in prefer] + [x for x in before.fifo() if x.lot_id not in prefer]
        position = {x.lot_id: i for i, x in enumerate(order)}
        touched = [lot_id for lot_id, _ in entry.lots]
        assert touched == sorted(touched, key=position.__getitem__)
        if touched:
            last = position[touched[-1]]
            # every lot before the last one touched was drained, every lot after it untouched
            assert all(left.get(x.lot_id, 0) == 0 for x in order[:last])
            assert all(left.get(x.lot_id) == x.remaining for x in order[last + 1 :])
        assert -sum(delta for _, delta in entry.lots) == min(-entry.points, before.available)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(OPERATION, min_size=1, max_size=40))
def test_invariants_hold_after_every_operation(operations: list[tuple[Any, ...]]) -> None:
    # Given a fresh account
    ledger = Ledger()
    # When any sequence of earnings, redemptions, reversals and expiries is applied, one transaction each
    # Then after every step the invariants hold (checked inside `run`)
    for op in operations:
        ledger.run(op)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(st.one_of(EARN, REDEEM, st.tuples(st.just("reverse"), st.integers(1, 800))), min_size=1, max_size=6),
                min_size=1, max_size=12))
def test_invariants_hold_when_one_transaction_does_several_things(transactions: list[list[tuple[Any, ...]]]) -> None:
    # Given a fresh account
    acc = Account("c-001")
    entries: list[Entry] = []
    # When each transaction books several operations in one change (as accrual does with several rules)
    for n, ops in enumerate(transactions):
        change = Change()
        for i, op in enumerate(ops):
            entry_id = f"{n}-{i}"
            if op[0] == "earn":
                _, points, days, cost_centre, rule_id, growth = op
                earn(acc, change, entry_id=entry_id, points=points, growth=growth, cost_centre=cost_centre, at=AT,
                     expires_on=(START + timedelta(days=days)).isoformat(), source={"ruleId": rule_id} if rule_id else {})
            elif op[0] == "redeem":
                if op[1] <= acc.available + change.available:
                    redeem(acc, change, entry_id=entry_id, points=op[1], at=AT, source={})
            else:
                reverse(acc, change, entry_id=entry_id, points=op[1], at=AT, source={})
            # Then within the change nothing goes below zero
            assert all(change.remaining_of(x) >= 0 for x in change.lots.values())
            assert acc.debt + change.debt >= 0
        acc = apply(acc, change)
        entries.extend(change.entries)
        # And after it the balances agree with the lots and the entries
        assert acc.available == sum(x.remaining for x in acc.lots)
        assert acc.available - acc.debt == sum(e.points for e in entries)
        assert acc.available >= 0 and acc.debt >= 0
        assert all(x.remaining > 0 for x in acc.lots)
        assert acc.version == n + 1


def test_growth_taken_back_leaves_the_month_it_counted_in_and_touches_no_points() -> None:
    # Given an account that earned 150 growth in November and 40 in December, and holds points
    acc = replace(account(lot("2027-06-01", 30), growth=190), growth_by_month=(("2026-11", 150), ("2026-12", 40)))
    change = Change(today="2026-12-02")
    # When a refund takes back 100 of November's growth
    ledger.reverse_growth(change, entry_id="reverse:tx-1:rf-1:g", growth=100, month="2026-11", at="2026-12-02T01:00:00Z", source={"refundId": "rf-1"})
    after = apply(acc, change)
    # Then November counts 50, December is untouched, and the points and lots are as they were
    assert after.growth == 90 and dict(after.growth_by_month) == {"2026-11": 50, "2026-12": 40}
    assert (after.available, after.debt, after.lots) == (30, 0, acc.lots) and after.version == acc.version + 1
    (entry,) = change.entries
    assert (entry.kind, entry.points, entry.growth) == ("reverse", 0, -100)
