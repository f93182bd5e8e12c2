"""MOT rules (key customer moments) and the relationship managers' tasks they create (docs/mot.md)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    create_model,
    model_validator,
)

from loyalty.core.patterns import check_pattern
from loyalty.core.strict import OrgUnitRef
from loyalty.core.text import Label, Note

Kind = Literal["number", "string", "boolean"]
# The moments a rule may start from, by detail-type: the source that publishes them and the fields
# of their detail a pattern may test (../shared/EVENTS.md and events/schemas/outbound). A pattern
# naming another field, or testing one with a value of another kind, could never match: refused.
MOMENTS: dict[str, tuple[str, dict[str, Kind]]] = {
    "LargeBalanceMovement": ("bank.core", {"accountId": "string", "deltaMinor": "number", "currency": "string", "movedAt": "string"}),
    "DepositBalanceChanged": ("bank.core", {"accountId": "string", "balanceMinor": "number", "previousBalanceMinor": "number",
                                            "currency": "string", "changedAt": "string"}),
    "DepositMaturing": ("bank.core", {"accountId": "string", "maturesOn": "string", "principalMinor": "number", "currency": "string",
                                      "productCode": "string", "autoRenew": "boolean"}),
    "SalaryCredited": ("bank.core", {"transactionId": "string", "employerId": "string", "amountMinor": "number", "currency": "string",
                                     "creditedAt": "string"}),
    "ApplicationAbandoned": ("bank.channels", {"applicationId": "string", "productCode": "string", "step": "string",
                                               "abandonedAt": "string", "amountMinor": "number", "currency": "string"}),
    "TierChanged": ("loyalty.points", {"fromTier": "string", "toTier": "string", "direction": "string", "changedAt": "string"}),
    "PointsExpiringSoon": ("loyalty.points", {"points": "number", "expiresOn": "string"}),
    "ScoreChanged": ("loyalty.scoring", {"score": "string", "to": "string", "from": "string"}),
}
MomentType = Literal["LargeBalanceMovement", "DepositBalanceChanged", "DepositMaturing", "SalaryCredited", "ApplicationAbandoned",
                     "TierChanged", "PointsExpiringSoon", "ScoreChanged"]
Channel = Literal["wecom", "sms", "push"]
TaskState = Literal["open", "in_progress", "done", "expired", "reassigned"]
Outcome = Literal["contacted", "interested", "converted", "unreachable", "declined"]
CONTACT_OUTCOMES = frozenset({"contacted", "interested", "converted"})  # the customer was reached: a conversion may follow
RuleStatus = Literal["active", "paused"]
Template = Annotated[str, StringConstraints(min_length=1, max_length=1000)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Moment(Strict):
    """An event and an EventBridge-style pattern over its detail."""

    eventType: MomentType
    pattern: dict[str, Any] = Field(default_factory=dict, json_schema_extra={"maxProperties": 10})

    @model_validator(mode="after")
    def _can_match(self) -> Moment:
        check_pattern(self.pattern)
        never = never_matching(self.eventType, self.pattern)
        if never:
            raise ValueError(never)
        return self


class Birthday(Strict):
    """A schedule: the customer's birthday (a profile field) in `daysAhead` days, in the bank's time
    zone; a 29 February birthday falls on 28 February in other years. Found by a daily run over the
    profiles (`mot-schedules`), once per customer and year."""

    schedule: Literal["birthday"]
    daysAhead: Annotated[StrictInt, Field(ge=0, le=30)] = 3

    @property
    def eventType(self) -> str:
        return BIRTHDAY


BIRTHDAY = "schedule:birthday"


class MotAudience(Strict):
    """Whom the rule is for (every condition must hold; none: everyone with the moment)."""

    tiers: list[Label] = Field(default_factory=list, max_length=20)
    segments: list[Label] = Field(default_factory=list, max_length=20)
    minAumMinor: Annotated[StrictInt, Field(ge=0)] | None = None


class Offer(Strict):
    """A coupon the RM may send, from this template; its face value is charged to the RM's month."""

    templateId: Label


class Message(Strict):
    channel: Channel = "wecom"
    content: Template = Field(description="The text, with {variables} from the moment's detail and the customer.")


class TaskSpec(Strict):
    priority: Annotated[StrictInt, Field(ge=1, le=5, description="1 is the most urgent.")] = 3
    slaHours: Annotated[StrictInt, Field(ge=1, le=720)] = 48
    talkingPoints: Template
    offer: Offer | None = None
    message: Message | None = None


class Goal(Strict):
    """What counts as a conversion: this moment within `withinDays` of the contact."""

    moment: Moment
    withinDays: Annotated[StrictInt, Field(ge=1, le=90)] = 14


class MotRuleDefinition(Strict):
    name: Label
    orgUnitId: OrgUnitRef
    trigger: Moment | Birthday
    audience: MotAudience = Field(default_factory=MotAudience)
    task: TaskSpec
    goal: Goal | None = None
    holdoutPercent: Annotated[StrictInt, Field(ge=0, le=50, description="Customers left without a task, to measure uplift.")] = 10
    status: RuleStatus = "active"


class MotRuleChange(MotRuleDefinition):
    """A new version of the rule: the version it replaces must still be the newest."""

    version: Annotated[StrictInt, Field(ge=1)]


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True)

    ruleId: str
    version: int
    definition: MotRuleDefinition
    createdAt: str
    updatedAt: str
    updatedBy: str


def never_matching(event_type: str, pattern: dict[str, Any]) -> str | None:
    """Why no event of this type could match the pattern, or None. A pattern tests fields the event
    has, with values of their kind (a string never equals a number, `numeric` needs a number)."""
    fields = MOMENTS[event_type][1]
    for name, matchers in pattern.items():
        kind = fields.get(name)
        if kind is None:
            return f"{event_type} has no field {name!r}: the pattern could never match (fields: {', '.join(sorted(fields))})"
        if isinstance(matchers, dict):
            return f"{event_type}.{name} is not an object: the pattern could never match"
        if not any(_can_meet(matcher, kind) for matcher in matchers):
            return f"no value of {event_type}.{name} (a {kind}) could match {matchers!r}"
    return None


def _can_meet(matcher: Any, kind: Kind) -> bool:
    if isinstance(matcher, dict):
        (test, _), = matcher.items()
        return test == "exists" or ((test == "numeric") == (kind == "number") and (test != "prefix" or kind == "string"))
    if isinstance(matcher, bool):
        return kind == "boolean"
    if isinstance(matcher, int | float):
        return kind == "number"
    return isinstance(matcher, str) and kind == "string"


class TaskRecord(BaseModel):
    """A task, as stored and shown."""

    model_config = ConfigDict(frozen=True)

    taskId: str
    ruleId: str
    ruleVersion: int
    customerId: str
    assignee: str  # the RM's id, or `branch:<org unit>` (the branch's queue: no RM, over capacity, or overdue)
    orgUnitId: str | None = None
    state: TaskState
    priority: int
    customerValueMinor: int
    talkingPoints: str
    offer: Offer | None = None
    message: Message | None = None
    moment: str  # the occurrence that created it
    createdAt: str
    dueAt: str
    expiresAt: str
    version: int = 1
    why: str | None = None  # why it is in the branch's queue
    startedAt: str | None = None
    completedAt: str | None = None
    outcome: Outcome | None = None
    note: Note | None = None
    contactedAt: str | None = None
    offerCouponId: str | None = None
    messageId: str | None = None
    convertedAt: str | None = None


def queue_of(org_unit: str | None) -> str:
    return f"branch:{org_unit or 'hq'}"


# The bank's moments' required fields (../shared/EVENTS.md): a moment without one breaks the contract
# and goes to the DLQ. The engine's own events are checked by their producers' schemas.
REQUIRED: dict[str, tuple[str, ...]] = {
    "LargeBalanceMovement": ("accountId", "deltaMinor", "currency", "movedAt"),
    "DepositBalanceChanged": ("accountId", "balanceMinor", "previousBalanceMinor", "currency", "changedAt"),
    "DepositMaturing": ("accountId", "maturesOn", "principalMinor", "currency", "productCode"),
    "SalaryCredited": ("transactionId", "employerId", "amountMinor", "currency", "creditedAt"),
    "ApplicationAbandoned": ("applicationId", "productCode", "step", "abandonedAt"),
}
_TYPES: dict[Kind, Any] = {"number": StrictInt, "string": StrictStr, "boolean": StrictBool}


class MomentDetail(BaseModel):
    """A moment's detail as MOT reads it: its customer, and the fields its rules' patterns test."""

    model_config = ConfigDict(extra="allow", frozen=True)

    customerId: Annotated[str, StringConstraints(min_length=1, max_length=64)]


def moment_models() -> dict[str, type[BaseModel]]:
    """Each moment's detail model: the customer, the contract's required fields, and each field's kind."""
    models: dict[str, type[BaseModel]] = {}
    for event_type, (source, fields) in MOMENTS.items():
        if source.startswith("loyalty."):
            models[event_type] = MomentDetail
            continue
        required = REQUIRED[event_type]
        typed: dict[str, Any] = {name: (_TYPES[kind], ...) if name in required else (_TYPES[kind] | None, None) for name, kind in fields.items()}
        models[event_type] = create_model(f"{event_type}Moment", __base__=MomentDetail, **typed)
    return models


class ManagerChanged(BaseModel):
    """`CustomerProfileChanged`, as MOT reads it: the customer's relationship manager, when it is named."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    customerId: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    changedAt: AwareDatetime
    relationshipManagerId: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
