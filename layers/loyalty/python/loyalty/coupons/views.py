"""What the API answers about coupon templates and coupons (response models)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from loyalty.core.api_responses import SparseView
from loyalty.coupons.model import Benefit, CouponStatus, TemplateCreate, TemplateStatus


class TemplateView(TemplateCreate):
    """A template's definition and where it stands."""

    status: TemplateStatus
    version: int = Field(description="Raised by every change; a change conditioned on a version read answers 409 if it moved.")
    stockAdded: int = Field(description="Every unit ever allotted, totalStock at creation included.")
    createdAt: str
    createdBy: str
    updatedAt: str


class TemplateWithStock(TemplateView):
    stockLeft: int = Field(description="Units that can still be claimed, over every shard.")


class TemplatePage(BaseModel):
    items: list[TemplateView]
    nextCursor: str | None


class CodeUploadResult(BaseModel):
    templateId: str
    added: int = Field(description="Codes added to the template's pool (and to its stock).")


class CouponLock(BaseModel):
    orderId: str
    until: str = Field(description="When the lock lapses and the coupon is available again (UTC).")


class CouponRedemption(BaseModel):
    orderId: str
    at: str
    discountMinor: int | None


class CouponView(SparseView):
    """A coupon in a wallet or a payment flow. Fields that do not apply are left out."""

    couponId: str
    templateId: str
    customerId: str
    kind: str
    status: CouponStatus
    benefit: Benefit
    validFrom: str
    validUntil: str
    issuedAt: str
    campaignId: str | None = None
    bundleId: str | None = Field(default=None, description="Set on each part of a bundle claimed together.")
    amountMinor: int | None = Field(default=None, description="The amount drawn for a random_amount coupon.")
    code: str | None = Field(default=None, description="The voucher code of a voucher_code coupon.")
    lock: CouponLock | None = Field(default=None, description="While locked for an order.")
    redemption: CouponRedemption | None = Field(default=None, description="Once redeemed (核销).")


class BundleView(BaseModel):
    bundleId: str
    coupons: list[CouponView]


class Wallet(BaseModel):
    items: list[CouponView]
    nextCursor: str | None


class ReturnedCoupons(BaseModel):
    coupons: list[CouponView] = Field(description="The coupon and, for a bundle part, the other parts of the same order.")


class CouponQuote(BaseModel):
    couponId: str
    applicable: bool
    discountMinor: int
    payableMinor: int
    currency: str
    reason: str | None = Field(description="Why it does not apply: NOT_A_PAYMENT_COUPON, CURRENCY_MISMATCH, MERCHANT_NOT_ALLOWED, CHANNEL_NOT_ALLOWED, THRESHOLD_NOT_MET, COUPON_NOT_YET_VALID or COUPON_<status>.")


