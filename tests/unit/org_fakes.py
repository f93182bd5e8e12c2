"""The org store in memory, with the conditions of `loyalty.org.store.DynamoOrgStore`: a plan lands
whole or not at all, refused as the real one refuses it. `stale_index` makes the subtree index lag
behind (a unit listed as it was), as DynamoDB's eventually consistent index may."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence

from loyalty.org.model import OrgUnit, VersionRecord, path_key
from loyalty.org.store import Plan, Stale, Taken


class InMemoryOrgStore:
    def __init__(self) -> None:
        self.units_by_id: dict[str, OrgUnit] = {}
        self.history: dict[str, list[VersionRecord]] = {}
        self.codes: dict[str, str] = {}
        self.root: str | None = None
        self.commits = 0
        self.index_lag: dict[str, OrgUnit] = {}  # what the index still shows of a unit
        self.before_commit: Callable[[Plan], None] | None = None  # runs once, just before the next plan lands

    # ---- reads -------------------------------------------------------------------------------------

    def unit(self, unit_id: str) -> OrgUnit | None:
        return self.units_by_id.get(unit_id)

    def units(self, unit_ids: Sequence[str]) -> dict[str, OrgUnit]:
        return {u: self.units_by_id[u] for u in unit_ids if u in self.units_by_id}

    def _indexed(self) -> list[OrgUnit]:
        return sorted((self.index_lag.get(u.unitId, u) for u in self.units_by_id.values()), key=lambda u: path_key(u.path))

    def subtree_page(self, unit: OrgUnit, limit: int, cursor: str | None) -> tuple[list[OrgUnit], str | None]:
        found = [u for u in self._indexed() if path_key(u.path).startswith(path_key(unit.path))]
        start = int(cursor or 0)
        following = str(start + limit) if start + limit < len(found) else None
        return found[start:start + limit], following

    def subtree(self, unit: OrgUnit, at_most: int) -> list[OrgUnit]:
        return self.subtree_page(unit, at_most, None)[0]

    def children(self, unit_id: str, at_most: int) -> list[OrgUnit]:
        return sorted((u for u in self._indexed() if u.parentId == unit_id), key=lambda u: u.unitId)[:at_most]

    def versions(self, unit_id: str, limit: int, cursor: str | None) -> tuple[list[VersionRecord], str | None]:
        records = list(reversed(self.history.get(unit_id, [])))
        start = int(cursor or 0)
        return records[start:start + limit], str(start + limit) if start + limit < len(records) else None

    def branch_units(self, codes: Sequence[str]) -> dict[str, str]:
        return {c: self.codes[c] for c in codes if c in self.codes}

    # ---- the plan ----------------------------------------------------------------------------------

    def commit(self, plan: Plan) -> None:
        if self.before_commit is not None:
            hook, self.before_commit = self.before_commit, None
            hook(plan)
        for unit in plan.new:
            if unit.unitId in self.units_by_id:
                raise Taken("unit", unit.unitId)
        if plan.root is not None and self.root is not None:
            raise Taken("root")
        for code, _ in plan.claim_codes:
            if code in self.codes:
                raise Taken("branch", code)
        for read, _ in plan.changed:
            current = self.units_by_id.get(read.unitId)
            if current is None or current.revision != read.revision:
                raise Stale()
        for move in plan.counters:
            current = self.units_by_id.get(move.unitId)
            if current is None or (move.while_open_at is not None and (not current.is_open or current.path != move.while_open_at)):
                raise Stale()
        for record in plan.versions:
            if any(r.version == record.version for r in self.history.get(record.unitId, [])):
                raise Stale()
        for code, unit_id in plan.release_codes:
            if self.codes.get(code) != unit_id:
                raise Stale()
        # Every condition holds: all of it lands
        for unit in plan.new:
            self.units_by_id[unit.unitId] = unit
        for read, becomes in plan.changed:
            self.units_by_id[read.unitId] = dataclasses.replace(becomes, revision=read.revision + 1)
        for move in plan.counters:
            current = self.units_by_id[move.unitId]
            self.units_by_id[move.unitId] = dataclasses.replace(current, openChildren=current.openChildren + move.open,
                                                                children=current.children + move.children, revision=current.revision + 1)
        for record in plan.versions:
            self.history.setdefault(record.unitId, []).append(record)
        if plan.root is not None:
            self.root = plan.root
        for code, _ in plan.release_codes:
            del self.codes[code]
        for code, unit_id in plan.claim_codes:
            self.codes[code] = unit_id
        self.commits += 1
