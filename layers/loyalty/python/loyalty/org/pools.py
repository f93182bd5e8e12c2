"""Budget pools allocated down the org tree, and their persistence (docs/org-units.md, "Budget pools").

The head office holds a pool per fiscal period (`2026`, `2026-Q4`) and measure (a currency's minor
units, `CNY`, or reward units, `rewards`) and allocates parts of it to its children, which allocate
further. A pool keeps its `allocation` (what it was given), `onward` (what it gave its children),
`spent` (what campaigns at the unit drew) and `terms`, which moves on every change of allocation,
onward or plan. What a unit still has is `allocation - onward - spent`.

Every change is one transaction conditioned on the `terms` read and on the giving pool's `spent`
leaving room (`spent <= allocation - onward - amount`, with allocation and onward fixed by the
terms), so no pool ever gives or spends more than it holds under any concurrency; a pool whose
terms moved meanwhile is read again and decided again (`Stale`).
"""

from __future__ import annotations

import dataclasses
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, Protocol, TypeVar

from loyalty.core import pacing
from loyalty.core.auth import APPROVERS, Caller
from loyalty.core.errors import BusinessRuleViolation, Conflict, Forbidden, NotFound
from loyalty.core.transactions import Refused, Transaction
from loyalty.org.model import OrgUnit
from loyalty.org.store import OrgStore

T = TypeVar("T")
ATTEMPTS = 8
REWARDS = "rewards"
MAX_ROLLUP_UNITS = 500


@dataclass(frozen=True)
class Pool:
    unitId: str
    period: str
    measure: str  # a currency code (minor units) or `rewards`
    allocation: int = 0
    onward: int = 0
    spent: int = 0
    terms: int = 0
    plan: pacing.Plan | None = None
    createdAt: str | None = None
    createdBy: str | None = None
    updatedAt: str | None = None
    updatedBy: str | None = None
    alertedAhead: str | None = None  # the business date BudgetPacingAlert last said so
    alertedBehind: str | None = None

    @property
    def left(self) -> int:
        """Neither allocated onward nor spent."""
        return self.allocation - self.onward - self.spent

    @property
    def own(self) -> int:
        """What the unit keeps for its own campaigns: its allocation less what it gave onward."""
        return self.allocation - self.onward


def measure_of(unit: Literal["minor", "rewards"], currency: str | None) -> str:
    return REWARDS if unit == "rewards" else str(currency)


def pool_id(period: str, measure: str) -> str:
    """A pool's name in the API: `2026.CNY`, `2026-Q4.rewards`."""
    return f"{period}.{measure}"


def parse_pool_id(value: str) -> tuple[str, str]:
    period, _, measure = value.partition(".")
    try:
        pacing.period(period)
    except ValueError:
        raise NotFound(f"pool {value} does not exist", code="POOL_NOT_FOUND") from None
    return period, measure


def plan_json(plan: pacing.Plan | None) -> str | None:
    return None if plan is None else json.dumps(dataclasses.asdict(plan), separators=(",", ":"))


def plan_of(text: str | None) -> pacing.Plan | None:
    if not text:
        return None
    raw = json.loads(text)
    return pacing.Plan(raw["granularity"], raw["shape"], tuple(raw.get("weights") or ()), int(raw.get("tolerancePercent", 0)))


# ---- the store -------------------------------------------------------------------------------------


class Stale(Exception):
    """A pool's terms (or a unit's place) changed since read."""


class PoolStore(Protocol):
    def pool(self, unit_id: str, period: str, measure: str) -> Pool | None: ...

    def pools_of(self, unit_ids: Sequence[str], period: str, measure: str) -> dict[str, Pool]: ...

    def unit_pools(self, unit_id: str) -> list[Pool]: ...

    def create(self, pool: Pool) -> None:
        """A new pool; raises `Conflict` POOL_EXISTS."""

    def move(self, giver: Pool, gives: Literal["onward", "allocation"], to_unit: str, to_parent: str, amount: int,
             plan: pacing.Plan | None, by: str, at: str) -> None:
        """`amount` from the giver's room (onward: an allocation to its child; allocation: a
        reallocation to a sibling) to the receiver's allocation (its pool created if missing), on the
        giver's terms as read and its spent leaving room, and the receiver still an open child of
        `to_parent`. Raises `Stale`."""


def _key(unit_id: str, period: str, measure: str) -> tuple[str, str]:
    from loyalty.org.items import pool_sk, unit_pk

    return unit_pk(unit_id), pool_sk(period, measure)


def pool_from(item: Any) -> Pool:
    values = item.plain()
    return Pool(values["unitId"], values["period"], values["measure"], int(values.get("allocation", 0)), int(values.get("onward", 0)),
                int(values.get("spent", 0)), int(values.get("terms", 0)), plan_of(values.get("plan")), values.get("createdAt"),
                values.get("createdBy"), values.get("updatedAt"), values.get("updatedBy"), values.get("alertedAhead"),
                values.get("alertedBehind"))


class DynamoPoolStore:
    def pool(self, unit_id: str, period: str, measure: str) -> Pool | None:
        from loyalty.org.items import PoolItem

        try:
            return pool_from(PoolItem.get(*_key(unit_id, period, measure), consistent_read=True))
        except PoolItem.DoesNotExist:
            return None

    def pools_of(self, unit_ids: Sequence[str], period: str, measure: str) -> dict[str, Pool]:
        from loyalty.core.tables import batch_get_raw
        from loyalty.org.items import PoolItem

        keys = [dict(zip(("pk", "sk"), _key(u, period, measure), strict=True)) for u in dict.fromkeys(unit_ids)]
        found = [pool_from(PoolItem.from_raw_data(raw)) for raw in (batch_get_raw(PoolItem, keys) if keys else [])]
        return {p.unitId: p for p in found}

    def unit_pools(self, unit_id: str) -> list[Pool]:
        from loyalty.org.items import PoolItem, unit_pk

        return [pool_from(i) for i in PoolItem.query(unit_pk(unit_id), PoolItem.sk.startswith("POOL#"), consistent_read=True)]

    def create(self, pool: Pool) -> None:
        from loyalty.org.items import PoolItem

        transaction = Transaction()
        transaction.put("pool", PoolItem(*_key(pool.unitId, pool.period, pool.measure), unitId=pool.unitId, period=pool.period,
                                         measure=pool.measure, allocation=pool.allocation, onward=0, spent=0, terms=1,
                                         plan=plan_json(pool.plan), createdAt=pool.createdAt, createdBy=pool.createdBy,
                                         updatedAt=pool.createdAt, updatedBy=pool.createdBy), PoolItem.pk.does_not_exist())
        try:
            transaction.commit()
        except Refused:
            raise Conflict(f"unit {pool.unitId} has its pool for {pool.period} in {pool.measure} already", code="POOL_EXISTS") from None

    def move(self, giver: Pool, gives: Literal["onward", "allocation"], to_unit: str, to_parent: str, amount: int,
             plan: pacing.Plan | None, by: str, at: str) -> None:
        from loyalty.org.items import PoolItem, UnitItem, unit_pk

        transaction = Transaction()
        giving = [PoolItem.onward.add(amount)] if gives == "onward" else [PoolItem.allocation.add(-amount)]
        transaction.update("giver", PoolItem(*_key(giver.unitId, giver.period, giver.measure)),
                           [*giving, PoolItem.terms.add(1), PoolItem.updatedAt.set(at), PoolItem.updatedBy.set(by)],  # type: ignore[list-item]
                           (PoolItem.terms == giver.terms) & (PoolItem.spent <= giver.own - amount))
        taking: list[Any] = [PoolItem.allocation.add(amount), PoolItem.onward.add(0), PoolItem.spent.add(0), PoolItem.terms.add(1),
                             PoolItem.unitId.set(to_unit), PoolItem.period.set(giver.period), PoolItem.measure.set(giver.measure),
                             PoolItem.createdAt.set(PoolItem.createdAt | at), PoolItem.createdBy.set(PoolItem.createdBy | by),
                             PoolItem.updatedAt.set(at), PoolItem.updatedBy.set(by)]
        text = plan_json(plan)
        if text is not None:
            taking.append(PoolItem.plan.set(text))
        transaction.update("receiver", PoolItem(*_key(to_unit, giver.period, giver.measure)), taking)
        transaction.check("receiver-unit", UnitItem, unit_pk(to_unit), "UNIT",
                          condition=(UnitItem.parentId == to_parent) & (UnitItem.status == "open"))
        try:
            transaction.commit()
        except Refused:
            raise Stale() from None


def default_store() -> PoolStore:
    return DynamoPoolStore()


# ---- operations, within the caller's scope --------------------------------------------------------


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def _again(decide_and_write: Callable[[], T]) -> T:
    for attempt in range(ATTEMPTS):
        try:
            return decide_and_write()
        except Stale:
            if attempt < ATTEMPTS - 1:
                _pause(random.uniform(0.01, 0.04) * 2 ** min(attempt, 4))
    raise Conflict("the pool kept changing while this change was decided: try again", code="VERSION_CONFLICT")


def _scoped(units: OrgStore, caller: Caller, unit_id: str) -> tuple[OrgUnit, OrgUnit]:
    from loyalty.org import service

    scope = service.scope_of(units, caller)
    return scope, service.visible(units, scope, unit_id)


def _checked_plan(plan: pacing.Plan | None, period: str) -> None:
    if plan is None:
        return
    try:
        pacing.check(plan, period)
    except ValueError as error:
        raise BusinessRuleViolation(str(error), code="POOL_PLAN_INVALID") from None


def create_root(units: OrgStore, pools: PoolStore, caller: Caller, unit_id: str, period: str, measure: str, allocation: int,
                plan: pacing.Plan | None, at: str) -> Pool:
    """The head office's pool for a period: only the head office's operators create it."""
    scope, unit = _scoped(units, caller, unit_id)
    if not unit.is_root or not scope.is_root:
        raise Forbidden("the head office's operators create the head office's pools; the others are allocated from it",
                        code="ORG_HEAD_OFFICE_REQUIRED")
    _checked_plan(plan, period)
    pool = Pool(unit_id, period, measure, allocation, plan=plan, createdAt=at, createdBy=caller.subject)
    pools.create(pool)
    return dataclasses.replace(pool, terms=1, updatedAt=at, updatedBy=caller.subject)


def _giver(pools: PoolStore, unit_id: str, period: str, measure: str) -> Pool:
    pool = pools.pool(unit_id, period, measure)
    if pool is None:
        raise NotFound(f"unit {unit_id} has no pool for {period} in {measure}", code="POOL_NOT_FOUND")
    return pool


def _insufficient(pool: Pool, amount: int) -> BusinessRuleViolation:
    return BusinessRuleViolation(f"unit {pool.unitId}'s pool for {pool.period} has {pool.left} {pool.measure} left, not {amount}",
                                 code="POOL_INSUFFICIENT")


def allocate(units: OrgStore, pools: PoolStore, caller: Caller, unit_id: str, child_id: str, period: str, measure: str, amount: int,
             plan: pacing.Plan | None, at: str) -> tuple[Pool, Pool]:
    """`amount` of the unit's pool to one of its open children's (created if it has none): the
    unit's own room (neither allocated onward nor spent) must cover it (422 POOL_INSUFFICIENT)."""
    _, unit = _scoped(units, caller, unit_id)
    _checked_plan(plan, period)

    def attempt() -> tuple[Pool, Pool]:
        child = units.unit(child_id)
        if child is None or child.parentId != unit.unitId:
            raise NotFound(f"unit {child_id} is not a unit right under {unit_id}", code="ORG_UNIT_NOT_FOUND")
        if not child.is_open:
            raise BusinessRuleViolation(f"unit {child_id} is closed: it takes no allocation", code="ORG_UNIT_CLOSED")
        giver = _giver(pools, unit_id, period, measure)
        if giver.left < amount:
            raise _insufficient(giver, amount)
        pools.move(giver, "onward", child_id, unit_id, amount, plan, caller.subject, at)
        return _read_both(pools, unit_id, child_id, period, measure)

    return _again(attempt)


def reallocate(units: OrgStore, pools: PoolStore, caller: Caller, unit_id: str, from_id: str, to_id: str, period: str, measure: str,
               amount: int, at: str) -> tuple[Pool, Pool]:
    """`amount` moved from one child's allocation to a sibling's: an approver whose unit is their
    parent or above. The giver's unspent, unallocated room must cover it (422 POOL_INSUFFICIENT)."""
    _, unit = _scoped(units, caller, unit_id)
    if APPROVERS not in caller.groups:
        raise Forbidden("reallocating between units needs the approvers group", code="APPROVER_REQUIRED")
    if from_id == to_id:
        raise BusinessRuleViolation("a reallocation moves between two different units", code="POOL_SAME_UNIT")

    def attempt() -> tuple[Pool, Pool]:
        found = units.units([from_id, to_id])
        for sibling in (from_id, to_id):
            if sibling not in found or found[sibling].parentId != unit.unitId:
                raise NotFound(f"unit {sibling} is not a unit right under {unit_id}", code="ORG_UNIT_NOT_FOUND")
        if not found[to_id].is_open:
            raise BusinessRuleViolation(f"unit {to_id} is closed: it takes no allocation", code="ORG_UNIT_CLOSED")
        giver = _giver(pools, from_id, period, measure)
        if giver.left < amount:
            raise _insufficient(giver, amount)
        pools.move(giver, "allocation", to_id, unit_id, amount, None, caller.subject, at)
        return _read_both(pools, from_id, to_id, period, measure)

    return _again(attempt)


def _read_both(pools: PoolStore, first: str, second: str, period: str, measure: str) -> tuple[Pool, Pool]:
    found = pools.pools_of([first, second], period, measure)
    return found[first], found[second]


def unit_pools(units: OrgStore, pools: PoolStore, caller: Caller, unit_id: str) -> list[Pool]:
    _scoped(units, caller, unit_id)
    return sorted(pools.unit_pools(unit_id), key=lambda p: (p.period, p.measure))


@dataclass(frozen=True)
class RollupRow:
    unit: OrgUnit
    pool: Pool | None
    committed: int  # campaign budgets at the unit itself
    subtreeSpent: int  # spent at the unit and every unit under it


def rollup(units: OrgStore, pools: PoolStore, caller: Caller, unit_id: str, period: str, measure: str,
           committed: Callable[[Sequence[str], str, date, date], dict[str, int]]) -> tuple[Pool, list[RollupRow]]:
    """The unit's pool and, for it and every unit under it (depth first, at most 500), the pool's
    allocation, onward, spent and what is left, the campaign budgets committed at the unit, and the
    spend of its subtree."""
    _, unit = _scoped(units, caller, unit_id)
    top = pools.pool(unit_id, period, measure)
    if top is None:
        raise NotFound(f"unit {unit_id} has no pool for {period} in {measure}", code="POOL_NOT_FOUND")
    tree = [unit, *(u for u in units.subtree(unit, MAX_ROLLUP_UNITS) if u.unitId != unit_id)]
    found = pools.pools_of([u.unitId for u in tree], period, measure)
    of = pacing.period(period)
    by_unit = committed([u.unitId for u in tree], measure, of.first, of.last)
    spent_below: dict[str, int] = {}
    for u in tree:
        spent = found[u.unitId].spent if u.unitId in found else 0
        for ancestor in u.path:
            spent_below[ancestor] = spent_below.get(ancestor, 0) + spent
    return top, [RollupRow(u, found.get(u.unitId), by_unit.get(u.unitId, 0), spent_below.get(u.unitId, 0)) for u in tree]
