"""GET /v1/customers/{customerId}/coupons?status=&limit=&cursor=: the customer's wallet."""

from typing import Any

from loyalty.core.clock import utc_now
from loyalty.core.errors import InvalidInput
from loyalty.core.http import Request, Response, api_handler, ok
from loyalty.coupons import service

STATUSES = ("available", "locked", "redeemed", "expired")


@api_handler()
def handler(request: Request[Any]) -> Response:
    customer_id = request.path_param("customerId")
    request.caller.require_owner_or_operator(customer_id)
    status = request.query.get("status")
    limit = request.query.get("limit", "20")
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status must be one of {', '.join(STATUSES)}", code="VALIDATION_ERROR")
    if not limit.isdigit() or not 1 <= int(limit) <= 100:
        raise InvalidInput("limit must be 1 to 100", code="VALIDATION_ERROR")
    return ok(service.wallet(service.default_store(), customer_id, status, int(limit), request.query.get("cursor"), utc_now()))
