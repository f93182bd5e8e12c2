"""The org tree through the API against the local cloud: its rules, each refused without a change; the
operator's scope (their subtree; 404 outside it, 403 without an org unit); versions and the audit log;
branch ids that map to no unit; and its writes under real concurrency (threads)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests

from infra.local.cloud import LocalCloud
from loyalty.org.store import DynamoOrgStore
from tests.support import org
from tests.support import scoring as scr
from tests.support.api import Api
from tests.support.org import HQ, ROOT, error_code, operator, unique


@pytest.fixture(scope="module", autouse=True)
def head_office(api: Api) -> str:
    return org.ensure_head_office(api)


def at_once(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Every call on its own thread, released together."""
    barrier = threading.Barrier(len(calls))

    def run(call: Callable[[], requests.Response]) -> requests.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def snapshot(api: Api, unit_id: str) -> tuple[Any, ...]:
    """What a refused call must leave as it was: the unit, its children and its versions."""
    unit = org.get(api, unit_id)
    versions = api.call("GET", f"{ROOT}/{unit_id}/versions", **HQ).json()["items"]
    return unit, [v["version"] for v in versions]


# ---- the tree, versioned and audited -------------------------------------------------------------------


def test_a_branch_and_a_sub_branch_are_created_read_listed_and_versioned(api: Api) -> None:
    # Given a branch under the head office, with a branch code
    code = unique("code")
    branch = org.branch(api, branchCode=code)
    # When a sub-branch and an outlet are created under it
    sub = org.create(api, unique("sub"), "sub_branch", branch)["unitId"]
    outlet = org.create(api, unique("out"), "outlet", sub)["unitId"]
    # Then the sub-branch reads with its ancestors and its children
    found = org.get(api, sub)
    assert (found["kind"], found["parentId"], found["depth"], found["version"], found["status"]) == ("sub_branch", branch, 2, 1, "open")
    assert [a["unitId"] for a in found["ancestors"]] == ["hq", branch]
    assert [c["unitId"] for c in found["children"]] == [outlet]
    assert (found["openChildren"], found["childCount"]) == (1, 1)
    # And the branch's subtree lists depth first
    assert [u["unitId"] for u in org.subtree(api, branch)] == [branch, sub, outlet]
    # And a rename is a new version, kept with the first
    renamed = api.call("PUT", f"{ROOT}/{sub}", body={"name": "海淀支行", "version": 1}, **HQ)
    assert renamed.status_code == 200 and renamed.json()["version"] == 2
    versions = api.call("GET", f"{ROOT}/{sub}/versions", **HQ).json()["items"]
    assert [(v["version"], v["action"], v["name"]) for v in versions] == [(2, "edited", "海淀支行"), (1, "created", sub.upper())]


def test_every_change_is_in_the_audit_log_with_the_state_before(api: Api) -> None:
    branch = org.branch(api)
    sub = org.create(api, unique("sub"), "sub_branch", branch)["unitId"]
    assert api.call("PUT", f"{ROOT}/{sub}", body={"name": "Renamed"}, **HQ).status_code == 200
    entries = api.call("GET", f"/v1/admin/audit?resource=org-units/{sub}", **HQ).json()["items"]
    phases = {(e["route"], e["phase"]) for e in entries}
    assert phases == {("PUT /v1/admin/org-units/{unitId}", "requested"), ("PUT /v1/admin/org-units/{unitId}", "completed")}
    requested = next(e for e in entries if e["phase"] == "requested")
    assert requested["who"] == "op-hq" and '"version":1' in requested["before"]


def test_a_retry_with_the_same_key_is_answered_as_the_first(api: Api) -> None:
    branch, unit_id = org.branch(api), unique("out")
    body = {"unitId": unit_id, "kind": "outlet", "name": "Outlet", "parentId": branch}
    first = api.call("POST", ROOT, body=body, idempotency_key=f"k-{unit_id}", **HQ)
    again = api.call("POST", ROOT, body=body, idempotency_key=f"k-{unit_id}", **HQ)
    assert (first.status_code, again.status_code, again.headers.get("Idempotent-Replayed")) == (201, 201, "true")
    assert again.json() == first.json()


# ---- the rules: refused, and nothing changes -------------------------------------------------------------


def test_one_head_office_only(api: Api) -> None:
    response = api.call("POST", ROOT, body={"unitId": "hq-2", "kind": "head_office", "name": "Second"}, **operator("hq-2"))
    assert (response.status_code, error_code(response)) == (409, "ORG_ROOT_EXISTS")
    assert api.call("GET", f"{ROOT}/hq-2", **HQ).status_code == 404


@pytest.mark.parametrize(("kind", "code"), [("branch", "ORG_KIND_ORDER"), ("head_office", "ORG_KIND_ORDER")])
def test_kinds_nest_in_order(api: Api, kind: str, code: str) -> None:
    branch = org.branch(api)
    before = snapshot(api, branch)
    response = api.call("POST", ROOT, body={"unitId": unique("x"), "kind": kind, "name": "X", "parentId": branch}, **HQ)
    assert (response.status_code, error_code(response)) == (422, code)
    assert snapshot(api, branch) == before


def test_moving_a_unit_under_its_own_descendant_is_refused(api: Api) -> None:
    branch = org.branch(api)
    sub = org.create(api, unique("sub"), "sub_branch", branch)["unitId"]
    outlet = org.create(api, unique("out"), "outlet", sub)["unitId"]
    before = (snapshot(api, sub), snapshot(api, outlet))
    for target in (sub, outlet):
        response = api.call("POST", f"{ROOT}/{sub}/move", body={"parentId": target}, **HQ)
        assert (response.status_code, error_code(response)) == (422, "ORG_UNIT_CYCLE")
    assert (snapshot(api, sub), snapshot(api, outlet)) == before


def test_a_unit_with_open_children_is_not_closed_and_a_closed_one_takes_none(api: Api) -> None:
    branch = org.branch(api)
    sub = org.create(api, unique("sub"), "sub_branch", branch)["unitId"]
    outlet = org.create(api, unique("out"), "outlet", sub)["unitId"]
    before = snapshot(api, sub)
    busy = api.call("POST", f"{ROOT}/{sub}/close", body={}, **HQ)
    assert (busy.status_code, error_code(busy)) == (422, "ORG_UNIT_HAS_OPEN_CHILDREN")
    assert snapshot(api, sub) == before
    assert api.call("POST", f"{ROOT}/{outlet}/close", body={"note": "merged"}, **HQ).status_code == 200
    closed = api.call("POST", f"{ROOT}/{sub}/close", body={"version": 1}, **HQ)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    late = api.call("POST", ROOT, body={"unitId": unique("late"), "kind": "outlet", "name": "Late", "parentId": sub}, **HQ)
    assert (late.status_code, error_code(late)) == (422, "ORG_PARENT_CLOSED")
    assert org.get(api, sub)["childCount"] == 1


def test_a_branch_code_maps_one_unit(api: Api) -> None:
    code = unique("code")
    org.branch(api, branchCode=code)
    response = api.call("POST", ROOT, body={"unitId": unique("br"), "kind": "branch", "name": "B", "parentId": "hq", "branchCode": code}, **HQ)
    assert (response.status_code, error_code(response)) == (409, "ORG_BRANCH_CODE_TAKEN")


# ---- scope -------------------------------------------------------------------------------------------


def test_a_branch_operator_sees_and_changes_only_their_subtree(api: Api) -> None:
    # Given two branches, each with a sub-branch, and an operator of the first
    mine, theirs = org.branch(api), org.branch(api)
    my_sub = org.create(api, unique("sub"), "sub_branch", mine)["unitId"]
    their_sub = org.create(api, unique("sub"), "sub_branch", theirs)["unitId"]
    me = operator(mine, "op-mine")
    # When they list: their branch and what is under it
    assert [u["unitId"] for u in org.subtree(api, who=me)] == [mine, my_sub]
    # Then the other branch and its units are 404, to read, list under, change, or create or move under
    for method, path, body in (("GET", f"{ROOT}/{theirs}", None), ("GET", f"{ROOT}/{their_sub}", None),
                               ("GET", f"{ROOT}?under={theirs}", None), ("GET", f"{ROOT}/{their_sub}/versions", None),
                               ("PUT", f"{ROOT}/{their_sub}", {"name": "Mine now"}),
                               ("POST", f"{ROOT}/{their_sub}/close", {}),
                               ("POST", ROOT, {"unitId": unique("x"), "kind": "outlet", "name": "X", "parentId": their_sub}),
                               ("POST", f"{ROOT}/{my_sub}/move", {"parentId": theirs})):
        response = api.call(method, path, body=body, **me)
        assert response.status_code == 404, (method, path, response.text)
    # And their own branch is changed from above only; under it, they work
    own = api.call("PUT", f"{ROOT}/{mine}", body={"name": "Mine"}, **me)
    assert (own.status_code, error_code(own)) == (403, "ORG_OWN_UNIT")
    assert org.create(api, unique("out"), "outlet", my_sub, who=me)["parentId"] == my_sub
    # And their ancestors stop at their own unit
    assert [a["unitId"] for a in org.get(api, my_sub, who=me)["ancestors"]] == [mine]


@pytest.mark.parametrize(("unit", "code"), [(None, "ORG_UNIT_REQUIRED"), ("nowhere-at-all", "ORG_UNIT_UNKNOWN")])
def test_a_token_without_a_known_org_unit_is_refused_on_every_org_route(api: Api, unit: str | None, code: str) -> None:
    who = operator(unit)
    for method, path, body in (("GET", ROOT, None), ("GET", f"{ROOT}/hq", None), ("GET", f"{ROOT}/unknown-branches", None),
                               ("POST", ROOT, {"unitId": unique("x"), "kind": "branch", "name": "X", "parentId": "hq"})):
        response = api.call(method, path, body=body, **who)
        assert (response.status_code, error_code(response)) == (403, code), (method, path)


def test_operators_group_is_still_required(api: Api) -> None:
    response = api.call("GET", ROOT, as_="c-someone", org="hq")
    assert (response.status_code, error_code(response)) == (403, "OPERATOR_REQUIRED")


# ---- branch ids no unit maps ---------------------------------------------------------------------------


def test_branch_ids_on_profiles_that_map_to_no_unit_are_reported(cloud: LocalCloud, api: Api) -> None:
    # Given customers of a mapped branch and of a branch id no unit has
    mapped, stray = unique("code"), unique("stray")
    org.branch(api, branchCode=mapped)
    for branch_id in (mapped, stray, stray):
        scr.put_profile(cloud, unique("c"), branchId=branch_id)
    # When the head office reads the report, page after page
    unknown: dict[str, int] = {}
    cursor: str | None = None
    while True:
        page = api.call("GET", f"{ROOT}/unknown-branches?limit=200" + (f"&cursor={cursor}" if cursor else ""), **HQ)
        assert page.status_code == 200, page.text
        for item in page.json()["items"]:
            unknown[item["branchId"]] = unknown.get(item["branchId"], 0) + item["customers"]
        cursor = page.json()["nextCursor"]
        if cursor is None:
            break
    # Then the stray branch id is reported with its customers, the mapped one is not
    assert unknown.get(stray) == 2 and mapped not in unknown
    # And a branch's operator may not read it
    denied = api.call("GET", f"{ROOT}/unknown-branches", **operator(org.branch(api)))
    assert (denied.status_code, error_code(denied)) == (403, "ORG_HEAD_OFFICE_REQUIRED")


# ---- under concurrency (threads) -----------------------------------------------------------------------


def create_call(api: Api, unit_id: str, kind: str, parent: str) -> Callable[[], requests.Response]:
    return lambda: api.call("POST", ROOT, body={"unitId": unit_id, "kind": kind, "name": unit_id, "parentId": parent}, **HQ)


@pytest.mark.parametrize("round_", range(3))
def test_units_created_under_a_unit_being_closed_never_leave_it_closed_with_children(api: Api, round_: int) -> None:
    # Given a sub-branch
    sub = org.create(api, unique("sub"), "sub_branch", org.branch(api))["unitId"]
    # When six outlets are created under it while it is closed, all at once
    outlets = [unique("out") for _ in range(6)]
    answers = at_once([*(create_call(api, o, "outlet", sub) for o in outlets),
                       lambda: api.call("POST", f"{ROOT}/{sub}/close", body={}, **HQ)])
    created, close = [a for a in answers[:-1] if a.status_code == 201], answers[-1]
    # Then either it closed and no outlet was created, or the close was refused and every creation counts
    unit = org.get(api, sub)
    if close.status_code == 200:
        assert created == [] and unit["status"] == "closed" and unit["childCount"] == 0
        assert all(error_code(a) == "ORG_PARENT_CLOSED" for a in answers[:-1])
    else:
        assert error_code(close) == "ORG_UNIT_HAS_OPEN_CHILDREN" and unit["status"] == "open"
        assert unit["childCount"] == unit["openChildren"] == len(created) > 0
    assert sorted(c["unitId"] for c in unit["children"]) == sorted(a.json()["unitId"] for a in created)


def test_units_created_under_a_moving_sub_branch_always_carry_its_current_path(api: Api) -> None:
    # Given a sub-branch moving back and forth between two branches
    first, second = org.branch(api), org.branch(api)
    sub = org.create(api, unique("sub"), "sub_branch", first)["unitId"]

    def moves() -> requests.Response:
        last = None
        for target in (second, first, second, first):
            last = api.call("POST", f"{ROOT}/{sub}/move", body={"parentId": target}, **HQ)
            assert last.status_code == 200, last.text
        assert last is not None
        return last

    # When outlets are created under it meanwhile
    outlets = [unique("out") for _ in range(6)]
    answers = at_once([moves, *(create_call(api, o, "outlet", sub) for o in outlets)])
    assert all(a.status_code == 201 for a in answers[1:]), [a.text for a in answers[1:]]
    # Then every outlet's path is the sub-branch's, wherever it ended, and the counters agree
    store = DynamoOrgStore()
    moved = store.unit(sub)
    assert moved is not None and moved.parentId == first and moved.version == 5
    assert {o: store.unit(o).path for o in outlets} == {o: (*moved.path, o) for o in outlets}  # type: ignore[union-attr]
    assert (moved.children, moved.openChildren) == (6, 6)
    assert [(org.get(api, b)["childCount"]) for b in (first, second)] == [1, 0]
    assert {u["unitId"] for u in org.subtree(api, sub)} == {sub, *outlets}


def test_of_two_moves_based_on_one_version_exactly_one_lands(api: Api) -> None:
    # Given a sub-branch at version 1, and two other branches
    home, east, west = org.branch(api), org.branch(api), org.branch(api)
    sub = org.create(api, unique("sub"), "sub_branch", home)["unitId"]
    # When two operators move it at once, each from version 1
    answers = at_once([lambda: api.call("POST", f"{ROOT}/{sub}/move", body={"parentId": east, "version": 1}, **HQ),
                       lambda: api.call("POST", f"{ROOT}/{sub}/move", body={"parentId": west, "version": 1}, **HQ)])
    # Then one lands, the other is a version conflict, and the branches count one child between them
    assert sorted(a.status_code for a in answers) == [200, 409]
    assert error_code(next(a for a in answers if a.status_code == 409)) == "VERSION_CONFLICT"
    winner = next(a for a in answers if a.status_code == 200).json()["parentId"]
    assert org.get(api, sub)["parentId"] == winner and org.get(api, sub)["version"] == 2
    assert [org.get(api, b)["childCount"] for b in (home, east, west)] == [0, int(winner == east), int(winner == west)]


def test_two_moves_that_would_together_make_a_cycle_never_do(api: Api) -> None:
    # Given two sub-branches under one branch, each with an outlet
    branch = org.branch(api)
    left, right = (org.create(api, unique(side), "sub_branch", branch)["unitId"] for side in ("l", "r"))
    # When each is moved under the other at once
    answers = at_once([lambda: api.call("POST", f"{ROOT}/{left}/move", body={"parentId": right}, **HQ),
                       lambda: api.call("POST", f"{ROOT}/{right}/move", body={"parentId": left}, **HQ)])
    # Then neither lands (a sub-branch never goes under a sub-branch), and both stay where they were
    assert [a.status_code for a in answers] == [422, 422]
    assert [org.get(api, u)["parentId"] for u in (left, right)] == [branch, branch]
