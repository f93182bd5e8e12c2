"""Operator API for MOT rules: versioned, audited and org-scoped like campaigns, with each rule's
effectiveness report and a branch's queue of tasks (docs/mot.md)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query

from loyalty.core.api import Audit, Call, CallerDep, IdempotencyKey, Routes, ScopeDep, serve
from loyalty.core.api_params import id_path
from loyalty.core.clock import utc_now
from loyalty.core.errors import NotFound
from loyalty.mot import logic, service
from loyalty.mot.model import MotRuleChange, MotRuleDefinition, TaskState, queue_of
from loyalty.mot.store import DynamoMotStore
from loyalty.mot.views import MotRuleChangeRequest, MotRuleList, MotRuleReport, MotRuleRequest, MotRuleView, TaskList
from loyalty.org.scope import CREATING, BankWide, Creating, Scope, claimed, owned, require_reference

RULES = "/v1/admin/mot-rules"
routes = Routes("mot", "Key customer moments: rules, relationship managers' tasks, and their effectiveness.")
RuleIdPath = Annotated[str, id_path("The MOT rule's id.")]
UnitIdPath = Annotated[str, id_path("The org unit whose queue it is.")]
RULE = owned(lambda rule_id: service.find_rule(DynamoMotStore(), rule_id).definition.orgUnitId, "ruleId", "RULE_NOT_FOUND",
             "MOT rule {ruleId} does not exist")


def _queue_unit(unit_id: str) -> str | None:
    """The unit whose queue it is (None: the head office's); 404 for a unit the tree does not hold."""
    from loyalty.org.ports import units

    unit = units().get(unit_id)
    if unit is None:
        raise NotFound(f"org unit {unit_id} does not exist", code="ORG_UNIT_NOT_FOUND")
    return None if unit.is_root else unit_id


QUEUE = owned(_queue_unit, "unitId", "ORG_UNIT_NOT_FOUND", "org unit {unitId} does not exist")
ANY_OPERATOR = BankWide()
REFUSALS = ["ORG_UNIT_INVALID", "TEMPLATE_NOT_FOUND"]


def _owned(definition: MotRuleDefinition, scope: Scope, *, stored: str | Creating | None = CREATING) -> MotRuleDefinition:
    """The rule with its unit decided (`claimed`), and its offer's template on that unit's line of the tree."""
    owned_rule = claimed(definition, scope, stored=stored)
    if owned_rule.task.offer is not None:
        from loyalty.coupons.ports import template_units

        template = owned_rule.task.offer.templateId
        require_reference(scope, template_units().unit_of(template), owned_rule.orgUnitId, code="TEMPLATE_NOT_FOUND",
                          message=f"coupon template {template} does not exist")
    return owned_rule


def _rule_as_stored(call: Call) -> MotRuleView:
    """A retry's answer when the first try committed and died before answering: the rule as it now is."""
    rule_id = call.path_params.get("ruleId") or service.rule_id_for(call.caller.subject, call.idempotency_key or "")
    return MotRuleView.of(service.find_rule(DynamoMotStore(), rule_id))


@routes.post(RULES, scope=ANY_OPERATOR, summary="Create a MOT rule", status=201, replay=_rule_as_stored, operation_id="createMotRule",
             links={"getMotRule": {"ruleId": "$response.body#/ruleId"}, "getMotRuleReport": {"ruleId": "$response.body#/ruleId"}},
             errors={409: ["RULE_VERSION_CONFLICT"], 422: REFUSALS})
def create_mot_rule(body: MotRuleRequest, key: IdempotencyKey, caller: CallerDep, scope: ScopeDep) -> MotRuleView:
    """Version 1 of a rule: when its trigger's moment matches, a task for the customer's relationship
    manager (or their branch's queue). The pattern must be able to match: it tests fields the event
    has, with values of their kind (400 otherwise). An `orgUnitId` outside the caller's subtree is
    422 `ORG_UNIT_INVALID` (left out: the caller's unit); an offer's template must be on its line of
    the tree (422 `TEMPLATE_NOT_FOUND`)."""
    definition = _owned(MotRuleDefinition.model_validate(body.model_dump()), scope)
    rule = service.create_rule(DynamoMotStore(), service.rule_id_for(caller.subject, key), definition, caller.subject, utc_now())
    return MotRuleView.of(rule)


@routes.get(RULES, scope=ANY_OPERATOR, summary="List the MOT rules", operation_id="listMotRules")
def list_mot_rules(scope: ScopeDep) -> MotRuleList:
    """Every rule of the caller's subtree, active or paused, in id order."""
    return MotRuleList(items=[MotRuleView.of(r) for r in DynamoMotStore().rules() if scope.sees(r.definition.orgUnitId)])


@routes.get(f"{RULES}/{{ruleId}}", scope=RULE, summary="A MOT rule", operation_id="getMotRule", errors={404: ["RULE_NOT_FOUND"]})
def get_mot_rule(ruleId: RuleIdPath) -> MotRuleView:
    return MotRuleView.of(service.find_rule(DynamoMotStore(), ruleId))


def _rule_now(call: Call) -> Any:
    return MotRuleView.of(service.find_rule(DynamoMotStore(), call.path_param("ruleId"))).model_dump(mode="json")


@routes.put(f"{RULES}/{{ruleId}}", scope=RULE, summary="Change a MOT rule (a new version)", operation_id="updateMotRule",
            audit=Audit(before=_rule_now), replay=_rule_as_stored,
            errors={404: ["RULE_NOT_FOUND"], 409: ["RULE_VERSION_CONFLICT"], 422: REFUSALS})
def update_mot_rule(ruleId: RuleIdPath, body: MotRuleChangeRequest, key: IdempotencyKey, caller: CallerDep, scope: ScopeDep) -> MotRuleView:
    """The whole definition again, with the `version` it replaces (409 `RULE_VERSION_CONFLICT` when
    another change came first). Pausing is `status: paused`. Tasks already created keep the version
    that created them."""
    store = DynamoMotStore()
    stored = service.find_rule(store, ruleId).definition.orgUnitId
    definition = _owned(MotRuleDefinition.model_validate(body.model_dump(exclude={"version"})), scope, stored=stored)
    change = MotRuleChange.model_validate({**definition.model_dump(), "version": body.version})
    return MotRuleView.of(service.change_rule(store, ruleId, change, caller.subject, utc_now()))


@routes.get(f"{RULES}/{{ruleId}}/report", scope=RULE, summary="A MOT rule's effectiveness", operation_id="getMotRuleReport",
            errors={404: ["RULE_NOT_FOUND"]})
def get_mot_rule_report(ruleId: RuleIdPath) -> MotRuleReport:
    """Per rule, per relationship manager (or branch queue) and per branch: tasks created, done, done
    within their SLA, outcomes, offers and messages sent, and conversions (the rule's goal moment
    within its window of the contact); and the uplift against the rule's holdout (customers of the
    same moments for whom no task was created). Counted as tasks change: no scan."""
    store = DynamoMotStore()
    return MotRuleReport.of(service.find_rule(store, ruleId), store.report_rows(ruleId))


@routes.get("/v1/admin/org-units/{unitId}/mot-tasks", scope=QUEUE, summary="A branch's queue of MOT tasks", operation_id="listBranchMotTasks",
            errors={404: ["ORG_UNIT_NOT_FOUND"]})
def list_branch_mot_tasks(unitId: UnitIdPath,
                          status: Annotated[TaskState | None, Query(description="Only tasks in this state.")] = None) -> TaskList:
    """Tasks waiting in the unit's queue: customers without a relationship manager, RMs over their
    day's capacity, and overdue tasks escalated. The most urgent first, then the most valuable customer."""
    queue = queue_of(_queue_unit(unitId))
    return TaskList(items=logic.ranked(t for t in DynamoMotStore().tasks_of(queue) if status is None or t.state == status))


handler = serve(routes)
