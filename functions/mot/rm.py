"""The relationship manager's API (客户经理工作台): their own tasks and book. The token's subject is the
manager; another RM's task or customer is 404, as one that does not exist (docs/mot.md)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from loyalty.core.api import Call, CallerDep, IdempotencyKey, Routes, serve
from loyalty.core.api_params import id_path
from loyalty.core.clock import utc_now
from loyalty.mot import service
from loyalty.mot.model import TaskRecord, TaskState
from loyalty.mot.store import DynamoMotStore
from loyalty.mot.views import Book, CompleteRequest, TaskList

routes = Routes("mot")
TaskIdPath = Annotated[str, id_path("The task's id.")]
TASK = "/v1/rm/tasks/{taskId}"
OWN = {404: ["TASK_NOT_FOUND"], 409: ["TASK_CLOSED", "TASK_CHANGED"]}


def _task_now(call: Call) -> TaskRecord:
    """A retry's answer when the first try committed and died before answering: the task as it is."""
    return service.own_task(DynamoMotStore(), call.caller.subject, call.path_param("taskId"))[0]


@routes.get("/v1/rm/tasks", operators_too=False, summary="My tasks", operation_id="listMyTasks")
def list_my_tasks(caller: CallerDep, status: Annotated[TaskState | None, Query(description="Only tasks in this state.")] = None) -> TaskList:
    """The caller's own tasks: the most urgent first, then the most valuable customer, then the earliest due."""
    return TaskList(items=service.tasks(DynamoMotStore(), caller.subject, status))


@routes.post(f"{TASK}/start", operators_too=False, summary="Start working a task", operation_id="startTask", replay=_task_now,
             errors=OWN)
def start_task(taskId: TaskIdPath, key: IdempotencyKey, caller: CallerDep) -> TaskRecord:
    """Open (or reassigned) becomes in progress; one in progress is answered as it is."""
    return service.start(DynamoMotStore(), caller.subject, taskId, utc_now())


@routes.post(f"{TASK}/complete", operators_too=False, summary="Complete a task with its outcome", operation_id="completeTask",
             replay=_task_now, errors=OWN)
def complete_task(taskId: TaskIdPath, body: CompleteRequest, key: IdempotencyKey, caller: CallerDep) -> TaskRecord:
    """Done, with the outcome (contacted, interested, converted, unreachable or declined) and a note.
    Contacted, interested and converted mark the contact: the rule's goal moment within its window
    counts as a conversion. The customer may get another task of the rule from now on."""
    return service.complete(DynamoMotStore(), caller.subject, taskId, body.outcome, body.note, utc_now())


@routes.post(f"{TASK}/offer", operators_too=False, summary="Send the task's suggested coupon", operation_id="sendTaskOffer",
             replay=_task_now,
             errors={**OWN, 404: ["TASK_NOT_FOUND", "TEMPLATE_NOT_FOUND"], 409: [*OWN[409], "COUPON_OUT_OF_STOCK", "COUPON_LIMIT_REACHED"],
                     422: ["NO_OFFER_SUGGESTED", "RM_BUDGET_EXCEEDED", "TEMPLATE_NOT_ACTIVE", "NOT_ELIGIBLE"]})
def send_task_offer(taskId: TaskIdPath, key: IdempotencyKey, caller: CallerDep) -> TaskRecord:
    """Issues the rule's coupon to the customer's wallet, drawing its value on the caller's offer
    budget for the month, in the coupon's own transaction: past the budget is 422
    `RM_BUDGET_EXCEEDED` and nothing is issued. Once per task: again answers the task as it is."""
    from loyalty.coupons.ports import offers

    return service.send_offer(DynamoMotStore(), offers(), caller.subject, taskId, utc_now())


@routes.post(f"{TASK}/message", operators_too=False, summary="Send the task's suggested message", operation_id="sendTaskMessage",
             replay=_task_now, errors={**OWN, 422: ["NO_MESSAGE_SUGGESTED", "NO_CONSENT"]})
def send_task_message(taskId: TaskIdPath, key: IdempotencyKey, caller: CallerDep) -> TaskRecord:
    """Hands the rule's message (WeCom by default) to delivery, which keeps quiet hours and the
    customer's caps. Without the customer's marketing consent on the channel: 422 `NO_CONSENT`, and
    nothing is sent. Once per task."""
    from loyalty.customers.ports import consents

    return service.send_message(DynamoMotStore(), consents(), caller.subject, taskId, utc_now())


@routes.get("/v1/rm/customers", operators_too=False, summary="My book of customers", operation_id="listMyCustomers")
def list_my_customers(caller: CallerDep) -> Book:
    """The customers whose profile names the caller as their manager: value, member level, segments,
    open tasks and the last contact."""
    from loyalty.customers.ports import directory

    return service.book(DynamoMotStore(), directory(), caller.subject)


handler = serve(routes)
