"""The branch league table as the API answers it (`GET /v1/admin/org-units/{unitId}/kpis`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from loyalty.org.kpi_service import League
from loyalty.org.kpis import UNASSIGNED, Row
from loyalty.org.model import OrgUnit

RankBy = Literal["activeCustomers", "newCustomers", "aumGrowthMinor", "grants", "grantCostMinor", "redemptionRate", "upliftPercent"]


class UnitKpis(BaseModel):
    unitId: str = Field(description=f"The unit; `{UNASSIGNED}` at the head office: customers with no profile yet, no branch id, "
                                    "or a branch id no unit maps.")
    name: str | None = Field(default=None, description="The unit's name; null for the unassigned bucket.")
    kind: str | None = None
    status: str | None = None
    rank: int = Field(description="1 for the highest by `rankBy`; ties share a rank.")
    newCustomers: int = Field(description="Customers whose account opened (profile `openedAt`) in the period, once each.")
    activeCustomers: int = Field(description="Customers with a card transaction or a login in the period, once each.")
    aumMinor: int = Field(description="Sum of the customers' average AUM (MonthlyAumComputed) for the period's last month, "
                                      "in minor units of ORG_KPI_CURRENCY.")
    aumPreviousMinor: int = Field(description="The same for the month before the period.")
    aumGrowthMinor: int = Field(description="aumMinor - aumPreviousMinor.")
    aumGrowthPercent: float | None = Field(description="Growth as a percentage of aumPreviousMinor; null when that is 0.")
    grants: int = Field(description="Rewards granted in the period (RewardGranted), the control arm left out.")
    controlGrants: int = Field(description="Grants to campaigns' control arm: would have received, got nothing.")
    grantCostMinor: int = Field(description="Cost of the grants budgeted in minor units.")
    grantCostRewards: int = Field(description="Cost of the grants budgeted in reward units.")
    couponsIssued: int
    couponsRedeemed: int
    redemptionRate: float | None = Field(description="couponsRedeemed / couponsIssued in the period (not a cohort's rate); "
                                                     "null when none was issued.")
    treatedCustomers: int = Field(description="Customers granted a reward in the period (campaigns' treated arms), once each.")
    controlCustomers: int = Field(description="Customers held out in the period (campaigns' control arms), once each.")
    treatedSpendMinor: int = Field(description="Their card spend in the period after being granted, in minor units of ORG_KPI_CURRENCY.")
    controlSpendMinor: int = Field(description="The control customers' card spend in the period after being held out.")
    upliftPercent: float | None = Field(description="Campaign uplift: treated customers' spend each over control customers' spend "
                                                    "each, less 100%; null without control spend to compare.")

    @classmethod
    def of(cls, rank: int, row: Row, unit: OrgUnit | None) -> UnitKpis:
        c = row.counters
        return cls(unitId=row.unitId, name=unit.name if unit else None, kind=unit.kind if unit else None,
                   status=unit.status if unit else None, rank=rank, newCustomers=c.newCustomers,
                   activeCustomers=c.activeCustomers, aumMinor=row.aumMinor, aumPreviousMinor=row.aumPreviousMinor,
                   aumGrowthMinor=row.aumGrowthMinor, aumGrowthPercent=row.aumGrowthPercent, grants=c.grants,
                   controlGrants=c.controlGrants, grantCostMinor=c.grantCostMinor, grantCostRewards=c.grantCostRewards,
                   couponsIssued=c.couponsIssued, couponsRedeemed=c.couponsRedeemed, redemptionRate=row.redemptionRate,
                   treatedCustomers=c.treatedCustomers, controlCustomers=c.controlCustomers, treatedSpendMinor=c.treatedSpendMinor,
                   controlSpendMinor=c.controlSpendMinor, upliftPercent=row.upliftPercent)


class LeagueTable(BaseModel):
    unitId: str
    period: str = Field(description="A month (`2026-11`) or a quarter (`2026-Q4`), in the bank's time zone.")
    aumMonth: str = Field(description="The month whose AUM `aumMinor` is (the period's last).")
    aumBaseMonth: str = Field(description="The month `aumPreviousMinor` is (the one before the period).")
    rankBy: RankBy
    total: UnitKpis = Field(description="The unit itself: its whole subtree's customers (rank 0).")
    units: list[UnitKpis] = Field(description="Each unit right under it (closed ones too), ranked.")

    @classmethod
    def of(cls, found: League, rank_by: RankBy) -> LeagueTable:
        return cls(unitId=found.unit.unitId, period=found.period, aumMonth=found.aum_months[0], aumBaseMonth=found.aum_months[1],
                   rankBy=rank_by, total=UnitKpis.of(0, found.total, found.unit),
                   units=[UnitKpis.of(rank, row, unit) for rank, row, unit in found.rows])
