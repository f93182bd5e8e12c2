"""PUT /v1/admin/customers/{customerId}/tags: operators set the engine's own tags on a customer."""

from loyalty.core.http import Request, Response, api_handler, ok
from loyalty.customers import service
from loyalty.customers.logic import customer_view
from loyalty.customers.model import SetTagsRequest


@api_handler(body=SetTagsRequest)
def handler(request: Request[SetTagsRequest]) -> Response:
    profile = service.set_operator_tags(service.default_store(), request.path_param("customerId"), request.json_body().tags)
    return ok(customer_view(profile))
