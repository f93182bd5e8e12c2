"""POST /v1/coupons/claims: a customer claims a coupon; the customer is the token's subject."""

from aws_lambda_powertools.event_handler import Response

from loyalty.core.api import CallerDep, IdempotencyKey, Routes, serve
from loyalty.core.clock import utc_now
from loyalty.coupons import service
from loyalty.coupons.logic import effective_status
from loyalty.coupons.model import ClaimRequest
from loyalty.coupons.records import coupon_view
from loyalty.coupons.views import BundleView, CouponView

routes = Routes("coupons")


# The coupon id derives from the customer and the Idempotency-Key, inside the claim's own
# transaction: a retry after a crash finds the coupon, never issues a second one.
@routes.post("/v1/coupons/claims", summary="Claim a coupon", status=201, idempotency="domain", operators_too=False,
             links={"quoteCoupon": {"couponId": "$response.body#/couponId"}, "lockCoupon": {"couponId": "$response.body#/couponId"}, "redeemCoupon": {"couponId": "$response.body#/couponId"}},
             errors={404: ["TEMPLATE_NOT_FOUND", "COUPON_NOT_FOUND"], 409: ["COUPON_OUT_OF_STOCK", "COUPON_LIMIT_REACHED", "CLAIM_CONTENDED"],
                     422: ["NOT_ELIGIBLE", "TEMPLATE_NOT_ACTIVE", "IDEMPOTENCY_KEY_REUSED"], 429: ["CLAIMS_THROTTLED"]})
def claim_coupon(body: ClaimRequest, key: IdempotencyKey, caller: CallerDep) -> Response[CouponView | BundleView]:
    """The customer is the token's subject. A bundle answers `{bundleId, coupons}`. A retry with the
    same key answers the same coupon (`Idempotent-Replayed: true`). An operator's token is refused
    (403 `CUSTOMER_TOKEN_REQUIRED`): its subject is a member of staff, never a customer, and an
    operator never claims on a customer's behalf (campaigns grant coupons)."""
    now = utc_now()
    issued = service.claim(service.default_store(), service.ProfileFacts(), caller.subject, body, key, now)
    views = [CouponView.model_validate(coupon_view(c, effective_status(c, now))) for c in issued.coupons]
    answer = BundleView(bundleId=issued.bundle_id, coupons=views) if issued.bundle_id else views[0]
    return Response(201, "application/json", answer, {"Idempotent-Replayed": "true"} if issued.replayed else None)


handler = serve(routes)
