"""Payment flows under /v1/coupons/{couponId}/: quote, lock, redeem (核销), release, return."""

from typing import Annotated, Any

from loyalty.core.api import Call, CallerDep, IdempotencyKey, Routes, serve
from loyalty.core.api_params import id_path
from loyalty.core.clock import utc_now
from loyalty.core.errors import Conflict
from loyalty.coupons import service
from loyalty.coupons.model import LockRequest, OrderDetails, OrderRef, RedeemRequest
from loyalty.coupons.records import coupon_view
from loyalty.coupons.views import CouponQuote, CouponView, ReturnedCoupons
from loyalty.org.scope import customers_own

BASE = "/v1/coupons/{couponId}"
routes = Routes("coupons")
CouponIdPath = Annotated[str, id_path("The coupon id.", max_length=128)]
OWNED = {403: ["NOT_RESOURCE_OWNER"], 404: ["COUPON_NOT_FOUND"]}
# An operator (a branch's counter) acts on the coupons of their subtree's customers.
COUPON = customers_own(
    "COUPON_NOT_FOUND",
    "coupon {couponId} does not exist",
    customer_of=lambda call: service.default_store().get_coupon(call.path_param("couponId")).customer_id,
)


def _view(coupon: Any) -> CouponView:
    return CouponView.model_validate(coupon_view(coupon, coupon.status))


def _coupon_as_stored(call: Call) -> Any:
    """The coupon as it now is, for its owner or an operator only (the retry is the same caller's)."""
    coupon = service.default_store().get_coupon(call.path_param("couponId"))
    call.caller.require_owner_or_operator(coupon.customer_id)
    return coupon


def _coupon_now(call: Call) -> CouponView:
    """A retry's answer when the first try committed and died before answering."""
    return _view(_coupon_as_stored(call))


def _returned_now(call: Call) -> ReturnedCoupons:
    """A single coupon's return is rebuilt; a bundle part's is not: which of its parts came back
    with it (those redeemed for the same order) is no longer recorded once they are returned."""
    coupon = _coupon_as_stored(call)
    if coupon.bundle_id:
        raise Conflict("this request was applied, but its answer was lost: read the coupons for its outcome",
                       code="IDEMPOTENCY_COMMITTED")
    return ReturnedCoupons(coupons=[_view(coupon)])


@routes.post(f"{BASE}/quote", scope=COUPON, summary="What a coupon takes off an order", idempotency="none", errors=OWNED)
def quote_coupon(couponId: CouponIdPath, body: OrderDetails, caller: CallerDep) -> CouponQuote:
    """Changes nothing and needs no Idempotency-Key. An inapplicable coupon answers 200 with
    `applicable: false` and the reason."""
    return CouponQuote.model_validate(service.quote(service.default_store(), caller, couponId, body, utc_now()))


@routes.post(
    f"{BASE}/lock",
    scope=COUPON,
    summary="Lock a coupon for an order",
    replay=_coupon_now,
    errors={
        **OWNED,
        409: ["COUPON_LOCKED", "COUPON_ALREADY_REDEEMED", "COUPON_CHANGED"],
        422: ["COUPON_EXPIRED", "COUPON_NOT_YET_VALID", "COUPON_NOT_APPLICABLE", "COUPON_NOT_REDEEMABLE"],
    },
)
def lock_coupon(couponId: CouponIdPath, body: LockRequest, key: IdempotencyKey, caller: CallerDep) -> CouponView:
    """Held for `ttlSeconds` (default 900); a lapsed lock releases itself. Locking again for the
    same order extends it."""
    return _view(service.lock(service.default_store(), caller, couponId, body, utc_now()))


@routes.post(
    f"{BASE}/redeem",
    scope=COUPON,
    summary="Redeem a coupon (核销)",
    replay=_coupon_now,
    errors={
        **OWNED,
        409: ["COUPON_LOCKED", "COUPON_ALREADY_REDEEMED", "COUPON_CHANGED"],
        422: ["COUPON_EXPIRED", "COUPON_NOT_YET_VALID", "COUPON_NOT_APPLICABLE", "COUPON_NOT_REDEEMABLE"],
    },
)
def redeem_coupon(couponId: CouponIdPath, body: RedeemRequest, key: IdempotencyKey, caller: CallerDep) -> CouponView:
    """Again for the same order is a no-op that answers the redeemed coupon; another order is 409."""
    return _view(service.redeem(service.default_store(), caller, couponId, body, utc_now()))


@routes.post(
    f"{BASE}/release",
    scope=COUPON,
    summary="Release a coupon's lock",
    replay=_coupon_now,
    errors={**OWNED, 409: ["COUPON_NOT_LOCKED", "COUPON_LOCKED", "COUPON_ALREADY_REDEEMED", "COUPON_CHANGED"]},
)
def release_coupon(couponId: CouponIdPath, body: OrderRef, key: IdempotencyKey, caller: CallerDep) -> CouponView:
    return _view(service.release(service.default_store(), caller, couponId, body.orderId, utc_now()))


@routes.post(
    f"{BASE}/return",
    scope=COUPON,
    summary="Return a redeemed coupon after a refund",
    replay=_returned_now,
    errors={**OWNED, 409: ["COUPON_NOT_REDEEMED", "COUPON_ALREADY_REDEEMED", "COUPON_CHANGED", "IDEMPOTENCY_COMMITTED"]},
)
def return_coupon(couponId: CouponIdPath, body: OrderRef, key: IdempotencyKey, caller: CallerDep) -> ReturnedCoupons:
    """The parts of a bundle redeemed for the same order return together."""
    coupons = service.give_back(service.default_store(), caller, couponId, body.orderId, utc_now())
    return ReturnedCoupons(coupons=[_view(c) for c in coupons])


handler = serve(routes)
