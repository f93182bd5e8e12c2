"""PIPL for MOT (docs/mot.md, "Privacy"): the export of a customer's tasks, held-out moments and
manager; the erasure of everything but the report's counters. A task stays as a record that an RM
had a task (its rule, times and outcome: the report counts them), emptied of what it said about the
customer: the talking points, the message, the RM's note. An open task is closed (expired)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loyalty.mot.items import BookItem
from loyalty.mot.model import TaskRecord
from loyalty.mot.service import CLOSED, save_change
from loyalty.mot.store import DynamoMotStore

ERASED = "(erased)"


class DynamoMotPrivacy:
    def __init__(self, store: DynamoMotStore | None = None):
        self.store = store or DynamoMotStore()

    def export(self, customer_id: str) -> dict[str, list[dict[str, Any]]]:
        manager = self.store.manager(customer_id)
        return {
            "tasks": [task.model_dump(mode="json", exclude_none=True) for task, _ in self.store.customer_tasks(customer_id)],
            "heldOutMoments": [{"ruleId": h.ruleId, "at": h.at, "convertedAt": h.convertedAt} for h in self.store.holdouts(customer_id)],
            "relationshipManager": [{"managerId": manager.managerId, "changedAt": manager.changedAt}] if manager else [],
        }

    def erase(self, customer_id: str, now: datetime) -> int:
        changed = 0
        for task, version in self.store.customer_tasks(customer_id):
            changed += save_change(self.store, task.taskId, _emptied, counts=None, close=task.state not in CLOSED, first=(task, version))
        for holdout in self.store.holdouts(customer_id):
            holdout.delete()
            changed += 1
        manager = self.store.manager(customer_id)
        if manager is not None:
            if manager.managerId:
                BookItem(f"BOOK#{manager.managerId}", f"CUST#{customer_id}").delete()
            manager.delete()
            changed += 1
        return changed


def _emptied(task: TaskRecord) -> TaskRecord | None:
    if task.talkingPoints == ERASED:
        return None  # erased already: running the erasure again changes nothing
    state = "expired" if task.state not in CLOSED else task.state
    return task.model_copy(update={"talkingPoints": ERASED, "message": None, "note": None, "state": state})
