"""POST /v1/coupons/claims: a customer claims a coupon; the customer is the token's subject."""

from loyalty.core.clock import utc_now
from loyalty.core.http import Request, Response, api_handler, created
from loyalty.coupons import service
from loyalty.coupons.logic import effective_status
from loyalty.coupons.model import ClaimRequest
from loyalty.coupons.records import coupon_view


@api_handler(body=ClaimRequest, idempotency="domain")
def handler(request: Request[ClaimRequest]) -> Response:
    now = utc_now()
    issued = service.claim(
        service.default_store(), service.ProfileFacts(), request.caller.subject, request.json_body(), request.idempotency_key or "", now
    )
    views = [coupon_view(c, effective_status(c, now)) for c in issued.coupons]
    response = created({"bundleId": issued.bundle_id, "coupons": views} if issued.bundle_id else views[0])
    if issued.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return response
