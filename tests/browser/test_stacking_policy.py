"""The stacking policy in the browser: an operator proposes a version as JSON (a version that breaks
the policy's own rules is refused in words and changes nothing), its author cannot approve it, another
approver does, and it is in force. The screens pass axe."""

from __future__ import annotations

import json
from collections.abc import Callable

from tests.browser.conftest import APPROVER, MAKER_CHECKER, Console
from tests.e2e.conftest import RunningSystem

POLICY = "/v1/admin/stacking-policy"


def propose(console: Console, policy: dict[str, object], note: str) -> None:
    page = console.page
    page.get_by_label("规则（JSON）").fill(json.dumps(policy, ensure_ascii=False))
    page.get_by_label("说明（供审批人参考）").fill(note)
    page.get_by_test_id("policy-propose").click()


def test_a_version_is_proposed_refused_when_it_breaks_the_rules_and_approved_by_another(system: RunningSystem,
                                                                                     open_console: Callable[..., Console]) -> None:
    # Given the head office's maker-checker on the stacking policy screen
    maker = open_console(MAKER_CHECKER, sign_in="token")
    maker.goto("/stacking-policy")
    maker.settle("/stacking-policy")
    before = maker.api("GET", POLICY)["body"]
    # When they propose a group that is exclusive and combines with another
    propose(maker, {"groups": {"default": {}, "vip": {"exclusive": True, "combinesWith": ["default"]}}}, "wrong on purpose")
    # Then it is refused in words, and nothing changed
    maker.page.get_by_test_id("api-error").get_by_text("VALIDATION_ERROR").wait_for()
    assert maker.api("GET", POLICY)["body"] == before
    # When they propose a valid version: card coupons stack with anything, VIP coupons stand alone
    policy = {"groups": {"default": {"combinesWith": ["*"]}, "bank-card": {"combinesWith": ["*"], "maxPerOrder": 2},
                         "vip": {"exclusive": True}}, "templateGroups": {"tpl-card-30": "bank-card", "tpl-vip": "vip"}, "maxCoupons": 3}
    propose(maker, policy, "card coupons stack")
    # Then it waits for approval, and its author is told another approver approves it
    pending = maker.page.get_by_test_id("policy-pending")
    pending.get_by_text("这是您提出的版本").wait_for()
    assert pending.get_by_test_id("policy-approve").count() == 0
    assert maker.axe() == []
    version = maker.api("GET", POLICY)["body"]["pending"]["version"]

    # When another approver opens the screen and approves it
    checker = open_console(APPROVER, sign_in="token")
    checker.goto("/stacking-policy")
    checker.page.get_by_test_id("policy-approve").click()
    checker.page.locator(".ant-popconfirm").get_by_role("button", name="确定").click()
    # Then it is in force, with its groups shown, and nothing waits any more
    in_force = checker.page.get_by_test_id("policy-in-force")
    in_force.get_by_text(f"现行版本 v{version}").wait_for()
    in_force.get_by_role("table", name="叠加分组").get_by_text("tpl-card-30").wait_for()
    assert checker.page.get_by_test_id("policy-pending").count() == 0
    assert checker.api("GET", POLICY)["body"]["inForce"]["approvedBy"] == APPROVER["subject"]
    assert checker.axe() == []
    checker.screenshot("stacking-policy")
