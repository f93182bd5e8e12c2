"""What other capabilities may ask of campaigns: the only way they reach the campaigns table.

Privacy does (PIPL export and erasure), and the daily reconciliation reads the books (`books()`, read
only); everything else between capabilities travels as events (IssueCoupon, AwardPoints, ...).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any, Protocol


class CampaignsPort(Protocol):
    def export(self, customer_id: str) -> dict[str, Any]:
        """The customer's campaign records, by kind (progress, notifications, inviteCode, referredBy,
        referralsMade, audiences, targeted, frequency, grants, parkedTriggers): the export's `campaigns` section."""

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


# ---- the books, for the daily reconciliation (loyalty.reconciliation) ------------------------------


@dataclass(frozen=True)
class ActionBooks:
    command_id: str
    kind: str  # coupon, points
    cost: int  # its share of the grant's cost
    state: str  # loyalty.campaigns.saga.ActionState


@dataclass(frozen=True)
class GrantBooks:
    grant_id: str
    campaign_id: str
    customer_id: str
    status: str  # loyalty.campaigns.saga.GrantStatus (never control)
    at: str
    cost: int
    charged: int  # what stays spent of its cost: the cost less what was given back
    actions: tuple[ActionBooks, ...]


@dataclass(frozen=True)
class CampaignBooks:
    campaign_id: str
    cost: int  # the arms' cost counters, summed: the report's cost
    total_spent: int | None  # the total budget's counter, when the campaign has a total budget


class CampaignsBooks(Protocol):
    def grants(self, cursor: str | None, limit: int) -> tuple[list[GrantBooks], str | None]:
        """The grants (not control records) met in one page of a scan of the campaigns table."""

    def campaigns(self) -> Iterator[CampaignBooks]: ...

    def known_commands(self, command_ids: Sequence[str]) -> set[str]:
        """Which of these command ids a grant sent (one batched read)."""


@cache
def books() -> CampaignsBooks:
    from loyalty.campaigns.books import DynamoCampaignsBooks

    return DynamoCampaignsBooks()
