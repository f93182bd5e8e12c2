"""The org tree's operations, each within the operator's scope (docs/org-units.md).

An operator's scope is the subtree of the org unit their token names (`Caller.org_unit`):
- no org unit on the token: 403 `ORG_UNIT_REQUIRED`; one the tree does not hold: 403 `ORG_UNIT_UNKNOWN`
  (except to create the head office: only an operator whose token names it may);
- a unit outside the scope is 404, as if it did not exist, for reads and writes alike;
- units are changed (edited, moved, closed) from above: an operator's own unit is changed by an
  operator of a unit containing it (403 `ORG_OWN_UNIT`), except the head office's.

A change is decided on what is read, then written in one transaction conditioned on what it was
decided on (`loyalty.org.store`). When something changed meanwhile (`Stale`), it is read and decided
again, a few times, so every rule holds at the moment of the write; a `version` given in the request
must still be the unit's (409 `VERSION_CONFLICT`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from loyalty.core.auth import Caller
from loyalty.core.errors import Conflict, Forbidden, NotFound
from loyalty.org import model
from loyalty.org.model import OrgUnit, VersionRecord
from loyalty.org.store import CounterMove, OrgStore, Plan, Stale, Taken
from loyalty.org.views import CloseOrgUnit, CreateOrgUnit, EditOrgUnit, MoveOrgUnit

T = TypeVar("T")
ATTEMPTS = 5
MAX_CHILDREN_SHOWN = 500


def default_store() -> OrgStore:
    from loyalty.org.store import DynamoOrgStore

    return DynamoOrgStore()


# ---- scope -----------------------------------------------------------------------------------------


def scope_of(store: OrgStore, caller: Caller) -> OrgUnit:
    """The caller's own unit: every org route is scoped to its subtree."""
    from loyalty.org.scope import callers_unit

    return callers_unit(caller, store.unit)


def visible(store: OrgStore, scope: OrgUnit, unit_id: str, code: str = "ORG_UNIT_NOT_FOUND") -> OrgUnit:
    """The unit, if the scope holds it; else 404 as for a unit that does not exist."""
    unit = store.unit(unit_id)
    if unit is None or not model.visible_to(unit, scope):
        what = "parent" if code == "ORG_PARENT_NOT_FOUND" else "unit"
        raise NotFound(f"{what} {unit_id} does not exist", code=code)
    return unit


def _changeable(store: OrgStore, caller: Caller, unit_id: str, version: int | None) -> tuple[OrgUnit, OrgUnit]:
    scope = scope_of(store, caller)
    unit = visible(store, scope, unit_id)
    if not model.changeable_by(unit, scope):
        raise Forbidden(f"unit {unit_id} is your own: an operator of a unit above it changes it", code="ORG_OWN_UNIT")
    if version is not None and version != unit.version:
        raise Conflict(f"unit {unit_id} is at version {unit.version}, not {version}: read it and decide again", code="VERSION_CONFLICT")
    return scope, unit


# ---- changes ---------------------------------------------------------------------------------------


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def _again(decide_and_write: Callable[[], T]) -> T:
    for attempt in range(ATTEMPTS):
        try:
            return decide_and_write()
        except Stale:
            if attempt < ATTEMPTS - 1:
                _pause(random.uniform(0.01, 0.04) * 2**attempt)
    raise Conflict("the org tree kept changing while this change was decided: try again", code="VERSION_CONFLICT")


def _commit(store: OrgStore, plan: Plan) -> None:
    try:
        store.commit(plan)
    except Taken as taken:
        if taken.what == "unit":
            raise Conflict(f"unit {taken.value} already exists", code="ORG_UNIT_EXISTS") from None
        if taken.what == "root":
            raise Conflict("the org tree has its head office already: there is one", code="ORG_ROOT_EXISTS") from None
        raise Conflict(f"branch code {taken.value} maps to another unit already", code="ORG_BRANCH_CODE_TAKEN") from None


def create(store: OrgStore, caller: Caller, request: CreateOrgUnit, at: str) -> OrgUnit:
    """A new unit (version 1) under a unit of the caller's scope; the head office (the root) only by an
    operator whose token names it, and only while there is none."""

    def attempt() -> OrgUnit:
        parent: OrgUnit | None = None
        if request.parentId is None:
            model.check_place(request.kind, None)
            if caller.org_unit is None:
                scope_of(store, caller)
            if caller.org_unit != request.unitId:
                raise Forbidden("the head office is created by an operator whose token names it as their org unit",
                                code="ORG_HEAD_OFFICE_REQUIRED")
        else:
            parent = visible(store, scope_of(store, caller), request.parentId, "ORG_PARENT_NOT_FOUND")
        unit = model.created(request.unitId, request.kind, request.name, parent, request.branchCode, caller.subject, at)
        counters = (CounterMove(parent.unitId, 1, 1, while_open_at=parent.path),) if parent is not None else ()
        _commit(store, Plan(new=(unit,), counters=counters, versions=(VersionRecord.of(unit, "created"),),
                            root=unit.unitId if parent is None else None,
                            claim_codes=((unit.branchCode, unit.unitId),) if unit.branchCode else ()))
        return unit

    return _again(attempt)


def edit(store: OrgStore, caller: Caller, unit_id: str, request: EditOrgUnit, at: str) -> OrgUnit:
    """A new name or branch code, as the next version; the same again changes nothing."""

    def attempt() -> OrgUnit:
        _, unit = _changeable(store, caller, unit_id, request.version)
        if (unit.name, unit.branchCode) == (request.name, request.branchCode):
            return unit
        becomes = model.edited(unit, request.name, request.branchCode, caller.subject, at)
        changed_code = unit.branchCode != becomes.branchCode
        _commit(store, Plan(changed=((unit, becomes),), versions=(VersionRecord.of(becomes, "edited"),),
                            claim_codes=((becomes.branchCode, unit_id),) if changed_code and becomes.branchCode else (),
                            release_codes=((unit.branchCode, unit_id),) if changed_code and unit.branchCode else ()))
        return becomes

    return _again(attempt)


def move(store: OrgStore, caller: Caller, unit_id: str, request: MoveOrgUnit, at: str) -> OrgUnit:
    """The unit, with everything under it, under a new parent of the caller's scope: the unit's path
    and its descendants' are rewritten in the same transaction (at most `MAX_MOVED_UNITS` units)."""

    def attempt() -> OrgUnit:
        scope, unit = _changeable(store, caller, unit_id, request.version)
        parent = visible(store, scope, request.parentId, "ORG_PARENT_NOT_FOUND")
        model.check_move(unit, parent)
        listed = store.subtree(unit, model.MAX_MOVED_UNITS + 1)
        model.check_move_size(unit, listed)
        found = [unit, *(u for u in listed if u.unitId != unit_id)]
        if not model.subtree_complete(unit, found):
            raise Stale()  # the index has not caught up with a change under it: read again
        becomes, rewritten = model.moved(unit, parent, found[1:], caller.subject, at)
        old_parent = unit.parentId
        assert old_parent is not None  # check_move: the head office is never moved
        _commit(store, Plan(changed=((unit, becomes), *zip(found[1:], rewritten, strict=True)),
                            counters=(CounterMove(old_parent, -1, -1), CounterMove(parent.unitId, 1, 1, while_open_at=parent.path)),
                            versions=(VersionRecord.of(becomes, "moved", request.note),)))
        return becomes

    return _again(attempt)


def close(store: OrgStore, caller: Caller, unit_id: str, request: CloseOrgUnit, at: str) -> OrgUnit:
    """Closed for good: only without open units under it; it stays in the tree and takes no new ones."""

    def attempt() -> OrgUnit:
        _, unit = _changeable(store, caller, unit_id, request.version)
        becomes = model.closed(unit, caller.subject, at)
        assert unit.parentId is not None  # model.closed: the head office is never closed
        _commit(store, Plan(changed=((unit, becomes),), counters=(CounterMove(unit.parentId, -1, 0),),
                            versions=(VersionRecord.of(becomes, "closed", request.note),)))
        return becomes

    return _again(attempt)


# ---- reads -----------------------------------------------------------------------------------------


def detail(store: OrgStore, caller: Caller, unit_id: str) -> tuple[OrgUnit, list[OrgUnit], list[OrgUnit]]:
    """The unit, the units above it within the caller's scope (top down), and the units right under it."""
    scope = scope_of(store, caller)
    unit = visible(store, scope, unit_id)
    above = list(unit.path[unit.path.index(scope.unitId):-1])
    found = store.units(above)
    ancestors = [found[a] for a in above if a in found]
    return unit, ancestors, store.children(unit_id, MAX_CHILDREN_SHOWN)


def subtree_page(store: OrgStore, caller: Caller, under: str | None, limit: int, cursor: str | None) -> tuple[list[OrgUnit], str | None]:
    """The caller's unit (or `under`, within their scope) and every unit under it, depth first."""
    scope = scope_of(store, caller)
    top = scope if under is None or under == scope.unitId else visible(store, scope, under)
    return store.subtree_page(top, limit, cursor)


def versions_page(store: OrgStore, caller: Caller, unit_id: str, limit: int, cursor: str | None) -> tuple[list[VersionRecord], str | None]:
    visible(store, scope_of(store, caller), unit_id)
    return store.versions(unit_id, limit, cursor)


def unknown_branches(store: OrgStore, caller: Caller, cursor: str | None, limit: int) -> tuple[dict[str, int], int, int, str | None]:
    """One page of customer profiles: the branch ids among them that map to no unit, with how many
    profiles carry each; the profiles without a branch id; the profiles read; the next cursor. Every
    customer's unit is a question for the whole bank: the head office's operators only."""
    from loyalty.customers.ports import directory

    scope = scope_of(store, caller)
    if not scope.is_root:
        raise Forbidden("branch ids that map to no unit concern the whole bank: the head office's operators read them",
                        code="ORG_HEAD_OFFICE_REQUIRED")
    counted = directory().branches(cursor, limit)
    mapped = store.branch_units(list(counted.customers_by_branch))
    unknown = {code: n for code, n in sorted(counted.customers_by_branch.items()) if code not in mapped}
    return unknown, counted.without_branch, counted.profiles_read, counted.next_cursor


def forecast(store: OrgStore, caller: Caller, unit_id: str, months: int, now: datetime) -> dict[str, Any]:
    """The cash the unit's rights will need, month by month (docs/org-units.md, "The cash-need forecast")."""
    from loyalty.org import forecast_sources
    from loyalty.org.ports import units

    unit = visible(store, scope_of(store, caller), unit_id)
    return forecast_sources.build(unit, units(), months, now)
