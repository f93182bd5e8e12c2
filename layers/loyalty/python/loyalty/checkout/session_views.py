"""Checkout sessions' API bodies and answers (pydantic), apart from the session as stored."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator
from pydantic.json_schema import SkipJsonSchema

from loyalty.checkout.sessions import DEFAULT_TTL_MINUTES, RefundRecord, Session
from loyalty.checkout.views import CheckoutQuoteRequest, Id, LinePart, OrderBody, Strict
from loyalty.core.errors import BusinessRuleViolation

EXAMPLE_ORDER: dict[str, Any] = {"merchantId": "m-coffee", "channel": "app", "currency": "CNY", "lines": [
    {"lineId": "l1", "sku": "beans", "category": "food", "unitPriceMinor": 8900, "quantity": 2},
    {"lineId": "l2", "sku": "mug", "category": "gift", "unitPriceMinor": 4500, "quantity": 1},
    {"lineId": "l3", "sku": "latte", "category": "drink", "unitPriceMinor": 1250, "quantity": 3}]}


class SessionRequest(CheckoutQuoteRequest):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [
        {"order": EXAMPLE_ORDER, "coupons": ["cpn-7f3a", "cpn-91bc"], "points": "max", "ttlMinutes": 15}]})

    ttlMinutes: Annotated[StrictInt, Field(ge=1, le=120)] = Field(
        default=DEFAULT_TTL_MINUTES, description="How long the coupons stay locked and the points held before the session lapses.")


class ConfirmRequest(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{"paymentId": "pay-20261207-0042"}]})

    paymentId: Id = Field(description="The payment's id: the same again answers the same confirmation; another is 409.")


class RefundLine(Strict):
    lineId: Id
    quantity: Annotated[StrictInt, Field(ge=1, le=10_000)]


class RefundRequest(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={
        "examples": [{"refundId": "rf-20261207-0001", "lines": [{"lineId": "l1", "quantity": 1}]},
                     {"refundId": "rf-20261207-0002", "amountMinor": 5000}],
        "oneOf": [{"required": ["lines"]}, {"required": ["amountMinor"]}]})

    refundId: Id = Field(description="The refund's id: the same again answers the same refund.")
    lines: Annotated[list[RefundLine], Field(min_length=1, max_length=100)] | SkipJsonSchema[None] = Field(
        default=None, description="The lines and quantities refunded (or `amountMinor`).")
    amountMinor: Annotated[StrictInt, Field(ge=1, le=10**12)] | SkipJsonSchema[None] = Field(
        default=None, description="An amount of the order's value (before the coupons), refunded across the order (or `lines`).")

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict) and any(name in data and data[name] is None for name in ("lines", "amountMinor")):
            raise ValueError("leave out what is not refunded: lines and amountMinor are never null")
        return data

    @model_validator(mode="after")
    def _one_way(self) -> RefundRequest:
        if (self.lines is None) == (self.amountMinor is None):
            raise ValueError("refund either lines or an amountMinor")
        return self

    def quantities(self) -> dict[str, int] | None:
        if self.lines is None:
            return None
        if len({line.lineId for line in self.lines}) != len(self.lines):
            raise BusinessRuleViolation("each line is named once in a refund", code="REFUND_LINES_DUPLICATED")
        return {line.lineId: line.quantity for line in self.lines}


class SessionCouponView(BaseModel):
    couponId: str
    templateId: str
    campaignId: str | None = None
    discountMinor: int
    lines: list[LinePart]
    funding: dict[str, str] = Field(description="Who pays for its discount: costCentre, merchantId.")
    returnPolicy: Literal["on_full_refund", "never"]
    returned: bool = Field(description="Given back to the wallet by the refund that completed the order.")


class FunderPoints(BaseModel):
    costCentre: str
    points: int


class SessionPointsView(BaseModel):
    points: int
    valueMinor: int
    funders: list[FunderPoints] = Field(description="The points by the cost centre that paid for them.")


class RefundCouponView(BaseModel):
    couponId: str
    discountMinor: int = Field(description="The part of its discount this refund gave back.")
    returned: bool


class RefundView(BaseModel):
    refundId: str
    at: str
    lines: list[RefundLine] | None = None
    amountMinor: int | None = None
    refundedMinor: int = Field(description="The order's value refunded, before the coupons.")
    coupons: list[RefundCouponView]
    points: SessionPointsView
    cashMinor: int = Field(description="What the payment gives back: the value less the discounts and the points given back.")

    @classmethod
    def of(cls, record: RefundRecord) -> RefundView:
        return cls(refundId=record.refundId, at=record.at, amountMinor=record.amountMinor, refundedMinor=record.grossMinor,
                   lines=None if record.lines is None else [RefundLine(lineId=k, quantity=v) for k, v in record.lines.items()],
                   coupons=[RefundCouponView(couponId=k, discountMinor=v, returned=k in record.couponsReturned)
                            for k, v in record.coupons.items()],
                   points=SessionPointsView(points=record.points, valueMinor=record.pointsValueMinor,
                                            funders=[FunderPoints(costCentre=k, points=v) for k, v in sorted(record.pointsFunders.items())]),
                   cashMinor=record.cashMinor)


class RefundedView(BaseModel):
    refundedMinor: int
    discountMinor: int
    points: int
    cashMinor: int


class SessionView(BaseModel):
    sessionId: str
    customerId: str
    state: Literal["locked", "confirmed", "partly_refunded", "refunded", "cancelled", "lapsed"] = Field(
        description="As of now: a locked session past `lapsesAt` is lapsed, whether or not the sweep has released it yet.")
    createdAt: str
    lapsesAt: str
    order: OrderBody
    currency: str
    orderTotalMinor: int
    coupons: list[SessionCouponView]
    discountMinor: int
    points: SessionPointsView
    payableMinor: int = Field(description="What the payment pays: the order less the coupons and the points.")
    policyVersion: int
    paymentId: str | None = None
    confirmedAt: str | None = None
    closedAt: str | None = Field(default=None, description="When it was cancelled, or released after lapsing.")
    refunded: RefundedView
    refunds: list[RefundView]

    @classmethod
    def of(cls, session: Session, state: str) -> SessionView:
        return cls.model_validate({
            "sessionId": session.sessionId, "customerId": session.customerId, "state": state, "createdAt": session.createdAt,
            "lapsesAt": session.lapsesAt, "order": session.order, "currency": session.currency, "orderTotalMinor": session.orderTotalMinor,
            "coupons": [{**c.model_dump(exclude={"lines", "funding"}), "lines": [{"lineId": k, "discountMinor": v} for k, v in c.lines.items()],
                         "funding": {k: str(v) for k, v in c.funding.items() if k in ("costCentre", "merchantId")}} for c in session.coupons],
            "discountMinor": session.discountMinor, "payableMinor": session.payableMinor, "policyVersion": session.policyVersion,
            "points": {"points": session.points.points, "valueMinor": session.points.valueMinor,
                       "funders": [{"costCentre": k, "points": v} for k, v in sorted(session.points.funders.items())]},
            "paymentId": session.paymentId, "confirmedAt": session.confirmedAt, "closedAt": session.closedAt,
            "refunded": {"refundedMinor": session.refunded.grossMinor, "discountMinor": sum(session.refunded.coupons.values()),
                         "points": session.refunded.points, "cashMinor": session.refunded.cashMinor},
            "refunds": [RefundView.of(r) for r in session.refunds],
        })


class RefundResult(BaseModel):
    refund: RefundView
    session: SessionView


class SessionList(BaseModel):
    items: list[SessionView]

