"""Customer points: balance, history, and the trial calculation (积分试算)."""

from typing import Any

from loyalty.core.clock import utc_now
from loyalty.core.dynamo import decode_cursor, encode_cursor
from loyalty.core.errors import InvalidInput
from loyalty.core.http import Request, Response, api_handler, api_router, ok
from loyalty.points import redemption, service
from loyalty.points.model import QuoteRequest

KINDS = ("earn", "redeem", "expire", "reverse", "adjust")


@api_handler()
def balance(request: Request[Any]) -> Response:
    customer_id = request.path_param("customerId")
    request.caller.require_owner_or_operator(customer_id)
    return ok(service.balance(service.default_store(), customer_id, utc_now()))


@api_handler()
def history(request: Request[Any]) -> Response:
    import json

    customer_id = request.path_param("customerId")
    request.caller.require_owner_or_operator(customer_id)
    kind, limit, cursor = request.query.get("kind"), request.query.get("limit", "20"), request.query.get("cursor")
    if kind is not None and kind not in KINDS:
        raise InvalidInput(f"kind must be one of {', '.join(KINDS)}", code="VALIDATION_ERROR")
    if not limit.isdigit() or not 1 <= int(limit) <= 100:
        raise InvalidInput("limit must be 1 to 100", code="VALIDATION_ERROR")
    entries, last = service.default_store().history(customer_id, kind, int(limit), decode_cursor(cursor))
    view = [
        {"entryId": e["entryId"], "kind": e["kind"], "points": e["points"], "growth": e.get("growth", 0), "at": e["at"],
         "costCentre": e.get("costCentre"), "source": json.loads(e["source"]), "debtChange": e.get("debtChange", 0)}
        for e in entries
    ]
    return ok({"items": view, "nextCursor": encode_cursor(last)})


@api_handler(body=QuoteRequest, idempotency="none")
def quote(request: Request[QuoteRequest]) -> Response:
    body = request.json_body()
    customer_id = body.detail.get("customerId", request.caller.subject)
    request.caller.require_owner_or_operator(str(customer_id))
    return ok(service.quote(service.default_store(), body.eventType, {**body.detail, "customerId": customer_id}))


@api_handler()
def catalogue(request: Request[Any]) -> Response:
    return ok({"items": redemption.catalogue(service.default_store(), active_only=True)})


handler = api_router(
    {
        "GET /v1/customers/{customerId}/points": balance,
        "GET /v1/customers/{customerId}/points/history": history,
        "POST /v1/points/quote": quote,
        "GET /v1/points/catalogue": catalogue,
    }
)
