"""The org tree in the browser: a head office operator creates a branch under the head office and a
sub-branch under it, and closes an outlet, each behind a confirmation; an operator of that branch
then sees only its subtree (another branch is not found to them); the screen passes axe."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.browser.conftest import Console, unique
from tests.e2e.conftest import RunningSystem
from tests.support.org import HEAD_OFFICE, ROOT

HEAD_OFFICE_OPERATOR = {"subject": "op-hq-browser", "groups": ["operators"], "orgUnit": HEAD_OFFICE}


def ensure_head_office(console: Console) -> None:
    answer = console.api("POST", ROOT, {"unitId": HEAD_OFFICE, "kind": "head_office", "name": "总行"})
    assert answer["status"] == 201 or answer["body"]["error"]["code"] in ("ORG_ROOT_EXISTS", "ORG_UNIT_EXISTS"), answer


def create_under(console: Console, parent: str, unit_id: str, name: str, kind: str) -> None:
    """Through the screen: the parent's card, "new unit under it", the form, then the confirmation."""
    page = console.page
    console.goto(f"/org-units?unit={parent}")
    page.get_by_test_id("org-new-child").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_label("机构编号").fill(unit_id)
    dialog.get_by_label("名称").fill(name)
    dialog.get_by_label("层级").click()  # the first kind the parent allows is chosen: say which one
    page.locator(".ant-select-item-option", has_text=kind).first.click()
    dialog.get_by_role("button", name="确认创建").click()
    dialog.wait_for(state="hidden")
    page.get_by_test_id(f"org-node-{unit_id}").wait_for()
    page.get_by_test_id("org-unit").get_by_text(unit_id, exact=True).wait_for()  # the new unit's card


def test_a_head_office_operator_builds_a_branch_and_its_operator_sees_only_its_subtree(
        system: RunningSystem, open_console: Callable[..., Console]) -> None:
    # Given the head office, and another branch made through the API
    head = open_console(HEAD_OFFICE_OPERATOR, sign_in="token")
    head.goto("/org-units")
    ensure_head_office(head)
    other = unique("br-other")
    assert head.api("POST", ROOT, {"unitId": other, "kind": "branch", "name": "广州分行", "parentId": HEAD_OFFICE})["status"] == 201
    # When the head office operator creates a branch under the head office, and a sub-branch under it, on the screen
    branch, sub = unique("br"), unique("sub")
    create_under(head, HEAD_OFFICE, branch, "北京分行", "分行")
    create_under(head, branch, sub, "海淀支行", "支行")
    # Then both are in the tree, the sub-branch under the branch, with its version kept
    found: dict[str, Any] = head.api("GET", f"{ROOT}/{sub}")["body"]
    assert (found["parentId"], found["kind"], found["createdBy"]) == (branch, "sub_branch", "op-hq-browser")
    assert [a["unitId"] for a in found["ancestors"]] == [HEAD_OFFICE, branch]
    head.page.get_by_role("table", name="变更记录").get_by_text("新建").wait_for()
    # And the unit's cash-need forecast is shown under it, with the rates it used
    head.page.get_by_test_id("org-forecast").get_by_role("table", name="所用比率").wait_for()
    head.page.get_by_test_id("chart-forecast").wait_for()
    assert head.axe() == []
    head.screenshot("org-units")
    # And an outlet under the sub-branch is closed behind a confirmation, and the change is its next version
    outlet = unique("out")
    assert head.api("POST", ROOT, {"unitId": outlet, "kind": "outlet", "name": "中关村网点", "parentId": sub})["status"] == 201
    head.goto(f"/org-units?unit={outlet}")
    head.page.get_by_test_id("org-close").click()
    head.page.locator(".ant-popconfirm").get_by_role("button", name="确定").click()
    head.page.get_by_test_id("org-unit").locator("[data-status=closed]").wait_for()
    head.page.get_by_role("table", name="变更记录").get_by_text("关闭").wait_for()
    assert head.api("GET", f"{ROOT}/{outlet}")["body"]["version"] == 2

    # When an operator of the branch signs in
    operator = open_console({"subject": "op-br-browser", "groups": ["operators"], "orgUnit": branch}, sign_in="token")
    operator.goto("/org-units")
    page = operator.page
    page.get_by_test_id(f"org-node-{sub}").wait_for()
    # Then they see their branch and what is under it, and nothing else
    assert page.get_by_test_id("signed-in-org-unit").inner_text() == f"机构 {branch}"
    shown = page.locator("[data-testid^=org-node-]").evaluate_all("nodes => nodes.map(n => n.dataset.testid)")
    assert sorted(shown) == sorted([f"org-node-{branch}", f"org-node-{sub}", f"org-node-{outlet}"])
    # And their own unit is changed from above: no move or close there; another branch is not found
    page.get_by_text("这是您所在的机构").wait_for()
    operator.goto(f"/org-units?unit={other}")
    page.get_by_test_id("api-error").get_by_text("ORG_UNIT_NOT_FOUND").wait_for()
    assert operator.api("GET", f"{ROOT}/{other}")["status"] == 404
    assert operator.axe() == []
    operator.screenshot("org-units-branch")


def test_an_operator_without_an_org_unit_is_told_so(system: RunningSystem, open_console: Callable[..., Console]) -> None:
    console = open_console({"subject": "op-nowhere", "groups": ["operators"]}, sign_in="token")
    console.goto("/org-units")
    console.page.get_by_text("您的账号没有所属机构").wait_for()
    assert console.api("GET", ROOT)["body"]["error"]["code"] == "ORG_UNIT_REQUIRED"
    assert console.axe() == []


def test_a_head_office_operator_allocates_part_of_a_pool_to_a_branch(system: RunningSystem, open_console: Callable[..., Console]) -> None:
    # Given the head office's pool of 100 rewards for a year, and a branch under it
    head = open_console(HEAD_OFFICE_OPERATOR, sign_in="token")
    head.goto("/org-units")
    ensure_head_office(head)
    created = head.api("POST", f"{ROOT}/{HEAD_OFFICE}/pools", {"period": "2098", "unit": "rewards", "allocation": 100})
    assert created["status"] == 201 or created["body"]["error"]["code"] == "POOL_EXISTS", created
    branch = unique("br-pool")
    assert head.api("POST", ROOT, {"unitId": branch, "kind": "branch", "name": "深圳分行", "parentId": HEAD_OFFICE})["status"] == 201
    # When the head office operator allocates 7 of it to the branch on the screen, behind a confirmation
    page = head.page
    head.goto(f"/org-units?unit={HEAD_OFFICE}")
    pools = page.get_by_test_id("org-pools")
    pools.get_by_label("预算池").click()
    page.locator(".ant-select-item-option", has_text="2098.rewards").first.click()
    form = pools.get_by_test_id("org-pool-allocate")
    form.get_by_label("下拨给").click()
    page.locator(".ant-select-item-option", has_text=branch).first.click()
    form.get_by_label("权益份数").fill("7")
    form.get_by_role("button", name="下拨").click()
    page.locator(".ant-popconfirm").get_by_role("button", name="确定").click()
    # Then the branch holds 7 of the pool, as the roll-up shows
    rollup = pools.get_by_role("table", name="逐级汇总")
    rollup.locator("tr", has_text=branch).get_by_text("7", exact=True).first.wait_for()
    branch_pool = head.api("GET", f"{ROOT}/{branch}/pools/2098.rewards")["body"]["pool"]
    assert branch_pool["allocation"] == 7
    # And more than the head office has left is refused in words, and changes nothing
    form.get_by_label("下拨给").click()
    page.locator(".ant-select-item-option", has_text=branch).first.click()
    form.get_by_label("权益份数").fill("100000")
    form.get_by_role("button", name="下拨").click()
    page.locator(".ant-popconfirm").get_by_role("button", name="确定").click()
    pools.get_by_test_id("api-error").get_by_text("POOL_INSUFFICIENT").wait_for()
    assert head.api("GET", f"{ROOT}/{branch}/pools/2098.rewards")["body"]["pool"]["allocation"] == 7
    assert head.axe() == []
