"""The org API's bodies and answers (pydantic): what Powertools validates and the document shows."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from loyalty.core.api_params import ID_PATTERN
from loyalty.core.text import SINGLE_LINE, Reason
from loyalty.org.model import Kind, OrgUnit, Status, VersionRecord

UnitId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=ID_PATTERN)]
# Core banking's branch id, as a profile's `branchId` carries it (1 to 64 characters): one line.
BranchCode = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=SINGLE_LINE)]
UnitName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=SINGLE_LINE)]
Version = Annotated[int, Field(strict=True, ge=1, description="The version this change is based on (as read): 409 `VERSION_CONFLICT` "
                                                              "when the unit changed since. Left out: the version in force.")]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CreateOrgUnit(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [
        {"unitId": "310000", "kind": "branch", "name": "上海分行", "parentId": "100000", "branchCode": "310000"},
        {"unitId": "100000", "kind": "head_office", "name": "总行"},
    ]})

    unitId: UnitId = Field(description="The unit's id, taken once (the bank's institution code, 机构号, serves well).")
    kind: Kind = Field(description="`head_office` (总行), `branch` (分行), `sub_branch` (支行) or `outlet` (网点).")
    name: UnitName
    parentId: UnitId | None = Field(default=None, description="The unit it sits under; none only for the head office, the root.")
    branchCode: BranchCode | None = Field(default=None, description="Core banking's branch id that maps to this unit: customers whose "
                                                                    "profile's `branchId` is this code belong to it. One unit per code.")


class EditOrgUnit(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [
        {"name": "上海分行营业部", "branchCode": "310001", "version": 1},
    ]})

    name: UnitName
    branchCode: BranchCode | None = Field(default=None, description="Left out or null: the unit has none (a code it had is freed).")
    version: Version | None = None


class MoveOrgUnit(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [
        {"parentId": "310000", "version": 2, "note": "Moved under the Shanghai branch (2027 restructuring)"},
    ]})

    parentId: UnitId = Field(description="The unit it goes under.")
    version: Version | None = None
    note: Reason | None = Field(default=None, description="Why, kept with the version.")


class CloseOrgUnit(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{"version": 3, "note": "Outlet merged"}]})

    version: Version | None = None
    note: Reason | None = Field(default=None, description="Why, kept with the version.")


class OrgUnitView(BaseModel):
    unitId: str
    kind: Kind
    name: str
    parentId: str | None = Field(description="The unit it sits under; null for the head office.")
    depth: int = Field(description="0 for the head office, 1 under it, ... (at most 3).")
    status: Status
    branchCode: str | None
    version: int = Field(description="Its own changes: created, edited, moved, closed (every version is kept).")
    openChildren: int = Field(description="Open units right under it.")
    childCount: int = Field(description="Units right under it, open or closed.")
    createdAt: str
    createdBy: str
    updatedAt: str
    updatedBy: str
    closedAt: str | None = None

    @classmethod
    def of(cls, unit: OrgUnit) -> OrgUnitView:
        return cls(unitId=unit.unitId, kind=unit.kind, name=unit.name, parentId=unit.parentId, depth=unit.depth,  # type: ignore[arg-type]
                   status=unit.status, branchCode=unit.branchCode, version=unit.version, openChildren=unit.openChildren,  # type: ignore[arg-type]
                   childCount=unit.children, createdAt=unit.createdAt, createdBy=unit.createdBy, updatedAt=unit.updatedAt,
                   updatedBy=unit.updatedBy, closedAt=unit.closedAt)


class UnitRef(BaseModel):
    unitId: str
    kind: Kind
    name: str


class OrgUnitDetail(OrgUnitView):
    ancestors: list[UnitRef] = Field(description="The units above it that the caller's own unit contains, top down (the caller's own "
                                                 "unit first; none when this is the caller's own unit).")
    children: list[OrgUnitView] = Field(description="The units right under it, by id (at most 500: list the subtree for more).")


class OrgUnitPage(BaseModel):
    items: list[OrgUnitView] = Field(description="The unit and every unit under it, depth first: each unit before the units under it.")
    nextCursor: str | None


class OrgUnitVersionView(BaseModel):
    unitId: str
    version: int
    action: str = Field(description="`created`, `edited`, `moved` or `closed`.")
    kind: Kind
    name: str
    parentId: str | None
    status: Status
    branchCode: str | None
    savedBy: str
    savedAt: str
    note: str | None = None

    @classmethod
    def of(cls, record: VersionRecord) -> OrgUnitVersionView:
        return cls.model_validate(record.__dict__)


class OrgUnitVersionPage(BaseModel):
    items: list[OrgUnitVersionView] = Field(description="Newest first.")
    nextCursor: str | None


class UnknownBranch(BaseModel):
    branchId: str = Field(description="A profile's `branchId` that no unit's `branchCode` maps.")
    customers: int = Field(description="Profiles of this page with it.")


class UnknownBranchesPage(BaseModel):
    items: list[UnknownBranch] = Field(description="Branch ids of this page's profiles that map to no unit, by id.")
    profilesRead: int = Field(description="Customer profiles this page read.")
    withoutBranch: int = Field(description="Profiles of this page without a `branchId` (they belong to no unit either).")
    nextCursor: str | None = Field(description="Read on until it is null: each page reads a part of the customers.")


# ---- the cash-need forecast (docs/org-units.md, "The cash-need forecast") --------------------------------


class CampaignMonthPart(BaseModel):
    campaignId: str
    amountMinor: int


class TemplateMonthPart(BaseModel):
    templateId: str
    outstanding: int = Field(description="The unit's customers' outstanding coupons of the template whose validity ends in the month.")
    amountMinor: int = Field(description="valueMinor × outstanding × the template's redemption rate, rounded half up.")


class CampaignsInMonth(BaseModel):
    amountMinor: int
    byCampaign: list[CampaignMonthPart]


class CouponsInMonth(BaseModel):
    amountMinor: int
    outstanding: int
    byTemplate: list[TemplateMonthPart]


class PointsInMonth(BaseModel):
    amountMinor: int = Field(description="expectedPoints × pointValueMinor, rounded half up.")
    expiringPoints: int = Field(description="The unit's customers' points whose lots expire in the month.")
    expectedPoints: float = Field(description="expiringPoints × redemptionRate (shown to 4 decimals; computed exactly).")
    redemptionRate: float
    pointValueMinor: float


class ForecastMonth(BaseModel):
    month: str = Field(description="YYYY-MM, in the bank's time zone; the first is the month in progress (from now).")
    campaigns: CampaignsInMonth
    coupons: CouponsInMonth
    points: PointsInMonth
    totalMinor: int


class ForecastCampaign(BaseModel):
    campaignId: str
    orgUnitId: str | None = Field(description="None: a campaign of no unit, the head office's.")
    totalMinor: int
    spentMinor: int
    remainingMinor: int
    method: str = Field(description="`burn`: at the observed burn (spent ÷ time since the window opened); `plan`: evenly over what is "
                                    "left of the window (nothing spent yet, or opened less than a day ago); `none`: nothing left.")
    burnPerDayMinor: float
    startsAt: str
    endsAt: str
    afterHorizonMinor: int = Field(description="What the spread places after the last month of the forecast.")


class ForecastTemplate(BaseModel):
    templateId: str
    valueMinor: int
    valueBasis: str = Field(description="`face`: the benefit's fixed amount; `unit_cost`: the funding's unitCostMinor.")
    redeemed: int = Field(description="Every customer's coupons of the template, redeemed.")
    expired: int
    revoked: int
    redemptionRate: float
    rateBasis: str = Field(description="`observed`: the template's own; `pooled`: every template's (too few of its own settled); "
                                       "`assumed`: 1, too few settled anywhere.")
    outstandingAfterHorizon: int


class ForecastPoints(BaseModel):
    redeemed: int = Field(description="Points the unit's customers redeemed (ledger `redeem` entries).")
    expired: int = Field(description="Points of the unit's customers that expired (ledger `expire` entries).")
    redemptionRate: float
    rateBasis: str = Field(description="`observed`, or `assumed` (1) with fewer than 1000 points settled.")
    pointValueMinor: float = Field(description="POINT_VALUE_MINOR: what a redeemed point costs, in minor units.")
    expiringAfterHorizon: int


class LeftOut(BaseModel):
    campaigns: list[dict[str, str]] = Field(description="The unit's campaigns not counted: budget in rewards or another currency.")
    templates: list[dict[str, str]] = Field(description="Templates whose value is in another currency.")


class ForecastView(BaseModel):
    unitId: str
    currency: str
    asOf: str
    months: list[ForecastMonth]
    totalMinor: int
    campaigns: list[ForecastCampaign]
    templates: list[ForecastTemplate]
    points: ForecastPoints
    leftOut: LeftOut
