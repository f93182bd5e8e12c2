"""PIPL rights for operators: export everything held on one customer, or erase them."""

from typing import Any

from loyalty.core.clock import utc_now
from loyalty.core.http import Request, Response, api_handler, api_router, ok
from loyalty.privacy import service


# POST, not GET: an export is an action the audit log must show (who took whose data, when).
@api_handler(idempotency="none", audit_bodies=False)
def export(request: Request[Any]) -> Response:
    return ok(service.export(service.default_store(), request.path_param("customerId"), utc_now()))


@api_handler(audit_bodies=False)
def erase(request: Request[Any]) -> Response:
    return ok(service.erase(service.default_store(), request.path_param("customerId"), utc_now()))


handler = api_router(
    {
        "POST /v1/admin/customers/{customerId}/export": export,
        "POST /v1/admin/customers/{customerId}/erase": erase,
    }
)
