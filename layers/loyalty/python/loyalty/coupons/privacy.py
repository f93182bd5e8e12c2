"""The coupons capability's part of PIPL rights over one customer, on its own models.

**Export**: the customer's coupons as stored (every state, found through the wallet index), less
their keys and index attributes: the `coupons` section of an export.

**Erase**: nothing is deleted or changed. Coupons hold the customer id (a pseudonym once the profile
is gone) and amounts, and the budget and cost totals must stay correct; eligibility treats an
erased customer as unknown, so a template with eligibility conditions issues them nothing more.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

HIDDEN = ("pk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "expiresAt")


def export(customer_id: str) -> dict[str, Any]:
    from loyalty.coupons.items_coupon import CouponItem
    from loyalty.coupons.records import wallet_index_key

    coupons = [item.plain() for item in CouponItem.wallet.query(wallet_index_key(customer_id))]
    return {"coupons": [{k: v for k, v in coupon.items() if k not in HIDDEN} for coupon in coupons]}


def erase(customer_id: str, now: datetime) -> dict[str, Any]:
    return {"kept": ["coupons"]}
