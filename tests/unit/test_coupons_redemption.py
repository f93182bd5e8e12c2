"""`loyalty.coupons.logic`: the redemption state machine, transition by transition, at a fixed NOW.

available --lock--> locked --redeem--> redeemed --give_back--> available | expired
    |  ^               |  \\--release--> available
    |  \\--lock lapses--/   \\--validity lapses--> expired (expire, the sweep)
    \\--redeem--> redeemed
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from loyalty.core.api_conventions import STATUS_BY_ERROR
from loyalty.core.errors import BusinessRuleViolation, Conflict, DomainError
from loyalty.coupons.logic import Coupon, effective_status, expire, give_back, lock, new_coupon, redeem, release, revoke
from tests.unit.coupon_builders import BENEFITS, NOW, after, coupon, iso, locked, order, redeemed, template

LAPSED = after(days=31)  # past the builders' validity (NOW + 30 days)


def refused(call: Callable[[], Any], code: str, kind: type[DomainError], status: int) -> DomainError:
    """`call` raises a `kind` error with `code`, which the API answers with `status`."""
    with pytest.raises(DomainError) as raised:
        call()
    error = raised.value
    assert (type(error), error.code) == (kind, code), f"{type(error).__name__} {error.code}: {error.message}"
    assert STATUS_BY_ERROR[type(error)] == status
    return error


def conflict(call: Callable[[], Any], code: str) -> DomainError:
    return refused(call, code, Conflict, 409)


def violation(call: Callable[[], Any], code: str) -> DomainError:
    return refused(call, code, BusinessRuleViolation, 422)


def test_errors_map_to_409_and_422() -> None:
    # Given the two kinds of refusal the state machine raises
    # When looked up in the API's table
    # Then a clash with the current state is a 409 and a business rule a 422
    assert STATUS_BY_ERROR[Conflict] == 409
    assert STATUS_BY_ERROR[BusinessRuleViolation] == 422


# --- effective status ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("stored", "now", "seen"),
    [
        (coupon(), NOW, "available"),
        (coupon(), LAPSED, "expired"),
        (coupon(), after(days=30), "expired"),  # exactly at valid_until
        (coupon(), after(days=30) - timedelta(microseconds=1), "available"),
        (locked(), NOW, "locked"),
        (locked(), after(minutes=10), "available"),  # exactly at locked_until: the lock has lapsed
        (locked(), after(minutes=10) - timedelta(microseconds=1), "locked"),
        (locked(), after(hours=1), "available"),
        (locked(), LAPSED, "expired"),  # lapsed lock and lapsed validity
        (locked(until=after(days=40)), LAPSED, "expired"),  # live lock, lapsed validity
        (locked(locked_until=None), after(days=1), "locked"),  # no deadline: held
        (redeemed(), NOW, "redeemed"),
        (redeemed(), LAPSED, "redeemed"),  # a redeemed coupon stays redeemed
        (coupon(status="expired"), NOW, "expired"),
        (coupon(status="expired"), LAPSED, "expired"),
    ],
)
def test_effective_status(stored: Coupon, now: datetime, seen: str) -> None:
    # Given a stored coupon and a time
    # When its effective status is read
    # Then lapsed locks have released and lapsed validity has expired, sweep or not
    assert effective_status(stored, now) == seen


def test_effective_status_compares_instants_not_offsets() -> None:
    # Given a coupon valid until NOW (UTC) and a time 1 s later written in +08:00
    stored = coupon(valid_until=iso(NOW))
    later = (NOW + timedelta(seconds=1)).astimezone(ZoneInfo("Asia/Shanghai"))
    # When read
    # Then it has expired
    assert effective_status(stored, later) == "expired"
    assert effective_status(stored, NOW - timedelta(seconds=1)) == "available"


# --- lock ---------------------------------------------------------------------------------------


def test_lock_an_available_coupon() -> None:
    # Given an available coupon at version 1
    before = coupon()
    # When locked for o-1 for 900 s with a 200.00 order
    after_ = lock(before, "o-1", 900, NOW, order())
    # Then it is locked for o-1 until NOW + 900 s, quoted at 5.00, version 2, nothing else changed
    assert after_.status == "locked"
    assert (after_.lock_order_id, after_.locked_until) == ("o-1", iso(NOW + timedelta(seconds=900)))
    assert (after_.discount_minor, after_.version) == (500, 2)
    assert replace(after_, status="available", lock_order_id=None, locked_until=None, discount_minor=None, version=1) == before


def test_lock_without_order_details_quotes_nothing() -> None:
    assert lock(coupon(), "o-1", 60, NOW).discount_minor is None


def test_lock_quotes_the_order() -> None:
    # Given a 15% coupon capped at 20.00
    percent = coupon(kind="percentage", benefit=dict(BENEFITS["percentage"]))
    # When locked with an order of 99.99
    # Then the lock carries the discount 14.99 (rounded down)
    assert lock(percent, "o-1", 60, NOW, order(orderAmountMinor=9_999)).discount_minor == 1_499


def test_lock_again_for_the_same_order_is_a_no_op() -> None:
    # Given a coupon locked for o-1
    before = locked("o-1")
    # When o-1 locks it again (a retry), even with another ttl and order details
    again = lock(before, "o-1", 3600, after(minutes=5), order(orderAmountMinor=1))
    # Then the very same object comes back: nothing to write, the original deadline stands
    assert again is before


def test_lock_for_another_order_while_locked_is_a_conflict() -> None:
    # Given a coupon locked for o-1 until NOW + 10 min
    # When o-2 tries to lock it at NOW + 5 min
    # Then it is refused: 409 COUPON_LOCKED
    conflict(lambda: lock(locked("o-1"), "o-2", 900, after(minutes=5)), "COUPON_LOCKED")


@pytest.mark.parametrize("order_id", ["o-1", "o-2"])
def test_lock_after_the_lock_lapsed_takes_a_new_lock(order_id: str) -> None:
    # Given a coupon whose lock for o-1 lapsed at NOW + 10 min
    before = locked("o-1")
    # When o-1 or o-2 locks it at NOW + 11 min with an order of 3.00
    at = after(minutes=11)
    after_ = lock(before, order_id, 60, at, order(orderAmountMinor=300))
    # Then it holds a new lock for that order, until then + 60 s, requoted, one version up
    assert (after_.status, after_.lock_order_id, after_.locked_until) == ("locked", order_id, iso(at + timedelta(seconds=60)))
    assert (after_.discount_minor, after_.version) == (300, before.version + 1)


def test_lock_an_expired_coupon() -> None:
    # Given a coupon whose validity lapsed (not swept yet), and one the sweep expired
    # When locked
    # Then both are refused: 422 COUPON_EXPIRED
    violation(lambda: lock(coupon(), "o-1", 60, LAPSED), "COUPON_EXPIRED")
    violation(lambda: lock(coupon(status="expired"), "o-1", 60, NOW), "COUPON_EXPIRED")


def test_lock_a_coupon_not_yet_valid() -> None:
    # Given a coupon valid from tomorrow
    # When locked today
    # Then it is refused: 422 COUPON_NOT_YET_VALID
    violation(lambda: lock(coupon(valid_from=iso(after(days=1))), "o-1", 60, NOW), "COUPON_NOT_YET_VALID")


def test_lock_at_the_first_valid_instant() -> None:
    assert lock(coupon(valid_from=iso(NOW)), "o-1", 60, NOW).status == "locked"


def test_lock_an_available_red_packet() -> None:
    # Given a red packet somehow stored as available
    packet = coupon(kind="red_packet", benefit=dict(BENEFITS["red_packet"]))
    # When locked or redeemed
    # Then it is refused: 422 COUPON_NOT_REDEEMABLE
    violation(lambda: lock(packet, "o-1", 60, NOW), "COUPON_NOT_REDEEMABLE")
    violation(lambda: redeem(packet, "o-1", NOW), "COUPON_NOT_REDEEMABLE")


ISSUED_RED_PACKET = new_coupon(template(kind="red_packet"), coupon_id="cpn_rp", customer_id="c-001", now=NOW, source="claim", fingerprint="fp")


@pytest.mark.parametrize(
    "call",
    [
        lambda: lock(ISSUED_RED_PACKET, "o-1", 60, NOW),
        lambda: lock(ISSUED_RED_PACKET, "credit", 60, NOW),
        lambda: redeem(ISSUED_RED_PACKET, "o-1", NOW),
        lambda: redeem(ISSUED_RED_PACKET, "credit", NOW),
    ],
    ids=["lock", "lock-as-credit", "redeem", "redeem-as-credit"],
)
def test_an_issued_red_packet_is_not_redeemable(call: Callable[[], Any]) -> None:
    # Given a red packet as new_coupon issues it (already credited)
    # When a payment flow locks or redeems it, with any order id (even "credit")
    # Then it is refused as not redeemable (422), not "redeemed for another order" (409) or a success
    violation(call, "COUPON_NOT_REDEEMABLE")


@pytest.mark.parametrize("order_id", ["o-1", "o-2"])
def test_lock_a_redeemed_coupon(order_id: str) -> None:
    # Given a coupon redeemed for o-1
    # When o-1 (again) or o-2 locks it
    # Then it is refused: 409 COUPON_ALREADY_REDEEMED
    conflict(lambda: lock(redeemed("o-1"), order_id, 60, NOW), "COUPON_ALREADY_REDEEMED")


@pytest.mark.parametrize(
    ("order_details", "reason"),
    [
        ({"currency": "USD"}, "CURRENCY_MISMATCH"),
        ({"merchantId": "m-9"}, "MERCHANT_NOT_ALLOWED"),
        ({"channel": "web"}, "CHANNEL_NOT_ALLOWED"),
    ],
)
def test_lock_with_an_order_the_coupon_does_not_apply_to(order_details: dict[str, Any], reason: str) -> None:
    # Given a coupon for merchant m-1 in the app
    restricted = coupon(redemption={"merchants": ["m-1"], "channels": ["app"]})
    # When locked with an order in another currency, at another merchant, or through another channel
    error = violation(lambda: lock(restricted, "o-1", 60, NOW, order(**order_details)), "COUPON_NOT_APPLICABLE")
    # Then it is refused: 422 COUPON_NOT_APPLICABLE with the reason in the details
    assert error.details == [reason]


def test_lock_below_a_threshold_is_not_applicable() -> None:
    threshold = coupon(kind="threshold", benefit=dict(BENEFITS["threshold"]))
    error = violation(lambda: lock(threshold, "o-1", 60, NOW, order(orderAmountMinor=9_999)), "COUPON_NOT_APPLICABLE")
    assert error.details == ["THRESHOLD_NOT_MET"]


@pytest.mark.parametrize("kind", ["gift", "voucher_code"])
def test_a_non_payment_coupon_with_an_order_is_not_applicable(kind: str) -> None:
    other = coupon(kind=kind, benefit=dict(BENEFITS[kind]))
    error = violation(lambda: lock(other, "o-1", 60, NOW, order()), "COUPON_NOT_APPLICABLE")
    assert error.details == ["NOT_A_PAYMENT_COUPON"]


# --- redeem -------------------------------------------------------------------------------------


def test_redeem_an_available_coupon() -> None:
    # Given an available coupon
    before = coupon()
    # When redeemed for o-1 with a 3.00 order
    after_ = redeem(before, "o-1", NOW, order(orderAmountMinor=300))
    # Then it is redeemed for o-1 now, with the discount of that order, one version up
    assert (after_.status, after_.redeemed_order_id, after_.redeemed_at) == ("redeemed", "o-1", iso(NOW))
    assert (after_.discount_minor, after_.version) == (300, 2)
    assert (after_.lock_order_id, after_.locked_until) == (None, None)


def test_redeem_without_order_details() -> None:
    after_ = redeem(coupon(), "o-1", NOW)
    assert (after_.status, after_.discount_minor) == ("redeemed", None)


def test_redeem_a_coupon_locked_for_the_same_order_keeps_the_quote() -> None:
    # Given a coupon locked for o-1 and quoted at 4.21
    before = locked("o-1", discount_minor=421)
    # When o-1 redeems it without order details
    after_ = redeem(before, "o-1", after(minutes=5))
    # Then it is redeemed for o-1 at the lock's discount, and the lock is gone
    assert (after_.status, after_.redeemed_order_id, after_.discount_minor) == ("redeemed", "o-1", 421)
    assert (after_.lock_order_id, after_.locked_until, after_.version) == (None, None, before.version + 1)


def test_redeem_a_locked_coupon_with_order_details_requotes() -> None:
    after_ = redeem(locked("o-1", discount_minor=421), "o-1", NOW, order(orderAmountMinor=250))
    assert after_.discount_minor == 250


def test_redeem_a_coupon_locked_by_another_order() -> None:
    # Given a coupon locked for o-1 (live)
    # When o-2 redeems it
    # Then it is refused: 409 COUPON_LOCKED
    conflict(lambda: redeem(locked("o-1"), "o-2", after(minutes=9)), "COUPON_LOCKED")


def test_redeem_after_another_orders_lock_lapsed() -> None:
    # Given a coupon whose lock for o-1 (quoted at 5.00) lapsed
    before = locked("o-1")
    # When o-2 redeems it without order details
    after_ = redeem(before, "o-2", after(minutes=10))
    # Then it is redeemed for o-2, without o-1's quote, and o-1's lock is gone
    assert (after_.status, after_.redeemed_order_id, after_.discount_minor) == ("redeemed", "o-2", None)
    assert (after_.lock_order_id, after_.locked_until) == (None, None)


def test_redeem_twice_for_the_same_order_is_a_no_op() -> None:
    # Given a coupon redeemed for o-1
    before = redeem(coupon(), "o-1", NOW, order())
    # When o-1 redeems it again later (a retry), even after the validity lapsed
    # Then the very same object comes back
    assert redeem(before, "o-1", after(minutes=1)) is before
    assert redeem(before, "o-1", LAPSED, order(orderAmountMinor=1)) is before


def test_redeem_for_a_different_order_after_redemption() -> None:
    # Given a coupon redeemed for o-1
    # When o-2 redeems it
    # Then it is refused: 409 COUPON_ALREADY_REDEEMED
    conflict(lambda: redeem(redeemed("o-1"), "o-2", NOW), "COUPON_ALREADY_REDEEMED")


def test_redeem_an_expired_coupon() -> None:
    violation(lambda: redeem(coupon(), "o-1", LAPSED), "COUPON_EXPIRED")
    violation(lambda: redeem(coupon(status="expired"), "o-1", NOW), "COUPON_EXPIRED")
    violation(lambda: redeem(locked("o-1", until=after(days=40)), "o-1", LAPSED), "COUPON_EXPIRED")


def test_redeem_a_coupon_not_yet_valid() -> None:
    violation(lambda: redeem(coupon(valid_from=iso(after(days=1))), "o-1", NOW), "COUPON_NOT_YET_VALID")


def test_redeem_with_an_order_the_coupon_does_not_apply_to() -> None:
    error = violation(lambda: redeem(coupon(), "o-1", NOW, order(currency="EUR")), "COUPON_NOT_APPLICABLE")
    assert error.details == ["CURRENCY_MISMATCH"]


# --- release ------------------------------------------------------------------------------------


def test_release_a_lock_for_the_same_order() -> None:
    # Given a coupon locked for o-1, quoted at 5.00
    before = locked("o-1")
    # When o-1 releases it
    after_ = release(before, "o-1", after(minutes=1))
    # Then it is available again, with no lock or quote, one version up
    assert (after_.status, after_.lock_order_id, after_.locked_until, after_.discount_minor) == ("available", None, None, None)
    assert after_.version == before.version + 1


def test_release_a_lock_of_another_order() -> None:
    conflict(lambda: release(locked("o-1"), "o-2", NOW), "COUPON_LOCKED")


def test_release_an_available_coupon() -> None:
    conflict(lambda: release(coupon(), "o-1", NOW), "COUPON_NOT_LOCKED")


@pytest.mark.parametrize("order_id", ["o-1", "o-2"])
def test_release_a_redeemed_coupon(order_id: str) -> None:
    conflict(lambda: release(redeemed("o-1"), order_id, NOW), "COUPON_ALREADY_REDEEMED")


@pytest.mark.parametrize("order_id", ["o-1", "o-2"])
def test_release_after_the_lock_lapsed(order_id: str) -> None:
    # Given a coupon whose lock for o-1 lapsed
    # When o-1 or o-2 releases it
    # Then there is nothing to release: 409 COUPON_NOT_LOCKED
    conflict(lambda: release(locked("o-1"), order_id, after(minutes=10)), "COUPON_NOT_LOCKED")


def test_release_an_expired_coupon() -> None:
    conflict(lambda: release(locked("o-1", until=after(days=40)), "o-1", LAPSED), "COUPON_NOT_LOCKED")
    conflict(lambda: release(coupon(status="expired"), "o-1", NOW), "COUPON_NOT_LOCKED")


# --- give back (refund) -------------------------------------------------------------------------


def test_give_back_a_coupon_still_valid() -> None:
    # Given a coupon redeemed for o-1, still valid
    before = redeemed("o-1")
    # When o-1 is refunded
    after_ = give_back(before, "o-1", after(days=1))
    # Then it is available again, without the redemption, one version up
    assert (after_.status, after_.redeemed_order_id, after_.redeemed_at, after_.discount_minor) == ("available", None, None, None)
    assert after_.version == before.version + 1


@pytest.mark.parametrize("at", [LAPSED, after(days=30)])
def test_give_back_a_coupon_past_its_validity(at: datetime) -> None:
    # Given a coupon redeemed for o-1 whose validity has lapsed since (or lapses right now)
    # When o-1 is refunded
    after_ = give_back(redeemed("o-1"), "o-1", at)
    # Then it comes back expired
    assert (after_.status, after_.redeemed_order_id, after_.discount_minor) == ("expired", None, None)


def test_give_back_for_another_order() -> None:
    conflict(lambda: give_back(redeemed("o-1"), "o-2", NOW), "COUPON_ALREADY_REDEEMED")


@pytest.mark.parametrize("stored", [coupon(), locked("o-1"), coupon(status="expired")], ids=["available", "locked", "expired"])
def test_give_back_a_coupon_not_redeemed(stored: Coupon) -> None:
    conflict(lambda: give_back(stored, "o-1", NOW), "COUPON_NOT_REDEEMED")


@pytest.mark.parametrize("order_id", ["credit", "o-1"])
def test_give_back_a_red_packet(order_id: str) -> None:
    # Given a red packet as issued (redeemed by the credit)
    # When returned for "credit" or an order
    # Then it is refused: a credit is not undone by a refund
    conflict(lambda: give_back(ISSUED_RED_PACKET, order_id, NOW), "COUPON_NOT_REDEEMED")


def test_a_returned_coupon_can_be_redeemed_by_another_order() -> None:
    # Given a coupon redeemed for o-1 and then returned
    returned = give_back(redeemed("o-1"), "o-1", NOW)
    # When o-2 redeems it
    again = redeem(returned, "o-2", after(minutes=1))
    # Then o-2 holds it
    assert (again.status, again.redeemed_order_id, again.version) == ("redeemed", "o-2", returned.version + 1)


# --- expire (the sweep) -------------------------------------------------------------------------


def test_expire_an_available_coupon_past_validity() -> None:
    before = coupon()
    after_ = expire(before, LAPSED)
    assert after_ is not None
    assert (after_.status, after_.version) == ("expired", before.version + 1)


@pytest.mark.parametrize("until", [after(minutes=10), after(days=40)], ids=["lapsed-lock", "live-lock"])
def test_expire_a_locked_coupon_past_validity(until: datetime) -> None:
    # Given a locked coupon whose validity lapsed (its lock lapsed too, or not)
    before = locked("o-1", until=until)
    # When swept
    after_ = expire(before, LAPSED)
    # Then it is expired and the lock is gone
    assert after_ is not None
    assert (after_.status, after_.lock_order_id, after_.locked_until, after_.version) == ("expired", None, None, before.version + 1)


@pytest.mark.parametrize(
    ("stored", "now"),
    [(redeemed("o-1"), LAPSED), (coupon(status="expired"), LAPSED), (coupon(), NOW), (locked("o-1"), NOW), (locked("o-1"), after(hours=1))],
    ids=["redeemed", "already-expired", "available-valid", "locked-valid", "lapsed-lock-still-valid"],
)
def test_expire_leaves_other_coupons_alone(stored: Coupon, now: datetime) -> None:
    assert expire(stored, now) is None


# --- revoke: a campaign grant's compensation ----------------------------------------------------------


@pytest.mark.parametrize("stored", [coupon(), coupon(valid_until=iso(after(days=-1))), locked(until=after(minutes=-1))],
                         ids=["available", "expired", "lock lapsed"])
def test_an_unused_coupon_is_revoked_and_then_refuses_every_use(stored: Coupon) -> None:
    # When an unused coupon is revoked
    revoked = revoke(stored, NOW)
    # Then it is revoked, its lock gone, its version moved; revoking again changes nothing
    assert (revoked.status, revoked.revoked_at, revoked.lock_order_id, revoked.version) == ("revoked", iso(NOW), None, stored.version + 1)
    assert effective_status(revoked, LAPSED) == "revoked" and revoke(revoked, NOW) is revoked
    # And it can be neither locked nor redeemed, nor expired by the sweep
    refused(lambda: lock(revoked, "o-1", 600, NOW), "COUPON_REVOKED", BusinessRuleViolation, 422)
    refused(lambda: redeem(revoked, "o-1", NOW), "COUPON_REVOKED", BusinessRuleViolation, 422)
    assert expire(revoked, LAPSED) is None


@pytest.mark.parametrize(("stored", "code"), [
    (redeemed(), "COUPON_ALREADY_REDEEMED"),
    (locked(), "COUPON_LOCKED"),
    (coupon(kind="red_packet", status="redeemed"), "COUPON_NOT_REVOCABLE"),
    (coupon(kind="gift"), "COUPON_NOT_REVOCABLE"),
], ids=["redeemed", "locked", "red packet", "gift"])
def test_a_coupon_used_or_delivered_at_issue_cannot_be_revoked(stored: Coupon, code: str) -> None:
    with pytest.raises(DomainError) as raised:
        revoke(stored, NOW)
    assert raised.value.code == code


# --- the whole machine, at random ---------------------------------------------------------------

ORDERS = st.sampled_from(["o-1", "o-2"])
ORDER_DETAILS = st.sampled_from([None, "fits", "wrong-currency"])
KNOWN_CODES = {
    "COUPON_LOCKED", "COUPON_ALREADY_REDEEMED", "COUPON_EXPIRED", "COUPON_NOT_YET_VALID", "COUPON_NOT_APPLICABLE",
    "COUPON_NOT_LOCKED", "COUPON_NOT_REDEEMED",
}
VALID_FROM = NOW + timedelta(minutes=2)
VALID_UNTIL = NOW + timedelta(hours=1)


ORDERS_BY_CHOICE = {None: None, "fits": order(orderAmountMinor=300), "wrong-currency": order(currency="USD")}


def _details(choice: str | None) -> Any:
    return ORDERS_BY_CHOICE[choice]


class CouponLifecycle(RuleBasedStateMachine):
    """One coupon, two orders racing for it, the clock moving forward by up to 10 minutes a step,
    from before the coupon is valid until after it lapsed."""

    def __init__(self) -> None:
        super().__init__()
        self.now = NOW
        self.coupon = coupon(valid_from=iso(VALID_FROM), valid_until=iso(VALID_UNTIL))
        self.holder: str | None = None  # the order the coupon is redeemed for, until it is given back

    def _step(self, op: str, call: Callable[[], Coupon | None]) -> None:
        before = self.coupon
        try:
            result = call()
        except (Conflict, BusinessRuleViolation) as error:
            assert error.code in KNOWN_CODES, error.code
            return
        if result is None:  # expire: nothing to do
            assert op == "expire"
            assert before.status not in ("available", "locked") or effective_status(before, self.now) != "expired"
            return
        if result is before:  # an idempotent retry: nothing changed, so nothing to write
            assert op in ("lock", "redeem")
        else:  # a real change: exactly one version up, and something besides the version moved
            assert result.version == before.version + 1
            assert replace(result, version=before.version) != before
            assert before.status != "expired", "expired is final"
        self._track_redemption(op, before, result)
        self.coupon = result

    def _track_redemption(self, op: str, before: Coupon, after_: Coupon) -> None:
        if before.status == "redeemed" and after_.status != "redeemed":
            assert op == "give_back"
            self.holder = None
        if before.status != "redeemed" and after_.status == "redeemed":
            assert self.holder is None
            self.holder = after_.redeemed_order_id
        if after_.status == "redeemed":
            # never redeemed by two orders without a give_back in between
            assert after_.redeemed_order_id == self.holder

    @rule(seconds=st.integers(0, 600))
    def advance(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)

    @rule(order_id=ORDERS, ttl=st.integers(10, 900), details=ORDER_DETAILS)
    def lock(self, order_id: str, ttl: int, details: str | None) -> None:
        self._step("lock", lambda: lock(self.coupon, order_id, ttl, self.now, _details(details)))

    @rule(order_id=ORDERS, details=ORDER_DETAILS)
    def redeem(self, order_id: str, details: str | None) -> None:
        self._step("redeem", lambda: redeem(self.coupon, order_id, self.now, _details(details)))

    @rule(order_id=ORDERS)
    def release(self, order_id: str) -> None:
        self._step("release", lambda: release(self.coupon, order_id, self.now))

    @rule(order_id=ORDERS)
    def give_back(self, order_id: str) -> None:
        self._step("give_back", lambda: give_back(self.coupon, order_id, self.now))

    @rule()
    def expire(self) -> None:
        self._step("expire", lambda: expire(self.coupon, self.now))

    @invariant()
    def the_stored_state_is_consistent(self) -> None:
        c = self.coupon
        assert c.status in ("available", "locked", "redeemed", "expired")
        if c.status == "redeemed":
            assert c.redeemed_order_id is not None and c.redeemed_at is not None
            assert c.lock_order_id is None and c.locked_until is None
        else:
            assert c.redeemed_order_id is None and c.redeemed_at is None
        if c.status == "locked":
            assert c.lock_order_id is not None and c.locked_until is not None
        else:
            assert c.lock_order_id is None and c.locked_until is None
        if c.status == "available":
            assert c.discount_minor is None


CouponLifecycle.TestCase.settings = settings(max_examples=120, stateful_step_count=30, deadline=None)
TestCouponLifecycle = CouponLifecycle.TestCase
