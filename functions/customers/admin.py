"""PUT /v1/admin/customers/{customerId}/tags: operators set the engine's own tags on a customer."""

from typing import Any

from loyalty.core.api import Audit, Call, IdempotencyKey, Routes, serve
from loyalty.core.api_params import CustomerIdPath
from loyalty.customers import service
from loyalty.customers.logic import customer_view
from loyalty.customers.model import SetTagsRequest
from loyalty.customers.views import OperatorCustomerView
from loyalty.org.scope import customers_own

routes = Routes("customers")


def _tags_now(call: Call) -> dict[str, Any]:
    profile = service.default_store().get(call.path_param("customerId"))
    return {"operatorTags": profile.operatorTags if profile else None}


def _customer_as_stored(call: Call) -> OperatorCustomerView:
    """A retry's answer when the first try committed and died before answering: the profile as it now
    is. (Today the tags are written by a raw request, which is not marked: a retry runs again.)"""
    return OperatorCustomerView.model_validate(customer_view(service.get_profile(service.default_store(), call.path_param("customerId"))))


# The log keeps the tags only: the response is the whole profile, and the append-only log would
# keep it past the customer's erasure.
@routes.put(
    "/v1/admin/customers/{customerId}/tags",
    scope=customers_own(),
    summary="Set the engine's own tags on a customer",
    errors={404: ["CUSTOMER_NOT_FOUND"], 409: ["CUSTOMER_ERASED"]},
    audit=Audit(before=_tags_now, after=lambda body: {"operatorTags": body.get("operatorTags")}),
    replay=_customer_as_stored,
)
def set_tags(customerId: CustomerIdPath, body: SetTagsRequest, key: IdempotencyKey) -> OperatorCustomerView:
    """Replaces the customer's operator tags (core banking's own tags are kept apart) and announces
    `CustomerTagsChanged`, so scoring re-scores the customer at once."""
    profile = service.set_operator_tags(service.default_store(), customerId, body.tags)
    return OperatorCustomerView.model_validate(customer_view(profile))


handler = serve(routes)
