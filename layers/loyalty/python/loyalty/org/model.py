"""Org units and the rules of their tree (pure: no I/O).

A unit is one of four kinds, ranked: head office (总行) > branch (分行) > sub-branch (支行) > outlet
(网点). The rules, each refused with its own code and changing nothing:
- one head office, the root; it has no parent, is never moved and never closed;
- kinds strictly deepen down the tree, and levels may be skipped: a branch is under the head office;
  a sub-branch under the head office or a branch; an outlet under any of the three (a head office's
  or a branch's own business department, 营业部, is an outlet directly under it). Nothing is under an
  outlet. So the tree is at most four levels deep;
- a unit is never moved under itself or one of its own descendants (which the kinds' order also
  rules out: the cycle is refused first, by its own code);
- a closed unit takes no new children (created or moved there), and a unit with open children cannot
  be closed; a closed unit stays in the tree (its customers, campaigns and history still name it),
  is never moved, and is never reopened.

Every unit carries its **path**: the ids from the head office down to itself. A subtree is every unit
whose path starts with the unit's, and "A contains B" is "A is on B's path".
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, get_args

from loyalty.core.errors import BusinessRuleViolation

Kind = Literal["head_office", "branch", "sub_branch", "outlet"]
KINDS: tuple[str, ...] = get_args(Kind)
RANK = {kind: rank for rank, kind in enumerate(KINDS)}
HEAD_OFFICE = "head_office"
Status = Literal["open", "closed"]
OPEN, CLOSED = "open", "closed"
# Between the ids of a path, in the index that lists a subtree: unit ids never hold it.
SEPARATOR = "/"
# A move rewrites the path of the unit and of every unit under it, in one transaction of at most 100
# items: the unit and its descendants, both parents, the version saved and the Idempotency-Key's mark.
MAX_MOVED_UNITS = 90
# Path segments of the API beside `/v1/admin/org-units/{unitId}`: never a unit's id.
RESERVED_IDS = frozenset({"unknown-branches"})


@dataclass(frozen=True)
class OrgUnit:
    """A unit as it now is. `version` counts its own changes (each saved as a version); `revision`
    moves on every write of its item, its children's counters and its path included, and is what
    every write is conditioned on."""

    unitId: str
    kind: str
    name: str
    parentId: str | None
    path: tuple[str, ...]  # from the head office down to this unit, both included
    status: str = OPEN
    branchCode: str | None = None  # core banking's branch id (a profile's `branchId`) that maps to it
    version: int = 1
    revision: int = 1
    openChildren: int = 0
    children: int = 0  # open and closed
    createdAt: str = ""
    createdBy: str = ""
    updatedAt: str = ""
    updatedBy: str = ""
    closedAt: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status == OPEN

    @property
    def is_root(self) -> bool:
        return self.parentId is None

    @property
    def depth(self) -> int:
        return len(self.path) - 1

    def within(self, ancestor_id: str) -> bool:
        """The unit is `ancestor_id` or under it."""
        return ancestor_id in self.path


@dataclass(frozen=True)
class VersionRecord:
    """One change of a unit, kept for good: what it became, who did it and when."""

    unitId: str
    version: int
    action: Literal["created", "edited", "moved", "closed"]
    kind: str
    name: str
    parentId: str | None
    status: str
    branchCode: str | None
    savedBy: str
    savedAt: str
    note: str | None = None

    @classmethod
    def of(cls, unit: OrgUnit, action: Literal["created", "edited", "moved", "closed"], note: str | None = None) -> VersionRecord:
        return cls(unit.unitId, unit.version, action, unit.kind, unit.name, unit.parentId, unit.status, unit.branchCode,
                   unit.updatedBy, unit.updatedAt, note)


def path_key(path: Sequence[str]) -> str:
    """The index's sort key of a path: `hq/bj/` is a prefix of every unit under bj, and of bj's own."""
    return SEPARATOR.join(path) + SEPARATOR


def refuse(code: str, message: str) -> BusinessRuleViolation:
    return BusinessRuleViolation(message, code=code)


def check_place(kind: str, parent: OrgUnit | None) -> None:
    """A unit of `kind` may sit under `parent` (None: as the root)."""
    if parent is None:
        if kind != HEAD_OFFICE:
            raise refuse("ORG_PARENT_REQUIRED", f"a {kind} needs a parent: only the head office is the root")
        return
    if RANK[kind] <= RANK[parent.kind]:
        raise refuse("ORG_KIND_ORDER", f"a {kind} cannot be under a {parent.kind}: kinds nest head office > branch > sub-branch > outlet"
                                       " (levels may be skipped, never reversed)")


def check_takes_children(parent: OrgUnit) -> None:
    if not parent.is_open:
        raise refuse("ORG_PARENT_CLOSED", f"unit {parent.unitId} is closed: it takes no new units")


def check_new_id(unit_id: str) -> None:
    if unit_id in RESERVED_IDS:
        raise refuse("ORG_UNIT_ID_RESERVED", f"{unit_id!r} names a route, not a unit: choose another id")


def created(unit_id: str, kind: str, name: str, parent: OrgUnit | None, branch_code: str | None, by: str, at: str) -> OrgUnit:
    """The new unit, version 1, once the rules allow it."""
    check_new_id(unit_id)
    check_place(kind, parent)
    if parent is not None:
        check_takes_children(parent)
    path = (*parent.path, unit_id) if parent is not None else (unit_id,)
    return OrgUnit(unit_id, kind, name, None if parent is None else parent.unitId, path, OPEN, branch_code,
                   createdAt=at, createdBy=by, updatedAt=at, updatedBy=by)


def edited(unit: OrgUnit, name: str, branch_code: str | None, by: str, at: str) -> OrgUnit:
    """A new name or branch code (closed units too: a closed branch's code can be freed for its successor)."""
    return dataclasses.replace(unit, name=name, branchCode=branch_code, version=unit.version + 1, updatedAt=at, updatedBy=by)


def check_move(unit: OrgUnit, parent: OrgUnit) -> None:
    """`unit` may go under `parent`: each rule by its own code, the cycle first."""
    if unit.is_root:
        raise refuse("ORG_ROOT_PERMANENT", "the head office is the root: it is never moved")
    if parent.within(unit.unitId):
        raise refuse("ORG_UNIT_CYCLE", f"unit {parent.unitId} is {unit.unitId} itself or under it: a unit never goes under its own subtree")
    if not unit.is_open:
        raise refuse("ORG_UNIT_CLOSED", f"unit {unit.unitId} is closed: it is never moved")
    if unit.parentId == parent.unitId:
        raise refuse("ORG_ALREADY_UNDER_PARENT", f"unit {unit.unitId} is already under {parent.unitId}")
    check_place(unit.kind, parent)
    check_takes_children(parent)


def moved(unit: OrgUnit, parent: OrgUnit, descendants: Iterable[OrgUnit], by: str, at: str) -> tuple[OrgUnit, list[OrgUnit]]:
    """The unit under its new parent (a new version), and each descendant with its new path (no new
    version: its own definition did not change)."""
    check_move(unit, parent)
    prefix = (*parent.path, unit.unitId)
    depth = len(unit.path)
    rewritten = [dataclasses.replace(d, path=prefix + d.path[depth:]) for d in descendants]
    return dataclasses.replace(unit, parentId=parent.unitId, path=prefix, version=unit.version + 1, updatedAt=at, updatedBy=by), rewritten


def check_move_size(unit: OrgUnit, subtree: Sequence[OrgUnit]) -> None:
    if len(subtree) > MAX_MOVED_UNITS:
        raise refuse("ORG_MOVE_TOO_LARGE", f"unit {unit.unitId} and the {len(subtree) - 1} units under it are more than a move rewrites"
                                           f" at once ({MAX_MOVED_UNITS}): move its children first, in parts")


def closed(unit: OrgUnit, by: str, at: str) -> OrgUnit:
    if unit.is_root:
        raise refuse("ORG_ROOT_PERMANENT", "the head office is the root: it is never closed")
    if not unit.is_open:
        raise refuse("ORG_UNIT_CLOSED", f"unit {unit.unitId} is already closed")
    if unit.openChildren > 0:
        raise refuse("ORG_UNIT_HAS_OPEN_CHILDREN", f"unit {unit.unitId} has {unit.openChildren} open units under it: close or move them first")
    return dataclasses.replace(unit, status=CLOSED, version=unit.version + 1, updatedAt=at, updatedBy=by, closedAt=at)


def subtree_complete(unit: OrgUnit, found: Sequence[OrgUnit]) -> bool:
    """`found` (the unit and what an eventually consistent index listed under it) is its whole
    subtree: every unit's `children` counter matches the children found. A write conditioned on every
    one of them being as read then cannot miss one (docs/org-units.md, "Moves under concurrency")."""
    ids = {u.unitId for u in found}
    if unit.unitId not in ids or any(not u.within(unit.unitId) for u in found):
        return False
    counted = Counter(u.parentId for u in found if u.unitId != unit.unitId)
    return all(counted.get(u.unitId, 0) == u.children for u in found)


def visible_to(unit: OrgUnit, scope: OrgUnit) -> bool:
    """An operator whose unit is `scope` sees `unit`: it is in their subtree."""
    return unit.within(scope.unitId)


def changeable_by(unit: OrgUnit, scope: OrgUnit) -> bool:
    """An operator changes units strictly under their own; their own unit is changed from above it,
    except the head office, which has nothing above it."""
    return unit.within(scope.unitId) and (unit.unitId != scope.unitId or unit.is_root)
