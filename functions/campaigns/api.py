"""What a customer sees of campaigns: the task centre (任务中心) with their progress, and MGM invite
codes with the referrals made with them."""

from loyalty.campaigns import referrals, service, tasks
from loyalty.campaigns.views import InviteCode, Referrals, TaskCentre
from loyalty.core.api import Call, CallerDep, IdempotencyKey, Routes, serve
from loyalty.core.api_params import CustomerIdPath
from loyalty.core.clock import utc_now
from loyalty.org.scope import customers_own

routes = Routes("campaigns")
CUSTOMER = customers_own()  # an operator reads the customers of their subtree


@routes.get(
    "/v1/customers/{customerId}/tasks", scope=CUSTOMER, summary="A customer's task centre", errors={403: ["NOT_RESOURCE_OWNER"]}
)
def get_task_centre(customerId: CustomerIdPath, caller: CallerDep) -> TaskCentre:
    """Every active task and check-in streak campaign (任务中心), with the customer's progress in it."""
    caller.require_owner_or_operator(customerId)
    shown = tasks.task_centre(service.default_store(), customerId, utc_now())
    return TaskCentre.model_validate({"customerId": customerId, "tasks": shown})


def _invite_code_as_stored(call: Call) -> InviteCode:
    """A retry's answer when the first try committed and died before answering: the code it registered
    (read back: the customer's code is the same on every call)."""
    customer_id = call.path_param("customerId")
    call.caller.require_owner(customer_id)
    return InviteCode.model_validate(referrals.invite_code(service.default_store(), customer_id, utc_now()))


@routes.post("/v1/customers/{customerId}/invite-code", summary="A customer's invite code (MGM)", operators_too=False,
             replay=_invite_code_as_stored, errors={403: ["NOT_RESOURCE_OWNER"], 409: ["INVITE_CODE_CONTENDED"]})
def create_invite_code(customerId: CustomerIdPath, key: IdempotencyKey, caller: CallerDep) -> InviteCode:
    """The customer's own code for inviting others (老带新), registered on the first call; the same
    code every time after. Only the customer themself may ask for it."""
    caller.require_owner(customerId)
    return InviteCode.model_validate(referrals.invite_code(service.default_store(), customerId, utc_now()))


@routes.get(
    "/v1/customers/{customerId}/referrals",
    scope=CUSTOMER,
    summary="A customer's referrals (MGM)",
    errors={403: ["NOT_RESOURCE_OWNER"]},
)
def get_referrals(customerId: CustomerIdPath, caller: CallerDep) -> Referrals:
    """The customer's invite code and the referrals made with it, the invitees masked."""
    caller.require_owner_or_operator(customerId)
    return Referrals.model_validate(referrals.referrals_of(service.default_store(), customerId))


handler = serve(routes)
