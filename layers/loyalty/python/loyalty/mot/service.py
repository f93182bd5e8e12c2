"""Moments become tasks for relationship managers; RMs work them; goals count as conversions (docs/mot.md)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from loyalty.core.clock import business_date, iso_utc
from loyalty.core.config import get_settings
from loyalty.core.errors import BusinessRuleViolation, Conflict, NotFound
from loyalty.core.observability import count, logger
from loyalty.core.outbox import PendingEvent
from loyalty.core.transactions import Refused, Transaction
from loyalty.mot import logic
from loyalty.mot.model import CONTACT_OUTCOMES, MotRuleChange, MotRuleDefinition, Outcome, Rule, TaskRecord, queue_of
from loyalty.mot.store import DynamoMotStore, Limit, budget_draw
from loyalty.mot.views import Book, BookCustomer

SOURCE = "loyalty.mot"
CLOSED = ("done", "expired")
SAVE_ATTEMPTS = 3


@dataclass(frozen=True)
class Customer:
    """What a moment needs of its customer (customers' profile, through their port)."""

    customer_id: str
    manager: str | None
    org_unit: str | None
    tier: str | None
    segments: tuple[str, ...]
    value_minor: int  # the AUM: how overflow ranks
    erased: bool = False  # a PIPL erasure's tombstone: no task is made for them again


class Customers(Protocol):
    def customer(self, customer_id: str) -> Customer | None: ...


class Consents(Protocol):
    def granted(self, customer_id: str, channel: str) -> bool: ...


class Offers(Protocol):
    def value(self, template_id: str) -> Any: ...

    def issue(self, customer_id: str, template_id: str, offer_id: str, now: datetime, *,
              stage: Callable[[Transaction], None], refusals: Mapping[str, Any]) -> Any: ...


# ---- rules --------------------------------------------------------------------------------------------


def rule_id_for(operator: str, idempotency_key: str) -> str:
    """A new rule's id, from who asked and their Idempotency-Key: a retry names the same rule."""
    return "mot-" + hashlib.sha256(f"{operator}|{idempotency_key}".encode()).hexdigest()[:16]


def create_rule(store: DynamoMotStore, rule_id: str, definition: MotRuleDefinition, operator: str, now: datetime) -> Rule:
    at = iso_utc(now)
    rule = Rule(ruleId=rule_id, version=1, definition=definition, createdAt=at, updatedAt=at, updatedBy=operator)
    store.put_rule(rule, None)
    return rule


def change_rule(store: DynamoMotStore, rule_id: str, change: MotRuleChange, operator: str, now: datetime) -> Rule:
    """A new version; 409 RULE_VERSION_CONFLICT when `change.version` is not the newest."""
    current = find_rule(store, rule_id)
    if current.version != change.version:
        raise Conflict(f"rule {rule_id} is at version {current.version}, not {change.version}", code="RULE_VERSION_CONFLICT")
    definition = MotRuleDefinition.model_validate(change.model_dump(exclude={"version"}))
    rule = current.model_copy(update={"version": current.version + 1, "definition": definition, "updatedAt": iso_utc(now),
                                      "updatedBy": operator})
    store.put_rule(rule, current.version)
    return rule


def find_rule(store: DynamoMotStore, rule_id: str) -> Rule:
    found = store.rule(rule_id)
    if found is None:
        raise NotFound(f"MOT rule {rule_id} does not exist", code="RULE_NOT_FOUND")
    return found


# ---- moments ------------------------------------------------------------------------------------------


def on_moment(store: DynamoMotStore, customers: Customers, event_type: str, detail: Mapping[str, Any], occurrence: str,
              now: datetime) -> dict[str, int]:
    """Every active rule the moment matches: a task for the customer's RM (or branch queue), or the
    moment held out. Safe to run again: the task id derives from the rule and the occurrence."""
    outcomes: dict[str, int] = {}
    rules = [r for r in store.active_rules(event_type) if logic.moment_matches(r.definition.trigger, event_type, detail)]
    if not rules:
        return outcomes
    customer_id = str(detail["customerId"])
    customer = customers.customer(customer_id)
    if customer is None:  # the profile is not stored yet: the manager as MOT's own copy of the profile events names them
        known = store.manager(customer_id)
        customer = Customer(customer_id, known.managerId if known else None, None, None, (), 0)
    if customer.erased:
        return {"erased": len(rules)}
    for rule in rules:
        outcome = task_for(store, rule, customer, detail, occurrence, now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
        count(f"MotTasks_{outcome}")
    return outcomes


def task_for(store: DynamoMotStore, rule: Rule, customer: Customer, detail: Mapping[str, Any], occurrence: str, now: datetime) -> str:
    definition, settings = rule.definition, get_settings()
    if not logic.in_audience(definition.audience, customer.tier, customer.segments, customer.value_minor):
        return "not_in_audience"
    if logic.in_holdout(rule.ruleId, customer.customer_id, definition.holdoutPercent):
        return "held_out" if store.hold_out(rule.ruleId, customer.customer_id, occurrence, iso_utc(now), customer.org_unit) else "duplicate"
    day = business_date(now, settings.bank_zone)
    assignee, why = logic.assignee_for(customer.manager, customer.org_unit)
    variables = {**detail, "customerId": customer.customer_id, "ruleName": definition.name}
    task = logic.new_task(rule, customer_id=customer.customer_id, occurrence=occurrence, assignee=assignee, why=why,
                          org_unit=customer.org_unit, value_minor=customer.value_minor, variables=variables, now=now,
                          expiry_days=settings.mot_task_expiry_days)
    expires = int((now + timedelta(days=9)).timestamp())
    week = Limit(f"WEEK#{customer.customer_id}#{logic.iso_week(day)}", settings.mot_tasks_per_customer_weekly, expires)
    capacity = None if why else Limit(f"CAP#{assignee}#{day.isoformat()}", settings.rm_daily_capacity, expires)
    created = store.create_task(task, week, capacity)
    if created == "rm_at_capacity":  # the RM's day is full: the branch's queue takes it, ranked there
        task = task.model_copy(update={"assignee": queue_of(customer.org_unit), "why": "RM_AT_CAPACITY"})
        created = store.create_task(task, week, None)
    return created


def on_goal(store: DynamoMotStore, event_type: str, detail: Mapping[str, Any], now: datetime) -> int:
    """A goal moment converts the customer's contacted tasks (and held-out moments) of the rules it is
    the goal of, within their windows, once each. Returns the conversions counted."""
    goals = {r.ruleId: r.definition.goal for r in store.goal_rules(event_type)
             if r.definition.goal and logic.moment_matches(r.definition.goal.moment, event_type, detail)}
    if not goals:
        return 0
    customer_id, converted, at = str(detail["customerId"]), 0, iso_utc(now)
    for task, version in store.customer_tasks(customer_id):
        goal = goals.get(task.ruleId)
        if goal is None or task.convertedAt or not task.contactedAt or not logic.converts(task.contactedAt, goal.withinDays, now):
            continue
        if save_change(store, task.taskId, lambda t: None if t.convertedAt else t.model_copy(update={"convertedAt": at}),
                 counts={"conversions": 1}, first=(task, version)):
            converted += 1
    for holdout in store.holdouts(customer_id):
        goal = goals.get(holdout.ruleId)
        if goal and not holdout.convertedAt and logic.converts(holdout.at, goal.withinDays, now):
            converted += store.convert_holdout(holdout, at)
    return converted


def on_manager(store: DynamoMotStore, customer_id: str, manager: str | None, changed_at: str) -> int:
    """The customer's manager as the newest profile says: their book moves, and their open tasks
    follow them (to the new RM, or the branch's queue). Older news changes nothing. The same news
    again finishes a move that stopped halfway (the book moved, some tasks not yet)."""
    before = store.manager(customer_id)
    if before is not None and before.changedAt > changed_at:
        return 0
    if before is not None and before.changedAt == changed_at:
        manager = before.managerId  # the stored word for this instant stands
    elif (before is None or before.managerId != manager) and not store.change_manager(customer_id, before, manager, changed_at):
        return 0  # another change came first: it moves the tasks
    moved = 0
    for task, version in store.customer_tasks(customer_id):
        queue = queue_of(task.orgUnitId)
        # An RM's task that is not the manager's, or one queued for want of a manager, follows them;
        # one the branch's queue took for itself (an RM over capacity, overdue) stays there.
        follows = not task.assignee.startswith("branch:") or task.why == "NO_RELATIONSHIP_MANAGER"
        if task.state in CLOSED or not follows or task.assignee == (manager or queue):
            continue
        moved += save_change(store, task.taskId, _follow(manager, queue), first=(task, version))
    return moved


def sweep(store: DynamoMotStore, now: datetime, limit: int = 200) -> dict[str, int]:
    """Overdue tasks escalate to the branch's queue; tasks past their expiry expire."""
    at, swept = iso_utc(now), {"escalated": 0, "expired": 0}
    for task, version in store.sweepable(at, limit):
        if task.expiresAt <= at:
            if save_change(store, task.taskId, lambda t: t.model_copy(update={"state": "expired"}) if t.state not in CLOSED else None,
                     counts={"expired": 1}, close=True, first=(task, version)):
                swept["expired"] += 1
        elif (not task.assignee.startswith("branch:") and task.dueAt <= at
              and save_change(store, task.taskId, _escalate(queue_of(task.orgUnitId)), counts={"escalated": 1}, first=(task, version))):
            swept["escalated"] += 1
    return swept


def _follow(manager: str | None, queue: str) -> Callable[[TaskRecord], TaskRecord | None]:
    def change(task: TaskRecord) -> TaskRecord | None:
        if task.state in CLOSED or task.assignee == (manager or queue):
            return None
        return task.model_copy(update={"assignee": manager or queue, "state": "reassigned", "why": None if manager else "NO_RELATIONSHIP_MANAGER"})

    return change


def _escalate(queue: str) -> Callable[[TaskRecord], TaskRecord | None]:
    def change(task: TaskRecord) -> TaskRecord | None:
        if task.state in CLOSED or task.assignee.startswith("branch:"):
            return None
        return task.model_copy(update={"assignee": queue, "state": "reassigned", "why": "OVERDUE"})

    return change


def save_change(store: DynamoMotStore, task_id: str, change: Callable[[TaskRecord], TaskRecord | None], *, counts: Mapping[str, int] | None = None,
          close: bool = False, first: tuple[TaskRecord, int] | None = None) -> bool:
    """`change` applied to the task as stored, conditioned on its version; read again when another
    writer moved it meanwhile. False when `change` says there is nothing to do."""
    found = first or store.task(task_id)
    for _ in range(SAVE_ATTEMPTS):
        if found is None:
            return False
        task, version = found
        after = change(task)
        if after is None:
            return False
        try:
            store.save_task(after, version, counts=counts, close=close)
            return True
        except Refused as refused:
            if not refused.failed("task"):
                raise
            found = store.task(task_id)
    raise Conflict(f"task {task_id} kept changing; retry", code="TASK_CONTENDED")


# ---- the relationship manager's work --------------------------------------------------------------------


def tasks(store: DynamoMotStore, manager: str, status: str | None) -> list[TaskRecord]:
    return logic.ranked(t for t in store.tasks_of(manager) if status is None or t.state == status)


def own_task(store: DynamoMotStore, manager: str, task_id: str) -> tuple[TaskRecord, int]:
    """The RM's own task; another's, or one that does not exist, is 404 alike."""
    found = store.task(task_id)
    if found is None or found[0].assignee != manager:
        raise NotFound(f"task {task_id} does not exist", code="TASK_NOT_FOUND")
    return found


def _open(task: TaskRecord) -> None:
    if task.state in CLOSED:
        raise Conflict(f"task {task.taskId} is {task.state}", code="TASK_CLOSED")


def start(store: DynamoMotStore, manager: str, task_id: str, now: datetime) -> TaskRecord:
    task, version = own_task(store, manager, task_id)
    if task.state == "in_progress":
        return task
    _open(task)
    after = task.model_copy(update={"state": "in_progress", "startedAt": iso_utc(now)})
    _commit(lambda: store.save_task(after, version), task_id)
    return after


def complete(store: DynamoMotStore, manager: str, task_id: str, outcome: Outcome, note: str | None, now: datetime) -> TaskRecord:
    task, version = own_task(store, manager, task_id)
    if task.state == "done" and task.outcome == outcome and task.note == note:
        return task  # a retry
    _open(task)
    at = iso_utc(now)
    reached = outcome in CONTACT_OUTCOMES
    after = task.model_copy(update={"state": "done", "outcome": outcome, "note": note, "completedAt": at,
                                    "contactedAt": task.contactedAt or (at if reached else None)})
    counts = {"done": 1, f"outcome_{outcome}": 1, "doneWithinSla": int(at <= task.dueAt), "contacted": int(reached and not task.contactedAt)}
    _commit(lambda: store.save_task(after, version, counts=counts, close=True, book=manager), task_id)
    return after


def send_offer(store: DynamoMotStore, offers: Offers, manager: str, task_id: str, now: datetime) -> TaskRecord:
    """The task's suggested coupon, issued with the RM's month's budget drawn and the task marked, in
    one transaction: 422 RM_BUDGET_EXCEEDED (nothing issued) when its value would pass the budget."""
    task, version = own_task(store, manager, task_id)
    if task.offer is None:
        raise BusinessRuleViolation(f"task {task_id}'s rule suggests no offer", code="NO_OFFER_SUGGESTED")
    if task.offerCouponId:
        return task
    _open(task)
    from loyalty.coupons.ports import offer_coupon_id

    settings, at = get_settings(), iso_utc(now)
    value = offers.value(task.offer.templateId)
    limit = settings.rm_offer_budget_monthly_minor
    refused = BusinessRuleViolation(f"the offer's value ({value.value_minor}) would pass your month's offer budget ({limit})",
                                    code="RM_BUDGET_EXCEEDED")
    if value.value_minor > limit:
        raise refused
    month = business_date(now, settings.bank_zone).strftime("%Y-%m")
    after = task.model_copy(update={"offerCouponId": offer_coupon_id(task_id), "contactedAt": task.contactedAt or at})
    counts = {"offers": 1, "contacted": int(not task.contactedAt)}

    def stage(transaction: Transaction) -> None:
        budget_draw(transaction, f"BUDGET#{manager}#{month}", value.value_minor, limit)
        store.stage_task(transaction, after, version, counts=counts, book=manager)

    offers.issue(task.customerId, task.offer.templateId, task_id, now, stage=stage,
                 refusals={"rm-budget": refused, "task": Conflict(f"task {task_id} changed meanwhile; retry", code="TASK_CHANGED")})
    return own_task(store, manager, task_id)[0]


def send_message(store: DynamoMotStore, consents: Consents, manager: str, task_id: str, now: datetime) -> TaskRecord:
    """The task's suggested message, handed to delivery (RmMessageRequested) with the task marked, in
    one transaction; 422 NO_CONSENT, and nothing sent, without the customer's consent on the channel."""
    task, version = own_task(store, manager, task_id)
    if task.message is None:
        raise BusinessRuleViolation(f"task {task_id}'s rule suggests no message", code="NO_MESSAGE_SUGGESTED")
    if task.messageId:
        return task
    _open(task)
    if not consents.granted(task.customerId, task.message.channel):
        raise BusinessRuleViolation(f"the customer has not consented to marketing on {task.message.channel}", code="NO_CONSENT")
    at, notification = iso_utc(now), f"mot-{task_id}"
    after = task.model_copy(update={"messageId": notification, "contactedAt": task.contactedAt or at})
    request = {"notificationId": notification, "customerId": task.customerId, "channel": task.message.channel,
               "templateId": f"mot:{task.ruleId}", "variables": {"content": task.message.content, "sender": manager},
               "kind": "marketing", "taskId": task_id, "relationshipManagerId": manager}
    event = PendingEvent(SOURCE, "RmMessageRequested", request)
    _commit(lambda: store.save_task(after, version, counts={"messages": 1, "contacted": int(not task.contactedAt)}, events=[event],
                                    book=manager), task_id)
    return after


class Profiles(Protocol):
    def profiles(self, customer_ids: Sequence[str]) -> Mapping[str, Any]: ...


def book(store: DynamoMotStore, directory: Profiles, manager: str) -> Book:
    """The RM's customers, the most valuable first, with their open tasks and the last contact."""
    entries = store.book(manager)
    profiles = directory.profiles([e.customerId for e in entries])
    open_tasks: dict[str, int] = {}
    for task in store.tasks_of(manager):
        if task.state not in CLOSED:
            open_tasks[task.customerId] = open_tasks.get(task.customerId, 0) + 1
    items = []
    for entry in entries:
        profile = profiles.get(entry.customerId)
        items.append(BookCustomer(customerId=entry.customerId, since=entry.since, lastContactAt=entry.lastContactAt,
                                  aumMinor=getattr(profile, "aumMinor", None), currency=getattr(profile, "currency", None),
                                  tier=getattr(profile, "tier", None), segments=list(getattr(profile, "segments", [])),
                                  openTasks=open_tasks.get(entry.customerId, 0)))
    return Book(items=sorted(items, key=lambda c: (-(c.aumMinor or 0), c.customerId)))


def _commit(write: Callable[[], None], task_id: str) -> None:
    try:
        write()
    except Refused as refused:
        if refused.failed("task"):
            raise Conflict(f"task {task_id} changed meanwhile; read it and retry", code="TASK_CHANGED") from None
        raise


def log_outcomes(event_type: str, outcomes: Mapping[str, int]) -> None:
    if outcomes:
        logger.info("moment handled", extra={"eventType": event_type, "outcomes": dict(outcomes)})
