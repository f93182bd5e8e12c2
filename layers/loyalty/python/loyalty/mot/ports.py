"""What other capabilities may ask of MOT: PIPL's export and erasure of one customer's MOT data."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol


class MotPrivacy(Protocol):
    def export(self, customer_id: str) -> dict[str, list[dict[str, Any]]]:
        """The customer's tasks (talking points, outcomes, the RM's notes), held-out moments, and manager."""

    def erase(self, customer_id: str, now: datetime) -> int:
        """Removes what MOT holds of the customer beyond the report's counters; the items changed."""


def privacy() -> MotPrivacy:
    from loyalty.mot.privacy import DynamoMotPrivacy

    return DynamoMotPrivacy()
