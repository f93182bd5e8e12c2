"""Key moments (MOT) in the browser: a head office operator's rule turns a large balance movement of a
customer into a task for the customer's relationship manager; the RM signs in with the development
sign-in, finds the task on their workbench, is told in words (and by its code) that the customer has
not consented to the suggested message, starts the task and completes it as contacted, and sees the
customer in their book. The operator creates a rule from the screen (a pattern that is not one is
refused in words first), pauses it, and reads the first rule's report. The screens pass axe."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.browser.conftest import OPERATOR, Console, unique
from tests.browser.seed import ok, publish
from tests.e2e.conftest import RunningSystem
from tests.support.api import eventually

# The relationship manager the development sign-in offers (infra/local/console.py): not an operator.
RM: dict[str, Any] = {"subject": "rm-sh-pudong-1", "groups": ["relationship-managers"]}
OPERATOR_CALL: dict[str, Any] = {"as_": OPERATOR["subject"], "groups": list(OPERATOR["groups"]), "org": OPERATOR["orgUnit"]}
RULES = "/v1/admin/mot-rules"
WORKBENCH = "/rm"
SCREEN = "/mot-rules"


def yuan(minor: int) -> str:
    """As the console shows an amount of CNY in Chinese (Intl.NumberFormat zh-CN)."""
    return f"¥{minor / 100:,.2f}"


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def rm_get(system: RunningSystem, path: str) -> dict[str, Any]:
    return ok(system.api.call("GET", path, as_=RM["subject"], groups=RM["groups"], org=None))


def a_moment_for_the_rm(system: RunningSystem) -> tuple[dict[str, Any], str, str]:
    """Through the API and the bus: the operator's rule on one account's large movements, a customer
    whose profile names the RM, and a large outflow from that account. The rule, the customer and the task's id."""
    api, account, customer = system.api, unique("a-mot"), unique("c-mot")
    # Given an active rule of the head office's, on large movements of this account, suggesting a WeCom message
    rule = ok(api.call("POST", RULES, **OPERATOR_CALL, body={
        "name": f"Outflow {account}",
        "trigger": {"eventType": "LargeBalanceMovement", "pattern": {"accountId": [account]}},
        "task": {"priority": 1, "slaHours": 24, "talkingPoints": "{customerId} moved {deltaMinor} out of {accountId}: ask what they need",
                 "message": {"channel": "wecom", "content": "您好，有新的存款优惠，方便时聊聊？"}},
        "goal": {"moment": {"eventType": "LargeBalanceMovement", "pattern": {"accountId": [account], "deltaMinor": [{"numeric": [">", 0]}]}},
                 "withinDays": 14},
        "holdoutPercent": 0,
    }))
    assert (rule["status"], rule["version"], rule["orgUnitId"]) == ("active", 1, None), rule  # None: the head office's
    # And a customer whose profile (from core banking, on the bus) names the RM: in the RM's book once it is through
    publish(system, "CustomerProfileChanged", [{"customerId": customer, "changedAt": now(), "relationshipManagerId": RM["subject"],
                                                "aumMinor": 80_000_000, "currency": "CNY"}])
    eventually(lambda: any(c["customerId"] == customer for c in rm_get(system, "/v1/rm/customers")["items"]), timeout_s=30)
    # When core banking publishes a large outflow from the account
    publish(system, "LargeBalanceMovement", [{"customerId": customer, "accountId": account, "deltaMinor": -3_000_000,
                                              "currency": "CNY", "movedAt": now()}])
    # Then the RM has a task for the customer (events flow asynchronously)
    task = eventually(lambda: next((t for t in rm_get(system, "/v1/rm/tasks")["items"] if t["customerId"] == customer), None), timeout_s=30)
    assert (task["state"], task["ruleId"], task["priority"]) == ("open", rule["ruleId"], 1), task
    return rule, customer, str(task["taskId"])


def test_an_rm_works_a_moments_task_on_the_workbench(system: RunningSystem, open_console: Callable[..., Console]) -> None:
    rule, customer, task_id = a_moment_for_the_rm(system)

    # When the RM signs in through the development sign-in page
    rm = open_console(RM, sign_in=None)
    rm.goto("/signin")
    rm.page.get_by_test_id(f"sign-in-{RM['subject']}").click()
    # Then they land on their workbench, and the menu offers them only that
    rm.page.wait_for_url(re.compile(rf"/console{WORKBENCH}$"))
    rm.settle(WORKBENCH)
    menu = rm.page.get_by_role("navigation", name="主导航")
    assert menu.get_by_role("link", name="客户经理工作台").count() == 1
    assert menu.get_by_role("link", name="营销活动").count() == 0 and menu.get_by_role("link", name="客户关键时刻").count() == 0
    assert "客户经理" in rm.page.get_by_test_id("signed-in-as").inner_text()

    # And the task is there, ranked, with what to say and when it is due
    card = rm.page.get_by_test_id(f"task-{task_id}")
    card.wait_for()
    assert card.get_attribute("data-state") == "open"
    assert card.get_by_test_id("task-customer").inner_text() == customer
    assert card.get_by_test_id("task-talking-points").inner_text().startswith(f"{customer} moved -3000000 out of ")
    assert "P1" in card.inner_text() and yuan(80_000_000) in card.inner_text()
    assert re.search(r"\d{4}年\d{1,2}月\d{1,2}日", card.get_by_test_id("task-due").inner_text())
    assert rm.axe() == []
    rm.screenshot("rm-workbench-task")

    # When they send the suggested message to a customer who has not consented to marketing on WeCom
    card.get_by_test_id("task-message").click()
    # Then it is refused in words, with its code, and nothing was sent
    card.get_by_test_id("api-error").get_by_text("NO_CONSENT").wait_for()
    assert "未同意" in card.get_by_test_id("api-error").inner_text()
    assert rm.axe() == []

    # When they start the task
    card.get_by_test_id("task-start").click()
    rm.page.wait_for_function(f"() => document.querySelector('[data-testid=\"task-{task_id}\"]')?.dataset.state === 'in_progress'")
    # And complete it: contacted, with a note
    card.get_by_test_id("task-complete").click()
    dialog = rm.page.get_by_role("dialog")
    dialog.get_by_label("跟进结果").click()
    rm.page.locator(".ant-select-dropdown:visible .ant-select-item-option", has_text="已联系").first.click()
    rm.page.locator(".ant-select-dropdown:visible").wait_for(state="detached")  # closed: its list is not on the page
    dialog.get_by_label("备注").fill("Called: moving the money to a fund, will call back next week")
    assert rm.axe() == []
    dialog.get_by_role("button", name="完成").click()
    dialog.wait_for(state="hidden")
    # Then the task shows done, contacted
    rm.page.wait_for_function(f"() => document.querySelector('[data-testid=\"task-{task_id}\"]')?.dataset.state === 'done'")
    assert card.get_by_test_id("task-state").get_attribute("data-status") == "done"
    assert "已联系" in card.get_by_test_id("task-outcome").inner_text()
    assert card.get_by_test_id("task-start").count() == 0 and card.get_by_test_id("task-complete").count() == 0
    # As the API has it
    (done,) = [t for t in rm_get(system, "/v1/rm/tasks?status=done")["items"] if t["taskId"] == task_id]
    assert (done["outcome"], done["contactedAt"] is not None, done["messageId"]) == ("contacted", True, None), done

    # And the customer is in their book: assets in yuan, the task no longer open, the contact just made
    rm.page.get_by_role("tab", name="我的客户").click()
    rm.page.wait_for_url(re.compile(r"/rm\?tab=book$"))
    rm.settle(WORKBENCH)
    row = rm.page.get_by_role("table", name="我的客户").locator(f'tr[data-row-key="{customer}"]')
    row.wait_for()
    cells = row.locator("td").all_inner_texts()
    assert cells[0] == customer and cells[1] == yuan(80_000_000) and cells[4] == "0" and cells[5] != "—", cells
    assert rm.axe() == []
    rm.screenshot("rm-book-customer")

    # And the operators' screens are not theirs
    rm.navigate(SCREEN)
    rm.page.get_by_text("无权访问").wait_for()

    # When the head office operator opens the rules
    op = open_console(OPERATOR, sign_in="token")
    op.goto(SCREEN)
    op.settle(SCREEN)
    # Then the rule is listed, active, with its moment, priority, SLA, version and org unit
    rules = op.page.get_by_role("table", name="MOT 规则")
    cells = rules.locator(f'tr[data-row-key="{rule["ruleId"]}"] td').all_inner_texts()
    assert cells[:7] == [rule["name"], "大额资金变动", "进行中", "1", "24 小时", "v1", "总行"], cells
    assert op.axe() == []
    # And its report counts the task: created, done within its SLA, contacted, no message
    op.page.get_by_test_id(f"mot-report-{rule['ruleId']}").click()
    report = f"{SCREEN}/{rule['ruleId']}"
    op.page.wait_for_url(re.compile(rf"/console{report}$"))
    op.settle(report)
    totals = op.page.get_by_role("table", name="规则合计").locator('tr[data-row-key="rule:all"] td').all_inner_texts()
    assert totals[:8] == ["全部任务", "1", "1", "1 (100%)", "1", "0", "0", "0 (0%)"], totals
    by_rm = op.page.get_by_role("table", name="按客户经理（含网点队列）")
    by_rm.locator(f'tr[data-row-key="relationship_manager:{RM["subject"]}"]').wait_for()
    assert "已联系 1" in by_rm.inner_text()
    assert op.page.get_by_test_id("mot-uplift").get_by_text("暂无法计算").count() == 1  # no holdout: no uplift
    assert op.axe() == []
    op.screenshot("mot-rule-report")


def test_an_operator_creates_a_rule_on_the_screen_and_pauses_it(system: RunningSystem, open_console: Callable[..., Console]) -> None:
    op = open_console(OPERATOR, sign_in="token")
    op.goto(SCREEN)
    op.settle(SCREEN)
    page = op.page
    name = unique("Maturing")
    # When the operator opens a new rule and types a pattern that is not one
    page.get_by_test_id("mot-new-rule").click()
    drawer = page.get_by_role("dialog")
    drawer.get_by_label("规则名称").fill(name)
    drawer.get_by_label("事件类型").click()
    page.locator(".ant-select-dropdown:visible .ant-select-item-option", has_text="存款即将到期").first.click()
    page.locator(".ant-select-dropdown:visible").wait_for(state="detached")
    drawer.get_by_test_id("mot-rule-pattern").fill('{"productCode": "fixed-3y"}')
    drawer.get_by_test_id("mot-rule-talking-points").fill("{customerId}'s deposit matures soon: offer a renewal")
    drawer.get_by_test_id("mot-rule-save").click()
    # Then it is refused in words, on the field, and nothing is sent
    drawer.get_by_text("pattern.productCode 应为非空列表").wait_for()
    assert all(r["name"] != name for r in op.api("GET", RULES)["body"]["items"])
    assert op.axe() == []
    op.screenshot("mot-rule-new")
    # When the pattern is a list of values
    account = unique("a-mat")
    drawer.get_by_test_id("mot-rule-pattern").fill(json.dumps({"accountId": [account]}))
    drawer.get_by_test_id("mot-rule-save").click()
    drawer.wait_for(state="hidden")
    # Then the rule is listed, active, the head office's (the operator's unit)
    (created,) = [r for r in op.api("GET", RULES)["body"]["items"] if r["name"] == name]
    assert (created["trigger"], created["status"], created["orgUnitId"]) == (
        {"eventType": "DepositMaturing", "pattern": {"accountId": [account]}}, "active", None), created
    row = page.get_by_role("table", name="MOT 规则").locator(f'tr[data-row-key="{created["ruleId"]}"]')
    row.get_by_text("进行中").wait_for()
    # When they pause it
    row.get_by_test_id(f"mot-toggle-{created['ruleId']}").click()
    page.locator(".ant-popconfirm:visible").get_by_role("button", name="确定").click()
    # Then it is paused, as version 2
    row.get_by_text("已暂停").wait_for()
    row.get_by_text("v2").wait_for()
    paused = op.api("GET", f"{RULES}/{created['ruleId']}")["body"]
    assert (paused["status"], paused["version"], paused["task"], paused["trigger"]) == ("paused", 2, created["task"], created["trigger"])
    # (the confirmation fades out first: axe would measure its half-transparent text's contrast)
    page.locator(".ant-popconfirm:visible").wait_for(state="detached")
    assert op.axe() == []
