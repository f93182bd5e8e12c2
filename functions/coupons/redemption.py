"""Payment flows under /v1/coupons/{couponId}/: quote, lock, redeem (核销), release, return."""

from typing import Any

from loyalty.core.clock import utc_now
from loyalty.core.http import Request, Response, api_handler, api_router, ok
from loyalty.coupons import service
from loyalty.coupons.model import LockRequest, OrderRef, QuoteRequest, RedeemRequest
from loyalty.coupons.records import coupon_view

BASE = "/v1/coupons/{couponId}"


def _view(coupon: Any) -> dict[str, Any]:
    return coupon_view(coupon, coupon.status)


@api_handler(body=QuoteRequest, idempotency="none")
def quote(request: Request[QuoteRequest]) -> Response:
    return ok(service.quote(service.default_store(), request.caller, request.path_param("couponId"), request.json_body(), utc_now()))


@api_handler(body=LockRequest)
def lock(request: Request[LockRequest]) -> Response:
    return ok(_view(service.lock(service.default_store(), request.caller, request.path_param("couponId"), request.json_body(), utc_now())))


@api_handler(body=RedeemRequest)
def redeem(request: Request[RedeemRequest]) -> Response:
    return ok(_view(service.redeem(service.default_store(), request.caller, request.path_param("couponId"), request.json_body(), utc_now())))


@api_handler(body=OrderRef)
def release(request: Request[OrderRef]) -> Response:
    coupon = service.release(service.default_store(), request.caller, request.path_param("couponId"), request.json_body().orderId, utc_now())
    return ok(_view(coupon))


@api_handler(body=OrderRef)
def give_back(request: Request[OrderRef]) -> Response:
    coupons = service.give_back(service.default_store(), request.caller, request.path_param("couponId"), request.json_body().orderId, utc_now())
    return ok({"coupons": [_view(c) for c in coupons]})


handler = api_router(
    {
        f"POST {BASE}/quote": quote,
        f"POST {BASE}/lock": lock,
        f"POST {BASE}/redeem": redeem,
        f"POST {BASE}/release": release,
        f"POST {BASE}/return": give_back,
    }
)
