"""The coupons table's keys (the key design: see `items` and docs/data-model.md), and the API's view
of a coupon. The items themselves are PynamoDB models (`items`, `items_coupon`); the plain-value
helpers below go through them, for the tests and the bench."""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from loyalty.coupons.logic import Coupon
    from loyalty.coupons.model import Template

CODE_BUCKETS = 16


def template_key(template_id: str) -> dict[str, str]:
    return {"pk": f"TPL#{template_id}", "sk": "META"}


def shard_key(template_id: str, shard: int) -> dict[str, str]:
    # A partition key per shard: on AWS each key takes ~1,000 writes/s, so N keys take N times that.
    return {"pk": f"STOCK#{template_id}#{shard}", "sk": "STOCK"}


def daily_shard_key(template_id: str, business_date: str, shard: int) -> dict[str, str]:
    return {"pk": f"DAYSTOCK#{template_id}#{business_date}#{shard}", "sk": "DAY"}


def limit_key(template_id: str, customer_id: str, period: str) -> dict[str, str]:
    return {"pk": f"LIMIT#{template_id}#{customer_id}", "sk": period}


def coupon_key(coupon_id: str) -> dict[str, str]:
    return {"pk": f"CPN#{coupon_id}", "sk": "CPN"}


def code_bucket(code: str) -> int:
    # A code always lands in the same bucket, so a duplicate across uploads meets its twin's key.
    return int(hashlib.sha256(code.encode()).hexdigest()[:8], 16) % CODE_BUCKETS


def code_key(template_id: str, code: str) -> dict[str, str]:
    return {"pk": f"CODE#{template_id}#{code_bucket(code)}", "sk": code}


def free_codes_index_key(template_id: str, bucket: int) -> str:
    return f"FREECODE#{template_id}#{bucket}"


def wallet_index_key(customer_id: str) -> str:
    return f"CUST#{customer_id}"


EXPIRY_INDEX_SHARDS = 16


def expiry_index_key(valid_until: str, coupon_id: str) -> str:
    # Spread over shards: a flash grab issues thousands of coupons a second with one validUntil date,
    # and one index partition key takes about 1,000 writes/s (a throttled index throttles the table).
    shard = int(hashlib.sha256(coupon_id.encode()).hexdigest()[:8], 16) % EXPIRY_INDEX_SHARDS
    return f"EXP#{valid_until[:10]}#{shard}"


# ---- items as plain values (tests, the bench, and the on-disk format's own tests) -------------------


def template_item(template: Template) -> dict[str, Any]:
    """The template's item as stored, attribute by attribute (plain values)."""
    from loyalty.coupons.items import TemplateItem

    return _plain(TemplateItem.of(template))


def template_from_item(item: dict[str, Any]) -> Template:
    """A template from its item's plain values (as `loyalty.core.dynamo.from_item` reads them)."""
    from loyalty.coupons.items import TemplateItem

    return TemplateItem.from_raw_data(_raw(item)).template()


def coupon_item(coupon: Coupon) -> dict[str, Any]:
    """The coupon's item as stored, attribute by attribute (plain values)."""
    from loyalty.coupons.items_coupon import CouponItem

    return _plain(CouponItem.of(coupon))


def coupon_from_item(item: dict[str, Any]) -> Coupon:
    """A coupon from its item's plain values (as `loyalty.core.dynamo.from_item` reads them)."""
    from loyalty.coupons.items_coupon import CouponItem

    return CouponItem.from_raw_data(_raw(item)).coupon()


def _plain(model: Any) -> dict[str, Any]:
    from loyalty.core.dynamo import from_item

    return from_item(model.serialize())


def _raw(item: dict[str, Any]) -> dict[str, Any]:
    from loyalty.core.dynamo import to_item

    return to_item(item)


def coupon_view(coupon: Coupon, status: str) -> dict[str, Any]:
    """The API's coupon: what a customer or payment flow needs, never internal bookkeeping."""
    view = {
        "couponId": coupon.coupon_id,
        "templateId": coupon.template_id,
        "customerId": coupon.customer_id,
        "kind": coupon.kind,
        "status": status,
        "benefit": coupon.benefit,
        "validFrom": coupon.valid_from,
        "validUntil": coupon.valid_until,
        "issuedAt": coupon.issued_at,
        "campaignId": coupon.campaign_id,
        "bundleId": coupon.bundle_id,
        "amountMinor": coupon.amount_minor,
        "code": coupon.code,
        "lock": {"orderId": coupon.lock_order_id, "until": coupon.locked_until} if status == "locked" else None,
        "redemption": {"orderId": coupon.redeemed_order_id, "at": coupon.redeemed_at, "discountMinor": coupon.discount_minor}
        if status == "redeemed"
        else None,
    }
    return {k: v for k, v in view.items() if v is not None}
