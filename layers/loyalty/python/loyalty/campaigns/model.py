"""Campaigns: the definition an operator saves, validated before anything is stored.

A campaign has one trigger (a bank event with conditions, a schedule, or a manual fire), an
audience, reward variants (A/B arms; the control group gets nothing), a budget, frequency caps and
a notification channel. Saving creates a new version; only a draft is edited.
"""

from __future__ import annotations

from datetime import date, timedelta, tzinfo
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StringConstraints, field_validator, model_validator

from loyalty.core import pacing
from loyalty.core.money import DEFAULT_CURRENCY, Currency, MinorUnits
from loyalty.core.pacing import PacingPlan
from loyalty.core.strict import Flag, Instant, OrgUnitRef, TimeOfDay
from loyalty.core.text import SINGLE_LINE, Label, Note

CampaignId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Key = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Count = Annotated[StrictInt, Field(ge=1, le=1_000_000_000)]
# ASCII only, so a list of them has a known size as JSON (see MAX_LISTED_IDS).
CustomerId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
# A campaign's name: up to 200 characters (a Label is 64), one line, its spaces kept.
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=SINGLE_LINE)]

# Every list in a request body has a limit whose longest list still fits well under the 64 KB body
# limit as JSON, so a list one over its limit is refused by validation (400), not as too large (413):
# 800 ids of at most 64 ASCII characters are at most 800 × 67 bytes = 53.6 KB.
MAX_LISTED_IDS = 800
MAX_LABELS = 100  # 100 labels of 64 characters, each escaped as \uXXXX (CJK): 38.7 KB
MAX_MCCS = 1000  # 7 bytes each

TRIGGER_EVENTS: dict[str, str] = {
    # detail-type: the source that publishes it
    "CardTransactionPosted": "bank.core",
    "SalaryCredited": "bank.core",
    "LoanDrawdown": "bank.core",
    "AccountOpened": "bank.core",
    "LargeBalanceMovement": "bank.core",
    "DepositBalanceChanged": "bank.core",
    "CheckInCompleted": "bank.core",
    "TierChanged": "loyalty.points",
    "SegmentEntered": "loyalty.scoring",
    "ScoreChanged": "loyalty.scoring",
}
TriggerEvent = Literal[
    "CardTransactionPosted", "SalaryCredited", "LoanDrawdown", "AccountOpened", "LargeBalanceMovement",
    "DepositBalanceChanged", "CheckInCompleted", "TierChanged", "SegmentEntered", "ScoreChanged",
]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Window(Strict):
    startsAt: Instant
    endsAt: Instant

    @model_validator(mode="after")
    def _ends_after_start(self) -> Window:
        if self.endsAt <= self.startsAt:
            raise ValueError("the window must end after it starts")
        return self


class Target(Strict):
    """A task (任务中心): `count` matching events within any `withinDays` days earn the reward, then
    counting starts again."""

    count: Annotated[StrictInt, Field(ge=2, le=1000)]
    withinDays: Annotated[StrictInt, Field(ge=1, le=366)]


class EventTrigger(Strict):
    """A bank event, with an EventBridge-style `pattern` over its detail (lists of allowed values,
    `{"prefix": ...}`, `{"numeric": [op, n, ...]}`, `{"exists": bool}`), and shorthand conditions.
    With a `target`, matching events count toward it; with `streakDays` (check-ins only), every
    `streakDays` consecutive business days earn the reward (签到). `minAmountMinor` is in `currency`:
    an event in another currency does not meet it (amounts are never converted); 0 is no threshold."""

    type: Literal["event"]
    eventType: TriggerEvent
    pattern: dict[str, Any] = Field(default_factory=dict)
    minAmountMinor: MinorUnits | None = None
    currency: Currency = DEFAULT_CURRENCY
    mccs: list[Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]] = Field(default_factory=list)
    target: Target | None = None
    streakDays: Annotated[StrictInt, Field(ge=2, le=366)] | None = None

    @model_validator(mode="after")
    def _one_kind_of_progress(self) -> EventTrigger:
        if self.target and self.streakDays:
            raise ValueError("a trigger counts toward a target or a streak, not both")
        if self.streakDays and self.eventType != "CheckInCompleted":
            raise ValueError("a streak counts CheckInCompleted events")
        return self

    @property
    def counts_progress(self) -> bool:
        return self.target is not None or self.streakDays is not None

    @field_validator("pattern")
    @classmethod
    def _valid_pattern(cls, pattern: dict[str, Any]) -> dict[str, Any]:
        from loyalty.campaigns.targeting import check_pattern

        check_pattern(pattern)
        return pattern


class ScheduleTrigger(Strict):
    """`cron(...)` in `timezone`; or one shot `at(YYYY-MM-DDTHH:MM)` local time."""

    type: Literal["schedule"]
    expression: Annotated[str, StringConstraints(min_length=6, max_length=100)]
    timezone: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "Asia/Shanghai"

    @model_validator(mode="after")
    def _valid_schedule(self) -> ScheduleTrigger:
        from loyalty.campaigns.targeting import parse_schedule

        parse_schedule(self.expression, self.timezone)
        return self


class ManualTrigger(Strict):
    type: Literal["manual"]


class ScoreRange(Strict):
    min: Annotated[float, Field(strict=True, allow_inf_nan=False)] | None = None
    max: Annotated[float, Field(strict=True, allow_inf_nan=False)] | None = None


class Audience(Strict):
    """Who may be rewarded: a rule over the profile (every condition must hold), or a list of ids."""

    tagsAny: list[Key] = Field(default_factory=list)
    tagsAll: list[Key] = Field(default_factory=list)
    tiers: list[Key] = Field(default_factory=list)
    segments: list[Key] = Field(default_factory=list)
    scores: dict[Key, ScoreRange] = Field(default_factory=dict)
    branchIds: list[Key] = Field(default_factory=list)
    birthdayToday: Flag = False
    customerIds: Annotated[list[Key], Field(max_length=10_000)] = Field(default_factory=list)
    # The audience is the list uploaded to the campaign (CSV, in batches: campaigns/uploads.py).
    uploaded: Flag = False
    requireProfile: Flag = True

    @property
    def needs_profile(self) -> bool:
        rule = (self.tagsAny, self.tagsAll, self.tiers, self.segments, self.scores, self.branchIds, self.birthdayToday)
        return not self.customerIds and not self.uploaded and (self.requireProfile or any(rule))


class IssueCouponAction(Strict):
    type: Literal["issue_coupon"]
    templateId: Key
    costMinor: MinorUnits = 0


class AwardPointsAction(Strict):
    type: Literal["award_points"]
    points: Count
    costCentre: Key
    validityDays: Annotated[StrictInt, Field(ge=1, le=3660)] = 365
    costMinor: MinorUnits = 0


class NotifyAction(Strict):
    type: Literal["notify"]
    channel: Literal["push", "sms", "wecom"]
    templateId: Key
    variables: dict[Key, Annotated[str, StringConstraints(max_length=200)]] = Field(default_factory=dict)


Action = Annotated[IssueCouponAction | AwardPointsAction | NotifyAction, Field(discriminator="type")]


class ReferralTrigger(Strict):
    """MGM (老带新): an invitee who opens an account with an inviter's code, then makes a card
    transaction of at least `minAmountMinor` within `withinDays` days, qualifies. The invitee gets the
    variant's actions, the inviter `inviterActions`; each once per referral. A transaction in another
    currency than `currency` qualifies only when `minAmountMinor` is 0 (no threshold)."""

    type: Literal["referral"]
    minAmountMinor: MinorUnits = 0
    currency: Currency = DEFAULT_CURRENCY
    withinDays: Annotated[StrictInt, Field(ge=1, le=366)] = 30
    inviterActions: Annotated[list[Action], Field(min_length=1, max_length=5)]


Trigger = Annotated[EventTrigger | ScheduleTrigger | ManualTrigger | ReferralTrigger, Field(discriminator="type")]


class Variant(Strict):
    variantId: Key
    weightPercent: Annotated[StrictInt, Field(ge=1, le=100)]
    actions: Annotated[list[Action], Field(min_length=1, max_length=5)]


# Refused as a budget attribute when a definition is saved (not when a stored one is read, so a
# campaign saved before keeps running): each value becomes a budget key and goes out in
# BudgetExhausted, and must never be a person's identifier.
PERSONAL_ATTRIBUTES = frozenset({"customerId", "deviceHash", "phoneHash", "birthday", "accountId", "cardId", "referralCode"})


class AttributeBudget(Strict):
    """Medusa-style: a limit for each value of one attribute, e.g. each branch's share of the
    campaign, or each merchant category's. The value is read from the trigger event's detail, else
    from the customer's profile; a customer without one spends from the value `none`."""

    attribute: Annotated[str, StringConstraints(pattern=r"^[A-Za-z][A-Za-z0-9]{0,39}$")]
    limit: Annotated[StrictInt, Field(ge=0)]
    # Per value, instead of `limit`: {"branch-001": 500_000}
    overrides: dict[Key, Annotated[StrictInt, Field(ge=0)]] = Field(default_factory=dict)

    def limit_of(self, value: str) -> int:
        return self.overrides.get(value, self.limit)


class Budget(Strict):
    """Limits on what grants cost: minor units of `currency`, or reward units (one per grant)."""

    unit: Literal["minor", "rewards"]
    currency: Currency | None = None
    total: Annotated[StrictInt, Field(ge=0)]
    daily: Annotated[StrictInt, Field(ge=0)] | None = None
    weekly: Annotated[StrictInt, Field(ge=0)] | None = None
    monthly: Annotated[StrictInt, Field(ge=0)] | None = None
    byAttribute: Annotated[list[AttributeBudget], Field(max_length=3)] = Field(default_factory=list)
    pacing: PacingPlan | None = Field(default=None, description=(
        "Paces the total over the campaign's window (its business days, in weeks from its first day or calendar months): "
        "grants may spend, by the end of a day, the plan to date plus the tolerance; what is unspent carries over, and a "
        "grant beyond it is refused (`budget_pacing`) until the plan catches up. `BudgetPacingAlert` when spend runs "
        "ahead of or behind the plan (docs/org-units.md, \"Pacing\")."))

    @model_validator(mode="after")
    def _currency_for_money(self) -> Budget:
        if (self.unit == "minor") != (self.currency is not None):
            raise ValueError("a budget in minor units names its currency; one in rewards does not")
        if len({b.attribute for b in self.byAttribute}) != len(self.byAttribute):
            raise ValueError("one budget per attribute")
        return self

    def limits(self) -> dict[str, int]:
        found = {"total": self.total, "daily": self.daily, "weekly": self.weekly, "monthly": self.monthly}
        return {period: limit for period, limit in found.items() if limit is not None}


class FrequencyCaps(Strict):
    """Grants per customer in this campaign, per period."""

    lifetime: Count | None = None
    daily: Count | None = None
    weekly: Count | None = None
    monthly: Count | None = None
    yearly: Count | None = None

    def limits(self) -> dict[str, int]:
        found = {"lifetime": self.lifetime, "daily": self.daily, "weekly": self.weekly, "monthly": self.monthly, "yearly": self.yearly}
        return {period: limit for period, limit in found.items() if limit is not None}


class QuietHours(Strict):
    """Notifications that fall inside are delivered at `end` (bank time zone); may wrap midnight."""

    start: TimeOfDay
    end: TimeOfDay


class CampaignDefinition(Strict):
    """A campaign as it is stored and read back (`CampaignRequest` is what an operator sends)."""

    campaignId: CampaignId
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    window: Window
    trigger: Trigger
    audience: Audience = Audience()
    variants: Annotated[list[Variant], Field(min_length=1, max_length=5)]
    controlPercent: Annotated[StrictInt, Field(ge=0, le=100)] = 0
    budget: Budget
    frequencyCaps: FrequencyCaps = FrequencyCaps()
    quietHours: QuietHours | None = None
    fundingCostCentre: Key
    metric: Literal["card_spend"] = "card_spend"
    orgUnitId: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")] | None = Field(
        default=None, description="The org unit whose budget pool every grant also draws from, in the same transaction as the "
                                  "campaign's own budget (docs/org-units.md, \"Budget pools\"): an open unit holding a pool in the "
                                  "budget's measure (its currency's minor units, or reward units). Left out: no pool.")

    @property
    def pool_measure(self) -> str:
        """The measure of the org pools it may draw from: the budget's currency, or `rewards`."""
        return str(self.budget.currency) if self.budget.unit == "minor" else "rewards"

    def budget_period(self, zone: tzinfo) -> pacing.Period:
        """The window's business days in the bank's time zone, what a pacing plan splits: from the
        day it starts to the day before the instant it ends."""
        first = self.window.startsAt.astimezone(zone).date()
        last = (self.window.endsAt - timedelta(microseconds=1)).astimezone(zone).date()
        return pacing.window(first, max(first, last))

    @property
    def spend_currency(self) -> str:
        """The currency card spend is counted in for the uplift: the budget's, else the trigger's."""
        return self.budget.currency or str(getattr(self.trigger, "currency", DEFAULT_CURRENCY))

    @model_validator(mode="after")
    def _variants_split_the_treatment(self) -> CampaignDefinition:
        if sum(v.weightPercent for v in self.variants) != 100:
            raise ValueError("variant weights must add up to 100")
        if len({v.variantId for v in self.variants}) != len(self.variants) or "control" in {v.variantId for v in self.variants}:
            raise ValueError("variant ids must be unique, and 'control' is reserved")
        if self.budget.unit == "minor":
            for variant in self.variants:
                if not any(getattr(a, "costMinor", 0) for a in variant.actions):
                    raise ValueError(f"variant {variant.variantId} has no cost, but the budget is in minor units")
            if isinstance(self.trigger, ReferralTrigger) and not any(getattr(a, "costMinor", 0) for a in self.trigger.inviterActions):
                raise ValueError("the inviter's reward has no cost, but the budget is in minor units")
        return self


# ---- request bodies ------------------------------------------------------------------------------
# Limits and text rules that apply to what operators send now. The stored definition keeps the
# looser rules it was saved under, so a campaign saved before keeps reading (and running).


class EventTriggerRequest(EventTrigger):
    mccs: Annotated[list[Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]], Field(max_length=MAX_MCCS)] = Field(
        default_factory=list, description="Merchant category codes; any of them matches. Empty: every merchant.")


TriggerRequest = Annotated[EventTriggerRequest | ScheduleTrigger | ManualTrigger | ReferralTrigger, Field(discriminator="type")]
Labels = Annotated[list[Label], Field(max_length=MAX_LABELS)]


class AudienceRequest(Audience):
    tagsAny: Labels = Field(default_factory=list, description="The customer has at least one of these tags.")
    tagsAll: Labels = Field(default_factory=list, description="The customer has every one of these tags.")
    tiers: Labels = Field(default_factory=list, description="Member levels (tier ids).")
    segments: Labels = Field(default_factory=list, description="Scoring segments the customer is in.")
    scores: dict[Label, ScoreRange] = Field(default_factory=dict, max_length=50, description="By score model: the range to be in.")
    branchIds: Labels = Field(default_factory=list)
    customerIds: Annotated[list[CustomerId], Field(max_length=MAX_LISTED_IDS)] = Field(
        default_factory=list, description=f"These customers only (at most {MAX_LISTED_IDS}; upload longer lists as CSV).")


SPEND_500_GET_COUPON: dict[str, Any] = {
    "campaignId": "card-spend-500-dining-2027q1",
    "name": "Spend 500 CNY on your card, get a 50 CNY dining coupon",
    "window": {"startsAt": "2027-01-01T00:00:00+08:00", "endsAt": "2027-04-01T00:00:00+08:00"},
    "trigger": {"type": "event", "eventType": "CardTransactionPosted", "minAmountMinor": 50_000, "currency": "CNY",
                "mccs": ["5812", "5813", "5814"]},
    "audience": {"tiers": ["gold", "platinum"], "requireProfile": True},
    "variants": [{"variantId": "coupon-50", "weightPercent": 100, "actions": [
        {"type": "issue_coupon", "templateId": "tpl-dining-50", "costMinor": 5_000},
        {"type": "notify", "channel": "push", "templateId": "notice-coupon-granted",
         "variables": {"couponName": "50 CNY dining"}}]}],
    "controlPercent": 10,
    "budget": {"unit": "minor", "currency": "CNY", "total": 50_000_000, "daily": 1_000_000},
    "frequencyCaps": {"lifetime": 1},
    "quietHours": {"start": "22:00:00", "end": "08:00:00"},
    "fundingCostCentre": "cc-cards-marketing",
}


class CampaignRequest(CampaignDefinition):
    """A campaign definition as an operator saves it: one trigger, the audience, reward variants (A/B
    arms; the control group gets nothing), the budget, frequency caps and quiet hours."""

    model_config = ConfigDict(json_schema_extra={"examples": [SPEND_500_GET_COUPON]})

    name: Name
    trigger: TriggerRequest
    audience: AudienceRequest = AudienceRequest()
    fundingCostCentre: Label = Field(description="The cost centre the rewards are booked to.")


class FromTemplate(Strict):
    """A campaign from a ready-made template: its id, name, window, budget and the template's own
    parameters (see `loyalty.campaigns.templates`)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "campaignId": "hotel-spend-1000-2027q1",
        "name": "Spend 1000 CNY at hotels, get a coupon",
        "window": {"startsAt": "2027-01-01T00:00:00+08:00", "endsAt": "2027-04-01T00:00:00+08:00"},
        "budget": {"unit": "rewards", "total": 20_000, "daily": 500},
        "fundingCostCentre": "cc-cards-marketing",
        "controlPercent": 10,
        "parameters": {"minAmountMinor": 100_000, "mccs": ["7011"], "couponTemplateId": "tpl-hotel-100",
                       "notifyTemplateId": "notice-coupon-granted"},
    }]})

    campaignId: CampaignId
    name: Name
    window: Window
    budget: Budget
    fundingCostCentre: Label
    controlPercent: Annotated[StrictInt, Field(ge=0, le=100)] = 0
    parameters: dict[str, Any] = Field(default_factory=dict, description="See `GET /v1/admin/campaign-templates`.")
    orgUnitId: OrgUnitRef = None


class Transition(Strict):
    """The body of a lifecycle route (the action is the route's last segment)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"note": "Terms checked with consumer protection."}]})

    note: Note | None = Field(default=None, description="Kept in the campaign's audit log.")


class FireRequest(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [{}, {"customerIds": ["c-10001", "c-10002"]}]})

    customerIds: Annotated[list[CustomerId], Field(max_length=MAX_LISTED_IDS)] | None = Field(
        default=None, description=f"Narrows the run to these of the approved audience (at most {MAX_LISTED_IDS}); "
        "absent: the whole audience.")


# ---- what campaigns read from the bus (unknown fields kept: conditions may name any of them) -----


class TriggerDetail(BaseModel):
    """What a trigger needs of an event, validated before any campaign looks at it: a bad time or
    amount refuses the whole event (to the DLQ), never half-way through the campaigns it triggers."""

    model_config = ConfigDict(extra="allow", frozen=True)

    customerId: Key


class CardSpend(TriggerDetail):
    transactionId: Key
    amountMinor: MinorUnits
    currency: Currency
    postedAt: AwareDatetime


class SalaryCredit(TriggerDetail):
    transactionId: Key
    amountMinor: MinorUnits
    currency: Currency
    creditedAt: AwareDatetime


class LoanDrawn(TriggerDetail):
    loanId: Key
    amountMinor: MinorUnits
    currency: Currency
    drawnAt: AwareDatetime


class AccountOpening(TriggerDetail):
    accountId: Key
    openedAt: AwareDatetime


class BalanceMovement(TriggerDetail):
    accountId: Key
    deltaMinor: StrictInt  # an outflow is negative
    currency: Currency
    movedAt: AwareDatetime


class DepositBalance(TriggerDetail):
    accountId: Key
    balanceMinor: StrictInt
    previousBalanceMinor: StrictInt
    currency: Currency
    changedAt: AwareDatetime


class CheckIn(TriggerDetail):
    businessDate: date
    checkedInAt: AwareDatetime


class EngineEvent(TriggerDetail):
    """The engine's own events (points, scoring): the outbox gives each an `eventId` and a time."""

    eventId: Key
    occurredAt: AwareDatetime


TRIGGER_DETAILS: dict[str, type[TriggerDetail]] = {
    "CardTransactionPosted": CardSpend, "SalaryCredited": SalaryCredit, "LoanDrawdown": LoanDrawn, "AccountOpened": AccountOpening,
    "LargeBalanceMovement": BalanceMovement, "DepositBalanceChanged": DepositBalance, "CheckInCompleted": CheckIn,
    "TierChanged": EngineEvent, "SegmentEntered": EngineEvent, "ScoreChanged": EngineEvent,
}


class ProfileArrived(BaseModel):
    """`CustomerProfileChanged` (bank.core), as campaigns read it: whose triggers parked before the
    profile may now be applied. The profile itself is customers' (read through their port)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    customerId: Key
    changedAt: AwareDatetime


class NotificationReceipt(BaseModel):
    """`NotificationDelivered` / `NotificationFailed` (loyalty.notifications), as campaigns read them."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    notificationId: Key
    campaignId: Key | None = None
    arm: Key | None = None


class CampaignFireRequested(BaseModel):
    """From a bank's own scheduler (source `bank.scheduler`, ../shared/EVENTS.md)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    campaignId: Key
    requestId: Key
    requestedBy: Key
    runAt: AwareDatetime | None = None
    audienceOverride: Annotated[list[Key], Field(max_length=10_000)] | None = None


class RewardAnswer(BaseModel):
    """What the coupons and points capabilities answer a grant's commands (and their compensations),
    keyed by the command id: CouponIssued, CouponIssueFailed, CouponReturned, CouponRedeemed,
    CouponRevoked, CouponRevocationRefused, PointsAwarded, PointsAwardReversed."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    commandId: Key
    customerId: Key
    reason: str | None = None
    issued: bool | None = None  # CouponRevoked: whether there was a coupon to take back
    booked: bool | None = None  # PointsAwardReversed: whether the award had been booked


class RunPage(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    campaignId: Key
    runId: Key
    page: Annotated[StrictInt, Field(ge=0)]


class WorkItem(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    campaignId: Key
    runId: Key
    itemId: Key
    customerIds: Annotated[list[Key], Field(min_length=1, max_length=100)]
