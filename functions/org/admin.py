"""Operator API of the org tree (组织机构): head office, branches, sub-branches and outlets. Every route is
scoped to the subtree of the operator's own org unit (docs/security.md, "Org units and scope")."""

from datetime import date
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Query

from loyalty.core.api import Audit, Call, CallerDep, IdempotencyKey, Routes, serve
from loyalty.core.api_params import ID_PATTERN, Cursor, id_path, limit_query
from loyalty.core.clock import iso_utc, utc_now
from loyalty.org import pools, service
from loyalty.org.pool_views import AllocatePool, CreatePool, PoolList, PoolMove, PoolRollup, PoolView, ReallocatePool, RollupNode
from loyalty.org.scope import ScopedByItself
from loyalty.org.views import (
    CloseOrgUnit,
    CreateOrgUnit,
    EditOrgUnit,
    ForecastView,
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
SELF_SCOPED = ScopedByItself()  # the org service judges the caller's subtree itself
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


@routes.post(ROOT, scope=SELF_SCOPED, summary="Create an org unit", status=201, operation_id="createOrgUnit", replay=_created,
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


@routes.get(ROOT, scope=SELF_SCOPED, summary="List an org subtree", operation_id="listOrgUnits", errors={**SCOPED, 400: ["INVALID_CURSOR"],
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


@routes.get(f"{ROOT}/unknown-branches", scope=SELF_SCOPED, summary="Branch ids on customer profiles that map to no org unit",
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


@routes.get(UNIT, scope=SELF_SCOPED, summary="An org unit, with its place in the tree", operation_id="getOrgUnit",
            errors={**SCOPED, 404: ["ORG_UNIT_NOT_FOUND"]})
def get_org_unit(unitId: UnitIdPath, caller: CallerDep) -> OrgUnitDetail:
    """The unit, the units above it that your own unit contains (top down), and the units right under
    it. A unit outside your subtree is 404, as one that does not exist."""
    unit, ancestors, children = service.detail(service.default_store(), caller, unitId)
    return OrgUnitDetail(**OrgUnitView.of(unit).model_dump(), ancestors=[UnitRef(unitId=a.unitId, kind=a.kind, name=a.name)  # type: ignore[arg-type]
                                                                         for a in ancestors],
                         children=[OrgUnitView.of(c) for c in children])


@routes.put(UNIT, scope=SELF_SCOPED, summary="Rename an org unit or change its branch code", operation_id="updateOrgUnit",
            errors={**CHANGE, 409: [*CHANGE[409], "ORG_BRANCH_CODE_TAKEN"]}, audit=Audit(before=_before), replay=_as_stored)
def update_org_unit(unitId: UnitIdPath, body: EditOrgUnit, key: IdempotencyKey, caller: CallerDep) -> OrgUnitView:
    """Its name and branch code, as the next version (the same again changes nothing). A closed unit's
    code can be cleared for the unit that takes its customers over. Units are changed from above: your
    own unit is changed by an operator of a unit containing it (403 `ORG_OWN_UNIT`), but for the head
    office."""
    return OrgUnitView.of(service.edit(service.default_store(), caller, unitId, body, iso_utc(utc_now())))


@routes.post(f"{UNIT}/move", scope=SELF_SCOPED, summary="Move an org unit under another", operation_id="moveOrgUnit",
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


@routes.post(f"{UNIT}/close", scope=SELF_SCOPED, summary="Close an org unit", operation_id="closeOrgUnit",
             errors={**CHANGE, 422: ["ORG_UNIT_HAS_OPEN_CHILDREN", "ORG_UNIT_CLOSED", "ORG_ROOT_PERMANENT"]},
             audit=Audit(before=_before), replay=_as_stored)
def close_org_unit(unitId: UnitIdPath, body: CloseOrgUnit, key: IdempotencyKey, caller: CallerDep) -> OrgUnitView:
    """Closed for good, as its next version: it stays in the tree (what names it keeps its meaning), takes
    no new units, and is never moved. Refused while units under it are open (422
    `ORG_UNIT_HAS_OPEN_CHILDREN`), and for the head office."""
    return OrgUnitView.of(service.close(service.default_store(), caller, unitId, body, iso_utc(utc_now())))


@routes.get(f"{UNIT}/versions", scope=SELF_SCOPED, summary="An org unit's versions", operation_id="listOrgUnitVersions",
            errors={**SCOPED, 400: ["INVALID_CURSOR"], 404: ["ORG_UNIT_NOT_FOUND"]})
def list_org_unit_versions(unitId: UnitIdPath, caller: CallerDep, limit: Annotated[int, limit_query(default=50, maximum=200)] = 50,
                           cursor: Cursor = None) -> OrgUnitVersionPage:
    """Every change of the unit, newest first: what it became, who and when (the audit log has the
    requests themselves)."""
    records, following = service.versions_page(service.default_store(), caller, unitId, limit, cursor)
    return OrgUnitVersionPage(items=[OrgUnitVersionView.of(r) for r in records], nextCursor=following)


@routes.get(f"{UNIT}/forecast", scope=SELF_SCOPED, summary="The cash an org unit's rights will need, month by month", operation_id="getOrgUnitForecast",
            errors={**SCOPED, 404: ["ORG_UNIT_NOT_FOUND"], 422: ["FORECAST_TOO_LARGE"]})
def get_org_unit_forecast(unitId: UnitIdPath, caller: CallerDep,
                          months: Annotated[int, Query(ge=1, le=24, description="Months ahead, the month in progress first.")] = 12
                          ) -> ForecastView:
    """For the unit and everything under it, each month ahead: the campaigns' remaining budgets at their
    observed burn (or evenly over their window), the outstanding coupons' expected redemptions (value ×
    the template's observed redemption rate, in the month their validity ends) and the points liability's
    expected redemption (by expiry month × the observed rate × the value of a point), each with the rates
    it used. In minor units of `POINT_VALUE_CURRENCY`; campaigns and templates in another currency or in
    rewards are listed under `leftOut`. Reads the books in pages: 422 `FORECAST_TOO_LARGE` beyond
    `FORECAST_MAX_ITEMS` items of a source. A unit outside your subtree is 404."""
    found = service.forecast(service.default_store(), caller, unitId, months, utc_now())
    return ForecastView.model_validate(found)


# ---- budget pools (docs/org-units.md, "Budget pools") ----------------------------------------------

POOLS = f"{UNIT}/pools"
PoolIdPath = Annotated[str, id_path("The pool: `<period>.<measure>`, as `2027.CNY` or `2027-Q4.rewards`.")]
MOVES = {**SCOPED, 404: ["ORG_UNIT_NOT_FOUND", "POOL_NOT_FOUND"], 409: ["VERSION_CONFLICT"],
         422: ["POOL_INSUFFICIENT", "POOL_PLAN_INVALID", "ORG_UNIT_CLOSED"]}


def _today() -> date:
    from loyalty.core.clock import business_date
    from loyalty.core.config import get_settings

    return business_date(utc_now(), get_settings().bank_zone)


def _pool_now(unit_id: str, period: str, measure: str) -> PoolView:
    found = pools.default_store().pool(unit_id, period, measure)
    if found is None:
        from loyalty.core.errors import NotFound

        raise NotFound(f"unit {unit_id} has no pool for {period} in {measure}", code="POOL_NOT_FOUND")
    return PoolView.of(found, _today())


def _created_pool(call: Call) -> PoolView:
    """A retry's answer when the first try committed and died before answering: the pool as it now is."""
    body: Any = call.body
    return _pool_now(call.path_param("unitId"), body.period, body.measure)


def _moved(call: Call) -> PoolMove:
    """As `_created_pool`, for an allocation or a reallocation: both pools as they now are."""
    body: Any = call.body
    giver = getattr(body, "fromUnitId", None) or call.path_param("unitId")
    receiver = getattr(body, "toUnitId", None) or body.childId
    return PoolMove(giver=_pool_now(giver, body.period, body.measure), receiver=_pool_now(receiver, body.period, body.measure))


@routes.post(POOLS, scope=SELF_SCOPED, summary="Create the head office's budget pool for a period", status=201, operation_id="createOrgPool",
             replay=_created_pool, errors={**SCOPED, 403: [*SCOPED[403], "ORG_HEAD_OFFICE_REQUIRED"], 404: ["ORG_UNIT_NOT_FOUND"],
                                           409: ["POOL_EXISTS"], 422: ["POOL_PLAN_INVALID"]})
def create_org_pool(unitId: UnitIdPath, body: CreatePool, key: IdempotencyKey, caller: CallerDep) -> PoolView:
    """The head office's pool for a fiscal year or quarter, in minor units of a currency or in reward
    units, with an optional pacing plan for its own campaigns. Only at the head office, by its
    operators (403 `ORG_HEAD_OFFICE_REQUIRED`): every other pool is allocated from its parent's. One
    per unit, period and measure (409 `POOL_EXISTS`)."""
    plan = body.plan.plan() if body.plan else None
    created = pools.create_root(service.default_store(), pools.default_store(), caller, unitId, body.period, body.measure,
                                body.allocation, plan, iso_utc(utc_now()))
    return PoolView.of(created, _today())


@routes.get(POOLS, scope=SELF_SCOPED, summary="An org unit's budget pools", operation_id="listOrgPools", errors={**SCOPED, 404: ["ORG_UNIT_NOT_FOUND"]})
def list_org_pools(unitId: UnitIdPath, caller: CallerDep) -> PoolList:
    """Every pool the unit holds, by period and measure."""
    found = pools.unit_pools(service.default_store(), pools.default_store(), caller, unitId)
    today = _today()
    return PoolList(items=[PoolView.of(p, today) for p in found])


@routes.post(f"{POOLS}/allocations", scope=SELF_SCOPED, summary="Allocate part of a unit's pool to a unit under it", operation_id="allocateOrgPool",
             replay=_moved, errors=MOVES)
def allocate_org_pool(unitId: UnitIdPath, body: AllocatePool, key: IdempotencyKey, caller: CallerDep) -> PoolMove:
    """`amount` of this unit's pool for the period goes to `childId`'s (a unit right under it, open;
    its pool is created if it has none, with `plan` as its pacing plan). What this unit has left
    (neither allocated onward nor spent) must cover it, or 422 `POOL_INSUFFICIENT` and nothing changes:
    one transaction conditioned on the pool as read, so concurrent allocations never give more than it
    holds."""
    plan = body.plan.plan() if body.plan else None
    giver, receiver = pools.allocate(service.default_store(), pools.default_store(), caller, unitId, body.childId, body.period,
                                     body.measure, body.amount, plan, iso_utc(utc_now()))
    today = _today()
    return PoolMove(giver=PoolView.of(giver, today), receiver=PoolView.of(receiver, today))


@routes.post(f"{POOLS}/reallocations", scope=SELF_SCOPED, summary="Move allocation between two units under this one", operation_id="reallocateOrgPool",
             replay=_moved, approvers=True,
             errors={**MOVES, 403: [*SCOPED[403], "APPROVER_REQUIRED"], 422: [*MOVES[422], "POOL_SAME_UNIT"]})
def reallocate_org_pool(unitId: UnitIdPath, body: ReallocatePool, key: IdempotencyKey, caller: CallerDep) -> PoolMove:
    """`amount` of `fromUnitId`'s allocation goes to its sibling `toUnitId`'s, both right under this
    unit. An approver's (403 `APPROVER_REQUIRED`) whose org unit is this one or above it (else 404). The
    giver's unspent and unallocated part must cover it (422 `POOL_INSUFFICIENT`): one transaction
    conditioned on the giver's pool as read."""
    giver, receiver = pools.reallocate(service.default_store(), pools.default_store(), caller, unitId, body.fromUnitId, body.toUnitId,
                                       body.period, body.measure, body.amount, iso_utc(utc_now()))
    today = _today()
    return PoolMove(giver=PoolView.of(giver, today), receiver=PoolView.of(receiver, today))


@routes.get(f"{POOLS}/{{poolId}}", scope=SELF_SCOPED, summary="A budget pool with its roll-up down the tree", operation_id="getOrgPool",
            errors={**SCOPED, 404: ["ORG_UNIT_NOT_FOUND", "POOL_NOT_FOUND"]})
def get_org_pool(unitId: UnitIdPath, poolId: PoolIdPath, caller: CallerDep) -> PoolRollup:
    """The unit's pool, and for it and every unit under it (depth first, at most 500): allocated,
    allocated onward, committed (budgets of the campaigns at the unit), spent (its own and its
    subtree's) and left; with the pacing plan slice by slice."""
    from loyalty.campaigns.ports import commitments

    period, measure = pools.parse_pool_id(poolId)
    top, rows = pools.rollup(service.default_store(), pools.default_store(), caller, unitId, period, measure, commitments().committed)
    return PoolRollup(pool=PoolView.of(top, _today()), units=[RollupNode.of(r) for r in rows], pacing=PoolRollup.points(top))


handler = serve(routes)
