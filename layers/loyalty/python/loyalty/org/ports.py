"""What other capabilities may know of the org tree: the only way they reach the `org` table.

`units()` answers from memory for `ORG_CACHE_SECONDS` (default 30) per unit, subtree and branch
code: the tree changes rarely, and every scoped read of another capability asks it. A change reaches
every warm Lambda within that time (docs/org-units.md, "Reading the tree from elsewhere"). Unknown
ids are answered as such (None, an empty subtree, False), never as an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Protocol

from loyalty.org.model import OrgUnit

__all__ = ["InMemoryOrgUnits", "OrgUnit", "OrgUnits", "units"]


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
