"""MOT's API bodies and answers (pydantic), apart from the items as stored."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from loyalty.core.text import Note
from loyalty.mot import logic
from loyalty.mot.items import StatsItem
from loyalty.mot.model import MotRuleChange, MotRuleDefinition, Outcome, Rule, TaskRecord

EXAMPLE_RULE: dict[str, Any] = {
    "name": "Large outflow: call within a day",
    "trigger": {"eventType": "LargeBalanceMovement", "pattern": {"deltaMinor": [{"numeric": ["<=", -5_000_000]}]}},
    "audience": {"minAumMinor": 10_000_000},
    "task": {"priority": 1, "slaHours": 24, "talkingPoints": "{customerId} moved {deltaMinor} out of {accountId}: ask what they need.",
             "offer": {"templateId": "tpl-deposit-bonus"}, "message": {"channel": "wecom", "content": "您好，有新的存款优惠，方便时聊聊？"}},
    "goal": {"moment": {"eventType": "LargeBalanceMovement", "pattern": {"deltaMinor": [{"numeric": [">", 0]}]}}, "withinDays": 14},
    "holdoutPercent": 10,
}


class MotRuleRequest(MotRuleDefinition):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [EXAMPLE_RULE]})


class MotRuleChangeRequest(MotRuleChange):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{**EXAMPLE_RULE, "status": "paused", "version": 1}]})


class MotRuleView(MotRuleDefinition):
    ruleId: str
    version: int
    createdAt: str
    updatedAt: str
    updatedBy: str

    @classmethod
    def of(cls, rule: Rule) -> MotRuleView:
        return cls(ruleId=rule.ruleId, version=rule.version, createdAt=rule.createdAt, updatedAt=rule.updatedAt, updatedBy=rule.updatedBy,
                   **rule.definition.model_dump())


class MotRuleList(BaseModel):
    items: list[MotRuleView]


class TaskList(BaseModel):
    items: list[TaskRecord]


class CompleteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [
        {"outcome": "interested", "note": "Wants a 1-year term deposit; call back Friday."}]})

    outcome: Outcome
    note: Note | SkipJsonSchema[None] = Field(default=None, description="What was said, for the next person who calls.")


class MotReportRow(BaseModel):
    scope: Literal["rule", "relationship_manager", "org_unit"]
    id: str
    created: int
    done: int
    doneWithinSla: int
    contacted: int
    conversions: int
    offers: int
    messages: int
    escalated: int
    expired: int
    outcomes: dict[str, int]

    @classmethod
    def of(cls, sk: str, item: StatsItem) -> MotReportRow:
        scope, _, name = sk.partition("#")
        kinds: dict[str, Literal["rule", "relationship_manager", "org_unit"]] = {"ALL": "rule", "RM": "relationship_manager", "UNIT": "org_unit"}
        outcomes = {o: int(getattr(item, f"outcome_{o}") or 0) for o in ("contacted", "interested", "converted", "unreachable", "declined")}
        return cls(scope=kinds[scope], id=name or "all", created=int(item.created or 0), done=int(item.done or 0),
                   doneWithinSla=int(item.doneWithinSla or 0), contacted=int(item.contacted or 0), conversions=int(item.conversions or 0),
                   offers=int(item.offers or 0), messages=int(item.messages or 0), escalated=int(item.escalated or 0),
                   expired=int(item.expired or 0), outcomes=outcomes)


class MotRuleReport(BaseModel):
    ruleId: str
    version: int
    heldOut: int = Field(description="Moments of customers held out (no task): the control group.")
    holdoutConversions: int
    contactedConversionRate: float | None
    holdoutConversionRate: float | None
    uplift: float | None = Field(description="The contacted customers' conversion rate less the held-out customers'.")
    rows: list[MotReportRow]

    @classmethod
    def of(cls, rule: Rule, rows: dict[str, StatsItem]) -> MotRuleReport:
        total = rows.get("ALL") or StatsItem()
        contacted, converted = int(total.contacted or 0), int(total.conversions or 0)
        held, held_converted = int(total.heldOut or 0), int(total.holdoutConversions or 0)
        return cls(ruleId=rule.ruleId, version=rule.version, heldOut=held, holdoutConversions=held_converted,
                   contactedConversionRate=round(converted / contacted, 4) if contacted else None,
                   holdoutConversionRate=round(held_converted / held, 4) if held else None,
                   uplift=logic.uplift(contacted, converted, held, held_converted),
                   rows=[MotReportRow.of(sk, item) for sk, item in sorted(rows.items(), key=lambda kv: (kv[0] != "ALL", kv[0]))])


class BookCustomer(BaseModel):
    customerId: str
    since: str
    aumMinor: int | None
    currency: str | None
    tier: str | None
    segments: list[str]
    openTasks: int
    lastContactAt: str | None


class Book(BaseModel):
    items: list[BookCustomer]
