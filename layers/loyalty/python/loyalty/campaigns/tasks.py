"""Task targets and check-in streaks on the table: count an event, then grant when one is due.

The count and the grant are two writes. The count is written first, with optimistic concurrency on
the customer's progress record; the grant is keyed by what is due (`task:<cycle>`,
`streak:<start>:<length>`), so a crash between them is repaired by the redelivered event, which
finds the count already there, sees the reward still due, and grants it (once).
"""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any

from loyalty.campaigns import granting, progress, records, service
from loyalty.campaigns.model import CampaignDefinition, EventTrigger, Target
from loyalty.campaigns.store import CampaignStore, Refused
from loyalty.core.clock import business_date, iso_utc
from loyalty.core.config import get_settings
from loyalty.core.errors import Conflict

MAX_ATTEMPTS = 10
# The business time of an event, by the field its contract names (../shared/EVENTS.md).
TIME_FIELDS = ("postedAt", "creditedAt", "drawnAt", "openedAt", "movedAt", "changedAt", "checkedInAt", "occurredAt")
# The cycle moves on once the reward is settled either way; a budget or a pause leaves it due.
SETTLED = {"granted", "already", "control", "capped"}


def occurred_at(detail: dict[str, Any], now: datetime) -> datetime:
    for name in TIME_FIELDS:
        if detail.get(name):
            value = detail[name]
            return value if isinstance(value, datetime) else datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return now


def on_progress(store: CampaignStore, meta: dict[str, Any], customer_id: str, detail: dict[str, Any], occurrence: str,
                now: datetime) -> str:
    """counted (no reward due yet), or the outcome of the grant now due."""
    definition = service.definition_of(meta)
    trigger: EventTrigger = definition.trigger  # type: ignore[assignment]
    key = records.progress_key(customer_id, definition.campaignId)
    try:
        due, outcome = _count(store, definition, key, detail, occurrence, now).due, "counted"
    except Refused:
        return "erased"  # the customer was erased meanwhile: their progress is not written again
    for _ in range(MAX_ATTEMPTS):  # a cycle completed meanwhile is paid here too, up to a few
        if due is None:
            break
        outcome = granting.grant(store, meta, customer_id, due, now, context=detail)
        if trigger.target is None or outcome not in SETTLED:
            break
        due = _next_cycle(store, trigger.target, key, due)
    return outcome


def _count(store: CampaignStore, definition: CampaignDefinition, key: dict[str, str], detail: dict[str, Any],
           occurrence: str, now: datetime) -> progress.Step:
    trigger: EventTrigger = definition.trigger  # type: ignore[assignment]
    for attempt in range(MAX_ATTEMPTS):
        current = store.progress(*_ids(key)) or {}
        state = current.get("state")
        if trigger.streakDays is not None:
            step = progress.check_in(trigger.streakDays, state, _check_in_day(detail, now))
        else:
            assert trigger.target is not None
            step = progress.count_toward(trigger.target, state, occurrence, occurred_at(detail, now))
        if not step.changed:
            return step
        record = {**key, "campaignId": definition.campaignId, "customerId": key["pk"].removeprefix("PROGRESS#"), "state": step.state,
                  "updatedAt": iso_utc(now)}
        if store.put_progress(record, int(current.get("version", 0)), str(record["customerId"])):
            return step
        time.sleep(0.005 * (attempt + 1))
    raise Conflict("the customer's progress changed meanwhile; retry", code="CAMPAIGN_CONTENDED")


def _next_cycle(store: CampaignStore, target: Target, key: dict[str, str], due: str) -> str | None:
    """Moves past the settled cycle; the new cycle's reward, if it is due already."""
    for _ in range(MAX_ATTEMPTS):
        current = store.progress(*_ids(key))
        if current is None or f"task:{current['state']['cycle']}" != due:
            return None  # another delivery moved it on already, and pays what came due after
        step = progress.next_cycle(target, current["state"])
        if store.put_progress({**current, "state": step.state}, int(current["version"]), str(current["customerId"])):
            return step.due
    raise Conflict("the customer's progress changed meanwhile; retry", code="CAMPAIGN_CONTENDED")


def _ids(key: dict[str, str]) -> tuple[str, str]:
    """(customer, campaign) of a progress record's key."""
    return key["pk"].removeprefix("PROGRESS#"), key["sk"]


def _check_in_day(detail: dict[str, Any], now: datetime) -> date:
    day = detail.get("businessDate")
    if isinstance(day, date):
        return day
    return date.fromisoformat(day) if day else business_date(now, get_settings().bank_zone)


def task_centre(store: CampaignStore, customer_id: str, now: datetime) -> list[dict[str, Any]]:
    """Every active task and streak campaign, with this customer's progress in it (任务中心)."""
    saved = {r["sk"]: r.get("state") for r in store.progress_of(customer_id)}
    today = business_date(now, get_settings().bank_zone)
    shown = []
    for meta in service.campaigns_for(store, "ALL"):
        definition = service.definition_of(meta)
        trigger = definition.trigger
        if not isinstance(trigger, EventTrigger) or not trigger.counts_progress or service.view(meta, now)["effectiveStatus"] != "active":
            continue
        state = saved.get(definition.campaignId)
        mine = (progress.streak_of(trigger.streakDays, state, today) if trigger.streakDays is not None
                else progress.progress_of(trigger.target, state, now))  # type: ignore[arg-type]
        shown.append({"campaignId": definition.campaignId, "name": definition.name, "eventType": trigger.eventType,
                      "kind": "streak" if trigger.streakDays else "target", "endsAt": iso_utc(definition.window.endsAt), **mine})
    return shown
