"""Checkout's API bodies and answers (pydantic): the stacking policy's versions and the quote."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, StringConstraints, model_validator

from loyalty.checkout import quote as quoting
from loyalty.checkout.policy import StackingPolicy
from loyalty.checkout.pricing import Line, Order
from loyalty.checkout.store import PolicyVersion
from loyalty.core.api_params import ID_PATTERN
from loyalty.core.errors import BusinessRuleViolation
from loyalty.core.money import Currency
from loyalty.core.text import Label, Note

Id = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=ID_PATTERN)]
Minor = Annotated[StrictInt, Field(ge=0, le=10**12)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# ---- the policy ----------------------------------------------------------------------------------------


class PolicyProposal(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{
        "policy": {"groups": {"default": {"combinesWith": ["*"]}, "bank-card": {"combinesWith": ["*"]}, "vip": {"exclusive": True}},
                   "templateGroups": {"tpl-dining-50": "bank-card", "tpl-vip-200": "vip"}, "maxCoupons": 3,
                   "lineScopes": {"tpl-coffee-10pct": {"categories": ["coffee"]}},
                   "points": {"pointValueMinor": 1, "maxSharePercent": 50, "withCoupons": True}},
        "note": "Card coupons stack with merchant coupons; VIP stands alone.",
    }]})

    policy: StackingPolicy
    note: Note | None = Field(default=None, description="Kept with the version, for its approver.")


class PolicyVersionView(BaseModel):
    version: int = Field(description="1 for the first written; 0 is the built-in default, in force until one is approved.")
    status: Literal["pending", "approved", "superseded"]
    policy: StackingPolicy
    author: str
    createdAt: str
    note: str | None = None
    approvedBy: str | None = None
    approvedAt: str | None = None

    @classmethod
    def of(cls, found: PolicyVersion) -> PolicyVersionView:
        return cls(version=found.version, status=found.status, policy=found.policy, author=found.author,  # type: ignore[arg-type]
                   createdAt=found.createdAt, note=found.note, approvedBy=found.approvedBy, approvedAt=found.approvedAt)


class StackingPolicyView(BaseModel):
    inForce: PolicyVersionView = Field(description="The version quotes and sessions use.")
    pending: PolicyVersionView | None = Field(description="The latest version, waiting for an approver other than its author.")


# ---- the quote -------------------------------------------------------------------------------------------


class OrderLine(Strict):
    lineId: Id
    sku: Label
    category: Label
    unitPriceMinor: Minor
    quantity: Annotated[StrictInt, Field(ge=1, le=10_000)]
    currency: Currency | None = Field(default=None, description="The line's currency, if given: the order's, or the order is refused.")


class OrderBody(Strict):
    merchantId: Label
    channel: Label
    currency: Currency
    lines: Annotated[list[OrderLine], Field(min_length=1, max_length=100)]

    def order(self) -> Order:
        mixed = sorted({line.currency for line in self.lines if line.currency and line.currency != self.currency})
        if mixed:
            raise BusinessRuleViolation(f"every line is in the order's currency {self.currency}, not {', '.join(mixed)}",
                                        code="ORDER_CURRENCY_MIXED")
        return Order(self.merchantId, self.channel, self.currency,
                     tuple(Line(x.lineId, x.sku, x.category, x.unitPriceMinor, x.quantity) for x in self.lines))


class CheckoutQuoteRequest(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{
        "order": {"merchantId": "m-coffee", "channel": "app", "currency": "CNY", "lines": [
            {"lineId": "l1", "sku": "beans", "category": "food", "unitPriceMinor": 8900, "quantity": 2},
            {"lineId": "l2", "sku": "mug", "category": "gift", "unitPriceMinor": 4500, "quantity": 1},
            {"lineId": "l3", "sku": "latte", "category": "drink", "unitPriceMinor": 1250, "quantity": 3}]},
        "best": True, "points": "max",
    }]})

    order: OrderBody
    coupons: Annotated[list[Id], Field(max_length=20)] = Field(default_factory=list, description="The coupons chosen, in order of preference.")
    best: StrictBool = Field(default=False, description="Pick the customer's best combination from their wallet instead.")
    points: Annotated[StrictInt, Field(ge=0, le=10**12)] | Literal["max"] = Field(
        default=0, description="Points to pay with, or `max`: as many as the balance and the policy allow.")

    @model_validator(mode="after")
    def _one_choice(self) -> CheckoutQuoteRequest:
        if self.best and self.coupons:
            raise ValueError("choose coupons, or ask for the best: not both")
        return self


class LinePart(BaseModel):
    lineId: str
    discountMinor: int


class QuotedCoupon(BaseModel):
    couponId: str
    discountMinor: int
    lines: list[LinePart] = Field(description="The discount spread over the lines it covers (whole minor units, summing to it).")


class LeftOutCoupon(BaseModel):
    couponId: str
    reason: str = Field(description="NOT_STACKABLE_WITH, GROUP_LIMIT, MAX_COUPONS, THRESHOLD_NOT_MET, LINE_NOT_ELIGIBLE, EXPIRED, "
                                    "NOT_YET_VALID, LOCKED_ELSEWHERE, NOT_AVAILABLE, CURRENCY_MISMATCH, MERCHANT_NOT_ALLOWED, "
                                    "CHANNEL_NOT_ALLOWED, NOT_A_PAYMENT_COUPON, NO_GAIN, NOT_CHOSEN (the best combination is better without it).")
    otherCouponId: str | None = Field(default=None, description="The coupon it clashes with (NOT_STACKABLE_WITH, GROUP_LIMIT).")


class QuotedPoints(BaseModel):
    points: int
    valueMinor: int
    reason: str | None = Field(default=None, description="Why none were used though `max` was asked (POINTS_NOT_WITH_COUPONS).")


class CheckoutQuote(BaseModel):
    currency: str
    orderTotalMinor: int
    coupons: list[QuotedCoupon]
    leftOut: list[LeftOutCoupon]
    discountMinor: int
    points: QuotedPoints
    payableMinor: int = Field(description="What is left to pay: the order less the coupons and the points.")
    exact: bool = Field(description="With `best`: the search proved its combination best (false: it stopped at its node limit).")
    policyVersion: int

    @classmethod
    def of(cls, currency: str, found: quoting.Quote, policy_version: int) -> CheckoutQuote:
        data: dict[str, Any] = {
            "currency": currency, "orderTotalMinor": found.order_total, "discountMinor": found.discount, "payableMinor": found.payable,
            "exact": found.exact, "policyVersion": policy_version,
            "coupons": [{"couponId": a.coupon_id, "discountMinor": a.discount_minor,
                         "lines": [{"lineId": line, "discountMinor": part} for line, part in a.lines.items()]} for a in found.applied],
            "leftOut": [{"couponId": x.coupon_id, "reason": x.reason, "otherCouponId": x.other} for x in found.left_out],
            "points": {"points": found.points.points, "valueMinor": found.points.value_minor, "reason": found.points.reason},
        }
        return cls.model_validate(data)
