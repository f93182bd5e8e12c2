"""GET /v1/customers/{customerId}: the profile, for the customer themself or an operator."""

from typing import Any

from loyalty.core.http import Request, Response, api_handler, ok
from loyalty.customers import service
from loyalty.customers.logic import customer_view


@api_handler()
def handler(request: Request[Any]) -> Response:
    customer_id = request.path_param("customerId")
    request.caller.require_owner_or_operator(customer_id)
    profile = service.get_profile(service.default_store(), customer_id)
    return ok(customer_view(profile, operator=request.caller.is_operator))
