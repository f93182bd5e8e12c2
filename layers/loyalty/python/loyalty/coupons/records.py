"""The coupons table's items: keys and the mapping between domain objects and items.

One table, several item types (see docs/data-model.md):
  TPL#<template>            / META     template definition and lifecycle       gsi1: TEMPLATES
  STOCK#<template>#<n>      / STOCK    one stock shard: left, active
  DAYSTOCK#<t>#<date>#<n>   / DAY      a shard's issues on one business date
  LIMIT#<t>#<customer>      / LIFE | DAY#<date>   a customer's claims of a template
  CPN#<coupon>              / CPN      a coupon                  gsi1: wallet, gsi2: expiry (16 shards a date)
  CODE#<t>#<bucket>         / <code>   a voucher code                          gsi2: free codes
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, fields
from typing import Any

from loyalty.coupons.logic import Coupon
from loyalty.coupons.model import Template, TemplateCreate

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


# ---- templates ------------------------------------------------------------------------------------


def template_item(template: Template) -> dict[str, Any]:
    return {
        **template_key(template.template_id),
        "definition": template.definition.model_dump_json(),
        "status": template.status,
        "version": template.version,
        "stockAdded": template.stockAdded,
        "createdAt": template.createdAt,
        "createdBy": template.createdBy,
        "updatedAt": template.updatedAt,
        "gsi1pk": "TEMPLATES",
        "gsi1sk": f"{template.createdAt}#{template.template_id}",
    }


def template_from_item(item: dict[str, Any]) -> Template:
    return Template(
        definition=TemplateCreate.model_validate_json(item["definition"]),
        status=item["status"],
        version=int(item["version"]),
        stockAdded=int(item["stockAdded"]),
        createdAt=item["createdAt"],
        createdBy=item["createdBy"],
        updatedAt=item["updatedAt"],
    )


# ---- coupons --------------------------------------------------------------------------------------

_COUPON_FIELDS = {f.name for f in fields(Coupon)}
_LIVE = ("available", "locked")


def coupon_item(coupon: Coupon) -> dict[str, Any]:
    values = asdict(coupon)
    item: dict[str, Any] = {
        **coupon_key(coupon.coupon_id),
        **{k: v for k, v in values.items() if k not in ("benefit", "funding", "redemption")},
        "benefit": json.dumps(coupon.benefit, separators=(",", ":")),
        "funding": json.dumps(coupon.funding, separators=(",", ":")),
        "redemption": json.dumps(coupon.redemption, separators=(",", ":")),
        "gsi1pk": wallet_index_key(coupon.customer_id),
        "gsi1sk": f"{coupon.issued_at}#{coupon.coupon_id}",
    }
    if coupon.status in _LIVE:  # sparse: only coupons the sweep may still have to expire
        item["gsi2pk"] = expiry_index_key(coupon.valid_until, coupon.coupon_id)
        item["gsi2sk"] = f"{coupon.valid_until}#{coupon.coupon_id}"
    return {k: v for k, v in item.items() if v is not None}


def coupon_from_item(item: dict[str, Any]) -> Coupon:
    values = {k: v for k, v in item.items() if k in _COUPON_FIELDS}
    for name in ("benefit", "funding", "redemption"):
        values[name] = json.loads(item.get(name) or "{}")
    return Coupon(**values)


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
