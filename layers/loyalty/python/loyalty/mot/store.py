"""The mot table (loyalty/mot/items.py): rules, tasks and their counters, each change one transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.update import Action

from loyalty.core.outbox import PendingEvent
from loyalty.core.transactions import Refused, Transaction
from loyalty.mot.items import (
    OPEN,
    RULES,
    BookItem,
    CounterItem,
    HoldoutItem,
    ManagerItem,
    MotOutbox,
    OpenItem,
    RuleItem,
    RuleVersionItem,
    RunItem,
    StatsItem,
    TaskItem,
)
from loyalty.mot.model import MotRuleDefinition, Rule, TaskRecord

Created = Literal["created", "duplicate", "already_open", "customer_capped", "rm_at_capacity"]
OPEN_STATES = ("open", "in_progress", "reassigned")


@dataclass(frozen=True)
class Limit:
    """A counter that may not pass `limit` (one more per write), and when it may be forgotten."""

    name: str
    limit: int
    expires_epoch: int | None


def stats_rows(rule_id: str, assignee: str, org_unit: str | None) -> list[tuple[str, str]]:
    """The report's rows one task counts in: the rule's, its RM's (or branch queue's) and its unit's."""
    return [(f"STATS#{rule_id}", "ALL"), (f"STATS#{rule_id}", f"RM#{assignee}"), (f"STATS#{rule_id}", f"UNIT#{org_unit or 'hq'}")]


def _stats(transaction: Transaction, rule_id: str, assignee: str, org_unit: str | None, counts: Mapping[str, int]) -> None:
    for i, (pk, sk) in enumerate(stats_rows(rule_id, assignee, org_unit)):
        transaction.update(f"stats#{i}", StatsItem(pk, sk), [getattr(StatsItem, name).add(n) for name, n in counts.items()])


def _count(transaction: Transaction, label: str, limit: Limit) -> None:
    actions: list[Action] = [CounterItem.n.add(1)]
    if limit.expires_epoch is not None:
        actions.append(CounterItem.expiresAt.set(limit.expires_epoch))
    transaction.update(label, CounterItem(f"COUNT#{limit.name}", "COUNT"), actions,
                       CounterItem.n.does_not_exist() | (CounterItem.n < limit.limit))


class DynamoMotStore:
    # ---- rules ------------------------------------------------------------------------------------
    def put_rule(self, rule: Rule, previous_version: int | None) -> None:
        """The rule's newest version and its history entry, in one transaction; refused (409) when
        the newest is no longer `previous_version` (None: the rule must not exist yet)."""
        from loyalty.core.errors import Conflict

        definition = rule.definition
        item = RuleItem(f"RULE#{rule.ruleId}", "RULE", definition=definition.model_dump_json(), orgUnitId=definition.orgUnitId,
                        createdAt=rule.createdAt, updatedAt=rule.updatedAt, updatedBy=rule.updatedBy, gsi1pk=RULES, gsi1sk=rule.ruleId,
                        gsi2pk=f"TRIGGER#{definition.trigger.eventType}" if definition.status == "active" else None,
                        gsi2sk=rule.ruleId if definition.status == "active" else None,
                        gsi3pk=f"GOAL#{definition.goal.moment.eventType}" if definition.goal else None,
                        gsi3sk=rule.ruleId if definition.goal else None)
        # PynamoDB conditions the put on the version the model holds (none: not written yet) and moves it up by one.
        if previous_version is not None:
            item.version = previous_version
        transaction = Transaction()
        transaction.put("rule", item, RuleItem.pk.does_not_exist() if previous_version is None else None)
        transaction.put("history", RuleVersionItem(f"RULE#{rule.ruleId}", f"V#{rule.version:06d}", definition=definition.model_dump_json(),
                                                   at=rule.updatedAt, by=rule.updatedBy), RuleVersionItem.pk.does_not_exist())
        try:
            transaction.commit()
        except Refused as refused:
            if refused.failed("rule") or refused.failed("history"):
                raise Conflict(f"rule {rule.ruleId} was changed meanwhile (version {previous_version} is no longer the newest)",
                               code="RULE_VERSION_CONFLICT") from None
            raise

    def rule(self, rule_id: str) -> Rule | None:
        try:
            return _rule(RuleItem.get(f"RULE#{rule_id}", "RULE", consistent_read=True))
        except RuleItem.DoesNotExist:
            return None

    def rules(self) -> list[Rule]:
        return [_rule(item) for item in RuleItem.listed.query(RULES)]

    def active_rules(self, event_type: str) -> list[Rule]:
        return [_rule(item) for item in RuleItem.triggered.query(f"TRIGGER#{event_type}")]

    def goal_rules(self, event_type: str) -> list[Rule]:
        """The rules whose goal is a moment of this type, active or paused."""
        return [_rule(item) for item in RuleItem.goals.query(f"GOAL#{event_type}")]

    def report_rows(self, rule_id: str) -> dict[str, StatsItem]:
        return {item.sk: item for item in StatsItem.query(f"STATS#{rule_id}")}

    # ---- tasks ------------------------------------------------------------------------------------
    def create_task(self, task: TaskRecord, week: Limit, capacity: Limit | None) -> Created:
        """The task, its rule-and-customer open marker, the customer's week and the RM's day, all or
        nothing; what refused it otherwise."""
        transaction = Transaction()
        transaction.put("task", _task_item(task), TaskItem.pk.does_not_exist())
        transaction.put("open", OpenItem(f"OPEN#{task.ruleId}#{task.customerId}", OPEN, taskId=task.taskId), OpenItem.pk.does_not_exist())
        _count(transaction, "week", week)
        if capacity is not None:
            _count(transaction, "capacity", capacity)
        _stats(transaction, task.ruleId, task.assignee, task.orgUnitId, {"created": 1})
        try:
            transaction.commit()
        except Refused as refused:
            for label, answer in (("task", "duplicate"), ("open", "already_open"), ("week", "customer_capped"), ("capacity", "rm_at_capacity")):
                if refused.failed(label):
                    return answer  # type: ignore[return-value]
            raise
        return "created"

    def hold_out(self, rule_id: str, customer_id: str, moment: str, at: str, org_unit: str | None) -> bool:
        """The moment, held out once (False: it was already)."""
        transaction = Transaction()
        transaction.put("holdout", HoldoutItem(f"CUST#{customer_id}", f"HOLD#{rule_id}#{moment}", ruleId=rule_id, at=at, orgUnitId=org_unit),
                        HoldoutItem.pk.does_not_exist())
        transaction.update("stats", StatsItem(f"STATS#{rule_id}", "ALL"), [StatsItem.heldOut.add(1)])
        return transaction.commit_once("holdout")

    def task(self, task_id: str) -> tuple[TaskRecord, int] | None:
        try:
            item = TaskItem.get(f"TASK#{task_id}", "TASK", consistent_read=True)
        except TaskItem.DoesNotExist:
            return None
        return TaskRecord.model_validate_json(item.record), int(item.version or 0)

    def save_task(self, after: TaskRecord, version: int, *, counts: Mapping[str, int] | None = None, close: bool = False,
                  events: Sequence[PendingEvent] = (), book: str | None = None) -> None:
        """`stage_task` in a transaction of its own, with `events`. Raises `Refused` (label `task`: moved)."""
        transaction = Transaction()
        self.stage_task(transaction, after, version, counts=counts, close=close, book=book)
        MotOutbox.add_to(transaction, list(events))
        transaction.commit()

    def stage_task(self, transaction: Transaction, after: TaskRecord, version: int, *, counts: Mapping[str, int] | None = None,
                   close: bool = False, book: str | None = None) -> None:
        """The task as `after`, on condition it is still at `version` (label `task`); the report's
        `counts`; its open marker removed (`close`); and the RM's book entry's last contact (`book`: the RM)."""
        item = _task_item(after)
        item.version = version  # PynamoDB conditions the put on it, and moves it up by one
        transaction.put("task", item)
        if counts:
            _stats(transaction, after.ruleId, after.assignee, after.orgUnitId, counts)
        if close:
            transaction.delete("open", OpenItem(f"OPEN#{after.ruleId}#{after.customerId}", OPEN), OpenItem.taskId == after.taskId)
        if book is not None and after.contactedAt:
            # The task went to the customer's manager, from their profile: the book may not have heard yet.
            transaction.update("book", BookItem(f"BOOK#{book}", f"CUST#{after.customerId}"),
                               [BookItem.lastContactAt.set(after.contactedAt), BookItem.customerId.set(after.customerId),
                                BookItem.since.set(BookItem.since | after.contactedAt)])

    def tasks_of(self, assignee: str) -> list[TaskRecord]:
        return [TaskRecord.model_validate_json(i.record) for i in TaskItem.by_assignee.query(f"ASSIGNEE#{assignee}")]

    def customer_tasks(self, customer_id: str) -> list[tuple[TaskRecord, int]]:
        return [(TaskRecord.model_validate_json(i.record), int(i.version or 0)) for i in TaskItem.by_customer.query(f"CUST#{customer_id}")]

    def sweepable(self, now: str, limit: int) -> list[tuple[TaskRecord, int]]:
        found = TaskItem.sweepable.query(OPEN, TaskItem.gsi3sk <= now, limit=limit)
        return [(TaskRecord.model_validate_json(i.record), int(i.version or 0)) for i in found]

    def holdouts(self, customer_id: str) -> list[HoldoutItem]:
        return list(HoldoutItem.query(f"CUST#{customer_id}", HoldoutItem.sk.startswith("HOLD#")))

    def convert_holdout(self, holdout: HoldoutItem, at: str) -> bool:
        transaction = Transaction()
        transaction.update("holdout", HoldoutItem(holdout.pk, holdout.sk), [HoldoutItem.convertedAt.set(at)],
                           HoldoutItem.convertedAt.does_not_exist())
        transaction.update("stats", StatsItem(f"STATS#{holdout.ruleId}", "ALL"), [StatsItem.holdoutConversions.add(1)])
        return transaction.commit_once("holdout")

    # ---- relationship managers' books -------------------------------------------------------------
    def manager(self, customer_id: str) -> ManagerItem | None:
        try:
            return ManagerItem.get(f"CUST#{customer_id}", "MANAGER", consistent_read=True)
        except ManagerItem.DoesNotExist:
            return None

    def change_manager(self, customer_id: str, before: ManagerItem | None, manager: str | None, changed_at: str) -> bool:
        """The customer moves to `manager`'s book (and out of the previous one), if this news is newer
        than what is stored and nobody moved them meanwhile; False otherwise."""
        transaction = Transaction()
        condition: Condition = ManagerItem.pk.does_not_exist() if before is None else ManagerItem.changedAt == before.changedAt
        transaction.put("manager", ManagerItem(f"CUST#{customer_id}", "MANAGER", managerId=manager, changedAt=changed_at), condition)
        if before is not None and before.managerId:
            transaction.delete("old", BookItem(f"BOOK#{before.managerId}", f"CUST#{customer_id}"))
        if manager:
            transaction.put("new", BookItem(f"BOOK#{manager}", f"CUST#{customer_id}", customerId=customer_id, since=changed_at))
        return transaction.commit_once("manager")

    def book(self, manager: str) -> list[BookItem]:
        return list(BookItem.query(f"BOOK#{manager}"))

    # ---- daily schedule runs ---------------------------------------------------------------------------
    def run(self, schedule: str, day: str) -> RunItem:
        """The day's run of a schedule (a new one, at the start, when there is none)."""
        try:
            return RunItem.get(f"RUN#{schedule}", day, consistent_read=True)
        except RunItem.DoesNotExist:
            return RunItem(f"RUN#{schedule}", day, cursor=None, done=0, customers=0, expiresAt=0)

    def save_run(self, run: RunItem, expires_epoch: int) -> None:
        run.expiresAt = expires_epoch
        run.save()



def budget_draw(transaction: Transaction, name: str, amount: int, limit: int) -> None:
    """`amount` more spent of `name`, on condition it stays within `limit` (label `rm-budget`)."""
    transaction.update("rm-budget", CounterItem(f"COUNT#{name}", "COUNT"), [CounterItem.n.add(amount)],
                       CounterItem.n.does_not_exist() | (CounterItem.n <= limit - amount))


def _rule(item: RuleItem) -> Rule:
    return Rule(ruleId=item.pk.removeprefix("RULE#"), version=int(item.version or 0), definition=MotRuleDefinition.model_validate_json(item.definition),
                createdAt=item.createdAt, updatedAt=item.updatedAt, updatedBy=item.updatedBy)


def _task_item(task: TaskRecord) -> TaskItem:
    sweep_at = task.dueAt if task.state in ("open", "in_progress") and not task.assignee.startswith("branch:") else task.expiresAt
    return TaskItem(
        f"TASK#{task.taskId}", "TASK", record=task.model_dump_json(exclude_none=True), state=task.state, assignee=task.assignee,
        customerId=task.customerId, offerCouponId=task.offerCouponId, messageId=task.messageId, convertedAt=task.convertedAt,
        gsi1pk=f"ASSIGNEE#{task.assignee}", gsi1sk=f"{task.createdAt}#{task.taskId}",
        gsi2pk=f"CUST#{task.customerId}", gsi2sk=f"{task.createdAt}#{task.taskId}",
        gsi3pk=OPEN if task.state in OPEN_STATES else None, gsi3sk=sweep_at if task.state in OPEN_STATES else None,
    )
