"""A checkout session as checkout keeps it (docs/checkout.md, "Sessions"): the order, what it took
(each coupon's discount by line, who funds it; the points and whose lots they came from), its state,
its payment and its refunds. Plain data and the state rules; no table, no HTTP.

    locked ──confirm(paymentId)──▶ confirmed ──refund──▶ partly_refunded ──refund──▶ refunded
       │  └──cancel──▶ cancelled
       └──(lapsesAt passes: on read at once, written by the sweep or a cancel)──▶ lapsed
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from loyalty.checkout.refunds import Paid, Refunded
from loyalty.core.clock import iso_utc

State = Literal["locked", "confirmed", "partly_refunded", "refunded", "cancelled", "lapsed"]
PAID = ("confirmed", "partly_refunded", "refunded")
DEFAULT_TTL_MINUTES = 15
MAX_REFUNDS = 50


class Record(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class SessionCoupon(Record):
    couponId: str
    templateId: str
    campaignId: str | None = None
    discountMinor: int
    lines: dict[str, int]  # line id: the part of the discount it took
    funding: dict[str, Any] = Field(default_factory=dict)  # costCentre, merchantId: who pays for it
    returnPolicy: str = "on_full_refund"
    returned: bool = False


class SessionPoints(Record):
    points: int = 0
    valueMinor: int = 0
    pointValueMinor: int = 1
    funders: dict[str, int] = Field(default_factory=dict)  # cost centre: points from its lots


class RefundRecord(Record):
    refundId: str
    at: str
    fingerprint: str
    lines: dict[str, int] | None = None
    amountMinor: int | None = None
    grossMinor: int
    coupons: dict[str, int]  # coupon id: discount given back
    points: int
    pointsValueMinor: int
    pointsFunders: dict[str, int] = Field(default_factory=dict)
    cashMinor: int
    couponsReturned: list[str] = Field(default_factory=list)


class RefundedSoFar(Record):
    grossMinor: int = 0
    quantities: dict[str, int] = Field(default_factory=dict)
    coupons: dict[str, int] = Field(default_factory=dict)
    points: int = 0
    cashMinor: int = 0
    mode: str | None = None

    def domain(self) -> Refunded:
        return Refunded(self.grossMinor, self.quantities, self.coupons, self.points, self.cashMinor, self.mode)

    @classmethod
    def of(cls, refunded: Refunded) -> RefundedSoFar:
        return cls(grossMinor=refunded.gross_minor, quantities=dict(refunded.quantities), coupons=dict(refunded.coupons),
                   points=refunded.points, cashMinor=refunded.cash_minor, mode=refunded.mode)


class Session(Record):
    sessionId: str
    customerId: str
    state: State
    version: int
    createdAt: str
    lapsesAt: str
    fingerprint: str  # of the request that opened it: the same key with another request is refused
    order: dict[str, Any]  # the order as the request gave it
    currency: str
    orderTotalMinor: int
    coupons: list[SessionCoupon]
    points: SessionPoints
    policyVersion: int
    paymentId: str | None = None
    confirmedAt: str | None = None
    closedAt: str | None = None  # cancelled or lapsed
    refunded: RefundedSoFar = RefundedSoFar()
    refunds: list[RefundRecord] = Field(default_factory=list)

    @property
    def discountMinor(self) -> int:
        return sum(c.discountMinor for c in self.coupons)

    @property
    def payableMinor(self) -> int:
        return self.orderTotalMinor - self.discountMinor - self.points.valueMinor

    def state_at(self, now: datetime) -> State:
        """As of now: a locked session past its time has lapsed, whether or not the sweep wrote it."""
        return "lapsed" if self.state == "locked" and self.lapsesAt <= iso_utc(now) else self.state

    def paid(self) -> Paid:
        lines = {line["lineId"]: (int(line["unitPriceMinor"]), int(line["quantity"])) for line in self.order["lines"]}
        return Paid(lines, [(c.couponId, c.lines) for c in self.coupons], self.points.points, self.points.pointValueMinor)

    def refund(self, refund_id: str) -> RefundRecord | None:
        return next((r for r in self.refunds if r.refundId == refund_id), None)


def session_id(customer_id: str, idempotency_key: str) -> str:
    """The same customer and key always name the same session: a retried open finds it."""
    return "cs-" + hashlib.sha256(f"{customer_id}\x1f{idempotency_key}".encode()).hexdigest()[:32]


def fingerprint(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
