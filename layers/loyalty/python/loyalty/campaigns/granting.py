"""Granting a campaign's reward to one customer, for one occurrence of its trigger.

A grant is one transaction (see `DynamoCampaignStore.grant`): budget, caps and the reward's commands
commit together or not at all, so no interleaving of concurrent triggers can overspend. The grant id
comes from the campaign, the customer and the trigger's business id, so a replayed trigger finds the
grant already there.
"""

from __future__ import annotations

import hashlib
import math
import time
from datetime import datetime
from typing import Any

from loyalty.campaigns import records, service, targeting, uploads
from loyalty.campaigns.model import CampaignDefinition, Variant
from loyalty.campaigns.store import AlreadyGranted, Contended, DynamoCampaignStore, GrantPlan, Refused
from loyalty.core.clock import business_date, iso_utc
from loyalty.core.config import get_settings
from loyalty.core.errors import Conflict
from loyalty.core.observability import count, logger
from loyalty.core.outbox import PendingEvent

SOURCE = service.SOURCE
MAX_ATTEMPTS = 10
BURN_WARNING_SHARE = 0.8


def command_id(campaign_id: str, customer_id: str, trigger: str, index: int) -> str:
    return "cg-" + hashlib.sha256(f"{campaign_id}\x1f{customer_id}\x1f{trigger}\x1f{index}".encode()).hexdigest()[:32]


def grant(store: DynamoCampaignStore, meta: dict[str, Any], customer_id: str, trigger: str, now: datetime) -> str:
    """granted, control, already, capped, budget_exhausted or not_active."""
    definition = service.definition_of(meta)
    arm = targeting.arm_of(definition, customer_id)
    notify = True
    for attempt in range(MAX_ATTEMPTS):
        plan = _plan(definition, int(meta["version"]), customer_id, trigger, arm, now, with_notification=notify)
        try:
            store.grant(plan)
        except AlreadyGranted:
            return "already"
        except Contended:
            time.sleep(0.005 * (attempt + 1))
            continue
        except Refused as refused:
            if refused.reason == "notify":
                notify = False  # the customer's notifications for today are used up: reward without one
                continue
            if refused.reason == "frequency":
                return "capped"
            if refused.reason.startswith("budget:"):
                _exhausted(store, definition, refused.reason.removeprefix("budget:"), now)
                return "budget_exhausted"
            return "not_active"
        if arm != "control":
            count("RewardsGranted")
            count("CampaignBudgetSpent", plan.cost)
            _warn_on_burn(store, definition, now)
        return "control" if arm == "control" else "granted"
    raise Conflict("the campaign is too busy; retry", code="CAMPAIGN_CONTENDED")


def _plan(definition: CampaignDefinition, version: int, customer_id: str, trigger: str, arm: str, now: datetime, *,
          with_notification: bool) -> GrantPlan:
    zone = get_settings().bank_zone
    day = business_date(now, zone)
    keys = targeting.period_keys(day)
    cid = definition.campaignId
    record = {**records.grant_key(cid, customer_id, trigger), "campaignId": cid, "customerId": customer_id, "trigger": trigger,
              "arm": arm, "at": iso_utc(now), "status": "control" if arm == "control" else "granted"}
    frequency = [(keys[p], limit) for p, limit in definition.frequencyCaps.limits().items()]
    if arm == "control":
        # Recorded as "would have received", under the same caps, for the comparison; nothing else.
        return GrantPlan(cid, version, customer_id, trigger, arm, 0, record, iso_utc(definition.window.endsAt), frequency=frequency,
                         stats={"targeted": 1})
    variant = next(v for v in definition.variants if v.variantId == arm)
    cost = sum(getattr(a, "costMinor", 0) for a in variant.actions) if definition.budget.unit == "minor" else 1
    budgets = [(p, keys[p], limit) for p, limit in definition.budget.limits().items()]
    plan = GrantPlan(cid, version, customer_id, trigger, arm, cost, {**record, "cost": cost, "budgetKeys": [k for _, k, _ in budgets]},
                     iso_utc(definition.window.endsAt), budgets=budgets, frequency=frequency)
    plan.events, plan.commands, notified = _rewards(definition, variant, customer_id, trigger, now, with_notification)
    if notified:
        plan.notify = (day.isoformat(), get_settings().notifications_per_customer_daily)
    plan.events.append(PendingEvent(SOURCE, "RewardGranted", {"campaignId": cid, "customerId": customer_id, "arm": arm, "trigger": trigger,
                                                              "cost": cost, "budgetUnit": definition.budget.unit}))
    plan.stats = {"targeted": 1, "granted": 1, "cost": cost, "notified": int(notified)}
    return plan


def _rewards(definition: CampaignDefinition, variant: Variant, customer_id: str, trigger: str, now: datetime,
             with_notification: bool) -> tuple[list[PendingEvent], list[str], bool]:
    cid, events, coupons, notified = definition.campaignId, [], [], False
    for index, action in enumerate(variant.actions):
        command = command_id(cid, customer_id, trigger, index)
        if action.type == "issue_coupon":
            coupons.append(command)
            events.append(PendingEvent(SOURCE, "IssueCoupon", {"commandId": command, "customerId": customer_id, "templateId": action.templateId,
                                                               "source": "campaign", "campaignId": cid}))
        elif action.type == "award_points":
            events.append(PendingEvent(SOURCE, "AwardPoints", {"commandId": command, "customerId": customer_id, "points": action.points,
                                                               "costCentre": action.costCentre, "campaignId": cid,
                                                               "validityDays": action.validityDays, "reason": definition.name[:200]}))
        elif with_notification:
            local = now.astimezone(get_settings().bank_zone)
            later = targeting.deliver_at(definition.quietHours, local)
            detail = {"notificationId": command, "customerId": customer_id, "channel": action.channel, "templateId": action.templateId,
                      "variables": action.variables, "campaignId": cid, "deliverAt": iso_utc(later) if later else None}
            events.append(PendingEvent(SOURCE, "NotificationRequested", {k: v for k, v in detail.items() if v is not None}))
            notified = True
    return events, coupons, notified


def _exhausted(store: DynamoCampaignStore, definition: CampaignDefinition, period: str, now: datetime) -> None:
    """The total budget pauses the campaign; a period's (day, week, month) only refuses until the next."""
    cid = definition.campaignId
    key = targeting.period_keys(business_date(now, get_settings().bank_zone))[period]
    detail = {"campaignId": cid, "period": period, "periodKey": key, "limit": definition.budget.limits()[period], "unit": definition.budget.unit}
    if period == "total":
        service.pause_for_budget(store, cid, now, detail)
        return
    store.once(records.budget_key(cid, key), "exhaustedAt", "", {":now": iso_utc(now)},
               [PendingEvent(SOURCE, "BudgetExhausted", detail)])


def _warn_on_burn(store: DynamoCampaignStore, definition: CampaignDefinition, now: datetime) -> None:
    total = definition.budget.total
    if total <= 0:
        return
    threshold = math.ceil(total * BURN_WARNING_SHARE)
    # A read first: the conditional write (and its event) is tried only once the threshold is passed.
    budget = store.get_record(records.budget_key(definition.campaignId, "TOTAL"), consistent=False) or {}
    if int(budget.get("spent", 0)) < threshold or "warnedAt" in budget:
        return
    detail = {"campaignId": definition.campaignId, "limit": total, "threshold": threshold, "unit": definition.budget.unit}
    if store.once(records.budget_key(definition.campaignId, "TOTAL"), "warnedAt", "spent >= :t", {":t": threshold, ":now": iso_utc(now)},
                  [PendingEvent(SOURCE, "BudgetBurnWarning", detail)]):
        logger.warning("campaign budget 80% spent", extra=detail)


# ---- triggers ------------------------------------------------------------------------------------


def on_event(store: DynamoCampaignStore, event_type: str, detail: dict[str, Any], event_id: str, now: datetime) -> dict[str, str]:
    """Every active campaign this event triggers: each grants at most once per occurrence."""
    customer_id = str(detail["customerId"])
    trigger = targeting.trigger_key(event_type, detail, event_id)
    profile: dict[str, Any] | None = None
    loaded = False
    outcomes: dict[str, str] = {}
    for meta in service.campaigns_for(store, f"TRIGGER#{event_type}"):
        definition = service.definition_of(meta)
        if service.view(meta, now)["effectiveStatus"] != "active" or not targeting.event_matches(definition.trigger, detail):  # type: ignore[arg-type]
            continue
        if not loaded and definition.audience.needs_profile:
            profile, loaded = load_profile(customer_id), True
        if definition.audience.uploaded:
            if not uploads.is_member(store, definition.campaignId, customer_id):
                continue
        elif not targeting.in_audience(definition.audience, customer_id, profile, business_date(now, get_settings().bank_zone)):
            continue
        outcomes[definition.campaignId] = grant(store, meta, customer_id, trigger, now)
    return outcomes


def load_profile(customer_id: str) -> dict[str, Any] | None:
    from loyalty.customers import service as customers

    found = customers.default_store().get(customer_id)
    return found.model_dump() if found is not None else None
