"""Every screen shows only the signed-in operator's subtree: two branches' operators each see their
own coupon templates in the list, and another branch's template is not found to them, as it is not
to the API; the head office sees both. The screens pass axe."""

from __future__ import annotations

from collections.abc import Callable

from tests.browser.conftest import Console, unique
from tests.browser.test_org_units import HEAD_OFFICE_OPERATOR, ensure_head_office
from tests.e2e.conftest import RunningSystem
from tests.support.coupons import template_body
from tests.support.org import HEAD_OFFICE, ROOT


def listed_templates(console: Console) -> set[str]:
    console.goto("/coupons")
    console.page.locator(".ant-table-row").first.wait_for()
    ids = console.page.locator(".ant-table-row").evaluate_all("rows => rows.map(r => r.dataset.rowKey)")
    return set(ids)


def test_two_branches_operators_each_see_only_their_own_templates(system: RunningSystem, open_console: Callable[..., Console]) -> None:
    # Given two branches, and a coupon template of each made by the head office
    head = open_console(HEAD_OFFICE_OPERATOR, sign_in="token")
    head.goto("/coupons")
    ensure_head_office(head)
    branches = [unique("br-a"), unique("br-b")]
    templates = {}
    for branch in branches:
        assert head.api("POST", ROOT, {"unitId": branch, "kind": "branch", "name": branch, "parentId": HEAD_OFFICE})["status"] == 201
        template_id = unique("tpl")
        created = head.api("POST", "/v1/admin/coupon-templates", {**template_body(template_id=template_id), "orgUnitId": branch})
        assert created["status"] == 201, created
        templates[branch] = template_id
    # When each branch's operator signs in and opens the coupon templates
    for mine, theirs in (branches, branches[::-1]):
        operator = open_console({"subject": f"op-{mine}", "groups": ["operators"], "orgUnit": mine}, sign_in="token")
        shown = listed_templates(operator)
        # Then their own branch's template is listed, and the other branch's is not
        assert templates[mine] in shown and templates[theirs] not in shown
        # And the other branch's template is not found on its own page, as through the API
        operator.goto(f"/coupons/{templates[theirs]}")
        operator.page.get_by_test_id("api-error").get_by_text("TEMPLATE_NOT_FOUND").wait_for()
        assert operator.api("GET", f"/v1/admin/coupon-templates/{templates[theirs]}")["status"] == 404
        assert operator.axe() == []
    # And the head office sees both
    assert set(templates.values()) <= listed_templates(head)
    head.screenshot("coupons-head-office")
