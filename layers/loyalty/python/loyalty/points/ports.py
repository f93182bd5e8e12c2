"""What other capabilities may ask of points: the only way they reach the points table. Today that is
the PIPL export and erasure of one customer's points (`loyalty.privacy`); the rest of the engine
hears from points through its events (PointsEarned, TierChanged, IssueCoupon, ...)."""

from __future__ import annotations

from datetime import datetime
from functools import cache
from typing import Any, Protocol


class PointsPrivacy(Protocol):
    def export(self, customer_id: str) -> dict[str, Any]:
        """`{"points": {"account": [...], "ledger": [...], "redemptions": [...], "riskHolds": [...]}}`:
        the items as stored, without keys, index keys and TTLs; ledger entries' `source` and `lots`
        decoded. Every list empty: points hold nothing on them."""

    def erase(self, customer_id: str, now: datetime) -> dict[str, Any]:
        """Marks the account erased (its version moved, so an accrual racing the erasure decides
        again): nothing more is earned, and no level changes or benefits follow. The ledger and the
        balance stay (the liability must stay correct). Answers `{}`: nothing for the receipt."""


@cache
def privacy() -> PointsPrivacy:
    from loyalty.points.privacy import DynamoPointsPrivacy

    return DynamoPointsPrivacy()
