"""The org tree's persistence: reads, and one conditioned transaction per change (`Plan`).

Nothing here is read, checked, then written: every write of a plan is conditioned on what the
service read and decided on, in one `TransactWriteItems`, so a rule that holds when the service
decides still holds when the write lands, under any concurrency (docs/org-units.md):
- a new unit: its id is new (and the head office's `ROOT` item, and its branch code's item);
- a unit changed (edited, moved, closed, or a descendant's path rewritten by a move): its `revision`
  is the one read. Every write of a unit item moves its revision, the children's counters too;
- a parent taking a child (created or moved under it): it is open and its path is the one read
  (not its revision: units created side by side under one parent do not refuse one another);
- a parent losing a child: only its counters move (and its revision with them).

A refused plan raises `Taken` (an id, the head office or a branch code exists) or `Stale` (something
read changed meanwhile: the service reads again and decides again).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from loyalty.core.dynamo import GSI1_KEYS, TABLE_KEYS, checked_start, decode_cursor
from loyalty.core.tables import batch_get_raw, page
from loyalty.core.transactions import Refused, Transaction
from loyalty.org.items import (
    TREE,
    BranchCodeItem,
    RootItem,
    UnitItem,
    UnitVersionItem,
    branch_pk,
    unit_pk,
)
from loyalty.org.model import OrgUnit, VersionRecord, path_key


@dataclass(frozen=True)
class CounterMove:
    """A unit's children counters moved by `open` and `children`. `while_open_at`: only while the unit
    is open at this path (a parent taking a child); None: whatever it is (a parent losing one)."""

    unitId: str
    open: int
    children: int
    while_open_at: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Plan:
    new: tuple[OrgUnit, ...] = ()
    changed: tuple[tuple[OrgUnit, OrgUnit], ...] = ()  # (as read, as it becomes)
    counters: tuple[CounterMove, ...] = ()
    versions: tuple[VersionRecord, ...] = ()
    root: str | None = None  # the head office created: there is none yet
    claim_codes: tuple[tuple[str, str], ...] = ()  # (branch code, unit): the code maps to no unit yet
    release_codes: tuple[tuple[str, str], ...] = ()  # (branch code, unit): still mapped to that unit


class Taken(Exception):
    """A plan's new id exists: `what` is `unit`, `root` or `branch` (with the code)."""

    def __init__(self, what: str, value: str = "") -> None:
        super().__init__(what)
        self.what, self.value = what, value


class Stale(Exception):
    """Something the plan was decided on changed before it landed."""


class OrgStore(Protocol):
    def unit(self, unit_id: str) -> OrgUnit | None:
        """Read consistently."""

    def units(self, unit_ids: Sequence[str]) -> dict[str, OrgUnit]:
        """Read consistently; unknown ids are absent."""

    def subtree_page(self, unit: OrgUnit, limit: int, cursor: str | None) -> tuple[list[OrgUnit], str | None]:
        """The unit and the units under it as the index has them (eventually consistent), in path
        order (each unit before its children), a page at a time."""

    def subtree(self, unit: OrgUnit, at_most: int) -> list[OrgUnit]:
        """As `subtree_page`, up to `at_most` units."""

    def children(self, unit_id: str, at_most: int) -> list[OrgUnit]:
        """The units right under it (the index: eventually consistent), by id."""

    def versions(self, unit_id: str, limit: int, cursor: str | None) -> tuple[list[VersionRecord], str | None]:
        """Its versions, newest first."""

    def branch_units(self, codes: Sequence[str]) -> dict[str, str]:
        """The unit each branch code maps to (read consistently); codes mapping to none are absent."""

    def commit(self, plan: Plan) -> None:
        """Raises `Taken` or `Stale` (module docstring)."""


class DynamoOrgStore:
    def unit(self, unit_id: str) -> OrgUnit | None:
        try:
            return UnitItem.get(unit_pk(unit_id), "UNIT", consistent_read=True).unit()
        except UnitItem.DoesNotExist:
            return None

    def units(self, unit_ids: Sequence[str]) -> dict[str, OrgUnit]:
        unique = list(dict.fromkeys(unit_ids))
        raw = batch_get_raw(UnitItem, [{"pk": unit_pk(u), "sk": "UNIT"} for u in unique]) if unique else []
        found = [UnitItem.from_raw_data(item).unit() for item in raw]
        return {unit.unitId: unit for unit in found}

    def subtree_page(self, unit: OrgUnit, limit: int, cursor: str | None) -> tuple[list[OrgUnit], str | None]:
        start = checked_start(decode_cursor(cursor), GSI1_KEYS, ("gsi1pk", TREE))
        if start is not None and not start["gsi1sk"]["S"].startswith(path_key(unit.path)):
            from loyalty.core.errors import InvalidInput

            raise InvalidInput("the cursor is not one this listing returned", code="INVALID_CURSOR")
        results = UnitItem.tree.query(TREE, UnitItem.gsi1sk.startswith(path_key(unit.path)), limit=limit, last_evaluated_key=start)
        items, following = page(results, limit)
        return [item.unit() for item in items], following

    def subtree(self, unit: OrgUnit, at_most: int) -> list[OrgUnit]:
        results = UnitItem.tree.query(TREE, UnitItem.gsi1sk.startswith(path_key(unit.path)), limit=at_most)
        return [item.unit() for _, item in zip(range(at_most), results, strict=False)]

    def children(self, unit_id: str, at_most: int) -> list[OrgUnit]:
        results = UnitItem.by_parent.query(f"PARENT#{unit_id}", limit=at_most)
        return [item.unit() for _, item in zip(range(at_most), results, strict=False)]

    def versions(self, unit_id: str, limit: int, cursor: str | None) -> tuple[list[VersionRecord], str | None]:
        partition = unit_pk(unit_id)
        start = checked_start(decode_cursor(cursor), TABLE_KEYS, ("pk", partition))
        results = UnitVersionItem.query(partition, UnitVersionItem.sk.startswith("V#"), scan_index_forward=False, consistent_read=True,
                                        limit=limit, last_evaluated_key=start)
        items, following = page(results, limit)
        return [item.record() for item in items], following

    def branch_units(self, codes: Sequence[str]) -> dict[str, str]:
        unique = list(dict.fromkeys(codes))
        raw = batch_get_raw(BranchCodeItem, [{"pk": branch_pk(c), "sk": "BRANCH"} for c in unique]) if unique else []
        return {str(item["pk"]["S"]).removeprefix("BRANCH#"): str(item["unitId"]["S"]) for item in raw}

    def commit(self, plan: Plan) -> None:
        transaction = Transaction()
        for unit in plan.new:
            transaction.put(f"new:{unit.unitId}", UnitItem.of(unit), UnitItem.pk.does_not_exist())
        for read, becomes in plan.changed:
            transaction.put(f"unit:{read.unitId}", UnitItem.of(dataclasses.replace(becomes, revision=read.revision + 1)),
                            UnitItem.revision == read.revision)
        for move in plan.counters:
            condition: Any = UnitItem.pk.exists()
            if move.while_open_at is not None:
                condition = condition & (UnitItem.status == "open") & (UnitItem.gsi1sk == path_key(move.while_open_at))
            actions = [UnitItem.openChildren.add(move.open), UnitItem.children.add(move.children), UnitItem.revision.add(1)]
            transaction.update(f"counter:{move.unitId}", UnitItem(unit_pk(move.unitId), "UNIT"), actions, condition)  # type: ignore[arg-type]
        for record in plan.versions:
            transaction.put(f"version:{record.unitId}", UnitVersionItem.of(record), UnitVersionItem.pk.does_not_exist())
        if plan.root is not None:
            transaction.put("root", RootItem("ROOT", "ROOT", unitId=plan.root), RootItem.pk.does_not_exist())
        for code, unit_id in plan.claim_codes:
            transaction.put(f"code:{code}", BranchCodeItem(branch_pk(code), "BRANCH", unitId=unit_id), BranchCodeItem.pk.does_not_exist())
        for code, unit_id in plan.release_codes:
            transaction.delete(f"release:{code}", BranchCodeItem(branch_pk(code), "BRANCH"), BranchCodeItem.unitId == unit_id)
        try:
            transaction.commit()
        except Refused as refused:
            raise refusal(refused, plan) from None


def refusal(refused: Refused, plan: Plan) -> Exception:
    """What refused the plan: an id taken, else something read that changed (or a conflict: the same)."""
    for unit in plan.new:
        if refused.failed(f"new:{unit.unitId}"):
            return Taken("unit", unit.unitId)
    if refused.failed("root"):
        return Taken("root")
    for code, _ in plan.claim_codes:
        if refused.failed(f"code:{code}"):
            return Taken("branch", code)
    return Stale()
