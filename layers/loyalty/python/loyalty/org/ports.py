"""What other capabilities may know of the org tree: the only way they reach the `org` table.

`units()` answers from memory for `ORG_CACHE_SECONDS` (default 30) per unit, subtree and branch
code: the tree changes rarely, and every scoped read of another capability asks it. A change reaches
every warm Lambda within that time (docs/org-units.md, "Reading the tree from elsewhere"). Unknown
ids are answered as such (None, an empty subtree, False), never as an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import TYPE_CHECKING, Literal, Protocol

if TYPE_CHECKING:
    from loyalty.core.transactions import Transaction

from loyalty.org.model import OrgUnit

__all__ = ["InMemoryOrgUnits", "OrgUnit", "OrgUnits", "PoolDraw", "Pools", "pools", "units"]


class OrgUnits(Protocol):
    def get(self, unit_id: str) -> OrgUnit | None:
        """The unit (open or closed); None if the tree has no such unit."""

    def subtree(self, unit_id: str) -> frozenset[str]:
        """The unit and every unit under it, open or closed; empty for an unknown unit."""

    def contains(self, ancestor_id: str, unit_id: str) -> bool:
        """`unit_id` is `ancestor_id` or under it (False when either is unknown)."""

    def unit_for_branch(self, branch_id: str) -> str | None:
        """The unit core banking's branch id (a profile's `branchId`) maps to; None when none does
        (`GET /v1/admin/org-units/unknown-branches` reports those)."""


class CachedOrgUnits:
    """The `org` table's tree, each answer kept for `ORG_CACHE_SECONDS`."""

    def get(self, unit_id: str) -> OrgUnit | None:
        from loyalty.core import config_cache
        from loyalty.org.store import DynamoOrgStore

        return config_cache.cached(("org", "unit", unit_id), _seconds(), lambda: DynamoOrgStore().unit(unit_id))

    def subtree(self, unit_id: str) -> frozenset[str]:
        from loyalty.core import config_cache

        unit = self.get(unit_id)
        if unit is None:
            return frozenset()
        return config_cache.cached(("org", "subtree", unit_id), _seconds(), lambda: _subtree_ids(unit))

    def contains(self, ancestor_id: str, unit_id: str) -> bool:
        unit = self.get(unit_id)
        return unit is not None and unit.within(ancestor_id)

    def unit_for_branch(self, branch_id: str) -> str | None:
        from loyalty.core import config_cache
        from loyalty.org.store import DynamoOrgStore

        return config_cache.cached(("org", "branch", branch_id), _seconds(),
                                   lambda: DynamoOrgStore().branch_units([branch_id]).get(branch_id))


def _seconds() -> float:
    from loyalty.core.config import get_settings

    return get_settings().org_cache_seconds


def _subtree_ids(unit: OrgUnit) -> frozenset[str]:
    from loyalty.org.store import DynamoOrgStore

    store, ids, cursor = DynamoOrgStore(), set[str](), None
    while True:
        found, cursor = store.subtree_page(unit, 1000, cursor)
        ids.update(u.unitId for u in found)
        if cursor is None:
            return frozenset(ids)


@cache
def units() -> OrgUnits:
    return CachedOrgUnits()


class InMemoryOrgUnits:
    """The port over a fixed list of units (their paths as they would be stored): for tests of the
    capabilities that read the tree."""

    def __init__(self, tree: Iterable[OrgUnit]) -> None:
        self._units = {unit.unitId: unit for unit in tree}
        self._branches = {unit.branchCode: unit.unitId for unit in self._units.values() if unit.branchCode}

    @classmethod
    def of(cls, *edges: tuple[str, str | None, str], branch_codes: dict[str, str] | None = None) -> InMemoryOrgUnits:
        """From (unit, parent, kind) edges, parents first: `of(("hq", None, "head_office"), ("bj", "hq", "branch"))`."""
        built: dict[str, OrgUnit] = {}
        codes = {unit: code for code, unit in (branch_codes or {}).items()}
        for unit_id, parent, kind in edges:
            path = (*built[parent].path, unit_id) if parent is not None else (unit_id,)
            built[unit_id] = OrgUnit(unit_id, kind, unit_id, parent, path, branchCode=codes.get(unit_id))
        return cls(built.values())

    def get(self, unit_id: str) -> OrgUnit | None:
        return self._units.get(unit_id)

    def subtree(self, unit_id: str) -> frozenset[str]:
        if unit_id not in self._units:
            return frozenset()
        return frozenset(u.unitId for u in self._units.values() if u.within(unit_id))

    def contains(self, ancestor_id: str, unit_id: str) -> bool:
        unit = self._units.get(unit_id)
        return unit is not None and unit.within(ancestor_id)

    def unit_for_branch(self, branch_id: str) -> str | None:
        return self._branches.get(branch_id)


# ---- budget pools: what a campaign's grant draws from (docs/org-units.md, "Budget pools") ---------

POOL_LABEL = "org-pool"


@dataclass(frozen=True)
class PoolDraw:
    """What a grant drew from: its unit's pool for the narrowest period holding the business date,
    at the terms read (`key` is what the grant records, to give the cost back)."""

    unitId: str
    period: str
    measure: str
    terms: int
    cost: int
    day: date
    paced: bool = False  # the pool has a pacing plan

    @property
    def key(self) -> str:
        return f"{self.unitId}/{self.period}/{self.measure}"


class Pools(Protocol):
    def measures(self, unit_id: str, first: date, last: date) -> set[str]:
        """The measures (a currency, `rewards`) of the unit's pools whose period meets first..last."""

    def draw(self, transaction: Transaction, unit_id: str, day: date, cost: int, measure: str) -> PoolDraw | None:
        """In the caller's transaction, under the label `org-pool`: `cost` drawn from the unit's pool
        for the quarter holding `day`, else the year's, conditioned on its terms as read, on
        `spent + cost <= allocation - onward` and on the pacing plan's running allowance at `day`.
        None (nothing added) when the unit has no pool for the date in that measure."""

    def refusal(self, drawn: PoolDraw) -> Literal["pool_exhausted", "pool_pacing", "changed"]:
        """Why a draw was refused, read again: the pool's terms changed (draw again), else the
        allocation or the pacing allowance has no room for the cost."""

    def give_back(self, transaction: Transaction, key: str, amount: int) -> None:
        """In the caller's transaction: `amount` returned to the pool a grant drew from (`PoolDraw.key`)."""

    def pacing_drift(self, key: str, day: date, threshold_percent: int) -> Literal["ahead", "behind"] | None:
        """Spend running ahead of or behind the pool's plan by more than the threshold (eventually
        consistent read); None without a plan, within it, or when that was already said today (so a
        paced grant does not try, and fail, to mark the alert again)."""

    def flag_alert(self, transaction: Transaction, key: str, direction: Literal["ahead", "behind"], day: date) -> None:
        """In the caller's transaction, under the label `org-pool-alert`: the pool's alert in this
        direction is marked for `day`, refused if it was already."""


class DynamoPools:
    def measures(self, unit_id: str, first: date, last: date) -> set[str]:
        from loyalty.core import pacing
        from loyalty.org.pools import DynamoPoolStore

        return {p.measure for p in DynamoPoolStore().unit_pools(unit_id)
                if pacing.period(p.period).first <= last and first <= pacing.period(p.period).last}

    def draw(self, transaction: Transaction, unit_id: str, day: date, cost: int, measure: str) -> PoolDraw | None:
        from loyalty.core import pacing
        from loyalty.org.items import PoolItem, pool_sk, unit_pk
        from loyalty.org.pools import DynamoPoolStore

        store = DynamoPoolStore()
        for period in pacing.periods_holding(day):
            pool = store.pool(unit_id, period, measure)
            if pool is None:
                continue
            room = min(pool.own, pacing.allowance(pool.own, pool.plan, period, day))
            transaction.update(POOL_LABEL, PoolItem(unit_pk(unit_id), pool_sk(period, measure)), [PoolItem.spent.add(cost)],
                               (PoolItem.terms == pool.terms) & (PoolItem.spent <= room - cost))
            return PoolDraw(unit_id, period, measure, pool.terms, cost, day, pool.plan is not None)
        return None

    def refusal(self, drawn: PoolDraw) -> Literal["pool_exhausted", "pool_pacing", "changed"]:
        from loyalty.core import pacing
        from loyalty.org.pools import DynamoPoolStore

        pool = DynamoPoolStore().pool(drawn.unitId, drawn.period, drawn.measure)
        if pool is None or pool.terms != drawn.terms:
            return "changed"
        if pool.spent + drawn.cost > pool.own:
            return "pool_exhausted"
        if pool.spent + drawn.cost > pacing.allowance(pool.own, pool.plan, drawn.period, drawn.day):
            return "pool_pacing"
        return "changed"

    def give_back(self, transaction: Transaction, key: str, amount: int) -> None:
        from loyalty.org.items import PoolItem, pool_sk, unit_pk

        unit_id, period, measure = key.split("/", 2)
        transaction.update(f"{POOL_LABEL}:{key}", PoolItem(unit_pk(unit_id), pool_sk(period, measure)), [PoolItem.spent.add(-amount)],
                           PoolItem.pk.exists())

    def pacing_drift(self, key: str, day: date, threshold_percent: int) -> Literal["ahead", "behind"] | None:
        from loyalty.core import pacing
        from loyalty.org.pools import DynamoPoolStore

        unit_id, period, measure = key.split("/", 2)
        pool = DynamoPoolStore().pool(unit_id, period, measure)
        if pool is None:
            return None
        direction = pacing.drift(pool.own, pool.plan, period, day, pool.spent, threshold_percent)
        said = pool.alertedAhead if direction == "ahead" else pool.alertedBehind
        return None if said == day.isoformat() else direction

    def flag_alert(self, transaction: Transaction, key: str, direction: Literal["ahead", "behind"], day: date) -> None:
        from loyalty.org.items import PoolItem, pool_sk, unit_pk

        unit_id, period, measure = key.split("/", 2)
        flag = PoolItem.alertedAhead if direction == "ahead" else PoolItem.alertedBehind
        transaction.update(f"{POOL_LABEL}-alert", PoolItem(unit_pk(unit_id), pool_sk(period, measure)), [flag.set(day.isoformat())],
                           PoolItem.pk.exists() & (flag.does_not_exist() | (flag != day.isoformat())))


@cache
def pools() -> Pools:
    return DynamoPools()
