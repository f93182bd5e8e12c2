"""Granting a campaign's reward to one customer, for one occurrence of its trigger.

A grant is one transaction (see `CampaignStore.grant`): budget, caps and the reward's commands
commit together or not at all, so no interleaving of concurrent triggers can overspend. The grant id
comes from the campaign, the customer and the trigger's business id, so a replayed trigger finds the
grant already there. What follows the grant (each reward delivered, or the grant undone and its
delivered rewards compensated) is its saga: `saga`, applied by `outcomes`.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from loyalty.campaigns import records, saga, service, targeting
from loyalty.campaigns.model import Action, CampaignDefinition
from loyalty.campaigns.parking import AWAITING_PROFILE
from loyalty.campaigns.store import AlreadyGranted, CampaignStore, Contended, GrantPlan, Refused
from loyalty.core import pacing
from loyalty.core.clock import business_date, iso_utc
from loyalty.core.config import get_settings
from loyalty.core.errors import Conflict
from loyalty.core.observability import count, logger
from loyalty.core.outbox import PendingEvent
from loyalty.org.ports import PoolDraw

SOURCE = service.SOURCE
MAX_ATTEMPTS = 10
BURN_WARNING_SHARE = 0.8
REFUSALS = {"frequency": "capped", "erased": "erased"}  # the outcome of a grant the write refused for these
# The org unit's pool had no room for the cost: none left of its allocation, or not yet under its pacing plan.
POOL_REFUSALS = ("pool_exhausted", "pool_pacing")


def command_id(campaign_id: str, customer_id: str, trigger: str, index: int) -> str:
    return "cg-" + hashlib.sha256(f"{campaign_id}\x1f{customer_id}\x1f{trigger}\x1f{index}".encode()).hexdigest()[:32]


def grant_id(campaign_id: str, customer_id: str, trigger: str) -> str:
    """The grant's name in other capabilities' books (a compensation's ledger entry names it)."""
    return "gr-" + hashlib.sha256(f"{campaign_id}\x1f{customer_id}\x1f{trigger}".encode()).hexdigest()[:32]


def grant(store: CampaignStore, meta: dict[str, Any], customer_id: str, trigger: str, now: datetime,
          actions: Sequence[Action] | None = None, context: Mapping[str, Any] | None = None) -> str:
    """granted, control, already, capped, budget_exhausted, budget_pacing, pool_exhausted, pool_pacing, not_active or erased. `actions` replace the
    arm's own (an MGM inviter's reward); the arm still decides control or not. `context` (the
    trigger event's detail) gives the values of per-attribute budgets before the profile does."""
    definition = service.definition_of(meta)
    arm = targeting.arm_of(definition, customer_id)
    attributes = attribute_values(definition, customer_id, context or {})
    notify = True
    for attempt in range(MAX_ATTEMPTS):
        plan = _plan(definition, int(meta["version"]), customer_id, trigger, arm, now, with_notification=notify, actions=actions,
                     attributes=attributes)
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
            if refused.reason in REFUSALS:
                return REFUSALS[refused.reason]
            if refused.reason in POOL_REFUSALS:
                count("GrantsRefusedByPool")
                return refused.reason
            if refused.reason.startswith("budget:"):
                period = refused.reason.removeprefix("budget:")
                if period in plan.paced and _within_limit(store, definition, plan.cost):
                    count("GrantsRefusedByPacing")
                    return "budget_pacing"  # the plan has not caught up yet: nothing is paused
                _exhausted(store, definition, next(b for b in plan.budgets if b[0] == period), now)
                return "budget_exhausted"
            return "not_active"
        if arm != "control":
            count("RewardsGranted")
            count("CampaignBudgetSpent", plan.cost)
            _warn_on_burn(store, definition, now)
            if plan.drawn is not None and plan.drawn.paced:
                _alert_pacing(store, definition, plan.drawn)
            if plan.paced:
                _alert_campaign_pacing(store, definition, now)
        return "control" if arm == "control" else "granted"
    raise Conflict("the campaign is too busy; retry", code="CAMPAIGN_CONTENDED")


def attribute_values(definition: CampaignDefinition, customer_id: str, context: Mapping[str, Any]) -> dict[str, str]:
    """The value of each per-attribute budget's attribute: the event's, else the profile's, else none."""
    wanted = [b.attribute for b in definition.budget.byAttribute]
    if not wanted:
        return {}
    profile = (load_profile(customer_id) or {}) if any(context.get(a) in (None, "") for a in wanted) else {}
    return {a: str(context.get(a) or profile.get(a) or "none")[:64] for a in wanted}


def _plan(definition: CampaignDefinition, version: int, customer_id: str, trigger: str, arm: str, now: datetime, *,
          with_notification: bool, actions: Sequence[Action] | None = None, attributes: Mapping[str, str] | None = None) -> GrantPlan:
    zone = get_settings().bank_zone
    day = business_date(now, zone)
    keys = targeting.period_keys(day)
    cid = definition.campaignId
    record: dict[str, Any] = {**records.grant_key(cid, customer_id, trigger), "campaignId": cid, "customerId": customer_id,
                              "trigger": trigger, "arm": arm, "at": iso_utc(now), "status": "control" if arm == "control" else "granted"}
    frequency = [(keys[p], limit) for p, limit in definition.frequencyCaps.limits().items()]
    if arm == "control":
        # Recorded as "would have received", under the same caps, for the comparison; nothing else.
        return GrantPlan(cid, version, customer_id, trigger, arm, 0, record, iso_utc(definition.window.endsAt), definition.spend_currency,
                         frequency=frequency, stats={"targeted": 1})
    given = actions or next(v for v in definition.variants if v.variantId == arm).actions
    cost = sum(getattr(a, "costMinor", 0) for a in given) if definition.budget.unit == "minor" else 1
    budgets = [(p, keys[p], limit) for p, limit in definition.budget.limits().items()]
    for by in definition.budget.byAttribute:
        value = (attributes or {})[by.attribute]
        budgets.append((f"attribute:{by.attribute}", f"A#{by.attribute}={value}", by.limit_of(value)))
    rewards = _rewards(definition, given, customer_id, trigger, arm, now, with_notification)
    started = saga.start(rewards.actions, cost)
    record = {**record, **saga.to_record(started), "cost": cost, "budgetKeys": [k for _, k, _ in budgets],
              "grantId": grant_id(cid, customer_id, trigger), "version": 1}
    # The notification waits until every reward is delivered (outcomes.py); a grant that only
    # notifies sends it at once.
    notification = {"details": rewards.notifications,
                    **({"quietHours": definition.quietHours.model_dump(mode="json")} if definition.quietHours else {})}
    notify_now = bool(rewards.notifications) and started.status == "delivered"
    if rewards.notifications and not notify_now:
        record["notification"] = notification
    plan = GrantPlan(cid, version, customer_id, trigger, arm, cost, record, iso_utc(definition.window.endsAt), definition.spend_currency,
                     budgets=budgets, frequency=frequency, paced=_paced(definition, day))
    if definition.orgUnitId is not None:
        plan.pool = (definition.orgUnitId, day, definition.pool_measure)
    plan.events, plan.commands = rewards.events, [a.command_id for a in rewards.actions]
    if notify_now:
        plan.events += notification_events(notification, now)
    if rewards.notifications:
        plan.notify = (day.isoformat(), get_settings().notifications_per_customer_daily)
    plan.events.append(PendingEvent(SOURCE, "RewardGranted", {"campaignId": cid, "customerId": customer_id, "arm": arm, "trigger": trigger,
                                                              "cost": cost, "budgetUnit": definition.budget.unit}))
    plan.stats = {"targeted": 1, "granted": 1, "cost": cost, "notified": int(notify_now)}
    return plan


@dataclass
class Rewards:
    """What a grant sends: the commands (with the saga's action for each), and its notification."""

    events: list[PendingEvent]
    actions: list[saga.Action]
    notifications: list[dict[str, Any]]  # NotificationRequested details, without `deliverAt`


def _rewards(definition: CampaignDefinition, actions: Sequence[Action], customer_id: str, trigger: str, arm: str, now: datetime,
             with_notification: bool) -> Rewards:
    cid, rewards = definition.campaignId, Rewards([], [], [])
    # Each action's share of the cost: its own in minor units; in reward units the grant is one
    # reward, so any action kept keeps it whole.
    minor = definition.budget.unit == "minor"
    for index, action in enumerate(actions):
        command = command_id(cid, customer_id, trigger, index)
        share = getattr(action, "costMinor", 0) if minor else 1
        if action.type == "issue_coupon":
            rewards.actions.append(saga.Action(command, "coupon", share))
            rewards.events.append(PendingEvent(SOURCE, "IssueCoupon", {"commandId": command, "customerId": customer_id,
                                                                       "templateId": action.templateId, "source": "campaign", "campaignId": cid}))
        elif action.type == "award_points":
            rewards.actions.append(saga.Action(command, "points", share))
            rewards.events.append(PendingEvent(SOURCE, "AwardPoints", {"commandId": command, "customerId": customer_id, "points": action.points,
                                                                       "costCentre": action.costCentre, "campaignId": cid,
                                                                       "validityDays": action.validityDays, "reason": definition.name[:200]}))
        elif with_notification:
            rewards.notifications.append({"notificationId": command, "customerId": customer_id, "channel": action.channel,
                                          "templateId": action.templateId, "variables": action.variables, "campaignId": cid,
                                          "arm": arm})  # the receipt names it: the report counts deliveries per arm
    return rewards


def notification_events(notification: Mapping[str, Any], now: datetime) -> list[PendingEvent]:
    """The grant's `NotificationRequested`, as of `now`: inside the campaign's quiet hours they wait
    for their end. `notification` is what the grant record keeps until its rewards are delivered."""
    from loyalty.campaigns.model import QuietHours

    quiet = notification.get("quietHours")
    later = targeting.deliver_at(QuietHours.model_validate(quiet) if quiet else None, now.astimezone(get_settings().bank_zone))
    return [PendingEvent(SOURCE, "NotificationRequested", {**detail, **({"deliverAt": iso_utc(later)} if later else {})})
            for detail in notification.get("details", [])]


def _paced(definition: CampaignDefinition, day: date) -> dict[str, int]:
    """The total's running allowance at `day` under the budget's pacing plan (none without one)."""
    plan = definition.budget.pacing
    if plan is None:
        return {}
    of = definition.budget_period(get_settings().bank_zone)
    return {"total": pacing.allowance(definition.budget.total, plan.plan(), of, day)}


def _within_limit(store: CampaignStore, definition: CampaignDefinition, cost: int) -> bool:
    """The total still has room for `cost`: a refusal was the pacing plan's, not the budget's end."""
    spent = int((store.budget(definition.campaignId, "TOTAL") or {}).get("spent", 0))
    return spent + cost <= definition.budget.total


def _alert_campaign_pacing(store: CampaignStore, definition: CampaignDefinition, now: datetime) -> None:
    """`BudgetPacingAlert` when the campaign's spend runs ahead of or behind its plan by more than the
    threshold: once per direction and business date (the total's mark, set with the event)."""
    plan, zone = definition.budget.pacing, get_settings().bank_zone
    assert plan is not None
    day, threshold = business_date(now, zone), get_settings().pool_pacing_alert_percent
    spent = int((store.budget(definition.campaignId, "TOTAL", consistent=False) or {}).get("spent", 0))
    direction = pacing.drift(definition.budget.total, plan.plan(), definition.budget_period(zone), day, spent, threshold)
    if direction is None:
        return
    detail = {"budget": "campaign", "campaignId": definition.campaignId, "direction": direction, "businessDate": day.isoformat(),
              "thresholdPercent": threshold, "spent": spent, "total": definition.budget.total}
    if store.alert_campaign_pacing(definition.campaignId, direction, day, [PendingEvent(SOURCE, "BudgetPacingAlert", detail)]):
        logger.warning("campaign spend off its pacing plan", extra=detail)


def _exhausted(store: CampaignStore, definition: CampaignDefinition, budget: tuple[str, str, int], now: datetime) -> None:
    """The total budget pauses the campaign; a period's (day, week, month) only refuses until the
    next; an attribute value's refuses that value for good, the others go on."""
    cid = definition.campaignId
    period, key, limit = budget
    detail: dict[str, Any] = {"campaignId": cid, "period": period, "periodKey": key, "limit": limit, "unit": definition.budget.unit}
    if period.startswith("attribute:"):
        attribute, value = key.removeprefix("A#").split("=", 1)
        detail.update(period="attribute", attribute=attribute, value=value)
    if period == "total":
        service.pause_for_budget(store, cid, now, detail)
        return
    store.flag_budget(cid, key, "exhaustedAt", iso_utc(now), [PendingEvent(SOURCE, "BudgetExhausted", detail)])


def _alert_pacing(store: CampaignStore, definition: CampaignDefinition, drawn: PoolDraw) -> None:
    """`BudgetPacingAlert` when the pool's spend runs ahead of or behind its plan by more than the
    threshold: once per pool, period, direction and business date (the pool's mark, set with the event)."""
    from loyalty.org.ports import pools

    threshold = get_settings().pool_pacing_alert_percent
    direction = pools().pacing_drift(drawn.key, drawn.day, threshold)
    if direction is None:
        return
    detail = {"orgUnitId": drawn.unitId, "period": drawn.period, "measure": drawn.measure, "direction": direction,
              "businessDate": drawn.day.isoformat(), "thresholdPercent": threshold, "campaignId": definition.campaignId}
    if store.alert_pacing(drawn.key, direction, drawn.day, [PendingEvent(SOURCE, "BudgetPacingAlert", detail)]):
        logger.warning("org pool spend off its pacing plan", extra=detail)


def _warn_on_burn(store: CampaignStore, definition: CampaignDefinition, now: datetime) -> None:
    total = definition.budget.total
    if total <= 0:
        return
    threshold = math.ceil(total * BURN_WARNING_SHARE)
    # A read first: the conditional write (and its event) is tried only once the threshold is passed.
    budget = store.budget(definition.campaignId, "TOTAL", consistent=False) or {}
    if int(budget.get("spent", 0)) < threshold or "warnedAt" in budget:
        return
    detail = {"campaignId": definition.campaignId, "limit": total, "threshold": threshold, "unit": definition.budget.unit}
    if store.flag_budget(definition.campaignId, "TOTAL", "warnedAt", iso_utc(now), [PendingEvent(SOURCE, "BudgetBurnWarning", detail)],
                         spent_at_least=threshold):
        logger.warning("campaign budget 80% spent", extra=detail)


# ---- triggers ------------------------------------------------------------------------------------


def on_event(store: CampaignStore, event_type: str, detail: dict[str, Any], occurrence: str, now: datetime, *,
             only: Collection[str] | None = None, keyed_hashes: Sequence[str] = ()) -> dict[str, str]:
    """Every active campaign this event triggers (`only` these, for a parked trigger): each grants at
    most once per occurrence (its business id, `loyalty.core.occurrence`: a replayed or re-published
    event grants once). A campaign whose audience reads a profile that has not arrived answers
    `awaiting_profile`: the caller parks the event for it (`before_profile`). `keyed_hashes`: a
    parked sign-up's device and phone hashes, kept keyed only (referrals' self-referral check)."""
    customer_id = str(detail["customerId"])
    trigger = occurrence
    audience = Eligibility(store, customer_id, now)
    outcomes: dict[str, str] = {}
    for meta in service.campaigns_for(store, f"TRIGGER#{event_type}"):
        definition = service.definition_of(meta)
        if only is not None and definition.campaignId not in only:
            continue
        if service.view(meta, now)["effectiveStatus"] != "active" or not targeting.event_matches(definition.trigger, detail):  # type: ignore[arg-type]
            continue
        if not audience.admits(definition):
            if audience.awaits_profile(definition):
                outcomes[definition.campaignId] = AWAITING_PROFILE
            continue
        if definition.trigger.counts_progress:  # type: ignore[union-attr]
            from loyalty.campaigns import tasks

            # an erased customer's progress write is refused in its own transaction (tasks.on_progress)
            outcomes[definition.campaignId] = tasks.on_progress(store, meta, customer_id, detail, trigger, now)
        else:
            outcomes[definition.campaignId] = grant(store, meta, customer_id, trigger, now, context=detail)
    if event_type in ("AccountOpened", "CardTransactionPosted"):
        from loyalty.campaigns import referrals

        outcomes.update(referrals.on_event(store, event_type, detail, audience, now, only=only, keyed_hashes=keyed_hashes))
    return outcomes


class Eligibility:
    """Whether one customer is in a campaign's audience; the profile is read once, if a rule needs it."""

    def __init__(self, store: CampaignStore, customer_id: str, now: datetime):
        self.store, self.customer_id, self.now = store, customer_id, now
        self._profile: dict[str, Any] | None = None
        self._loaded = False

    @property
    def erased(self) -> bool:
        if not self._loaded:
            self._profile, self._loaded = load_profile(self.customer_id), True
        return bool(self._profile and self._profile.get("erased"))

    def admits(self, definition: CampaignDefinition) -> bool:
        if not self._loaded and _reads_profile(definition):
            self._profile, self._loaded = load_profile(self.customer_id), True
        if definition.orgUnitId is not None and not within_unit(definition.orgUnitId, self._profile):
            return False
        if definition.audience.uploaded:
            return self.store.is_member(definition.campaignId, self.customer_id)
        return targeting.in_audience(definition.audience, self.customer_id, self._profile, business_date(self.now, get_settings().bank_zone))

    def awaits_profile(self, definition: CampaignDefinition) -> bool:
        """Refused only because the profile has not arrived: with it, the audience could admit them."""
        return _reads_profile(definition) and self._loaded and self._profile is None


def _reads_profile(definition: CampaignDefinition) -> bool:
    return definition.audience.needs_profile or definition.orgUnitId is not None


def within_unit(unit_id: str, profile: Mapping[str, Any] | None) -> bool:
    """A unit's campaign targets the customers of its subtree only: those whose profile's branch maps
    to a unit under it (docs/security.md, "Org units and scope"). The head office's campaigns (no
    unit) target everyone, and are never asked."""
    from loyalty.org.ports import units

    branch = (profile or {}).get("branchId")
    home = units().unit_for_branch(str(branch)) if branch else None
    return home is not None and units().contains(unit_id, home)


def load_profile(customer_id: str) -> dict[str, Any] | None:
    from loyalty.customers.ports import directory

    found = directory().profile(customer_id)
    return found.model_dump() if found is not None else None
