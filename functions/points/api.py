"""Customer points: balance, history, the trial calculation (积分试算) and the redemption catalogue."""

import json
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from loyalty.core.api import CallerDep, Routes, serve
from loyalty.core.api_params import Cursor, CustomerIdPath, limit_query
from loyalty.core.clock import utc_now
from loyalty.org.scope import BankWide, customers_own
from loyalty.points import redemption, service
from loyalty.points.model import EntryKind, QuoteRequest
from loyalty.points.views import BalanceView, CataloguePage, HistoryPage, QuoteView

routes = Routes("points")
CUSTOMER = customers_own()  # an operator reads the customers of their subtree
QUOTED_CUSTOMER = customers_own(customer_of=lambda call: getattr(call.body, "detail", {}).get("customerId"))


@routes.get(
    "/v1/customers/{customerId}/points",
    scope=CUSTOMER,
    summary="A customer's points balance",
    errors={403: ["NOT_RESOURCE_OWNER"]},
)
def get_points_balance(customerId: CustomerIdPath, caller: CallerDep) -> BalanceView:
    """Available, pending (held by the risk warning), held (by open redemptions), debt, growth value,
    member level, and what lapses in the next 30 days. A customer with no points has zeros."""
    caller.require_owner_or_operator(customerId)
    return BalanceView.model_validate(service.balance(service.default_store(), customerId, utc_now()))


@routes.get(
    "/v1/customers/{customerId}/points/history",
    scope=CUSTOMER,
    summary="A customer's points history",
    errors={400: ["INVALID_CURSOR"], 403: ["NOT_RESOURCE_OWNER"]},
)
def get_points_history(
    customerId: CustomerIdPath,
    caller: CallerDep,
    kind: Annotated[EntryKind | None, Query(description="Only entries of this kind.")] = None,
    limit: Annotated[int, limit_query()] = 20,
    cursor: Cursor = None,
) -> HistoryPage:
    """Every ledger entry, newest first: earnings, redemptions, expiries, reversals (refunds, released
    redemptions) and operators' adjustments."""
    caller.require_owner_or_operator(customerId)
    entries, next_cursor = service.default_store().history(customerId, kind, limit, cursor)
    items = [
        {"entryId": e["entryId"], "kind": e["kind"], "points": e["points"], "growth": e.get("growth", 0), "at": e["at"],
         "costCentre": e.get("costCentre"), "source": json.loads(e["source"]), "debtChange": e.get("debtChange", 0)}
        for e in entries
    ]
    return HistoryPage.model_validate({"items": items, "nextCursor": next_cursor})


@routes.post(
    "/v1/points/quote",
    scope=QUOTED_CUSTOMER,
    summary="Quote what an event would earn (积分试算)",
    idempotency="none",
    errors={403: ["NOT_RESOURCE_OWNER"]},
)
def quote_points(body: QuoteRequest, caller: CallerDep) -> QuoteView:
    """What each earn rule would award this event now, before and after its caps, for the event's
    `customerId` (the caller if it names none; an operator may quote for anyone). Books nothing and
    takes no Idempotency-Key. An event that breaks its contract is 400 `VALIDATION_ERROR`."""
    customer_id = body.detail.get("customerId", caller.subject)
    caller.require_owner_or_operator(str(customer_id))
    return QuoteView.model_validate(service.quote(service.default_store(), body.eventType, {**body.detail, "customerId": customer_id}))


@routes.get("/v1/points/catalogue", scope=BankWide(), summary="What points can buy")
def get_points_catalogue() -> CataloguePage:
    """The active catalogue items: coupons, and mall items paid in points and cash."""
    return CataloguePage.model_validate({"items": redemption.catalogue(service.default_store(), active_only=True)})


handler = serve(routes)
