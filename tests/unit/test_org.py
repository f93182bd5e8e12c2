"""`loyalty.org`: the tree's rules (pure), the operations within an operator's scope over the store in
memory (with the real store's conditions), and the port other capabilities read the tree through."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from loyalty.core.auth import Caller
from loyalty.core.errors import BusinessRuleViolation, Conflict, DomainError, Forbidden, NotFound
from loyalty.org import model, service
from loyalty.org.model import OrgUnit
from loyalty.org.ports import InMemoryOrgUnits
from loyalty.org.store import Plan
from loyalty.org.views import CloseOrgUnit, CreateOrgUnit, EditOrgUnit, MoveOrgUnit
from tests.unit.org_fakes import InMemoryOrgStore

AT = "2027-03-01T08:00:00Z"
HQ = Caller("op-hq", frozenset({"operators"}), "hq")


def op(unit: str | None, subject: str = "op-x") -> Caller:
    return Caller(subject, frozenset({"operators"}), unit)


def unit(unit_id: str, kind: str, parent: OrgUnit | None = None, **changes: object) -> OrgUnit:
    path = (*parent.path, unit_id) if parent else (unit_id,)
    return dataclasses.replace(OrgUnit(unit_id, kind, unit_id, parent.unitId if parent else None, path), **changes)  # type: ignore[arg-type]


def code_of(raised: pytest.ExceptionInfo[DomainError]) -> str:
    return raised.value.code


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "_pause", lambda seconds: None)


@pytest.fixture
def store() -> Iterator[InMemoryOrgStore]:
    yield InMemoryOrgStore()


def create(store: InMemoryOrgStore, unit_id: str, kind: str, parent: str | None, caller: Caller = HQ, **fields: object) -> OrgUnit:
    return service.create(store, caller, CreateOrgUnit.model_validate({"unitId": unit_id, "kind": kind, "name": unit_id.upper(),
                                                                       "parentId": parent, **fields}), AT)


@pytest.fixture
def tree(store: InMemoryOrgStore) -> InMemoryOrgStore:
    """hq > bj (branch) > bj-hd (sub-branch) > bj-hd-1, bj-hd-2 (outlets); hq > sh (branch)."""
    create(store, "hq", "head_office", None)
    create(store, "bj", "branch", "hq", branchCode="110000")
    create(store, "sh", "branch", "hq", branchCode="310000")
    create(store, "bj-hd", "sub_branch", "bj")
    create(store, "bj-hd-1", "outlet", "bj-hd")
    create(store, "bj-hd-2", "outlet", "bj-hd")
    return store


# ---- the rules (pure) ------------------------------------------------------------------------------

HQ_UNIT = unit("hq", "head_office")
BJ = unit("bj", "branch", HQ_UNIT)
BJ_HD = unit("bj-hd", "sub_branch", BJ)
OUTLET = unit("bj-hd-1", "outlet", BJ_HD)


@pytest.mark.parametrize(("kind", "parent"), [
    ("branch", HQ_UNIT), ("sub_branch", HQ_UNIT), ("outlet", HQ_UNIT), ("sub_branch", BJ), ("outlet", BJ), ("outlet", BJ_HD),
])
def test_kinds_deepen_down_the_tree_and_levels_may_be_skipped(kind: str, parent: OrgUnit) -> None:
    # Given a kind under a parent of a higher rank
    # When placed
    # Then it is allowed
    model.check_place(kind, parent)


@pytest.mark.parametrize(("kind", "parent"), [
    ("head_office", HQ_UNIT), ("branch", BJ), ("branch", BJ_HD), ("sub_branch", BJ_HD), ("outlet", OUTLET), ("head_office", OUTLET),
])
def test_a_kind_never_goes_under_its_own_rank_or_a_lower_one(kind: str, parent: OrgUnit) -> None:
    # Given a kind under a parent of the same or a lower rank
    # When placed
    with pytest.raises(BusinessRuleViolation) as raised:
        model.check_place(kind, parent)
    # Then it is refused
    assert code_of(raised) == "ORG_KIND_ORDER"


@pytest.mark.parametrize("kind", ["branch", "sub_branch", "outlet"])
def test_only_the_head_office_is_a_root(kind: str) -> None:
    with pytest.raises(BusinessRuleViolation) as raised:
        model.check_place(kind, None)
    assert code_of(raised) == "ORG_PARENT_REQUIRED"


@pytest.mark.parametrize(("moving", "under"), [(BJ, BJ), (BJ, BJ_HD), (BJ, OUTLET), (BJ_HD, OUTLET), (BJ_HD, BJ_HD)])
def test_a_unit_never_goes_under_itself_or_its_own_descendants(moving: OrgUnit, under: OrgUnit) -> None:
    # Given a unit and itself or a unit of its subtree
    # When it is moved there
    with pytest.raises(BusinessRuleViolation) as raised:
        model.check_move(moving, under)
    # Then the cycle is refused by its own code (before the kinds' order, which would refuse it too)
    assert code_of(raised) == "ORG_UNIT_CYCLE"


@pytest.mark.parametrize(("moving", "under", "code"), [
    (HQ_UNIT, BJ, "ORG_ROOT_PERMANENT"),
    (dataclasses.replace(BJ_HD, status="closed"), unit("sh", "branch", HQ_UNIT), "ORG_UNIT_CLOSED"),
    (BJ_HD, BJ, "ORG_ALREADY_UNDER_PARENT"),
    (BJ_HD, unit("sh", "branch", HQ_UNIT, status="closed"), "ORG_PARENT_CLOSED"),
    (BJ_HD, unit("sh-1", "sub_branch", unit("sh", "branch", HQ_UNIT)), "ORG_KIND_ORDER"),
])
def test_moves_against_the_rules_are_refused(moving: OrgUnit, under: OrgUnit, code: str) -> None:
    with pytest.raises(BusinessRuleViolation) as raised:
        model.check_move(moving, under)
    assert code_of(raised) == code


def test_a_move_rewrites_the_path_of_every_unit_under_it() -> None:
    # Given a sub-branch with an outlet, and another branch
    sh = unit("sh", "branch", HQ_UNIT)
    # When the sub-branch moves under it
    becomes, rewritten = model.moved(BJ_HD, sh, [OUTLET], "op", AT)
    # Then the sub-branch and its outlet have their new paths, and only the sub-branch a new version
    assert (becomes.parentId, becomes.path, becomes.version) == ("sh", ("hq", "sh", "bj-hd"), 2)
    assert [(u.path, u.version) for u in rewritten] == [(("hq", "sh", "bj-hd", "bj-hd-1"), 1)]


@pytest.mark.parametrize(("closing", "code"), [
    (HQ_UNIT, "ORG_ROOT_PERMANENT"), (dataclasses.replace(BJ_HD, openChildren=1), "ORG_UNIT_HAS_OPEN_CHILDREN"),
    (dataclasses.replace(OUTLET, status="closed"), "ORG_UNIT_CLOSED"),
])
def test_closing_is_refused_for_the_root_a_unit_with_open_children_and_a_closed_one(closing: OrgUnit, code: str) -> None:
    with pytest.raises(BusinessRuleViolation) as raised:
        model.closed(closing, "op", AT)
    assert code_of(raised) == code


def test_a_subtree_is_complete_only_when_every_unit_s_children_were_found() -> None:
    # Given a sub-branch counting two children
    parent = dataclasses.replace(BJ_HD, children=2)
    second = unit("bj-hd-2", "outlet", BJ_HD)
    # Then both found is complete, one found is not, and a unit listed outside it is not
    assert model.subtree_complete(parent, [parent, OUTLET, second])
    assert not model.subtree_complete(parent, [parent, OUTLET])
    assert not model.subtree_complete(parent, [parent, OUTLET, second, unit("sh", "branch", HQ_UNIT)])


def test_an_operator_sees_their_subtree_and_changes_only_below_their_own_unit() -> None:
    assert model.visible_to(OUTLET, BJ) and model.visible_to(BJ, BJ) and not model.visible_to(HQ_UNIT, BJ)
    assert model.changeable_by(BJ_HD, BJ) and not model.changeable_by(BJ, BJ)
    assert model.changeable_by(HQ_UNIT, HQ_UNIT)  # the head office has nothing above it


# ---- the operations, scoped --------------------------------------------------------------------------


def test_the_head_office_is_created_by_its_own_operator_once(store: InMemoryOrgStore) -> None:
    # Given an empty tree: an operator of another unit cannot create it
    with pytest.raises(Forbidden) as raised:
        create(store, "hq", "head_office", None, caller=op("bj"))
    assert code_of(raised) == "ORG_HEAD_OFFICE_REQUIRED"
    # When the head office's operator creates it
    root = create(store, "hq", "head_office", None)
    # Then it is version 1, the root
    assert (root.version, root.path, root.is_root) == (1, ("hq",), True)
    assert [r.action for r in store.history["hq"]] == ["created"]
    # And a second head office is refused, whoever asks
    with pytest.raises(Conflict) as again:
        service.create(store, Caller("op-2", frozenset({"operators"}), "hq2"),
                       CreateOrgUnit(unitId="hq2", kind="head_office", name="Second"), AT)
    assert code_of(again) == "ORG_ROOT_EXISTS"


def test_a_token_without_an_org_unit_or_with_an_unknown_one_is_refused(tree: InMemoryOrgStore) -> None:
    for caller, code in ((op(None), "ORG_UNIT_REQUIRED"), (op("nowhere"), "ORG_UNIT_UNKNOWN")):
        with pytest.raises(Forbidden) as raised:
            service.subtree_page(tree, caller, None, 100, None)
        assert code_of(raised) == code
        with pytest.raises(Forbidden):
            create(tree, "x", "outlet", "bj", caller=caller)


def test_creating_counts_the_parent_s_children_and_keeps_a_version(tree: InMemoryOrgStore) -> None:
    bj_hd = tree.unit("bj-hd")
    assert bj_hd is not None
    assert (bj_hd.openChildren, bj_hd.children, bj_hd.path) == (2, 2, ("hq", "bj", "bj-hd"))
    assert tree.codes == {"110000": "bj", "310000": "sh"}


@pytest.mark.parametrize(("fields", "code"), [
    ({"unitId": "bj"}, "ORG_UNIT_EXISTS"), ({"branchCode": "110000"}, "ORG_BRANCH_CODE_TAKEN"),
])
def test_an_id_or_a_branch_code_is_taken_once(tree: InMemoryOrgStore, fields: dict[str, str], code: str) -> None:
    commits = tree.commits
    with pytest.raises(Conflict) as raised:
        service.create(tree, HQ, CreateOrgUnit.model_validate({"unitId": "new", "kind": "outlet", "name": "N", "parentId": "sh", **fields}), AT)
    assert code_of(raised) == code
    assert tree.commits == commits


def test_a_branch_operator_sees_and_changes_only_their_subtree(tree: InMemoryOrgStore) -> None:
    # Given an operator of the Beijing branch
    beijing = op("bj", "op-bj")
    # When they list: their branch and what is under it, depth first
    units, _ = service.subtree_page(tree, beijing, None, 100, None)
    assert [u.unitId for u in units] == ["bj", "bj-hd", "bj-hd-1", "bj-hd-2"]
    # Then another branch is 404 to them, to read, list, change or create under
    for attempt in (lambda: service.detail(tree, beijing, "sh"), lambda: service.subtree_page(tree, beijing, "sh", 10, None),
                    lambda: service.edit(tree, beijing, "sh", EditOrgUnit(name="Mine"), AT),
                    lambda: service.move(tree, beijing, "bj-hd", MoveOrgUnit(parentId="sh"), AT),
                    lambda: service.close(tree, beijing, "hq", CloseOrgUnit(), AT)):
        with pytest.raises(NotFound):
            attempt()
    with pytest.raises(NotFound) as parent:
        create(tree, "x", "outlet", "sh", caller=beijing)
    assert code_of(parent) == "ORG_PARENT_NOT_FOUND"
    # And their own unit is changed from above only; under it, they create and change
    with pytest.raises(Forbidden) as own:
        service.edit(tree, beijing, "bj", EditOrgUnit(name="Renamed"), AT)
    assert code_of(own) == "ORG_OWN_UNIT"
    create(tree, "bj-cy", "sub_branch", "bj", caller=beijing)
    assert service.edit(tree, beijing, "bj-cy", EditOrgUnit(name="Chaoyang"), AT).name == "Chaoyang"


def test_a_read_shows_the_ancestors_within_the_scope_and_the_children(tree: InMemoryOrgStore) -> None:
    found, ancestors, children = service.detail(tree, op("bj"), "bj-hd")
    assert (found.unitId, [a.unitId for a in ancestors], [c.unitId for c in children]) == ("bj-hd", ["bj"], ["bj-hd-1", "bj-hd-2"])
    _, from_hq, _ = service.detail(tree, HQ, "bj-hd-1")
    assert [a.unitId for a in from_hq] == ["hq", "bj", "bj-hd"]


def test_editing_frees_the_old_branch_code_and_takes_the_new(tree: InMemoryOrgStore) -> None:
    edited = service.edit(tree, HQ, "bj", EditOrgUnit(name="Beijing", branchCode="110001", version=1), AT)
    assert (edited.version, tree.codes) == (2, {"110001": "bj", "310000": "sh"})
    # The same again changes nothing; a stale version is a conflict
    assert service.edit(tree, HQ, "bj", EditOrgUnit(name="Beijing", branchCode="110001"), AT).version == 2
    with pytest.raises(Conflict) as raised:
        service.edit(tree, HQ, "bj", EditOrgUnit(name="Other", version=1), AT)
    assert code_of(raised) == "VERSION_CONFLICT"


def test_a_move_takes_the_whole_subtree_and_moves_both_parents_counters(tree: InMemoryOrgStore) -> None:
    # When the sub-branch and its two outlets move to Shanghai
    moved = service.move(tree, HQ, "bj-hd", MoveOrgUnit(parentId="sh", note="restructuring"), AT)
    # Then every path is rewritten, both branches count their children anew, and the move is a version
    assert moved.path == ("hq", "sh", "bj-hd")
    assert [tree.units_by_id[u].path for u in ("bj-hd-1", "bj-hd-2")] == [("hq", "sh", "bj-hd", "bj-hd-1"), ("hq", "sh", "bj-hd", "bj-hd-2")]
    assert [(tree.units_by_id[u].openChildren, tree.units_by_id[u].children) for u in ("bj", "sh")] == [(0, 0), (1, 1)]
    assert [(r.action, r.parentId, r.note) for r in tree.history["bj-hd"]][-1] == ("moved", "sh", "restructuring")
    # And a Shanghai operator now sees it, a Beijing one no longer does
    assert "bj-hd-1" in [u.unitId for u in service.subtree_page(tree, op("sh"), None, 100, None)[0]]
    with pytest.raises(NotFound):
        service.detail(tree, op("bj"), "bj-hd-1")


def test_moving_under_its_own_descendant_is_refused_and_changes_nothing(tree: InMemoryOrgStore) -> None:
    commits, before = tree.commits, dict(tree.units_by_id)
    for target in ("bj-hd", "bj-hd-1"):
        with pytest.raises(BusinessRuleViolation) as raised:
            service.move(tree, HQ, "bj-hd", MoveOrgUnit(parentId=target), AT)
        assert code_of(raised) == "ORG_UNIT_CYCLE"
    assert (tree.commits, tree.units_by_id) == (commits, before)


def test_a_subtree_larger_than_a_move_rewrites_is_refused(tree: InMemoryOrgStore) -> None:
    for n in range(model.MAX_MOVED_UNITS):  # the sub-branch and its outlets: one more than a move takes
        create(tree, f"big-{n}", "outlet", "bj-hd")
    with pytest.raises(BusinessRuleViolation) as raised:
        service.move(tree, HQ, "bj-hd", MoveOrgUnit(parentId="sh"), AT)
    assert code_of(raised) == "ORG_MOVE_TOO_LARGE"


def test_closing_needs_no_open_children_and_a_closed_unit_takes_none(tree: InMemoryOrgStore) -> None:
    with pytest.raises(BusinessRuleViolation) as busy:
        service.close(tree, HQ, "bj-hd", CloseOrgUnit(), AT)
    assert code_of(busy) == "ORG_UNIT_HAS_OPEN_CHILDREN"
    for outlet in ("bj-hd-1", "bj-hd-2"):
        service.close(tree, HQ, outlet, CloseOrgUnit(note="merged"), AT)
    closed = service.close(tree, HQ, "bj-hd", CloseOrgUnit(), AT)
    assert (closed.status, closed.closedAt, tree.units_by_id["bj"].openChildren, tree.units_by_id["bj"].children) == ("closed", AT, 0, 1)
    with pytest.raises(BusinessRuleViolation) as refused:
        create(tree, "late", "outlet", "bj-hd")
    assert code_of(refused) == "ORG_PARENT_CLOSED"
    with pytest.raises(BusinessRuleViolation) as moving:
        service.move(tree, HQ, "bj-hd", MoveOrgUnit(parentId="sh"), AT)
    assert code_of(moving) == "ORG_UNIT_CLOSED"


# ---- decided again when something changed meanwhile -------------------------------------------------


def test_a_close_landing_before_a_creation_under_it_refuses_the_creation(tree: InMemoryOrgStore) -> None:
    # Given an outlet about to be created under sh, decided while sh is open
    def close_first(plan: Plan) -> None:
        service.close(tree, HQ, "sh", CloseOrgUnit(), AT)

    tree.before_commit = close_first
    # When the close lands first
    with pytest.raises(BusinessRuleViolation) as raised:
        create(tree, "sh-1", "outlet", "sh")
    # Then the creation, decided again, is refused: the closed unit has no child
    assert code_of(raised) == "ORG_PARENT_CLOSED"
    assert "sh-1" not in tree.units_by_id and tree.units_by_id["sh"].openChildren == 0


def test_a_creation_landing_before_a_close_refuses_the_close(tree: InMemoryOrgStore) -> None:
    def create_first(plan: Plan) -> None:
        create(tree, "sh-1", "outlet", "sh")

    tree.before_commit = create_first
    with pytest.raises(BusinessRuleViolation) as raised:
        service.close(tree, HQ, "sh", CloseOrgUnit(), AT)
    assert code_of(raised) == "ORG_UNIT_HAS_OPEN_CHILDREN"
    assert tree.units_by_id["sh"].status == "open"


def test_a_unit_created_under_a_moving_subtree_moves_with_it(tree: InMemoryOrgStore) -> None:
    # Given an outlet created under the sub-branch while it is being moved
    def create_first(plan: Plan) -> None:
        create(tree, "bj-hd-3", "outlet", "bj-hd")

    tree.before_commit = create_first
    # When the move lands after it
    service.move(tree, HQ, "bj-hd", MoveOrgUnit(parentId="sh"), AT)
    # Then the move was decided again with it: its path is the new one
    assert tree.units_by_id["bj-hd-3"].path == ("hq", "sh", "bj-hd", "bj-hd-3")


def test_a_move_waits_for_the_index_and_gives_up_rather_than_miss_a_unit(tree: InMemoryOrgStore) -> None:
    # Given the index not showing an outlet yet (listed under a parent it is not under)
    outlet = tree.units_by_id["bj-hd-2"]
    tree.index_lag["bj-hd-2"] = dataclasses.replace(outlet, path=("hq", "elsewhere", "bj-hd-2"))
    commits = tree.commits
    # When the sub-branch is moved, the index never catching up
    with pytest.raises(Conflict) as raised:
        service.move(tree, HQ, "bj-hd", MoveOrgUnit(parentId="sh"), AT)
    # Then nothing is written: a move never leaves a unit behind with an old path
    assert code_of(raised) == "VERSION_CONFLICT"
    assert tree.commits == commits
    # And once the index catches up, the move goes through
    tree.index_lag.clear()
    assert service.move(tree, HQ, "bj-hd", MoveOrgUnit(parentId="sh"), AT).path == ("hq", "sh", "bj-hd")


def test_two_moves_that_would_make_a_cycle_are_both_refused(tree: InMemoryOrgStore) -> None:
    # Given a sub-branch under a branch: the sub-branch under its own outlet, the branch under the sub-branch
    commits = tree.commits
    with pytest.raises(BusinessRuleViolation):
        service.move(tree, HQ, "bj-hd", MoveOrgUnit(parentId="bj-hd-1"), AT)
    with pytest.raises(BusinessRuleViolation):
        service.move(tree, HQ, "bj", MoveOrgUnit(parentId="bj-hd"), AT)
    assert tree.commits == commits


def test_the_unknown_branches_report_is_for_the_head_office(tree: InMemoryOrgStore) -> None:
    with pytest.raises(Forbidden) as raised:
        service.unknown_branches(tree, op("bj"), None, 10)
    assert code_of(raised) == "ORG_HEAD_OFFICE_REQUIRED"


# ---- the port -----------------------------------------------------------------------------------------


def test_the_in_memory_port_answers_subtrees_containment_and_branch_codes() -> None:
    units = InMemoryOrgUnits.of(("hq", None, "head_office"), ("bj", "hq", "branch"), ("bj-hd", "bj", "sub_branch"),
                                ("sh", "hq", "branch"), branch_codes={"110000": "bj"})
    assert units.subtree("bj") == {"bj", "bj-hd"}
    assert units.subtree("nowhere") == frozenset()
    assert units.contains("hq", "bj-hd") and units.contains("bj", "bj") and not units.contains("sh", "bj-hd")
    assert not units.contains("hq", "nowhere")
    assert units.unit_for_branch("110000") == "bj" and units.unit_for_branch("999999") is None
    found = units.get("bj-hd")
    assert found is not None and found.path == ("hq", "bj", "bj-hd")


def test_the_port_built_from_the_store_s_units_agrees_with_it(tree: InMemoryOrgStore) -> None:
    units = InMemoryOrgUnits(tree.units_by_id.values())
    assert units.subtree("bj") == {u.unitId for u in service.subtree_page(tree, op("bj"), None, 100, None)[0]}
    assert units.unit_for_branch("310000") == "sh"
