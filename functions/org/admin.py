"""Operator API of the org tree (组织机构): head office, branches, sub-branches and outlets. Every route is
scoped to the subtree of the operator's own org unit (docs/security.md, "Org units and scope")."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query

from loyalty.core.api import Audit, Call, CallerDep, IdempotencyKey, Routes, serve
from loyalty.core.api_params import ID_PATTERN, Cursor, id_path, limit_query
from loyalty.core.clock import iso_utc, utc_now
from loyalty.org import service
from loyalty.org.views import (
    CloseOrgUnit,
    CreateOrgUnit,
    EditOrgUnit,
    MoveOrgUnit,
    OrgUnitDetail,
    OrgUnitPage,
    OrgUnitVersionPage,
    OrgUnitVersionView,
    OrgUnitView,
    UnitRef,
    UnknownBranch,
    UnknownBranchesPage,
)

ROOT = "/v1/admin/org-units"
UNIT = f"{ROOT}/{{unitId}}"
routes = Routes("org", "The bank's org tree: head office, branches, sub-branches and outlets.")

UnitIdPath = Annotated[str, id_path("The org unit's id.")]
# Every org route answers these: the caller's token names no org unit, or one the tree does not hold.
SCOPED = {403: ["ORG_UNIT_REQUIRED", "ORG_UNIT_UNKNOWN"]}
CHANGE = {**SCOPED, 403: [*SCOPED[403], "ORG_OWN_UNIT"], 404: ["ORG_UNIT_NOT_FOUND"], 409: ["VERSION_CONFLICT"]}


def _view(unit_id: str) -> OrgUnitView:
    unit = service.default_store().unit(unit_id)
    if unit is None:
        from loyalty.core.errors import NotFound

        raise NotFound(f"unit {unit_id} does not exist", code="ORG_UNIT_NOT_FOUND")
    return OrgUnitView.of(unit)


def _as_stored(call: Call) -> OrgUnitView:
    """A retry's answer when the first try committed and died before answering: the unit as it now is."""
    return _view(call.path_param("unitId"))


def _created(call: Call) -> OrgUnitView:
    """As `_as_stored`, for the unit the body created (one transaction: it is there if it committed)."""
    return _view(str(getattr(call.body, "unitId", "")))


def _before(call: Call) -> Any:
    """The audit log's state before a change: the unit as it was."""
    unit = service.default_store().unit(call.path_param("unitId"))
    return None if unit is None else OrgUnitView.of(unit).model_dump(mode="json")


@routes.post(ROOT, summary="Create an org unit", status=201, operation_id="createOrgUnit", replay=_created,
             links={"getOrgUnit": {"unitId": "$response.body#/unitId"}},
             errors={403: [*SCOPED[403], "ORG_HEAD_OFFICE_REQUIRED"], 404: ["ORG_PARENT_NOT_FOUND"],
                     409: ["ORG_UNIT_EXISTS", "ORG_ROOT_EXISTS", "ORG_BRANCH_CODE_TAKEN", "VERSION_CONFLICT"],
                     422: ["ORG_KIND_ORDER", "ORG_PARENT_REQUIRED", "ORG_PARENT_CLOSED", "ORG_UNIT_ID_RESERVED"]})
def create_org_unit(body: CreateOrgUnit, key: IdempotencyKey, caller: CallerDep) -> OrgUnitView:
    """A new unit, version 1, under a unit of your subtree (`parentId`). Kinds nest head office >
    branch > sub-branch > outlet, and levels may be skipped (422 `ORG_KIND_ORDER` otherwise); a closed
    parent takes none (422 `ORG_PARENT_CLOSED`). The head office is the root: there is one (409
    `ORG_ROOT_EXISTS`), it has no `parentId`, and it is created by an operator whose token names it as
    their org unit (403 `ORG_HEAD_OFFICE_REQUIRED`). A `branchCode` maps core banking's branch id to the
    unit: one unit per code (409 `ORG_BRANCH_CODE_TAKEN`)."""
    return OrgUnitView.of(service.create(service.default_store(), caller, body, iso_utc(utc_now())))


@routes.get(ROOT, summary="List an org subtree", operation_id="listOrgUnits", errors={**SCOPED, 400: ["INVALID_CURSOR"],
                                                                                      404: ["ORG_UNIT_NOT_FOUND"]})
def list_org_units(
    caller: CallerDep,
    under: Annotated[str | None, Query(min_length=1, max_length=64, pattern=ID_PATTERN,
                                       description="A unit of your subtree; your own unit if left out.")] = None,
    limit: Annotated[int, limit_query(default=200, maximum=500)] = 200,
    cursor: Cursor = None,
) -> OrgUnitPage:
    """The unit and every unit under it, open and closed, depth first: each unit comes before the units
    under it, siblings by id, so the tree is drawn from one pass. Read from an index that follows
    changes within a second."""
    units, following = service.subtree_page(service.default_store(), caller, under, limit, cursor)
    return OrgUnitPage(items=[OrgUnitView.of(u) for u in units], nextCursor=following)


@routes.get(f"{ROOT}/unknown-branches", summary="Branch ids on customer profiles that map to no org unit",
            operation_id="listUnknownBranches", errors={**SCOPED, 403: [*SCOPED[403], "ORG_HEAD_OFFICE_REQUIRED"], 400: ["INVALID_CURSOR"]})
def unknown_branches(caller: CallerDep, limit: Annotated[int, limit_query(default=1000, maximum=1000)] = 1000,
                     cursor: Cursor = None) -> UnknownBranchesPage:
    """Customers belong to the unit whose `branchCode` is their profile's `branchId`. This reads the
    profiles a page at a time (`limit` profiles) and lists the branch ids among them that no unit maps,
    with how many profiles of the page carry each: read on until `nextCursor` is null to cover every
    customer. Head office operators only (403 `ORG_HEAD_OFFICE_REQUIRED`): such customers belong to no
    branch's subtree."""
    unknown, without, read, following = service.unknown_branches(service.default_store(), caller, cursor, limit)
    return UnknownBranchesPage(items=[UnknownBranch(branchId=code, customers=n) for code, n in unknown.items()],
                               profilesRead=read, withoutBranch=without, nextCursor=following)


@routes.get(UNIT, summary="An org unit, with its place in the tree", operation_id="getOrgUnit",
            errors={**SCOPED, 404: ["ORG_UNIT_NOT_FOUND"]})
def get_org_unit(unitId: UnitIdPath, caller: CallerDep) -> OrgUnitDetail:
    """The unit, the units above it that your own unit contains (top down), and the units right under
    it. A unit outside your subtree is 404, as one that does not exist."""
    unit, ancestors, children = service.detail(service.default_store(), caller, unitId)
    return OrgUnitDetail(**OrgUnitView.of(unit).model_dump(), ancestors=[UnitRef(unitId=a.unitId, kind=a.kind, name=a.name)  # type: ignore[arg-type]
                                                                         for a in ancestors],
                         children=[OrgUnitView.of(c) for c in children])


@routes.put(UNIT, summary="Rename an org unit or change its branch code", operation_id="updateOrgUnit",
            errors={**CHANGE, 409: [*CHANGE[409], "ORG_BRANCH_CODE_TAKEN"]}, audit=Audit(before=_before), replay=_as_stored)
def update_org_unit(unitId: UnitIdPath, body: EditOrgUnit, key: IdempotencyKey, caller: CallerDep) -> OrgUnitView:
    """Its name and branch code, as the next version (the same again changes nothing). A closed unit's
    code can be cleared for the unit that takes its customers over. Units are changed from above: your
    own unit is changed by an operator of a unit containing it (403 `ORG_OWN_UNIT`), but for the head
    office."""
    return OrgUnitView.of(service.edit(service.default_store(), caller, unitId, body, iso_utc(utc_now())))


@routes.post(f"{UNIT}/move", summary="Move an org unit under another", operation_id="moveOrgUnit",
             errors={**CHANGE, 404: [*CHANGE[404], "ORG_PARENT_NOT_FOUND"],
                     422: ["ORG_UNIT_CYCLE", "ORG_KIND_ORDER", "ORG_PARENT_CLOSED", "ORG_UNIT_CLOSED", "ORG_ROOT_PERMANENT",
                           "ORG_ALREADY_UNDER_PARENT", "ORG_MOVE_TOO_LARGE"]},
             audit=Audit(before=_before), replay=_as_stored)
def move_org_unit(unitId: UnitIdPath, body: MoveOrgUnit, key: IdempotencyKey, caller: CallerDep) -> OrgUnitView:
    """The unit and everything under it go under `parentId` (a unit of your subtree), as the unit's next
    version. Refused: under itself or a unit under it (422 `ORG_UNIT_CYCLE`), against the kinds' order,
    under a closed unit, a closed unit, the head office, and a unit with more than 89 units under it (422
    `ORG_MOVE_TOO_LARGE`: move its children first). Customers, campaigns and budgets of the units moved
    follow them: they name units, not places."""
    return OrgUnitView.of(service.move(service.default_store(), caller, unitId, body, iso_utc(utc_now())))


@routes.post(f"{UNIT}/close", summary="Close an org unit", operation_id="closeOrgUnit",
             errors={**CHANGE, 422: ["ORG_UNIT_HAS_OPEN_CHILDREN", "ORG_UNIT_CLOSED", "ORG_ROOT_PERMANENT"]},
             audit=Audit(before=_before), replay=_as_stored)
def close_org_unit(unitId: UnitIdPath, body: CloseOrgUnit, key: IdempotencyKey, caller: CallerDep) -> OrgUnitView:
    """Closed for good, as its next version: it stays in the tree (what names it keeps its meaning), takes
    no new units, and is never moved. Refused while units under it are open (422
    `ORG_UNIT_HAS_OPEN_CHILDREN`), and for the head office."""
    return OrgUnitView.of(service.close(service.default_store(), caller, unitId, body, iso_utc(utc_now())))


@routes.get(f"{UNIT}/versions", summary="An org unit's versions", operation_id="listOrgUnitVersions",
            errors={**SCOPED, 400: ["INVALID_CURSOR"], 404: ["ORG_UNIT_NOT_FOUND"]})
def list_org_unit_versions(unitId: UnitIdPath, caller: CallerDep, limit: Annotated[int, limit_query(default=50, maximum=200)] = 50,
                           cursor: Cursor = None) -> OrgUnitVersionPage:
    """Every change of the unit, newest first: what it became, who and when (the audit log has the
    requests themselves)."""
    records, following = service.versions_page(service.default_store(), caller, unitId, limit, cursor)
    return OrgUnitVersionPage(items=[OrgUnitVersionView.of(r) for r in records], nextCursor=following)


handler = serve(routes)
