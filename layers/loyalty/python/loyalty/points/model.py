"""Points: earn rules, the bank events they read, and the ledger's records."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StringConstraints, model_validator

from loyalty.core.money import Currency, MinorUnits
from loyalty.core.strict import Day, Flag, OrgUnitRef
from loyalty.core.text import SINGLE_LINE, Label, Reason

RuleId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Key = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Points = Annotated[StrictInt, Field(ge=0, le=100_000_000)]
PositiveInt = Annotated[StrictInt, Field(gt=0)]
# A name an operator types (a rule, a catalogue item, a member level): one line, not blank.
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=SINGLE_LINE)]

EarnEventType = Literal[
    "CardTransactionPosted", "DepositBalanceChanged", "SalaryCredited", "CheckInCompleted", "MonthlyAumComputed", "LoginCompleted"
]
Category = Literal["growth", "transaction", "campaign", "asset"]
EntryKind = Literal["earn", "redeem", "expire", "reverse", "adjust"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PerAmount(Strict):
    """`points` for every `perAmountMinor` of the amount, rounded as stated."""

    mode: Literal["per_amount"]
    points: PositiveInt
    perAmountMinor: PositiveInt
    rounding: Literal["down", "up", "half_up"] = "down"


class Fixed(Strict):
    mode: Literal["fixed"]
    points: PositiveInt


class Tier(Strict):
    fromAmountMinor: MinorUnits
    points: Points


class Tiered(Strict):
    """The points of the highest tier the amount reaches."""

    mode: Literal["tiered"]
    tiers: Annotated[list[Tier], Field(min_length=1, max_length=20)]

    @model_validator(mode="after")
    def _ascending(self) -> Tiered:
        starts = [t.fromAmountMinor for t in self.tiers]
        if starts != sorted(set(starts)):
            raise ValueError("tiers must be in strictly ascending fromAmountMinor")
        return self


Award = Annotated[PerAmount | Fixed | Tiered, Field(discriminator="mode")]


class FixedDate(Strict):
    type: Literal["fixed_date"]
    date: Day


class EndOfMonth(Strict):
    """Valid to the end of the month `monthsLater` months after the earning month."""

    type: Literal["end_of_month"]
    monthsLater: Annotated[StrictInt, Field(ge=0, le=120)]


class Days(Strict):
    type: Literal["days"]
    days: Annotated[StrictInt, Field(ge=1, le=3660)]


LotValidity = Annotated[FixedDate | EndOfMonth | Days, Field(discriminator="type")]


class Conditions(Strict):
    """What an event must look like; an empty list means any."""

    mccs: list[Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]] = Field(default_factory=list)
    channels: list[Key] = Field(default_factory=list)
    merchantIds: list[Key] = Field(default_factory=list)
    minAmountMinor: MinorUnits | None = None
    currency: Currency | None = None


class Caps(Strict):
    perCustomerDaily: Points | None = None
    perCustomerMonthly: Points | None = None


RULE_EXAMPLE: dict[str, Any] = {
    "ruleId": "card-dining-2026",
    "name": "Card dining: 1 point per 10 yuan",
    "eventType": "CardTransactionPosted",
    "conditions": {"mccs": ["5812", "5814"], "channels": ["pos", "qr"], "minAmountMinor": 1000, "currency": "CNY"},
    "award": {"mode": "per_amount", "points": 1, "perAmountMinor": 1000, "rounding": "down"},
    "tierMultipliersPercent": {"gold": 150},
    "caps": {"perCustomerDaily": 500, "perCustomerMonthly": 5000},
    "validity": {"type": "end_of_month", "monthsLater": 12},
    "category": "transaction",
    "costCentre": "cc-cards",
    "priority": 100,
    "stacking": "stack",
    "active": True,
}


class RuleDefinition(Strict):
    """An earn rule. Stacking is explicit: rules are tried by descending `priority`; a matching
    `exclusive` rule stops the rules below it, `stack` rules add up."""

    model_config = ConfigDict(json_schema_extra={"examples": [RULE_EXAMPLE]})

    ruleId: RuleId
    name: Name
    eventType: EarnEventType
    conditions: Conditions = Conditions()
    award: Award
    tierMultipliersPercent: dict[Key, Annotated[StrictInt, Field(ge=0, le=1000)]] = Field(default_factory=dict)
    caps: Caps = Caps()
    validity: LotValidity
    category: Category
    costCentre: Label = Field(description="Who pays for the points this rule awards (the liability report groups by it).")
    campaignId: Key | None = None
    priority: Annotated[StrictInt, Field(ge=0, le=1000)] = 100
    stacking: Literal["stack", "exclusive"] = "stack"
    active: Flag = True
    orgUnitId: OrgUnitRef = None

    @model_validator(mode="after")
    def _amount_award_needs_amount(self) -> RuleDefinition:
        if self.eventType in ("CheckInCompleted", "LoginCompleted") and self.award.mode != "fixed":
            raise ValueError(f"{self.eventType} carries no amount: use a fixed award")
        return self


class Rule(BaseModel):
    model_config = ConfigDict(frozen=True)

    definition: RuleDefinition
    version: int
    updatedAt: str
    updatedBy: str


# ---- the bank events points read (EVENTS.md); unknown fields are ignored -----------------------


class Inbound(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class CardTransactionPosted(Inbound):
    transactionId: Key
    customerId: Key
    amountMinor: MinorUnits
    currency: Currency
    merchantId: Key
    mcc: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
    channel: Literal["pos", "online", "qr"]
    postedAt: AwareDatetime


class CardTransactionRefunded(Inbound):
    refundId: Key
    originalTransactionId: Key
    customerId: Key
    amountMinor: MinorUnits
    currency: Currency
    refundedAt: AwareDatetime


class DepositBalanceChanged(Inbound):
    customerId: Key
    accountId: Key
    balanceMinor: MinorUnits
    previousBalanceMinor: MinorUnits
    currency: Currency
    changedAt: AwareDatetime


class SalaryCredited(Inbound):
    transactionId: Key
    customerId: Key
    employerId: Key
    amountMinor: MinorUnits
    currency: Currency
    creditedAt: AwareDatetime


class CheckInCompleted(Inbound):
    customerId: Key
    businessDate: date
    checkedInAt: AwareDatetime


class MonthlyAumComputed(Inbound):
    customerId: Key
    month: Annotated[str, StringConstraints(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    averageAumMinor: MinorUnits
    currency: Currency


class LoginCompleted(Inbound):
    customerId: Key
    channel: Key
    loggedInAt: AwareDatetime


EARN_EVENTS: dict[str, type[Inbound]] = {
    "CardTransactionPosted": CardTransactionPosted,
    "DepositBalanceChanged": DepositBalanceChanged,
    "SalaryCredited": SalaryCredited,
    "CheckInCompleted": CheckInCompleted,
    "MonthlyAumComputed": MonthlyAumComputed,
    "LoginCompleted": LoginCompleted,
}


class QuoteRequest(Strict):
    """积分试算: an event as the bank would publish it, for this customer."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "eventType": "CardTransactionPosted",
        "detail": {"transactionId": "tx-20261204-0001", "customerId": "c-1001", "amountMinor": 128800, "currency": "CNY",
                   "merchantId": "m-dining-88", "mcc": "5812", "channel": "pos", "postedAt": "2026-12-04T12:30:00Z"},
    }]})

    eventType: EarnEventType
    detail: dict[str, object] = Field(
        description="The event's detail as in EVENTS.md (checked against the event type's contract); "
        "its `customerId` defaults to the caller."
    )


class AdjustmentRequest(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"points": 500, "reason": "Goodwill: card delivered late (ticket SR-88231)", "costCentre": "cc-service"},
    ]})

    points: Annotated[StrictInt, Field(ge=-100_000_000, le=100_000_000, json_schema_extra={"not": {"const": 0}},
                                       description="Credited if positive, taken if negative; never 0.")]
    reason: Reason = Field(description="Kept on the ledger entry and in the audit log.")
    costCentre: Label = Field(description="Who pays for credited points.")

    @model_validator(mode="after")
    def _not_zero(self) -> AdjustmentRequest:
        if self.points == 0:
            raise ValueError("an adjustment moves at least one point")
        return self


class AwardPointsCommand(BaseModel):
    """`AwardPoints`, sent by campaigns (events/schemas/commands/AwardPoints.json)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    commandId: Key
    customerId: Key
    points: Annotated[StrictInt, Field(ge=1, le=100_000_000)]
    costCentre: Key
    campaignId: Key | None = None
    validityDays: Annotated[StrictInt, Field(ge=1, le=3660)] = 365
    reason: Annotated[str, StringConstraints(max_length=200)] | None = None


class ReversePointsCommand(BaseModel):
    """`ReversePoints`, a campaign grant's compensation (events/schemas/commands/ReversePoints.json):
    takes back what the `AwardPoints` `commandId` booked, or forestalls it if it was not booked yet."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    commandId: Key  # the AwardPoints command whose points are taken back
    customerId: Key
    grantId: Key | None = None
    campaignId: Key | None = None
    reason: Annotated[str, StringConstraints(max_length=200)] | None = None
