"""Checkout sessions (docs/checkout.md, "Sessions"): a basket's coupons locked and its points held in
one transaction, confirmed once per payment, cancelled, lapsed, and refunded in part or whole.

Every change is one TransactWriteItems: the session written over the version read, each coupon
through the coupons capability's port and the points through the points capability's port, each
conditioned on what it read. A refusal means something moved meanwhile: read again and decide
again, a few times (a taken coupon is then refused by the coupons' own state machine, naming it).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal, TypeVar

from loyalty.checkout import quote as quoting
from loyalty.checkout import refunds
from loyalty.checkout.pricing import Order
from loyalty.checkout.session_store import SessionStore
from loyalty.checkout.sessions import (
    MAX_REFUNDS,
    PAID,
    RefundedSoFar,
    RefundRecord,
    Session,
    SessionCoupon,
    SessionPoints,
    fingerprint,
    session_id,
)
from loyalty.checkout.store import PolicyStore
from loyalty.core.clock import iso_utc
from loyalty.core.errors import BusinessRuleViolation, Conflict, NotFound
from loyalty.core.outbox import PendingEvent
from loyalty.core.transactions import MAX_ITEMS, Refused, Transaction
from loyalty.coupons.ports import CouponAtCheckout, checkout_coupons
from loyalty.points.ports import Staged, checkout_points

SOURCE = "loyalty.checkout"
ATTEMPTS = 8
T = TypeVar("T")
# Why a chosen coupon cannot be in a session: taken by another order is a conflict, the rest a refusal.
TAKEN = ("LOCKED_ELSEWHERE",)


def _retried(step: Callable[[], T | None]) -> T:
    """Runs `step` (read, decide, stage, commit) until it commits or decides; a refused transaction
    (something read moved meanwhile) runs it again."""
    for attempt in range(ATTEMPTS):
        try:
            done = step()
        except Refused:
            time.sleep(random.uniform(0.005, 0.02) * (attempt + 1))  # jittered: racers do not retry in step
            continue
        if done is not None:
            return done
    raise Conflict("the session's coupons or points are busy; retry", code="CHECKOUT_CONTENDED")


def _commit(transaction: Transaction) -> None:
    if len(transaction) > MAX_ITEMS - 1:  # one left for the Idempotency-Key's mark
        raise BusinessRuleViolation(f"this checkout would write {len(transaction)} items in one transaction; "
                                    "use fewer coupons or points from fewer lots", code="CHECKOUT_TOO_LARGE")
    transaction.commit()


def find(store: SessionStore, customer_id: str | None, sid: str) -> Session:
    """The session; 404 when it does not exist or (`customer_id` given) is another customer's."""
    found = store.get(sid)
    if found is None or (customer_id is not None and found.customerId != customer_id):
        raise NotFound(f"checkout session {sid} does not exist", code="SESSION_NOT_FOUND")
    return found


# ---- open --------------------------------------------------------------------------------------------------


def open_session(store: SessionStore, policies: PolicyStore, customer_id: str, order_body: Mapping[str, Any], order: Order,
                 idempotency_key: str, now: datetime, *, coupon_ids: list[str], best: bool, points: int | Literal["max"],
                 ttl_minutes: int) -> tuple[Session, bool]:
    """Prices the basket as a quote does, then locks its coupons and holds its points in one
    transaction, with the session; (the session, whether it was opened now). All or nothing: a
    chosen coupon that cannot apply is refused (422 COUPON_NOT_APPLICABLE), one locked for another
    order is 409 COUPON_LOCKED, each naming the coupon, and nothing is locked."""
    from loyalty.checkout.service import candidates_of, in_force_cached
    from loyalty.points.ports import balance as balances

    sid = session_id(customer_id, idempotency_key)
    asked = fingerprint(customer_id, repr(sorted(order_body.items())), repr(coupon_ids), str(best), str(points), str(ttl_minutes))

    def step() -> tuple[Session, bool] | None:
        existing = store.get(sid)
        if existing is not None:
            return _replayed(existing, asked), False
        policy = in_force_cached(policies)
        balance = balances().spendable(customer_id, now) if points != 0 else 0
        found = quoting.quote(order, candidates_of(customer_id, now, coupon_ids), policy.policy, iso_utc(now), coupon_ids=coupon_ids, best=best,
                              points=points, balance=balance, order_id=sid)
        if not best:
            _refuse_left_out(found)
        until = now + timedelta(minutes=ttl_minutes)
        transaction = Transaction()
        discounts = {a.coupon_id: a.discount_minor for a in found.applied}
        locked = {c.couponId: c for c in checkout_coupons().lock(transaction, customer_id, list(discounts), sid, until, discounts, now)}
        held = checkout_points().hold(transaction, customer_id, sid, found.points.points, now) if found.points.points else None
        session = Session(
            sessionId=sid, customerId=customer_id, state="locked", version=1, createdAt=iso_utc(now), lapsesAt=iso_utc(until),
            fingerprint=asked, order=dict(order_body), currency=order.currency, orderTotalMinor=found.order_total,
            coupons=[_coupon(locked[a.coupon_id], a.discount_minor, a.lines) for a in found.applied],
            points=SessionPoints(points=found.points.points, valueMinor=found.points.value_minor,
                                 pointValueMinor=policy.policy.points.pointValueMinor, funders=held.by_funder() if held else {}),
            policyVersion=policy.version)
        store.stage(transaction, None, session)
        _commit(transaction)
        return session, True

    return _retried(step)


def _refuse_left_out(found: quoting.Quote) -> None:
    taken = [x for x in found.left_out if x.reason in TAKEN]
    if taken:
        raise Conflict("a coupon chosen is locked for another order", code="COUPON_LOCKED",
                       details=[{"couponId": x.coupon_id, "reason": x.reason} for x in taken])
    if found.left_out:
        raise BusinessRuleViolation("a coupon chosen does not apply to this order together with the others", code="COUPON_NOT_APPLICABLE",
                                    details=[{"couponId": x.coupon_id, "reason": x.reason, "otherCouponId": x.other}
                                             for x in found.left_out])


def _coupon(coupon: CouponAtCheckout, discount: int, lines: Mapping[str, int]) -> SessionCoupon:
    return SessionCoupon(couponId=coupon.couponId, templateId=coupon.templateId, campaignId=coupon.campaignId, discountMinor=discount,
                         lines=dict(lines), funding=coupon.funding, returnPolicy=coupon.returnPolicy)


def _replayed(existing: Session, asked: str) -> Session:
    if existing.fingerprint != asked:
        raise BusinessRuleViolation("this Idempotency-Key opened a session for a different request", code="IDEMPOTENCY_KEY_REUSED")
    return existing


# ---- confirm, cancel, lapse --------------------------------------------------------------------------------


def confirm(store: SessionStore, customer_id: str, sid: str, payment_id: str, now: datetime) -> Session:
    """Redeems the coupons and settles the points, once: the same `paymentId` again answers the
    session as confirmed; another is 409; a lapsed or cancelled session consumes nothing (409)."""

    def step() -> Session | None:
        session = find(store, customer_id, sid)
        state = session.state_at(now)
        if state in PAID:
            if session.paymentId != payment_id:
                raise Conflict(f"session {sid} was confirmed by another payment", code="SESSION_PAID_OTHERWISE")
            return session
        if state == "lapsed":
            raise Conflict(f"session {sid} lapsed at {session.lapsesAt}: open a new one", code="SESSION_EXPIRED")
        if state == "cancelled":
            raise Conflict(f"session {sid} was cancelled", code="SESSION_CANCELLED")
        transaction = Transaction()
        ids = [c.couponId for c in session.coupons]
        checkout_coupons().redeem(transaction, ids, sid, now)
        settled = checkout_points().settle(transaction, customer_id, sid, now, payment_id) if session.points.points else None
        after = session.model_copy(update={"state": "confirmed", "version": session.version + 1, "paymentId": payment_id,
                                           "confirmedAt": iso_utc(now)})
        store.stage(transaction, session, after, [_confirmed_event(after, settled)], unlapsed_at=iso_utc(now))
        _commit(transaction)
        return after

    return _retried(step)


def cancel(store: SessionStore, customer_id: str | None, sid: str, now: datetime) -> Session:
    """Releases the coupons and the points. A lapsed session is released as lapsed; one already
    cancelled or lapsed is answered as it is; a confirmed one is refunded instead (409)."""

    def step() -> Session | None:
        session = find(store, customer_id, sid)
        if session.state in PAID:
            raise Conflict(f"session {sid} is confirmed: refund it instead", code="SESSION_CONFIRMED")
        if session.state != "locked":
            return session
        return _release(store, session, "cancelled" if session.state_at(now) == "locked" else "lapsed", now)

    return _retried(step)


def _release(store: SessionStore, session: Session, state: Literal["cancelled", "lapsed"], now: datetime) -> Session:
    transaction = Transaction()
    checkout_coupons().release(transaction, [c.couponId for c in session.coupons], session.sessionId, now)
    if session.points.points:
        checkout_points().release(transaction, session.customerId, session.sessionId, now, f"checkout_{state}")
    after = session.model_copy(update={"state": state, "version": session.version + 1, "closedAt": iso_utc(now)})
    store.stage(transaction, session, after)
    _commit(transaction)
    return after


def sweep(store: SessionStore, now: datetime) -> dict[str, int]:
    """Releases what every lapsed session still holds. Safe to run twice, or beside a cancel: each
    is conditioned on the session's version, and one changed meanwhile is left to whoever changed it."""
    lapsed = skipped = 0
    for session in store.lapsed(iso_utc(now)):
        try:
            _release(store, session, "lapsed", now)
            lapsed += 1
        except (Refused, Conflict):
            skipped += 1
    return {"lapsed": lapsed, "skipped": skipped}


# ---- refunds ------------------------------------------------------------------------------------------------


def refund(store: SessionStore, customer_id: str | None, sid: str, refund_id: str, lines: Mapping[str, int] | None,
           amount_minor: int | None, now: datetime) -> tuple[Session, RefundRecord]:
    """Gives back the discount and the points in proportion to what is refunded, cumulatively
    (`loyalty.checkout.refunds`); on the refund that completes the order, the coupons whose return
    policy says so go back to the wallet. The same `refundId` again answers the same refund."""
    asked = fingerprint(repr(sorted((lines or {}).items())), str(amount_minor))

    def step() -> tuple[Session, RefundRecord] | None:
        session = find(store, customer_id, sid)
        known = session.refund(refund_id)
        if known is not None:
            if known.fingerprint != asked:
                raise BusinessRuleViolation(f"refund {refund_id} was made with other lines or amount", code="REFUND_ID_REUSED")
            return session, known
        if session.state not in ("confirmed", "partly_refunded"):
            raise Conflict(f"session {sid} is {session.state_at(now)}: only a confirmed order is refunded", code="SESSION_NOT_REFUNDABLE")
        if len(session.refunds) >= MAX_REFUNDS:
            raise BusinessRuleViolation(f"an order is refunded in at most {MAX_REFUNDS} parts", code="REFUND_LIMIT")
        paid, before = session.paid(), session.refunded.domain()
        done = refunds.by_lines(paid, before, lines) if lines is not None else refunds.by_amount(paid, before, int(amount_minor or 0))
        transaction = Transaction()
        points = (checkout_points().refund(transaction, session.customerId, sid, refund_id, before.points, done.points, now)
                  if done.points else None)
        complete = done.complete(paid)
        returning = [c.couponId for c in session.coupons if complete and c.returnPolicy == "on_full_refund"]
        if returning:
            checkout_coupons().give_back(transaction, returning, sid, now)
        record = RefundRecord(refundId=refund_id, at=iso_utc(now), fingerprint=asked, lines=dict(lines) if lines is not None else None,
                              amountMinor=amount_minor, grossMinor=done.gross_minor, coupons=done.coupons, points=done.points,
                              pointsValueMinor=done.points_value_minor, pointsFunders=points.by_funder() if points else {},
                              cashMinor=done.cash_minor, couponsReturned=returning)
        after = session.model_copy(update={
            "state": "refunded" if complete else "partly_refunded", "version": session.version + 1,
            "refunded": RefundedSoFar.of(done.after), "refunds": [*session.refunds, record],
            "coupons": [c.model_copy(update={"returned": c.couponId in returning or c.returned}) for c in session.coupons]})
        store.stage(transaction, session, after, [_refunded_event(after, record)])
        _commit(transaction)
        return after, record

    return _retried(step)


# ---- events --------------------------------------------------------------------------------------------------


def _funders(points: dict[str, int]) -> list[dict[str, Any]]:
    return [{"costCentre": centre, "points": n} for centre, n in sorted(points.items())]


def _coupon_detail(coupon: SessionCoupon, discount: int, **extra: Any) -> dict[str, Any]:
    detail = {"couponId": coupon.couponId, "templateId": coupon.templateId, "campaignId": coupon.campaignId, "discountMinor": discount,
              "funding": {k: v for k, v in coupon.funding.items() if k in ("costCentre", "merchantId")}, **extra}
    return {k: v for k, v in detail.items() if v is not None}


def _confirmed_event(session: Session, settled: Staged | None) -> PendingEvent:
    return PendingEvent(SOURCE, "CheckoutConfirmed", {
        "sessionId": session.sessionId, "customerId": session.customerId, "paymentId": session.paymentId,
        "merchantId": session.order["merchantId"], "channel": session.order["channel"], "currency": session.currency,
        "orderTotalMinor": session.orderTotalMinor, "discountMinor": session.discountMinor, "paidMinor": session.payableMinor,
        "coupons": [_coupon_detail(c, c.discountMinor) for c in session.coupons],
        "points": {"points": session.points.points, "valueMinor": session.points.valueMinor,
                   "funders": _funders(settled.by_funder() if settled else {})},
        "policyVersion": session.policyVersion, "confirmedAt": session.confirmedAt})


def _refunded_event(session: Session, record: RefundRecord) -> PendingEvent:
    return PendingEvent(SOURCE, "CheckoutRefunded", {
        "sessionId": session.sessionId, "refundId": record.refundId, "customerId": session.customerId, "paymentId": session.paymentId,
        "currency": session.currency, "refundedMinor": record.grossMinor, "cashMinor": record.cashMinor, "state": session.state,
        "coupons": [_coupon_detail(c, record.coupons.get(c.couponId, 0), returned=c.couponId in record.couponsReturned)
                    for c in session.coupons],
        "points": {"points": record.points, "valueMinor": record.pointsValueMinor, "funders": _funders(record.pointsFunders)}})
