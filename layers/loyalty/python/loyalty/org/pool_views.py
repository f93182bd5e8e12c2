"""The budget pools' API bodies and answers (pydantic): docs/org-units.md, "Budget pools"."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StringConstraints, model_validator
from pydantic.json_schema import JsonDict

from loyalty.core import pacing
from loyalty.core.money import Currency
from loyalty.core.pacing import PacingPlan
from loyalty.core.text import Reason
from loyalty.org.pools import Pool, RollupRow, measure_of, pool_id
from loyalty.org.views import Kind, UnitId

Period = Annotated[str, StringConstraints(pattern=pacing.PERIOD_PATTERN), Field(description="A fiscal year (`2026`) or quarter (`2026-Q4`).")]
Amount = Annotated[StrictInt, Field(gt=0, le=10**15)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# `_Measured`'s validator, stated in the document for clients (and the contract tests).
CURRENCY_FOR_MONEY: JsonDict = {
    "if": {"properties": {"unit": {"const": "minor"}}, "required": ["unit"]},
    "then": {"required": ["currency"], "properties": {"currency": {"type": "string"}}},
    "else": {"properties": {"currency": {"type": "null"}}},
}


class _Measured(Strict):
    period: Period
    unit: Literal["minor", "rewards"] = Field(description="Minor units of `currency`, or reward units (one per grant).")
    currency: Currency | None = None

    @model_validator(mode="after")
    def _currency_for_money(self) -> _Measured:
        if (self.unit == "minor") != (self.currency is not None):
            raise ValueError("a pool in minor units names its currency; one in rewards does not")
        return self

    @property
    def measure(self) -> str:
        return measure_of(self.unit, self.currency)


class CreatePool(_Measured):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={**CURRENCY_FOR_MONEY, "examples": [
        {"period": "2027", "unit": "minor", "currency": "CNY", "allocation": 500_000_000_00,
         "plan": {"granularity": "month", "shape": "even", "tolerancePercent": 10}},
    ]})

    allocation: Annotated[StrictInt, Field(ge=0, le=10**15)]
    plan: PacingPlan | None = Field(default=None, description="Paces the head office's own campaigns' spend.")


class AllocatePool(_Measured):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={**CURRENCY_FOR_MONEY, "examples": [
        {"childId": "310000", "period": "2027", "unit": "minor", "currency": "CNY", "amount": 80_000_000_00,
         "plan": {"granularity": "month", "shape": "front_loaded", "tolerancePercent": 5}},
    ]})

    childId: UnitId = Field(description="A unit right under this one; its pool for the period is created if it has none.")
    amount: Amount
    plan: PacingPlan | None = Field(default=None, description="The child pool's pacing plan (replaces the one it had).")


class ReallocatePool(_Measured):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={**CURRENCY_FOR_MONEY, "examples": [
        {"fromUnitId": "310000", "toUnitId": "320000", "period": "2027", "unit": "minor", "currency": "CNY", "amount": 5_000_000_00,
         "note": "Shanghai under-spends; Jiangsu's Q4 push"},
    ]})

    fromUnitId: UnitId = Field(description="A unit right under this one that gives part of its allocation.")
    toUnitId: UnitId = Field(description="A sibling that takes it.")
    amount: Amount
    note: Reason | None = None


class PoolView(BaseModel):
    poolId: str = Field(description="`<period>.<measure>`: `2027.CNY`, `2027-Q4.rewards`.")
    unitId: str
    period: str
    measure: str = Field(description="A currency (minor units) or `rewards`.")
    allocation: int = Field(description="What the unit was given (the head office: what it holds).")
    allocatedOnward: int = Field(description="What it gave the units under it.")
    spent: int = Field(description="What its own campaigns' grants drew, net of what undone grants gave back.")
    left: int = Field(description="allocation - allocatedOnward - spent.")
    plan: PacingPlan | None = None
    planToDate: int = Field(description="Of its own part (allocation - allocatedOnward), what the plan means spent by today's end.")
    allowance: int = Field(description="The running allowance today: the plan to date with its tolerance (its own part without a plan).")
    createdAt: str | None = None
    createdBy: str | None = None
    updatedAt: str | None = None
    updatedBy: str | None = None

    @classmethod
    def of(cls, pool: Pool, today: date) -> PoolView:
        return cls(poolId=pool_id(pool.period, pool.measure), unitId=pool.unitId, period=pool.period, measure=pool.measure,
                   allocation=pool.allocation, allocatedOnward=pool.onward, spent=pool.spent, left=pool.left,
                   plan=PacingPlan.of(pool.plan) if pool.plan else None,
                   planToDate=pacing.plan_to_date(pool.own, pool.plan, pool.period, today),
                   allowance=pacing.allowance(pool.own, pool.plan, pool.period, today), createdAt=pool.createdAt, createdBy=pool.createdBy,
                   updatedAt=pool.updatedAt, updatedBy=pool.updatedBy)


class PoolMove(BaseModel):
    giver: PoolView = Field(description="The pool the amount came from, as it now is.")
    receiver: PoolView = Field(description="The pool it went to, as it now is.")


class PoolList(BaseModel):
    items: list[PoolView] = Field(description="By period, then measure.")


class RollupNode(BaseModel):
    unitId: str
    parentId: str | None
    kind: Kind
    name: str
    depth: int
    hasPool: bool
    allocation: int
    allocatedOnward: int
    committed: int = Field(description="Budgets of the campaigns at this unit (submitted, not ended) in this measure, meeting the period.")
    spent: int = Field(description="Drawn by this unit's own campaigns.")
    subtreeSpent: int = Field(description="Drawn by this unit's and every unit under it's campaigns.")
    left: int

    @classmethod
    def of(cls, row: RollupRow) -> RollupNode:
        pool, unit = row.pool, row.unit
        return cls(unitId=unit.unitId, parentId=unit.parentId, kind=unit.kind, name=unit.name, depth=unit.depth,  # type: ignore[arg-type]
                   hasPool=pool is not None, allocation=pool.allocation if pool else 0, allocatedOnward=pool.onward if pool else 0,
                   committed=row.committed, spent=pool.spent if pool else 0, subtreeSpent=row.subtreeSpent, left=pool.left if pool else 0)


class PacingPoint(BaseModel):
    startsOn: str = Field(description="The slice's first day.")
    planned: int = Field(description="The plan to date from that day.")
    allowance: int = Field(description="The running allowance from that day (with the tolerance).")


class PoolRollup(BaseModel):
    pool: PoolView
    units: list[RollupNode] = Field(description="The unit and every unit under it (at most 500), depth first.")
    pacing: list[PacingPoint] = Field(description="The pool's plan slice by slice (empty without a plan): the chart's lines.")

    @staticmethod
    def points(pool: Pool) -> list[PacingPoint]:
        if pool.plan is None:
            return []
        return [PacingPoint(startsOn=first.isoformat(), planned=pacing.plan_to_date(pool.own, pool.plan, pool.period, first),
                            allowance=pacing.allowance(pool.own, pool.plan, pool.period, first))
                for first, _ in pacing.slices(pacing.period(pool.period), pool.plan.granularity)]
