"""GET /v1/customers/{customerId}: the profile, for the customer themself or an operator."""

from loyalty.core.api import CallerDep, Routes, serve
from loyalty.core.api_params import CustomerIdPath
from loyalty.customers import service
from loyalty.customers.logic import customer_view
from loyalty.customers.views import CustomerView, OperatorCustomerView
from loyalty.org.scope import customers_own

routes = Routes("customers")


@routes.get(
    "/v1/customers/{customerId}",
    scope=customers_own(),
    summary="A customer's profile",
    errors={403: ["NOT_RESOURCE_OWNER"], 404: ["CUSTOMER_NOT_FOUND"]},
)
def get_customer(customerId: CustomerIdPath, caller: CallerDep) -> CustomerView | OperatorCustomerView:
    """The customer sees their own profile with their member level and lifecycle stage; an operator
    sees anyone's, with their segments and scores too."""
    caller.require_owner_or_operator(customerId)
    profile = service.get_profile(service.default_store(), customerId)
    view = customer_view(profile, operator=caller.is_operator)
    return OperatorCustomerView.model_validate(view) if caller.is_operator else CustomerView.model_validate(view)


handler = serve(routes)
