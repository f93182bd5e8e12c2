"""GET /v1/customers/{customerId}: the profile, for the customer themself or an operator; and the
customer's marketing consents (PIPL), set by the customer themself."""

from loyalty.core.api import CallerDep, IdempotencyKey, Routes, serve
from loyalty.core.api_params import CustomerIdPath
from loyalty.core.clock import utc_now
from loyalty.customers import service
from loyalty.customers.consents import ConsentsRequest, ConsentsView
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


def _consents_now(customer_id: str) -> ConsentsView:
    """A retry's answer when the first try wrote and died before answering: the consents as they are."""
    return service.consents(service.default_store(), customer_id)


@routes.get("/v1/customers/{customerId}/consents", scope=customers_own(), summary="A customer's marketing consents",
            operation_id="getCustomerConsents", errors={403: ["NOT_RESOURCE_OWNER"], 404: ["CUSTOMER_NOT_FOUND"]})
def get_customer_consents(customerId: CustomerIdPath, caller: CallerDep) -> ConsentsView:
    """Per channel (WeCom, SMS, push): whether the customer consents to marketing messages, since
    when, and who said so last (the bank, or the customer). Nothing ever said is no consent."""
    caller.require_owner_or_operator(customerId)
    return service.consents(service.default_store(), customerId)


@routes.put("/v1/customers/{customerId}/consents", summary="Give or withdraw marketing consent, channel by channel",
            operators_too=False, operation_id="setCustomerConsents", replay=lambda call: _consents_now(call.path_param("customerId")),
            errors={403: ["NOT_RESOURCE_OWNER"], 409: ["CUSTOMER_ERASED"]})
def set_customer_consents(customerId: CustomerIdPath, body: ConsentsRequest, key: IdempotencyKey, caller: CallerDep) -> ConsentsView:
    """The customer's own choice, for the channels named (the others stay as they are), as of now:
    a later word from the bank on a channel replaces it, an earlier one arriving late does not. Only
    the customer's own token: an operator records consent through the bank's systems
    (`CustomerConsentChanged`). No marketing message goes out on a channel without it."""
    caller.require_owner_or_operator(customerId)
    return service.set_consents(service.default_store(), customerId, body, key, utc_now())


handler = serve(routes)
