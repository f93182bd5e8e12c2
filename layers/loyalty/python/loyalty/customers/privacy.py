"""The customers capability's part of PIPL rights over one customer (through `loyalty.customers.ports`).

- **Export**: the profile as stored.
- **Erase**: the profile becomes a tombstone (once: erasing a tombstone again changes nothing). Every personal field goes, and its `changedAt` moves to
  the end of time, so a late `CustomerProfileChanged` (which never overwrites a newer one) cannot
  bring the data back. Every capability that acts on a customer checks the tombstone in its own
  transaction (`require_not_erased`, `record_scores`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loyalty.core.clock import iso_utc
from loyalty.customers.items import CustomerItem

END_OF_TIME = "9999-12-31T23:59:59.999999Z"
KEPT_FIELDS = {"customerId"}


class DynamoCustomersPrivacy:
    def export(self, customer_id: str) -> dict[str, Any] | None:
        try:
            return CustomerItem.get(customer_id, consistent_read=True).plain()
        except CustomerItem.DoesNotExist:
            return None

    def erase(self, customer_id: str, now: datetime) -> dict[str, Any] | None:
        profile = self.export(customer_id)
        if profile is None:
            return None
        if profile.get("erased"):  # erased before (a retry finishing an erasure): the first one stands
            return {"profileFieldsRemoved": [], "erasedAt": profile.get("erasedAt") or iso_utc(now)}
        at = iso_utc(now)
        CustomerItem(customer_id, changedAt=END_OF_TIME, sourceEventId="erased", erased=True, erasedAt=at).save()
        removed = sorted(k for k, v in profile.items() if k not in KEPT_FIELDS and v not in (None, [], {}))
        return {"profileFieldsRemoved": removed, "erasedAt": at}
