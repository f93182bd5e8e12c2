"""Builders for the coupon unit tests: templates, hand-built coupons and orders at a fixed `NOW`."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from loyalty.core.clock import iso_utc
from loyalty.coupons.logic import Coupon
from loyalty.coupons.model import OrderDetails, Template, TemplateCreate, TemplateStatus

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

BENEFITS: dict[str, dict[str, Any]] = {
    "fixed_amount": {"kind": "fixed_amount", "amountMinor": 500, "currency": "CNY"},
    "threshold": {"kind": "threshold", "thresholdMinor": 10_000, "amountMinor": 1_500, "currency": "CNY"},
    "percentage": {"kind": "percentage", "percentOff": 15, "maxDiscountMinor": 2_000, "currency": "CNY"},
    "random_amount": {"kind": "random_amount", "minMinor": 100, "maxMinor": 999, "currency": "CNY"},
    "red_packet": {"kind": "red_packet", "amountMinor": 888, "currency": "CNY"},
    "gift": {"kind": "gift", "sku": "mug-01", "fulfilment": "physical"},
    "voucher_code": {"kind": "voucher_code", "provider": "Coffee Co"},
    "bundle": {"kind": "bundle", "parts": ["tpl-a", "tpl-b"]},
}
KINDS = tuple(BENEFITS)
PAYMENT_KINDS = ("fixed_amount", "threshold", "percentage", "random_amount")

WINDOW: dict[str, Any] = {"type": "window", "validFrom": "2026-05-01T00:00:00Z", "validUntil": "2026-07-01T00:00:00Z"}
DAYS_30: dict[str, Any] = {"type": "days_after_claim", "days": 30}
FUNDING: dict[str, Any] = {"costCentre": "cc-marketing", "unitCostMinor": 500, "currency": "CNY"}


def iso(value: datetime) -> str:
    return iso_utc(value)


def after(**delta: float) -> datetime:
    """NOW plus a timedelta, e.g. `after(minutes=5)` or `after(days=-1)`."""
    return NOW + timedelta(**delta)


def template_data(**overrides: Any) -> dict[str, Any]:
    """A valid TemplateCreate body (a fixed-amount coupon) with `overrides` applied at the top level."""
    data: dict[str, Any] = {
        "templateId": "tpl-1",
        "name": "5 yuan off",
        "benefit": BENEFITS["fixed_amount"],
        "totalStock": 1_000,
        "validity": WINDOW,
        "funding": FUNDING,
    }
    data.update(overrides)
    return copy.deepcopy(data)


def template(status: TemplateStatus = "active", kind: str = "fixed_amount", **overrides: Any) -> Template:
    definition = TemplateCreate.model_validate(template_data(benefit=BENEFITS[kind], **overrides))
    return Template(
        definition=definition,
        status=status,
        version=1,
        stockAdded=definition.totalStock,
        createdAt="2026-04-01T00:00:00.000000Z",
        createdBy="op-1",
        updatedAt="2026-04-01T00:00:00.000000Z",
    )


def coupon(**overrides: Any) -> Coupon:
    """An available fixed-amount (5.00 CNY) coupon, valid from a day before NOW to 30 days after."""
    values: dict[str, Any] = {
        "coupon_id": "cpn_0001",
        "template_id": "tpl-1",
        "customer_id": "c-001",
        "kind": "fixed_amount",
        "benefit": dict(BENEFITS["fixed_amount"]),
        "status": "available",
        "valid_from": iso(after(days=-1)),
        "valid_until": iso(after(days=30)),
        "issued_at": iso(after(days=-1)),
        "source": "claim",
        "funding": dict(FUNDING),
        "fingerprint": "fp-1",
        "redemption": {"merchants": [], "channels": []},
    }
    values.update(overrides)
    return Coupon(**values)


def locked(order_id: str = "o-1", until: datetime | None = None, **overrides: Any) -> Coupon:
    """Locked for `order_id` until `until` (10 minutes after NOW by default), quoted at 500."""
    values: dict[str, Any] = {
        "status": "locked",
        "lock_order_id": order_id,
        "locked_until": iso(until or after(minutes=10)),
        "discount_minor": 500,
        "version": 2,
    }
    values.update(overrides)
    return coupon(**values)


def redeemed(order_id: str = "o-1", at: datetime | None = None, **overrides: Any) -> Coupon:
    values: dict[str, Any] = {
        "status": "redeemed",
        "redeemed_order_id": order_id,
        "redeemed_at": iso(at or after(minutes=-5)),
        "discount_minor": 500,
        "version": 2,
    }
    values.update(overrides)
    return coupon(**values)


def order(**overrides: Any) -> OrderDetails:
    """A 200.00 CNY order at merchant m-1 through the app."""
    values: dict[str, Any] = {"orderAmountMinor": 20_000, "currency": "CNY", "merchantId": "m-1", "channel": "app"}
    values.update(overrides)
    return OrderDetails.model_validate(values)
