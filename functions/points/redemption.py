"""Customer redemptions (积分兑换): points for a coupon, or points and cash for a mall item."""

from typing import Any

from loyalty.core.clock import utc_now
from loyalty.core.errors import NotFound
from loyalty.core.http import Request, Response, api_handler, api_router, created, ok
from loyalty.core.idempotency import require_key
from loyalty.points import redemption
from loyalty.points.redemption import RedemptionRequest
from loyalty.points.service import default_store


# The redemption id derives from the caller and the key, so the ledger itself refuses a second one.
@api_handler(body=RedemptionRequest, idempotency="domain")
def redeem(request: Request[RedemptionRequest]) -> Response:
    body = request.json_body()
    customer_id = body.customerId or request.caller.subject
    request.caller.require_owner_or_operator(customer_id)
    view, new = redemption.redeem(default_store(), customer_id, body, require_key(request), utc_now())
    return created(view) if new else Response(200, view, {"Idempotent-Replayed": "true"})


@api_handler()
def get_redemption(request: Request[Any]) -> Response:
    rid = request.path_param("redemptionId")
    record = default_store().get_record(redemption.redemption_key(rid))
    if record is None:
        raise NotFound(f"redemption {rid} does not exist", code="REDEMPTION_NOT_FOUND")
    request.caller.require_owner_or_operator(record["customerId"])
    return ok(redemption.view(record))


handler = api_router(
    {
        "POST /v1/points/redemptions": redeem,
        "GET /v1/points/redemptions/{redemptionId}": get_redemption,
    }
)
