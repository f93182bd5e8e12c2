"""Pure decisions of MOT: whom a moment is for, who gets the task, what it says, and how tasks rank."""

from __future__ import annotations

import calendar
import hashlib
import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from loyalty.core.clock import iso_utc
from loyalty.core.patterns import matches_pattern
from loyalty.mot.model import Birthday, Moment, MotAudience, Rule, TaskRecord, queue_of

_VARIABLE = re.compile(r"{(\w+)}")


def moment_matches(moment: Moment | Birthday, event_type: str, detail: Mapping[str, Any]) -> bool:
    return isinstance(moment, Moment) and moment.eventType == event_type and matches_pattern(moment.pattern, dict(detail))


def birthday_on(birthday: str | None, day: date) -> bool:
    """The profile's birthday (YYYY-MM-DD) falls on `day`: month and day match; 29 February is kept on
    28 February in other years."""
    if not birthday or len(birthday) < 10:
        return False
    month_day = birthday[5:10]
    if month_day == "02-29" and not calendar.isleap(day.year):
        month_day = "02-28"
    return month_day == day.isoformat()[5:]


def in_audience(audience: MotAudience, tier: str | None, segments: Iterable[str], aum_minor: int | None) -> bool:
    if audience.tiers and tier not in audience.tiers:
        return False
    if audience.segments and not set(audience.segments) & set(segments):
        return False
    return audience.minAumMinor is None or (aum_minor or 0) >= audience.minAumMinor


def in_holdout(rule_id: str, customer_id: str, percent: int) -> bool:
    """The same customers of a rule are always held out: the uplift compares like with like."""
    bucket = int.from_bytes(hashlib.sha256(f"{rule_id}:{customer_id}".encode()).digest()[:4], "big") % 100
    return bucket < percent


def task_id(rule_id: str, customer_id: str, occurrence: str) -> str:
    """One task per rule, customer and moment: the same event published three times is one task."""
    return "t-" + hashlib.sha256(f"{rule_id}|{customer_id}|{occurrence}".encode()).hexdigest()[:24]


def render(template: str, variables: Mapping[str, Any]) -> str:
    """`{name}` replaced by the variable; an unknown one is left as written (the RM sees the gap)."""
    return _VARIABLE.sub(lambda m: str(variables[m.group(1)]) if m.group(1) in variables else m.group(0), template)


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def assignee_for(manager: str | None, org_unit: str | None) -> tuple[str, str | None]:
    """The customer's manager, or their branch's queue when they have none."""
    return (manager, None) if manager else (queue_of(org_unit), "NO_RELATIONSHIP_MANAGER")


def new_task(rule: Rule, *, customer_id: str, occurrence: str, assignee: str, why: str | None, org_unit: str | None,
             value_minor: int, variables: Mapping[str, Any], now: datetime, expiry_days: int) -> TaskRecord:
    spec = rule.definition.task
    due = now + timedelta(hours=spec.slaHours)
    return TaskRecord(
        taskId=task_id(rule.ruleId, customer_id, occurrence), ruleId=rule.ruleId, ruleVersion=rule.version, customerId=customer_id,
        assignee=assignee, orgUnitId=org_unit, state="open", priority=spec.priority, customerValueMinor=value_minor,
        talkingPoints=render(spec.talkingPoints, variables), offer=spec.offer,
        message=spec.message.model_copy(update={"content": render(spec.message.content, variables)}) if spec.message else None,
        moment=occurrence, createdAt=iso_utc(now), dueAt=iso_utc(due), expiresAt=iso_utc(due + timedelta(days=expiry_days)), why=why,
    )


def ranked(tasks: Iterable[TaskRecord]) -> list[TaskRecord]:
    """The most urgent first, then the most valuable customer, then the earliest due."""
    return sorted(tasks, key=lambda t: (t.priority, -t.customerValueMinor, t.dueAt, t.taskId))


def converts(contacted_at: str, goal_days: int, at: datetime) -> bool:
    """A goal moment at `at` counts for a contact made at most `goal_days` before it (never before the contact)."""
    contact = datetime.fromisoformat(contacted_at.replace("Z", "+00:00"))
    return contact <= at <= contact + timedelta(days=goal_days)


def uplift(contacted: int, contacted_conversions: int, held_out: int, holdout_conversions: int) -> float | None:
    """The conversion rate of customers given a task less that of those held out (None without both)."""
    if not contacted or not held_out:
        return None
    return round(contacted_conversions / contacted - holdout_conversions / held_out, 4)
