"""Campaign use cases: definitions with versions, the maker-checker lifecycle with its audit log,
and the report. Granting lives in `granting`, audience runs in `runs`."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from loyalty.campaigns import lifecycle, records, targeting
from loyalty.campaigns.model import PERSONAL_ATTRIBUTES, CampaignDefinition, Transition
from loyalty.campaigns.store import CampaignStore
from loyalty.core import config_cache
from loyalty.core.auth import Caller
from loyalty.core.clock import iso_utc
from loyalty.core.config import get_settings
from loyalty.core.errors import BusinessRuleViolation, InvalidInput
from loyalty.core.outbox import PendingEvent

SOURCE = "loyalty.campaigns"


@cache
def default_store() -> CampaignStore:
    from loyalty.campaigns.store import DynamoCampaignStore

    return DynamoCampaignStore()


def definition_of(meta: dict[str, Any]) -> CampaignDefinition:
    return _parse(meta["definition"])


@cache
def _parse(raw: str) -> CampaignDefinition:
    return CampaignDefinition.model_validate_json(raw)


def view(meta: dict[str, Any], now: datetime) -> dict[str, Any]:
    definition = definition_of(meta)
    return {
        **definition.model_dump(mode="json"),
        "status": meta["status"],
        "effectiveStatus": lifecycle.effective_status(meta["status"], meta["startsAt"], meta["endsAt"], now),
        "version": meta["version"],
        **{k: meta[k] for k in ("author", "approvedBy", "approvedAt", "pausedReason", "updatedAt") if meta.get(k)},
    }


# ---- definitions ---------------------------------------------------------------------------------


def save(store: CampaignStore, definition: CampaignDefinition, operator: str, now: datetime, *, create: bool) -> dict[str, Any]:
    """A new draft (version 1), or a new version of a draft. The editor becomes its author: an
    approver who edits can no longer approve it."""
    personal = [b.attribute for b in definition.budget.byAttribute if b.attribute in PERSONAL_ATTRIBUTES]
    if personal:
        raise InvalidInput(f"budget.byAttribute: {personal[0]} identifies a person; budget by branch, product or merchant, "
                           "and cap a customer with frequencyCaps", code="VALIDATION_ERROR")
    if definition.orgUnitId is not None:
        check_pool(definition)
    if definition.budget.pacing is not None:
        check_pacing(definition)
    before = None if create else store.get(definition.campaignId)
    version = 1 if before is None else int(before["version"]) + 1
    at = iso_utc(now)
    meta = {
        **records.meta_key(definition.campaignId), "campaignId": definition.campaignId, "status": "draft", "version": version,
        "definition": definition.model_dump_json(), "author": operator, "updatedBy": operator, "updatedAt": at,
        "startsAt": iso_utc(definition.window.startsAt), "endsAt": iso_utc(definition.window.endsAt),
        "gsi1pk": "CAMPAIGNS", "gsi1sk": definition.campaignId,
        "gsi2pk": records.trigger_index(definition.trigger.model_dump()), "gsi2sk": definition.campaignId,
    }
    audit = {"who": operator, "at": at, "action": "create" if create else "edit", "before": before["status"] if before else None,
             "after": "draft", "version": version}
    store.save(meta, expected_version=0 if before is None else int(before["version"]), audit=audit)
    return view(meta, now)


def check_pacing(definition: CampaignDefinition) -> None:
    """The budget's pacing plan fits the window: a custom plan has one weight per slice of it."""
    from loyalty.core import pacing

    plan = definition.budget.pacing
    assert plan is not None
    try:
        pacing.check(plan.plan(), definition.budget_period(get_settings().bank_zone))
    except ValueError as problem:
        raise InvalidInput(f"budget.pacing: {problem}", code="VALIDATION_ERROR",
                           details=[{"field": "budget.pacing", "in": "body", "problem": str(problem)}]) from None


def check_pool(definition: CampaignDefinition) -> None:
    """The campaign's org unit is open and holds a pool in the budget's measure for a period its
    window overlaps: a pool in CNY serves campaigns budgeted in CNY, reward units serve reward units."""
    from loyalty.org.ports import pools, units

    unit_id = str(definition.orgUnitId)
    unit = units().get(unit_id)
    if unit is None or not unit.is_open:
        raise BusinessRuleViolation(f"org unit {unit_id} is not an open unit of the org tree", code="CAMPAIGN_ORG_UNIT_INVALID")
    measure, zone = definition.pool_measure, get_settings().bank_zone
    first, last = definition.window.startsAt.astimezone(zone).date(), definition.window.endsAt.astimezone(zone).date()
    held = pools().measures(unit_id, first, last)
    if measure not in held:
        others = sorted(held)
        raise BusinessRuleViolation(f"org unit {unit_id} holds no pool in {measure} for the campaign's window"
                                    + (f" (its pools are in {', '.join(others)})" if others else ""), code="CAMPAIGN_POOL_MISMATCH")


# ---- lifecycle -----------------------------------------------------------------------------------


def transition(store: CampaignStore, campaign_id: str, action: str, request: Transition, caller: Caller, now: datetime) -> dict[str, Any]:
    meta = store.get(campaign_id)
    after = lifecycle.next_status(action, meta["status"], caller, meta["author"])
    at = iso_utc(now)
    fields: dict[str, Any] = {"status": after, "updatedBy": caller.subject, "updatedAt": at}
    if action == "approve":
        fields.update(approvedBy=caller.subject, approvedAt=at)
    if action == "pause":
        fields["pausedReason"] = "operator"
    audit = {"who": caller.subject, "at": at, "action": action, "before": meta["status"], "after": after, "note": request.note,
             "version": meta["version"]}
    event = PendingEvent(SOURCE, "CampaignStatusChanged", {"campaignId": campaign_id, "from": meta["status"], "to": after,
                                                           "action": action, "by": caller.subject})
    store.transition(campaign_id, meta["status"], fields, {k: v for k, v in audit.items() if v is not None}, [event])
    forget_cached_campaigns()
    return view(store.get(campaign_id), now)


def pause_for_budget(store: CampaignStore, campaign_id: str, now: datetime, detail: dict[str, Any]) -> bool:
    """Auto-pause on an exhausted total budget, announced once (whoever gets there first)."""
    from loyalty.core.errors import Conflict

    at = iso_utc(now)
    audit = {"who": "system", "at": at, "action": "pause", "before": "approved", "after": "paused", "note": "total budget exhausted"}
    try:
        store.transition(campaign_id, "approved", {"status": "paused", "pausedReason": "budget_exhausted", "updatedAt": at}, audit,
                         [PendingEvent(SOURCE, "BudgetExhausted", detail)])
    except Conflict:
        return False
    forget_cached_campaigns()
    return True


# Campaigns a trigger concerns, for a few seconds: the kill switch still acts at once, because every
# grant re-checks the campaign's status in its own transaction. The keys this process cached, so that
# a change it makes itself is seen by its next read of every one of them.
_cached_keys: set[tuple[str, str]] = set()
_clock = time.monotonic  # the cache's clock (tests move it)


def campaigns_for(store: CampaignStore, index_key: str) -> list[dict[str, Any]]:
    def load() -> list[dict[str, Any]]:
        listed = store.listed() if index_key == "ALL" else store.by_trigger(index_key)
        return [m for m in listed if m["status"] == "approved"]

    key = ("campaigns", index_key)
    _cached_keys.add(key)
    return config_cache.cached(key, get_settings().template_cache_seconds, load, clock=_clock)


def forget_cached_campaigns() -> None:
    for key in list(_cached_keys):
        config_cache.forget(key)


def require_active(meta: dict[str, Any], now: datetime) -> None:
    status = lifecycle.effective_status(meta["status"], meta["startsAt"], meta["endsAt"], now)
    if status != "active":
        raise BusinessRuleViolation(f"campaign {meta['campaignId']} is {status}, not active", code="CAMPAIGN_NOT_ACTIVE")


# ---- the report ----------------------------------------------------------------------------------


# Per arm; a grant is counted in one of granted (standing: on its way or delivered), compensating,
# compensated, partlyDelivered or cancelled at a time (loyalty.campaigns.saga).
REPORT_COUNTERS = ("targeted", "granted", "notified", "notificationsDelivered", "notificationsFailed", "redeemed", "cancelled", "compensating", "compensated", "partlyDelivered", "cost")


def report(store: CampaignStore, campaign_id: str, now: datetime) -> dict[str, Any]:
    """Per arm: targeted, grants by state, notified, redeemed, cost; card spend per targeted customer
    and the uplift of each arm against control; the budget used and left per period."""
    meta = store.get(campaign_id)
    definition = definition_of(meta)
    arms = {a["sk"].removeprefix("ARM#"): a for a in store.arms(campaign_id)}
    budgets = {b["sk"]: b for b in store.budgets(campaign_id)}

    def per_customer(arm: dict[str, Any]) -> float | None:
        return round(int(arm.get("spendMinor", 0)) / int(arm["targeted"]), 2) if int(arm.get("targeted", 0)) else None

    control = per_customer(arms["control"]) if "control" in arms else None
    rows = []
    for name in ["control", *(v.variantId for v in definition.variants)]:
        arm = arms.get(name, {})
        spend = per_customer(arm) if arm else None
        uplift = None if name == "control" or not control or spend is None else round((spend - control) / control, 4)
        rows.append({"arm": name, **{k: int(arm.get(k, 0)) for k in REPORT_COUNTERS},
                     "spendPerTargetedMinor": spend, "upliftVsControl": uplift})
    keys = targeting.period_keys(now.astimezone(get_settings().bank_zone).date())
    budget: dict[str, Any] = {period: {"limit": limit, "spent": int(budgets.get(keys[period], {}).get("spent", 0)),
                       "left": limit - int(budgets.get(keys[period], {}).get("spent", 0))}
              for period, limit in definition.budget.limits().items()}
    by_attribute = {b.attribute: b for b in definition.budget.byAttribute}
    shares = []
    for key, row in sorted(budgets.items()):
        if key.startswith("A#") and key[2:].split("=", 1)[0] in by_attribute:
            attribute, value = key[2:].split("=", 1)
            limit = by_attribute[attribute].limit_of(value)
            shares.append({"attribute": attribute, "value": value, "limit": limit, "spent": int(row.get("spent", 0)),
                           "left": limit - int(row.get("spent", 0))})
    if shares:
        budget["byAttribute"] = shares
    spent = budget["total"]["spent"]
    forecast = budget_forecast(definition.budget.total, spent, definition.window.startsAt, definition.window.endsAt, now)
    return {"campaignId": campaign_id, "status": view(meta, now)["effectiveStatus"], "metric": definition.metric,
            "budgetUnit": definition.budget.unit, "currency": definition.budget.currency, "spendCurrency": definition.spend_currency,
            "arms": rows, "budget": budget, "forecast": forecast}


def budget_forecast(total: int, spent: int, starts_at: datetime, ends_at: datetime, now: datetime) -> dict[str, Any]:
    """When the total budget runs out at the average burn since the window opened: a straight line,
    enough to tell an operator a budget will not last the window (the burn alarm watches the hour)."""
    elapsed_days = (min(now, ends_at) - starts_at).total_seconds() / 86_400
    if elapsed_days <= 0 or spent <= 0:
        return {"burnPerDay": 0, "exhaustsAt": None, "lastsTheWindow": True}
    per_day = spent / elapsed_days
    exhausts = now + timedelta(days=max(total - spent, 0) / per_day)
    return {"burnPerDay": round(per_day, 2), "exhaustsAt": iso_utc(exhausts), "lastsTheWindow": exhausts >= ends_at}
