"""What other capabilities may ask of campaigns: the only way they reach the campaigns table.

Today only privacy does (PIPL export and erasure); everything else between capabilities travels as
events (IssueCoupon, AwardPoints, CouponRedeemed, ...).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, Protocol


class CampaignsPort(Protocol):
    def export(self, customer_id: str) -> dict[str, Any]:
        """The customer's campaign records, by kind (progress, notifications, inviteCode, referredBy,
        referralsMade, audiences, targeted, frequency, grants): the export's `campaigns` section."""

    def erase(self, customer_id: str, now: datetime) -> dict[str, Any]:
        """Deletes or anonymises what describes the customer's behaviour and relations; grants and
        counters stay. `{"campaignItemsErased": n}`."""


class DynamoCampaignsPort:
    def export(self, customer_id: str) -> dict[str, Any]:
        from loyalty.campaigns import privacy

        return privacy.export(customer_id)

    def erase(self, customer_id: str, now: datetime) -> dict[str, Any]:
        from loyalty.campaigns import privacy

        return privacy.erase(customer_id, now)


@cache
def campaigns() -> CampaignsPort:
    return DynamoCampaignsPort()
