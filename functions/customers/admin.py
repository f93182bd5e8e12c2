"""PUT /v1/admin/customers/{customerId}/tags: operators set the engine's own tags on a customer."""

from typing import Any

from loyalty.core.http import Request, Response, api_handler, ok
from loyalty.customers import service
from loyalty.customers.logic import customer_view
from loyalty.customers.model import SetTagsRequest


def _tags_now(request: Request[SetTagsRequest]) -> dict[str, Any]:
    profile = service.default_store().get(request.path_param("customerId"))
    return {"operatorTags": profile.operatorTags if profile else None}


# The log keeps the tags only: the response is the whole profile, and the append-only log would
# keep it past the customer's erasure.
@api_handler(body=SetTagsRequest, audit_before=_tags_now, audit_after=lambda body: {"operatorTags": body.get("operatorTags")})
def handler(request: Request[SetTagsRequest]) -> Response:
    profile = service.set_operator_tags(service.default_store(), request.path_param("customerId"), request.json_body().tags)
    return ok(customer_view(profile))
