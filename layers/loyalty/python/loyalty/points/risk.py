"""Risk warning (积分风险预警): accrual faster than the bank allows is held, not booked.

A customer's points per business day and events per hour are counted in the same transaction as
each accrual (counters beside the caps, so they are read at the account's version and never race).
An accrual that would pass either limit is held whole as a risk hold: its points show as `pending`,
`PointsRiskFlagged` goes out, and an operator releases it (the earnings are booked under the entry
ids they would have had) or rejects it (nothing is booked). Each event is decided once: a hold
guards the entries, and booked entries guard the hold.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field, StrictInt

from loyalty.core.text import Note
from loyalty.points.model import Points, Strict

# Velocity counters only count; the limit is applied by holding, never by refusing the write.
COUNTER_CEILING = 10**15


class RiskSettings(Strict):
    """The velocity limits per customer; a limit left out (or null) is not applied."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"maxPointsPerDay": 5000, "maxEventsPerHour": 20}]})

    maxPointsPerDay: Points | None = Field(default=None, description="Points one customer may earn in a business day before accrual is held.")
    maxEventsPerHour: Annotated[StrictInt, Field(ge=1, le=100_000)] | None = Field(
        default=None, description="Earning events per customer per hour before accrual is held.")


class RiskDecision(Strict):
    model_config = ConfigDict(json_schema_extra={"examples": [
        {"decision": "release", "note": "Checked with the branch: a genuine year-end purchase."},
    ]})

    decision: Literal["release", "reject"] = Field(description="`release` books the held points; `reject` drops them.")
    note: Note = Field(description="Why; kept on the hold and in the audit log.")


@dataclass(frozen=True)
class PlannedEarn:
    """One earning as accrual would book it; a hold keeps these to book on release."""

    entry_id: str
    points: int
    growth: bool
    expires_on: str
    cost_centre: str
    source: dict[str, Any] = field(default_factory=dict)


def counter_keys(occurred_at: datetime, business_day: str, zone: ZoneInfo) -> tuple[str, str]:
    hour = occurred_at.astimezone(zone).strftime("%Y-%m-%dT%H")
    return f"velocity#D#{business_day}", f"velocity#H#{hour}"


def breach(settings: RiskSettings, caps: dict[str, int], day_key: str, hour_key: str, points: int) -> dict[str, Any] | None:
    """Which limit this accrual would pass, if any, with what it would make the count."""
    events = caps.get(hour_key, 0) + 1
    if settings.maxEventsPerHour is not None and events > settings.maxEventsPerHour:
        return {"reason": "events_per_hour", "observed": events, "limit": settings.maxEventsPerHour}
    day_points = caps.get(day_key, 0) + points
    if settings.maxPointsPerDay is not None and points and day_points > settings.maxPointsPerDay:
        return {"reason": "points_per_day", "observed": day_points, "limit": settings.maxPointsPerDay}
    return None


def hold_id(event_type: str, customer_id: str, subject: str) -> str:
    """One hold per customer and accrual: a subject alone (a check-in's date, an AUM month) is shared
    by every customer."""
    return "rh-" + hashlib.sha256(f"{event_type}\x1f{customer_id}\x1f{subject}".encode()).hexdigest()[:32]


def hold_fields(hid: str, customer_id: str, planned: list[PlannedEarn], found: dict[str, Any], at: str,
                origin: dict[str, str]) -> dict[str, Any]:
    """The hold as stored: what it would book (`planned`), the limit it passed (`found`) and the event
    that passed it (`origin`)."""
    return {
        "holdId": hid, "customerId": customer_id, "status": "pending", "heldAt": at,
        "points": sum(p.points for p in planned if not p.growth), "growth": sum(p.points for p in planned if p.growth),
        "planned": [asdict(p) for p in planned], **found, **origin,
    }


def view(record: dict[str, Any]) -> dict[str, Any]:
    fields = ("holdId", "customerId", "status", "points", "growth", "reason", "observed", "limit", "eventType", "sourceEventId",
              "heldAt", "decidedBy", "decidedAt", "note")
    return {k: record[k] for k in fields if record.get(k) is not None}
