"""The records a ledger transaction writes beside the account: a redemption, a risk hold and their
settlement, each with the condition that makes it happen once. When one is refused, the change was
already applied (`AlreadyApplied`), not raced.

Plain data, so that the services stay free of the table: the Dynamo store writes each one with its
condition (`loyalty.points.store`), an in-memory store in the unit tests honours the same.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

OPEN_REDEMPTION = ("issuing", "held")  # a redemption's states before it settles


@dataclass(frozen=True)
class NewRedemption:
    """Written only if no redemption has this id (a retried call under the same key)."""

    fields: dict[str, Any]  # the redemption's stored attributes, `redemptionId` among them; None is left out


@dataclass(frozen=True)
class SettleRedemption:
    """Only while the redemption is open (`OPEN_REDEMPTION`); it leaves the holds index."""

    redemption_id: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NewRiskHold:
    """Written only if this accrual was never held."""

    fields: dict[str, Any]  # `holdId`, `customerId`, `heldAt`, `planned` (PlannedEarn dicts), ...


@dataclass(frozen=True)
class NotBooked:
    """No ledger entry with this id yet: a hold guards the entries its release would book."""

    customer_id: str
    entry_id: str


@dataclass(frozen=True)
class NotHeld:
    """This accrual was never held: booked entries guard against a hold of the same event."""

    hold_id: str


@dataclass(frozen=True)
class DecideRiskHold:
    """Only while the hold is pending; it leaves the pending index."""

    hold_id: str
    status: str
    decided_by: str
    note: str
    decided_at: str


GuardedWrite = NewRedemption | SettleRedemption | NewRiskHold | NotBooked | NotHeld | DecideRiskHold
