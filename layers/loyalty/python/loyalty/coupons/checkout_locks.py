"""Coupons at checkout (docs/checkout.md, "Sessions"): locked for a session, redeemed when it is
confirmed, released when it is cancelled or lapses, and returned by a refund, each staged in
checkout's own transaction. Every coupon is read consistently and written conditioned on the
version read, by the same state machine as the single-coupon routes (`loyalty.coupons.logic`),
with the same events: a refusal of `coupon:<id>` means that coupon changed meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime

from loyalty.core.clock import iso_utc
from loyalty.core.errors import DomainError, NotFound
from loyalty.core.outbox import PendingEvent
from loyalty.core.transactions import Transaction
from loyalty.coupons import logic
from loyalty.coupons.items import CouponsOutbox
from loyalty.coupons.items_coupon import CouponItem
from loyalty.coupons.logic import Coupon
from loyalty.coupons.ports import CouponAtCheckout
from loyalty.coupons.store import DynamoCouponStore

SOURCE = "loyalty.coupons"


def label(coupon_id: str) -> str:
    return f"coupon:{coupon_id}"


def _at_checkout(coupon: Coupon) -> CouponAtCheckout:
    funding = {k: v for k, v in coupon.funding.items() if k in ("costCentre", "merchantId", "unitCostMinor", "currency")}
    return CouponAtCheckout(coupon.coupon_id, coupon.template_id, coupon.campaign_id, funding,
                            str(coupon.redemption.get("returnPolicy", "on_full_refund")))


class DynamoCheckoutCoupons:
    def __init__(self) -> None:
        self.store = DynamoCouponStore()

    def _read(self, coupon_ids: Sequence[str]) -> list[Coupon]:
        found = []
        for coupon_id in coupon_ids:
            try:
                found.append(self.store.get_coupon(coupon_id))
            except NotFound:
                raise NotFound(f"coupon {coupon_id} does not exist", code="COUPON_NOT_FOUND", details=[coupon_id]) from None
        return found

    def _stage(self, transaction: Transaction, coupons: Sequence[Coupon], step: Callable[[Coupon], Coupon], detail_type: str,
               **extra: object) -> list[CouponAtCheckout]:
        for before in coupons:
            after = step(before)
            if after is before:
                continue  # already as asked (the same session again): nothing to write
            transaction.put(label(after.coupon_id), CouponItem.written_over(before, after))
            detail = {**extra, "discountMinor": after.discount_minor} if detail_type == "CouponRedeemed" else extra
            CouponsOutbox.add_to(transaction, [PendingEvent(SOURCE, detail_type, logic.event_detail(after, **detail))])
        return [_at_checkout(c) for c in coupons]

    def lock(self, transaction: Transaction, customer_id: str, coupon_ids: Sequence[str], session_id: str, until: datetime,
             discounts: Mapping[str, int], now: datetime) -> list[CouponAtCheckout]:
        coupons = self._read(coupon_ids)
        strangers = [c.coupon_id for c in coupons if c.customer_id != customer_id]
        if strangers:
            from loyalty.core.errors import Forbidden

            raise Forbidden("a coupon chosen is not the customer's", code="NOT_RESOURCE_OWNER", details=strangers)
        ttl = max(1, int((until - now).total_seconds()))

        def locked(coupon: Coupon) -> Coupon:
            try:
                after = logic.lock(coupon, session_id, ttl, now)
            except DomainError as refusal:
                refusal.details = [coupon.coupon_id]  # which coupon of the basket
                raise
            return after if after is coupon else replace(after, locked_until=iso_utc(until), discount_minor=discounts[coupon.coupon_id])

        return self._stage(transaction, coupons, locked, "CouponLocked", orderId=session_id, sessionId=session_id, lockedUntil=iso_utc(until))

    def redeem(self, transaction: Transaction, coupon_ids: Sequence[str], session_id: str, now: datetime) -> list[CouponAtCheckout]:
        return self._stage(transaction, self._read(coupon_ids), lambda c: logic.redeem(c, session_id, now), "CouponRedeemed",
                           orderId=session_id, sessionId=session_id)

    def release(self, transaction: Transaction, coupon_ids: Sequence[str], session_id: str, now: datetime) -> list[CouponAtCheckout]:
        def released(coupon: Coupon) -> Coupon:
            # A lock that lapsed and was taken by another order is no longer this session's to release.
            if coupon.status != "locked" or coupon.lock_order_id != session_id:
                return coupon
            return replace(coupon, status="available", lock_order_id=None, locked_until=None, discount_minor=None, version=coupon.version + 1)

        return self._stage(transaction, self._read(coupon_ids), released, "CouponReleased", orderId=session_id, sessionId=session_id)

    def give_back(self, transaction: Transaction, coupon_ids: Sequence[str], session_id: str, now: datetime) -> list[CouponAtCheckout]:
        def returned(coupon: Coupon) -> Coupon:
            if coupon.status != "redeemed" or coupon.redeemed_order_id != session_id:
                return coupon  # returned before (the same refund again)
            return logic.give_back(coupon, session_id, now)

        return self._stage(transaction, self._read(coupon_ids), returned, "CouponReturned", orderId=session_id, sessionId=session_id)
