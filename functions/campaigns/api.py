"""What a customer sees of campaigns: the task centre (任务中心) with their progress, and MGM invite
codes with the referrals made with them."""

from typing import Any

from loyalty.campaigns import referrals, service, tasks
from loyalty.core.clock import utc_now
from loyalty.core.http import Request, Response, api_handler, api_router, ok


@api_handler()
def task_centre(request: Request[Any]) -> Response:
    customer_id = request.path_param("customerId")
    request.caller.require_owner_or_operator(customer_id)
    return ok({"customerId": customer_id, "tasks": tasks.task_centre(service.default_store(), customer_id, utc_now())})


@api_handler()
def invite_code(request: Request[Any]) -> Response:
    customer_id = request.path_param("customerId")
    request.caller.require_owner(customer_id)
    return ok(referrals.invite_code(service.default_store(), customer_id, utc_now()))


@api_handler()
def my_referrals(request: Request[Any]) -> Response:
    customer_id = request.path_param("customerId")
    request.caller.require_owner_or_operator(customer_id)
    return ok(referrals.referrals_of(service.default_store(), customer_id))


handler = api_router(
    {
        "GET /v1/customers/{customerId}/tasks": task_centre,
        "POST /v1/customers/{customerId}/invite-code": invite_code,
        "GET /v1/customers/{customerId}/referrals": my_referrals,
    }
)
