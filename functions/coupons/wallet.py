"""GET /v1/customers/{customerId}/coupons?status=&limit=&cursor=: the customer's wallet."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from loyalty.core.api import CallerDep, Routes, serve
from loyalty.core.api_params import Cursor, CustomerIdPath, limit_query
from loyalty.core.clock import utc_now
from loyalty.coupons import service
from loyalty.coupons.model import CouponStatus
from loyalty.coupons.views import Wallet
from loyalty.org.scope import customers_own

routes = Routes("coupons")


@routes.get(
    "/v1/customers/{customerId}/coupons",
    scope=customers_own(),
    summary="A customer's coupon wallet",
    errors={400: ["INVALID_CURSOR"], 403: ["NOT_RESOURCE_OWNER"]},
)
def wallet(
    customerId: CustomerIdPath,
    caller: CallerDep,
    status: Annotated[CouponStatus | None, Query(description="Only coupons in this status (as of now: a lapsed lock is available again).")] = None,
    limit: Annotated[int, limit_query()] = 20,
    cursor: Cursor = None,
) -> Wallet:
    """Newest first."""
    caller.require_owner_or_operator(customerId)
    return Wallet.model_validate(service.wallet(service.default_store(), customerId, status, limit, cursor, utc_now()))


handler = serve(routes)
