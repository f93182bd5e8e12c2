"""What other capabilities may ask of coupons: the only way they reach the coupons table.

None of them reads or writes it today: campaigns, the points mall and tier benefits send
`IssueCoupon` commands to the coupon-commands queue and hear the coupons' events from the bus.
The one operation another capability needs is PIPL's, for privacy: export and erase a customer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class CouponsPrivacy(Protocol):
    def export(self, customer_id: str) -> dict[str, Any]:
        """`{"coupons": [...]}`: every coupon of the customer as stored, less keys and index attributes."""

    def erase(self, customer_id: str, now: datetime) -> dict[str, Any]:
        """What an erasure did to coupons: `{"kept": ["coupons"]}` (the books need them; nothing changes)."""


def privacy() -> CouponsPrivacy:
    from loyalty.coupons import privacy as coupons_privacy

    return coupons_privacy
