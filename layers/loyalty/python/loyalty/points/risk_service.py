"""Risk-warning use cases: the velocity limits, and an operator's release or rejection of a hold."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from loyalty.core.clock import business_date, iso_utc
from loyalty.core.config import get_settings
from loyalty.core.errors import Conflict, NotFound
from loyalty.core.outbox import PendingEvent
from loyalty.points import risk, rules, service
from loyalty.points.ledger import Account, Change
from loyalty.points.risk import PlannedEarn, RiskDecision, RiskSettings
from loyalty.points.storage import PointsStore
from loyalty.points.writes import DecideRiskHold


def save_settings(store: PointsStore, settings: RiskSettings, operator: str, now: datetime) -> dict[str, Any]:
    store.save_risk_settings(settings.model_dump_json(), operator, iso_utc(now))
    service.forget_cached_config()
    return {**settings.model_dump(mode="json"), "updatedBy": operator, "updatedAt": iso_utc(now)}


def settings_view(store: PointsStore) -> dict[str, Any]:
    """The limits as last saved, read past the accrual's cache; before any were saved, no limits
    (every field null): nothing is held."""
    record = store.risk_settings()
    if record is None:
        return {"maxPointsPerDay": None, "maxEventsPerHour": None, "updatedBy": None, "updatedAt": None}
    settings = RiskSettings.model_validate_json(record["settings"])
    return {**settings.model_dump(mode="json"), "updatedBy": record["updatedBy"], "updatedAt": record["updatedAt"]}


def pending_holds(store: PointsStore) -> list[dict[str, Any]]:
    """Every hold waiting for an operator, oldest first."""
    return [risk.view(item) for item in store.pending_risk_holds()]


def _valid_from(store: PointsStore, earn: PlannedEarn, today: str) -> PlannedEarn:
    """Released points are credited today: their validity runs from today (like any late accrual),
    by the rule version that awarded them, so a long review never releases lapsed points."""
    rule_id, version = earn.source.get("ruleId"), earn.source.get("ruleVersion")
    if earn.growth or not rule_id or version is None:
        return earn
    expires_on = rules.lot_expiry(store.rule(str(rule_id), int(version)), date.fromisoformat(today)).isoformat()
    return replace(earn, expires_on=max(earn.expires_on, expires_on))


def decide(store: PointsStore, hid: str, decision: RiskDecision, operator: str, now: datetime) -> dict[str, Any]:
    """Releases a hold (its earnings are booked as accrual would have) or rejects it. Decided once:
    the hold's status is the condition, so a second decision finds it decided."""
    record = store.risk_hold(hid)
    if record is None:
        raise NotFound(f"risk hold {hid} does not exist", code="RISK_HOLD_NOT_FOUND")
    if record["status"] != "pending":
        raise Conflict(f"risk hold {hid} is already {record['status']}", code="RISK_HOLD_DECIDED")
    customer_id = record["customerId"]
    status = "released" if decision.decision == "release" else "rejected"
    today = business_date(now, get_settings().bank_zone).isoformat()
    planned = [_valid_from(store, PlannedEarn(**p), today) for p in record["planned"]]

    def change_for(account: Account, caps: dict[str, int]) -> service.Decision:
        change = Change(today=today, growth_month=record["earnedOn"][:7])
        change.pending -= int(record["points"])
        change.records.append(DecideRiskHold(hid, status, operator, decision.note, iso_utc(now)))
        resolved = PendingEvent(service.SOURCE, "PointsRiskResolved", {"customerId": customer_id, "holdId": hid, "decision": status,
                                                                        "points": int(record["points"]), "decidedBy": operator})
        if status == "rejected":
            return change, [], [resolved]
        return change, [], [*service.book(service.current_ladder(store), account, change, planned, customer_id, now), resolved]

    if service.with_retries(store, customer_id, change_for, now) is None:
        raise Conflict(f"risk hold {hid} was decided meanwhile", code="RISK_HOLD_DECIDED")
    return risk.view(store.risk_hold(hid) or record)
