"""Points use cases: accrual, refunds, adjustments, expiry, quotes, balances, rules, liability.

Each ledger change reads the customer's account, decides the change with the pure ledger, and
writes it in one transaction conditioned on the account's version; on a race it reads again.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from loyalty.core import config_cache
from loyalty.core.clock import business_date, iso_utc
from loyalty.core.config import get_settings
from loyalty.core.errors import Conflict, InvalidInput
from loyalty.core.observability import count, logger
from loyalty.core.outbox import PendingEvent
from loyalty.points import ledger, risk, rules
from loyalty.points.ledger import Account, Change
from loyalty.points.model import (
    EARN_EVENTS,
    AdjustmentRequest,
    AwardPointsCommand,
    CardTransactionRefunded,
    Inbound,
    ReversePointsCommand,
    Rule,
    RuleDefinition,
)
from loyalty.points.risk import PlannedEarn, RiskSettings
from loyalty.points.storage import AlreadyApplied, CapUpdate, PointsStore, StaleAccount
from loyalty.points.tiers import TierLadder, upgrade_on_growth
from loyalty.points.writes import NewRiskHold, NotBooked, NotHeld

SOURCE = "loyalty.points"
MAX_ATTEMPTS = 8
ADJUSTMENT_VALIDITY_DAYS = 365


@cache
def default_store() -> PointsStore:
    from loyalty.points.store import DynamoPointsStore

    return DynamoPointsStore()


# Operator configuration (earn rules, member levels, risk limits) for `RULES_CACHE_SECONDS`:
# accrual reads it on every event, operators change it rarely.
CONFIG = ("rules", "ladder", "risk")
_monotonic = time.monotonic  # the cache's clock (unit tests move it)


def _cached(name: str, load: Callable[[], Any]) -> Any:
    return config_cache.cached(("points", name), get_settings().rules_cache_seconds, load, clock=_monotonic)


def forget_cached_config() -> None:
    """After an operator saves configuration: this instance sees it at once, others within the TTL."""
    for name in CONFIG:
        config_cache.forget(("points", name))


def current_rules(store: PointsStore) -> list[Rule]:
    return _cached("rules", store.rules)  # type: ignore[no-any-return]


def current_ladder(store: PointsStore) -> TierLadder | None:
    """The member levels in force; None until an operator sets them."""
    return _cached("ladder", lambda: (found := store.ladder()) and found[0])  # type: ignore[no-any-return]


def current_risk(store: PointsStore) -> RiskSettings | None:
    """The velocity limits in force; None (nothing held) until an operator sets them."""

    def load() -> RiskSettings | None:
        record = store.risk_settings()
        return RiskSettings.model_validate_json(record["settings"]) if record else None

    return _cached("risk", load)  # type: ignore[no-any-return]


def tier_of(ladder: TierLadder | None, account: Account) -> str | None:
    """The tier multipliers apply to: the account's, or the base tier before its first placement."""
    return ladder.level_of(account).tierId if ladder else account.tier


Decision = tuple[Change, list[CapUpdate], list[PendingEvent]]


def with_retries(store: PointsStore, customer_id: str, decide: Callable[[Account, dict[str, int]], Decision | None],
                 now: datetime) -> Change | None:
    """Read, decide, write conditioned on the version read; again on a race. None: nothing to do
    (or it was already booked)."""
    for attempt in range(MAX_ATTEMPTS):
        account, caps = store.load(customer_id)
        decided = decide(account, caps)
        if decided is None:
            return None
        change, cap_updates, events = decided
        if not (change.entries or change.records or change.balance_sets):
            return None
        try:
            store.commit(account, change, caps=cap_updates, events=events, ttl_epoch=int(now.timestamp()))
            return change
        except AlreadyApplied:
            logger.info("ledger source already booked", extra={"customer_id": customer_id})
            return None
        except StaleAccount:
            time.sleep(0.002 * (attempt + 1))
    raise Conflict("the points account is busy; retry", code="ACCOUNT_CONTENDED")


def entry_event(kind: str, customer_id: str, entry: ledger.Entry, **extra: Any) -> PendingEvent:
    detail = {"customerId": customer_id, "entryId": entry.entry_id, "kind": entry.kind, "points": entry.points,
              "growth": entry.growth, "costCentre": entry.cost_centre, "source": entry.source, **extra}
    return PendingEvent(SOURCE, kind, {k: v for k, v in detail.items() if v is not None})


# ---- accrual --------------------------------------------------------------------------------------


def award_plan(rules_now: list[Rule], ctx: rules.EarnContext, caps: dict[str, int], tier: str | None) -> list[dict[str, Any]]:
    """What each matching rule awards after its caps: the trial calculation and accrual share it."""
    day, month = rules.cap_periods(ctx, get_settings().bank_zone)
    plan = []
    for proposed in rules.evaluate(rules_now, ctx, tier):
        d = proposed.rule.definition
        daily_key, monthly_key = f"{d.ruleId}#D#{day}", f"{d.ruleId}#M#{month}"
        points = rules.capped(proposed.points, d.caps.perCustomerDaily, caps.get(daily_key, 0))
        points = rules.capped(points, d.caps.perCustomerMonthly, caps.get(monthly_key, 0))
        plan.append(
            {
                "rule": proposed.rule,
                "proposed": proposed.points,
                "points": points,
                "caps": {
                    "daily": {"cap": d.caps.perCustomerDaily, "used": caps.get(daily_key, 0), "key": daily_key},
                    "monthly": {"cap": d.caps.perCustomerMonthly, "used": caps.get(monthly_key, 0), "key": monthly_key},
                },
            }
        )
    return plan


def accrue(store: PointsStore, event_type: str, detail: Inbound, event_id: str, now: datetime) -> Change | None:
    """Books what a bank event earns, once per (event, rule), whatever the delivery count; or holds
    it whole when it passes the risk limits."""
    ctx = rules.context_of(event_type, detail)
    rules_now, ladder, limits = current_rules(store), current_ladder(store), current_risk(store)
    zone = get_settings().bank_zone
    earned_on = rules.earned_on(ctx, zone)
    # Validity runs from the day the points are credited (入账) when that is later than the day they
    # were earned for: a month's AUM award, or an event delivered late, never arrives already lapsed.
    valid_from = max(earned_on, business_date(now, zone))
    hid = risk.hold_id(event_type, ctx.customer_id, ctx.subject)

    def decide(account: Account, caps: dict[str, int]) -> Decision | None:
        if account.erased:
            logger.info("accrual for an erased customer dropped", extra={"event_id": event_id})
            return None
        change, cap_updates = Change(today=earned_on.isoformat(), growth_month=earned_on.isoformat()[:7]), []
        planned: list[PlannedEarn] = []
        for award in award_plan(rules_now, ctx, caps, tier_of(ladder, account)):
            if award["points"] <= 0:
                continue
            d = award["rule"].definition
            source = {"eventType": event_type, "eventId": event_id, "subject": ctx.subject, "ruleId": d.ruleId,
                      "ruleVersion": award["rule"].version, "campaignId": d.campaignId, "amountMinor": ctx.amount_minor, "currency": ctx.currency,
                      "category": d.category,
                      # the month tiers count it in: a refund takes it back from that month
                      "growthMonth": earned_on.isoformat()[:7] if d.category == "growth" else None}
            planned.append(PlannedEarn(f"earn:{event_type}:{ctx.subject}:{d.ruleId}", award["points"], d.category == "growth",
                                       rules.lot_expiry(award["rule"], valid_from).isoformat(), d.costCentre,
                                       {k: v for k, v in source.items() if v is not None}))
            cap_updates += [(c["key"], award["points"], c["cap"]) for c in award["caps"].values() if c["cap"] is not None]
        if limits is not None and planned:
            day_key, hour_key = risk.counter_keys(ctx.occurred_at, earned_on.isoformat(), zone)
            points = sum(p.points for p in planned if not p.growth)
            cap_updates += [(day_key, points, risk.COUNTER_CEILING), (hour_key, 1, risk.COUNTER_CEILING)]
            found = risk.breach(limits, caps, day_key, hour_key, points)
            if found is not None:
                change.pending += points
                origin = {"eventType": event_type, "sourceEventId": event_id}
                change.records += [NewRiskHold(risk.hold_fields(hid, ctx.customer_id, planned, found, iso_utc(now),
                                                                {**origin, "earnedOn": earned_on.isoformat()})),
                                   *(NotBooked(ctx.customer_id, p.entry_id) for p in planned)]
                flagged = {"customerId": ctx.customer_id, "holdId": hid, "points": points, **origin, **found}
                return change, cap_updates, [PendingEvent(SOURCE, "PointsRiskFlagged", flagged)]
            change.records.append(NotHeld(hid))
        return change, cap_updates, book(ladder, account, change, planned, ctx.customer_id, now)

    booked = with_retries(store, ctx.customer_id, decide, now)
    if booked is not None:
        count("PointsEarned", sum(e.points for e in booked.entries if e.kind == "earn" and e.points > 0))
    return booked


def book(ladder: TierLadder | None, account: Account, change: Change, planned: list[PlannedEarn], customer_id: str, now: datetime) -> list[PendingEvent]:
    """Earns each planned award into the change; the events that announce them (and any upgrade)."""
    for p in planned:
        ledger.earn(account, change, entry_id=p.entry_id, points=p.points, growth=p.growth, expires_on=p.expires_on,
                    cost_centre=p.cost_centre, at=iso_utc(now), source=p.source)
    events = [entry_event("PointsEarned", customer_id, e) for e in change.entries]
    if ladder is not None:
        events += upgrade_on_growth(ladder, account, change, iso_utc(now))
    return events


def reverse_refund(store: PointsStore, refund: CardTransactionRefunded, now: datetime) -> Change | None:
    """Takes back what the original transaction earned, in proportion to the amount refunded
    (cumulatively over partial refunds); points already spent become a debt. Growth value is taken
    back too, from the month it counted in, so buying and returning cannot buy a member level: the
    next monthly re-evaluation sees the lower growth (downgrades happen only there)."""
    tx = refund.originalTransactionId

    def decide(account: Account, caps: dict[str, int]) -> Decision | None:
        earned = [e for e in store.entries_with_prefix(refund.customerId, f"earn:CardTransactionPosted:{tx}:")
                  if e.get("points", 0) > 0 or e.get("growth", 0) > 0]
        if not earned:
            logger.info("refund of a transaction that earned nothing", extra={"transaction": tx})
            return None
        earned_source = json.loads(earned[0]["source"])
        original = int(earned_source.get("amountMinor") or 0)
        if earned_source.get("currency", refund.currency) != refund.currency:
            raise InvalidInput(f"a refund in {refund.currency} of a purchase in {earned_source['currency']}", code="REFUND_CURRENCY_MISMATCH")
        if original == 0:
            logger.info("refund of a transaction without an amount: nothing to take back in proportion", extra={"transaction": tx})
            return None
        previous = store.entries_with_prefix(refund.customerId, f"reverse:{tx}:")
        if any(e["entryId"].startswith(f"reverse:{tx}:{refund.refundId}:") for e in previous):
            return None  # this refund was booked already
        # Each earlier refund wrote one entry per rule, all carrying its amount: count each refund once.
        amounts = {json.loads(e["source"])["refundId"]: int(json.loads(e["source"])["refundAmountMinor"]) for e in previous}
        refunded_before = sum(amounts.values())
        refunded_after = refunded_before + refund.amountMinor
        if refunded_after > original:
            raise InvalidInput(
                f"refunds total {refunded_after}, more than the original {original}", code="REFUND_EXCEEDS_ORIGINAL"
            )
        change = Change(today=business_date(now, get_settings().bank_zone).isoformat())
        for entry in earned:
            rule_id = entry["entryId"].rsplit(":", 1)[1]
            same_rule = [e for e in previous if e["entryId"].endswith(f":{rule_id}")]
            entry_id = f"reverse:{tx}:{refund.refundId}:{rule_id}"
            source = {"refundId": refund.refundId, "originalTransactionId": tx, "ruleId": rule_id, "refundAmountMinor": refund.amountMinor}
            # Recorded even when it reverses nothing yet: the refunded amount must count next time.
            if int(entry.get("growth", 0)) > 0:
                reversed_before = -sum(int(e.get("growth", 0)) for e in same_rule)
                due = max(0, int(entry["growth"]) * refunded_after // original - reversed_before)
                month = json.loads(entry["source"]).get("growthMonth") or entry["at"][:7]  # booked before growthMonth: its UTC month
                ledger.reverse_growth(change, entry_id=entry_id, growth=due, month=month, at=iso_utc(now), source=source)
                continue
            reversed_before = -sum(int(e["points"]) for e in same_rule)
            due = max(0, int(entry["points"]) * refunded_after // original - reversed_before)
            own_lots = tuple(lot_id for lot_id, _ in json.loads(entry.get("lots") or "[]"))
            ledger.reverse(account, change, entry_id=entry_id, points=due, at=iso_utc(now), source=source, prefer=own_lots)
        events = [entry_event("PointsReversed", refund.customerId, e) for e in change.entries]
        return change, [], events

    return with_retries(store, refund.customerId, decide, now)


def require_known_customer(customer_id: str) -> None:
    """An operator acts only on a customer the engine has seen (a profile from core banking): a
    mistyped id must answer 404 CUSTOMER_NOT_FOUND, never open a points account. An erased
    customer's tombstone is a profile too: their books stay correct under the same rules."""
    from loyalty.core.errors import NotFound
    from loyalty.customers.ports import directory

    if directory().profile(customer_id) is None:
        raise NotFound(f"customer {customer_id} is not known", code="CUSTOMER_NOT_FOUND")


def adjust(store: PointsStore, customer_id: str, request: AdjustmentRequest, operator: str, key: str, now: datetime) -> Change | None:
    entry_id = f"adjust:{operator}:{key}"
    source = {"operator": operator, "reason": request.reason}
    expires_on = (business_date(now, get_settings().bank_zone) + timedelta(days=ADJUSTMENT_VALIDITY_DAYS)).isoformat()

    def decide(account: Account, caps: dict[str, int]) -> Decision:
        change = Change(today=business_date(now, get_settings().bank_zone).isoformat())
        if request.points > 0:
            ledger.earn(account, change, entry_id=entry_id, points=request.points, growth=False, expires_on=expires_on,
                        cost_centre=request.costCentre, at=iso_utc(now), source=source, kind="adjust")
        else:
            ledger.redeem(account, change, entry_id=entry_id, points=-request.points, at=iso_utc(now), source=source, kind="adjust")
        return change, [], [entry_event("PointsAdjusted", customer_id, e) for e in change.entries]

    return with_retries(store, customer_id, decide, now)


def award_entry_id(command_id: str) -> str:
    return f"award:{command_id}"


def award_reversal_id(command_id: str) -> str:
    return f"reverse:award:{command_id}"


def award_for_command(store: PointsStore, command: AwardPointsCommand, now: datetime) -> Change | None:
    """Points a campaign grants: booked once per command id, into a lot paid by its cost centre, and
    answered (`PointsAwarded`). Never after the award's reversal (`ReversePoints` came first)."""
    today = business_date(now, get_settings().bank_zone)
    source = {"commandId": command.commandId, "campaignId": command.campaignId, "reason": command.reason, "category": "campaign"}

    def decide(account: Account, caps: dict[str, int]) -> Decision:
        change = Change(today=today.isoformat())
        change.records.append(NotBooked(command.customerId, award_reversal_id(command.commandId)))
        ledger.earn(account, change, entry_id=award_entry_id(command.commandId), points=command.points, growth=False,
                    expires_on=(today + timedelta(days=command.validityDays)).isoformat(), cost_centre=command.costCentre,
                    at=iso_utc(now), source={k: v for k, v in source.items() if v is not None})
        answer = {"commandId": command.commandId, "customerId": command.customerId, "campaignId": command.campaignId,
                  "points": command.points, "entryId": award_entry_id(command.commandId)}
        return change, [], [*(entry_event("PointsEarned", command.customerId, e) for e in change.entries),
                            PendingEvent(SOURCE, "PointsAwarded", {k: v for k, v in answer.items() if v is not None})]

    return with_retries(store, command.customerId, decide, now)


def reverse_award(store: PointsStore, command: ReversePointsCommand, now: datetime) -> Change | None:
    """A campaign grant's compensation: takes back what an `AwardPoints` booked, with a `reverse`
    entry naming the grant (from the award's own lot first; points already spent become debt); or,
    when the award was not booked yet, a `reverse` entry of no points that forestalls it. Answered
    with `PointsAwardReversed`. Once per award: the reversal's entry id is the award's; a second
    delivery finds it (None)."""
    today = business_date(now, get_settings().bank_zone).isoformat()
    entry_id = award_reversal_id(command.commandId)
    source = {"awardCommandId": command.commandId, "grantId": command.grantId, "campaignId": command.campaignId,
              "reason": command.reason, "category": "campaign"}
    source = {k: v for k, v in source.items() if v is not None}

    def decide(account: Account, caps: dict[str, int]) -> Decision:
        change = Change(today=today)
        award = next((e for e in store.entries_with_prefix(command.customerId, award_entry_id(command.commandId))
                      if e["entryId"] == award_entry_id(command.commandId)), None)
        answer: dict[str, Any] = {"commandId": command.commandId, "customerId": command.customerId, "campaignId": command.campaignId,
                                  "grantId": command.grantId, "entryId": entry_id, "booked": award is not None}
        events = []
        if award is None:
            ledger.reverse_unbooked(change, entry_id=entry_id, at=iso_utc(now), source={**source, "awardNotBooked": True})
            answer.update(points=0, debt=0)
        else:
            own_lots = tuple(lot_id for lot_id, _ in json.loads(award.get("lots") or "[]"))
            ledger.reverse(account, change, entry_id=entry_id, points=int(award["points"]), at=iso_utc(now), source=source, prefer=own_lots)
            entry = change.entries[0]
            answer.update(points=-entry.points, debt=entry.debt_change)
            events.append(entry_event("PointsReversed", command.customerId, entry))
        events.append(PendingEvent(SOURCE, "PointsAwardReversed", {k: v for k, v in answer.items() if v is not None}))
        return change, [], events

    return with_retries(store, command.customerId, decide, now)


# ---- expiry ---------------------------------------------------------------------------------------


def expire_due(store: PointsStore, now: datetime) -> dict[str, int]:
    """Expires every lot whose date has passed in the bank's time zone (a lot is valid through its
    date), however many runs were missed, and announces lots expiring soon. Safe to run twice: an
    expired lot is deleted."""
    zone = get_settings().bank_zone
    today = business_date(now, zone)
    expired = 0
    # Every lapsed lot, however old: the index finds them all, so missed runs catch up by themselves.
    for customer_id, lot in list(store.lots_lapsed_before(today.isoformat())):

        def decide(account: Account, caps: dict[str, int], lot_id: str = lot.lot_id, customer: str = customer_id) -> Decision | None:
            current = next((x for x in account.lots if x.lot_id == lot_id), None)
            if current is None:
                return None
            change = Change()
            ledger.expire(account, change, lot=current, at=iso_utc(now), entry_id=f"expire:{lot_id}:v{account.version}")
            return change, [], [entry_event("PointsExpired", customer, e, expiredOn=current.expires_on) for e in change.entries]

        try:
            if (change := with_retries(store, customer_id, decide, now)) is not None:
                expired += 1
                count("PointsExpired", -sum(e.points for e in change.entries))
        except Conflict:
            logger.warning("a busy account kept a lapsed lot; the next run expires it", extra={"customer_id": customer_id})
    soon_day = (today + timedelta(days=get_settings().points_expiring_soon_days)).isoformat()
    soon: dict[str, int] = defaultdict(int)
    for customer_id, lot in store.lots_expiring_on(soon_day):
        soon[customer_id] += lot.remaining
    if soon:
        from loyalty.core.events import OutboundEvent, publish

        publish([OutboundEvent(SOURCE, "PointsExpiringSoon", {"customerId": c, "points": p, "expiresOn": soon_day,
                                                               "eventId": f"soon:{c}:{soon_day}"}) for c, p in soon.items()])
    # The liability, once a day, for the dashboard (the operator report has it by cost centre).
    count("PointsLiability", store.balances_total()[0])
    return {"lotsExpired": expired, "customersNotified": len(soon)}


# ---- reads ----------------------------------------------------------------------------------------


def balance(store: PointsStore, customer_id: str, now: datetime) -> dict[str, Any]:
    account, _ = store.load(customer_id)
    today = business_date(now, get_settings().bank_zone)
    horizon = (today + timedelta(days=30)).isoformat()
    expiring: dict[str, int] = defaultdict(int)
    # A lot that lapsed before today is never spent, though the daily run may not have deleted it yet
    lapsed = sum(lot.remaining for lot in account.lots if lot.expires_on < today.isoformat())
    for lot in account.lots:
        if today.isoformat() <= lot.expires_on <= horizon:
            expiring[lot.expires_on] += lot.remaining
    return {
        "customerId": customer_id,
        "available": account.available - lapsed,
        "pending": account.pending,
        "held": account.held,
        "debt": account.debt,
        "growth": account.growth,
        "tier": tier_of(current_ladder(store), account),
        "expiringWithin30Days": [{"date": d, "points": p} for d, p in sorted(expiring.items())],
    }


def quote(store: PointsStore, event_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    """积分试算: what each rule would award this event now, and the caps that apply. Changes nothing."""
    from pydantic import ValidationError

    try:
        parsed = EARN_EVENTS[event_type].model_validate(detail)
    except ValidationError as error:
        # Named as the request validation names body fields, so a client handles both alike.
        details = [{"field": ".".join(["detail", *(str(p) for p in e["loc"])]), "in": "body", "problem": e["msg"]}
                   for e in error.errors(include_url=False, include_input=False, include_context=False)]
        raise InvalidInput(f"the {event_type} is not valid", code="VALIDATION_ERROR", details=details) from None
    ctx = rules.context_of(event_type, parsed)
    account, caps = store.load(ctx.customer_id)
    plan = award_plan(current_rules(store), ctx, caps, tier_of(current_ladder(store), account))
    return {
        "customerId": ctx.customer_id,
        "total": sum(a["points"] for a in plan if a["rule"].definition.category != "growth"),
        "growth": sum(a["points"] for a in plan if a["rule"].definition.category == "growth"),
        "rules": [
            {
                "ruleId": a["rule"].definition.ruleId,
                "version": a["rule"].version,
                "category": a["rule"].definition.category,
                "points": a["points"],
                "beforeCaps": a["proposed"],
                "caps": {k: {"cap": v["cap"], "used": v["used"]} for k, v in a["caps"].items() if v["cap"] is not None},
            }
            for a in plan
        ],
    }


def liability(store: PointsStore) -> dict[str, Any]:
    """Outstanding points by cost centre and expiry month, from the lots; with the balances' total,
    which must agree (both are written by the same transactions)."""
    table: dict[tuple[str, str], int] = defaultdict(int)
    for lot in store.all_lots():
        table[(lot.cost_centre, lot.expires_on[:7])] += lot.remaining
    available, debt = store.balances_total()
    outstanding = sum(table.values())
    return {
        "rows": [{"costCentre": c, "expiryMonth": m, "points": p} for (c, m), p in sorted(table.items())],
        "outstanding": outstanding,
        "balancesAvailable": available,
        "debt": debt,
        "agrees": outstanding == available,
    }


# ---- rules ----------------------------------------------------------------------------------------


def save_rule(store: PointsStore, definition: RuleDefinition, operator: str, now: datetime, *, create: bool) -> Rule:
    version = 1
    if not create:
        version = store.rule(definition.ruleId).version + 1
    rule = Rule(definition=definition, version=version, updatedAt=iso_utc(now), updatedBy=operator)
    store.save_rule(rule)
    forget_cached_config()
    return rule


def rule_view(rule: Rule) -> dict[str, Any]:
    return {**rule.definition.model_dump(mode="json"), "version": rule.version, "updatedAt": rule.updatedAt, "updatedBy": rule.updatedBy}
