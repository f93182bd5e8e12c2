"""Coupon templates and coupons: the API models (strict, unknown fields refused) and the domain records."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, model_validator

from loyalty.core.api_params import requires_any
from loyalty.core.money import Currency, MinorUnits
from loyalty.core.strict import NaiveInstant, OrgUnitRef

TemplateId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Key = Annotated[str, StringConstraints(min_length=1, max_length=64)]
PositiveMinor = Annotated[StrictInt, Field(gt=0)]

TemplateStatus = Literal["draft", "active", "paused", "ended"]
CouponStatus = Literal["available", "locked", "redeemed", "expired", "revoked"]
PAYMENT_KINDS = frozenset({"fixed_amount", "threshold", "percentage", "random_amount"})
MAX_SHARDS = 64


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FixedAmount(Strict):
    kind: Literal["fixed_amount"]
    amountMinor: PositiveMinor
    currency: Currency


class Threshold(Strict):
    kind: Literal["threshold"]
    thresholdMinor: PositiveMinor
    amountMinor: PositiveMinor
    currency: Currency

    @model_validator(mode="after")
    def _discount_below_threshold(self) -> Threshold:
        if self.amountMinor > self.thresholdMinor:
            raise ValueError("amountMinor must not exceed thresholdMinor")
        return self


class Percentage(Strict):
    kind: Literal["percentage"]
    percentOff: Annotated[StrictInt, Field(ge=1, le=100)]
    maxDiscountMinor: PositiveMinor
    currency: Currency


class RandomAmount(Strict):
    """Drawn once at issue, uniformly over every integer amount in [minMinor, maxMinor]."""

    kind: Literal["random_amount"]
    minMinor: PositiveMinor
    maxMinor: PositiveMinor
    currency: Currency
    distribution: Literal["uniform"] = "uniform"

    @model_validator(mode="after")
    def _ordered(self) -> RandomAmount:
        if self.minMinor > self.maxMinor:
            raise ValueError("minMinor must not exceed maxMinor")
        return self


class RedPacket(Strict):
    """A cash credit: issuing emits RedPacketCreditRequested for core banking to credit."""

    kind: Literal["red_packet"]
    amountMinor: PositiveMinor
    currency: Currency


class Gift(Strict):
    """Issuing emits GiftFulfilmentRequested for the fulfilment system."""

    kind: Literal["gift"]
    sku: Key
    fulfilment: Literal["physical", "virtual"]
    description: Name | None = None


class VoucherCode(Strict):
    """Third-party codes, uploaded to a pool; each code is issued once."""

    kind: Literal["voucher_code"]
    provider: Name


class Bundle(Strict):
    """Several templates issued together, all or nothing."""

    kind: Literal["bundle"]
    parts: Annotated[list[TemplateId], Field(min_length=2, max_length=10)]

    @model_validator(mode="after")
    def _distinct(self) -> Bundle:
        if len(set(self.parts)) != len(self.parts):
            raise ValueError("a bundle lists each part once")
        return self


Benefit = Annotated[
    FixedAmount | Threshold | Percentage | RandomAmount | RedPacket | Gift | VoucherCode | Bundle,
    Field(discriminator="kind"),
]


class FixedWindow(Strict):
    type: Literal["window"]
    validFrom: NaiveInstant
    validUntil: NaiveInstant

    @model_validator(mode="after")
    def _ordered(self) -> FixedWindow:
        if self.validFrom.tzinfo is None or self.validUntil.tzinfo is None:
            raise ValueError("validFrom and validUntil need a time zone")
        if self.validUntil <= self.validFrom:
            raise ValueError("validUntil must be after validFrom")
        return self


class DaysAfterClaim(Strict):
    type: Literal["days_after_claim"]
    days: Annotated[StrictInt, Field(ge=1, le=3660)]


Validity = Annotated[FixedWindow | DaysAfterClaim, Field(discriminator="type")]


class Limits(Strict):
    perCustomerLifetime: Annotated[StrictInt, Field(ge=1)] | None = None
    perCustomerDaily: Annotated[StrictInt, Field(ge=1)] | None = None


class Eligibility(Strict):
    """Every listed condition must hold; an empty list means no condition."""

    tiers: list[Key] = Field(default_factory=list)
    segments: list[Key] = Field(default_factory=list)
    tags: list[Key] = Field(default_factory=list)  # the customer needs at least one of them
    channels: list[Key] = Field(default_factory=list)
    maxAbuseRiskScore: Annotated[StrictInt, Field(ge=0, le=100)] | None = None

    @property
    def needs_customer_facts(self) -> bool:
        return bool(self.tiers or self.segments or self.tags or self.maxAbuseRiskScore is not None)


class Funding(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=requires_any("costCentre", "merchantId"))

    costCentre: Key | None = None
    merchantId: Key | None = None
    unitCostMinor: MinorUnits
    currency: Currency

    @model_validator(mode="after")
    def _payer(self) -> Funding:
        if not (self.costCentre or self.merchantId):
            raise ValueError("funding needs a costCentre or a merchantId")
        return self


class RedemptionRules(Strict):
    """Where a payment coupon may be used (empty means anywhere), and whether a refund gives it back."""

    merchants: list[Key] = Field(default_factory=list)
    channels: list[Key] = Field(default_factory=list)
    returnPolicy: Literal["on_full_refund", "never"] = Field(
        default="on_full_refund", description="A checkout refund returns the coupon to the wallet when the whole order is refunded "
                                              "(`on_full_refund`), or never. Each coupon carries its template's, as issued.")


class TemplateCreate(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{
        "templateId": "spring-100-off-500", "name": "100 off 500 at partner merchants",
        "benefit": {"kind": "threshold", "thresholdMinor": 50000, "amountMinor": 10000, "currency": "CNY"},
        "totalStock": 10000, "dailyStock": 2000, "shards": 8,
        "validity": {"type": "days_after_claim", "days": 30},
        "limits": {"perCustomerLifetime": 1},
        "eligibility": {"tiers": ["gold", "platinum"], "channels": ["mobile-app"]},
        "funding": {"costCentre": "retail-marketing", "unitCostMinor": 10000, "currency": "CNY"},
        "redemption": {"merchants": ["m-coffee-001"], "channels": ["mobile-app"]},
    }]})

    templateId: TemplateId
    name: Name
    benefit: Benefit
    totalStock: Annotated[StrictInt, Field(ge=0)]
    dailyStock: Annotated[StrictInt, Field(ge=1)] | None = None
    shards: Annotated[StrictInt, Field(ge=1, le=MAX_SHARDS)] = 1
    validity: Validity
    limits: Limits = Limits()
    eligibility: Eligibility = Eligibility()
    funding: Funding
    redemption: RedemptionRules = RedemptionRules()
    orgUnitId: OrgUnitRef = None

    @model_validator(mode="after")
    def _stock_fits_shards(self) -> TemplateCreate:
        if self.dailyStock is not None and self.dailyStock < self.shards:
            raise ValueError("dailyStock must be at least the number of shards")
        return self


class StatusChange(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{"status": "active"}]})

    status: TemplateStatus


class StockAddition(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{"add": 5000}]})

    add: Annotated[StrictInt, Field(ge=1, le=100_000_000)]


class CodeUpload(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{"codes": ["JD-7Q2K-9XWA", "JD-3MZP-44TR"]}]})

    codes: Annotated[list[Annotated[str, StringConstraints(min_length=1, max_length=128)]], Field(min_length=1, max_length=1000)]


class Template(BaseModel):
    """A stored template: the definition plus its lifecycle."""

    model_config = ConfigDict(frozen=True)

    definition: TemplateCreate
    status: TemplateStatus
    version: int
    stockAdded: int  # everything ever allotted, including totalStock at creation
    createdAt: str
    createdBy: str
    updatedAt: str

    @property
    def template_id(self) -> str:
        return self.definition.templateId

    @property
    def kind(self) -> str:
        return self.definition.benefit.kind

    def view(self) -> dict[str, Any]:
        return {
            **self.definition.model_dump(mode="json"),
            "status": self.status,
            "version": self.version,
            "stockAdded": self.stockAdded,
            "createdAt": self.createdAt,
            "createdBy": self.createdBy,
            "updatedAt": self.updatedAt,
        }


class ClaimRequest(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{"templateId": "spring-100-off-500", "channel": "mobile-app"}]})

    templateId: TemplateId
    channel: Key | None = None  # optional: checked against the template's eligible channels


class OrderDetails(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{"orderAmountMinor": 68800, "currency": "CNY", "merchantId": "m-coffee-001", "channel": "mobile-app"}]})

    orderAmountMinor: MinorUnits
    currency: Currency
    merchantId: Key
    channel: Key


class QuoteRequest(OrderDetails):
    pass


class LockRequest(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{"orderId": "ord-20261207-0001", "ttlSeconds": 900, "order": {"orderAmountMinor": 68800, "currency": "CNY", "merchantId": "m-coffee-001", "channel": "mobile-app"}}]})

    orderId: Key
    ttlSeconds: Annotated[StrictInt, Field(ge=10, le=3600)] = 900
    order: OrderDetails | None = None


class RedeemRequest(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{"orderId": "ord-20261207-0001", "order": {"orderAmountMinor": 68800, "currency": "CNY", "merchantId": "m-coffee-001", "channel": "mobile-app"}}]})

    orderId: Key
    order: OrderDetails | None = None


class OrderRef(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{"orderId": "ord-20261207-0001"}]})

    orderId: Key


class IssueCouponCommand(BaseModel):
    """`IssueCoupon`, sent to the coupon-commands queue by campaigns, the points mall and tier benefits."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    commandId: Key
    customerId: Key
    templateId: TemplateId
    source: Literal["campaign", "points_mall", "tier_benefit", "operator"]
    campaignId: Key | None = None
    reason: Name | None = None


class RevokeCouponCommand(BaseModel):
    """`RevokeCoupon`, a campaign grant's compensation (events/schemas/commands/RevokeCoupon.json):
    takes back what the `IssueCoupon` `commandId` issued while unused, or forestalls it if it was not
    issued yet. Answered once: `CouponRevoked`, or `CouponRevocationRefused` when it cannot be."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    commandId: Key  # the IssueCoupon command whose coupon is taken back
    customerId: Key
    source: Literal["campaign", "points_mall", "tier_benefit", "operator"] = "campaign"
    grantId: Key | None = None
    campaignId: Key | None = None
    reason: Annotated[str, StringConstraints(max_length=200)] | None = None
