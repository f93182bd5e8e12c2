"""What other capabilities may ask of campaigns: the only way they reach the campaigns table.

Privacy does (PIPL export and erasure), and the daily reconciliation reads the books (`books()`, read
only); everything else between capabilities travels as events (IssueCoupon, AwardPoints, ...).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import cache
from typing import Any, Protocol

from loyalty.core.missing import Missing


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


@dataclass(frozen=True)
class BudgetBooks:
    """A campaign's total budget as the cash-need forecast reads it (docs/org-units.md)."""

    campaign_id: str
    org_unit_id: str | None  # the campaign's org unit; None: the head office's
    status: str  # draft, pending_approval, approved, paused, ended
    unit: str  # minor, rewards
    currency: str | None  # of a budget in minor units
    total: int
    spent: int  # the total budget's counter
    starts_at: datetime
    ends_at: datetime


class CampaignsBooks(Protocol):
    def grants(self, cursor: str | None, limit: int) -> tuple[list[GrantBooks], str | None]:
        """The grants (not control records) met in one page of a scan of the campaigns table."""

    def campaigns(self) -> Iterator[CampaignBooks]: ...

    def known_commands(self, command_ids: Sequence[str]) -> set[str]:
        """Which of these command ids a grant sent (one batched read)."""

    def budgets(self) -> Iterator[BudgetBooks]:
        """Every campaign's total budget, limit and spent (the campaign list, a page at a time)."""


@cache
def books() -> CampaignsBooks:
    from loyalty.campaigns.books import DynamoCampaignsBooks

    return DynamoCampaignsBooks()


# ---- commitments, for the org pools' roll-up (loyalty.org.pools) -------------------------------------

COMMITTING = ("pending_approval", "approved", "paused")  # submitted and not ended: their budgets are spoken for


class CampaignCommitments(Protocol):
    def committed(self, unit_ids: Sequence[str], measure: str, first: date, last: date) -> dict[str, int]:
        """Per org unit of `unit_ids`: the total budgets of the campaigns at it (`orgUnitId`) submitted
        and not ended, in `measure` (a currency or `rewards`), whose window meets first..last. Reads
        the campaign list once (every campaign's current version)."""


class DynamoCampaignCommitments:
    def committed(self, unit_ids: Sequence[str], measure: str, first: date, last: date) -> dict[str, int]:
        from loyalty.campaigns import service
        from loyalty.core.config import get_settings

        wanted, zone, found = set(unit_ids), get_settings().bank_zone, dict[str, int]()
        for meta in service.default_store().listed():
            if meta.get("status") not in COMMITTING:
                continue
            definition = service.definition_of(meta)
            unit = definition.orgUnitId
            if unit is None or unit not in wanted or definition.pool_measure != measure:
                continue
            if definition.window.startsAt.astimezone(zone).date() > last or definition.window.endsAt.astimezone(zone).date() < first:
                continue
            found[unit] = found.get(unit, 0) + definition.budget.total
        return found


@cache
def commitments() -> CampaignCommitments:
    return DynamoCampaignCommitments()


# ---- the org scope: which unit a campaign belongs to (loyalty.org.scope) --------------------------------



class CampaignUnits(Protocol):
    def unit_of(self, campaign_id: str) -> str | Missing | None:
        """The org unit the campaign belongs to (None: the head office's), or MISSING."""


class DynamoCampaignUnits:
    def unit_of(self, campaign_id: str) -> str | Missing | None:
        from loyalty.campaigns import service
        from loyalty.core.errors import NotFound
        from loyalty.core.missing import MISSING

        try:
            return service.definition_of(service.default_store().get(campaign_id)).orgUnitId
        except NotFound:
            return MISSING


def campaign_units() -> CampaignUnits:
    return DynamoCampaignUnits()
