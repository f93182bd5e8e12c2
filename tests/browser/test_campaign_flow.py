"""The issue's flow, in a real browser: an operator builds a campaign from a template; an approver
signs in, finds it in the inbox and approves it; the bank's events are published, the report's
charts show the grants; the kill switch pauses it."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from tests.browser.builder import build_from_template
from tests.browser.conftest import APPROVER, OPERATOR, Console, unique
from tests.browser.seed import coupon_template, publish
from tests.e2e.conftest import RunningSystem
from tests.support.api import eventually

CUSTOMERS = ["c-001", "c-002", "c-003", "c-004"]  # the demo bank's, with profiles


def card_payment(customer: str, amount_minor: int) -> dict[str, Any]:
    return {"transactionId": unique("tx"), "customerId": customer, "amountMinor": amount_minor, "currency": "CNY", "merchantId": "m-browser",
            "mcc": "5812", "channel": "pos", "postedAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")}


def test_template_campaign_approved_reported_and_paused(system: RunningSystem, open_console: Callable[..., Console]) -> None:
    template = unique("tpl-flow")
    coupon_template(system.api, template)
    campaign_id = unique("camp-flow")

    # An operator builds it from the "spend X get a coupon" template and submits it
    operator = open_console(OPERATOR)
    build_from_template(operator, campaign_id, template)
    operator.screenshot("campaign-builder-review")
    operator.page.get_by_test_id("save-submit").click()
    operator.page.wait_for_url(re.compile(f"/console/campaigns/{campaign_id}$"))
    operator.page.locator("[data-status=pending_approval]").first.wait_for()
    # The maker has no approve button at all: approving takes the approvers group
    assert operator.page.get_by_test_id("action-approve").count() == 0

    # An approver signs in, finds it in the inbox with what changed, and approves it with a note
    approver = open_console(APPROVER)
    approver.goto("/approvals")
    card = approver.page.get_by_test_id(f"inbox-{campaign_id}")
    card.wait_for()
    card.get_by_role("button", name="与上次批准版本的差异").click()
    card.get_by_test_id("diff-first").wait_for()
    approver.screenshot("approval-inbox")
    card.get_by_test_id("action-approve").click()
    approver.page.locator("#note-approve").fill("条款已审核，符合消费者权益保护要求")
    approver.page.get_by_test_id("confirm-approve").click()
    card.wait_for(state="detached")
    approver.goto(f"/campaigns/{campaign_id}")
    approver.page.locator("[data-status=active]").first.wait_for()

    # The bank's card payments arrive on the bus: four qualify, one is too small
    publish(system, "CardTransactionPosted", [card_payment(c, 150_000) for c in CUSTOMERS] + [card_payment("c-001", 5_000)])

    # The report's charts show the grants (it follows them as they come)
    operator.goto(f"/campaigns/{campaign_id}/report")
    granted = operator.page.get_by_test_id("total-granted").locator(".ant-statistic-content-value")
    eventually(lambda: granted.inner_text().strip() == str(len(CUSTOMERS)), timeout_s=40, interval_s=0.5)
    for chart in ("chart-arms", "chart-uplift", "chart-burn", "chart-periods"):
        operator.page.get_by_test_id(chart).locator("svg").first.wait_for()
    arms = operator.page.get_by_role("table", name="各方案发放、通知与核销")
    assert "main" in arms.inner_text()
    operator.screenshot("campaign-report")
    # And the CSV export holds the same figures
    with operator.page.expect_download() as download:
        operator.page.get_by_test_id("export-csv").click()
    csv = download.value.path().read_text(encoding="utf-8-sig")
    assert f"main,{len(CUSTOMERS)},{len(CUSTOMERS)}" in csv, csv

    # The kill switch: paused behind a confirmation, and the API says so
    operator.goto(f"/campaigns/{campaign_id}")
    operator.page.get_by_test_id("action-pause").click()
    operator.page.locator("#note-pause").fill("投诉升级，先暂停")
    operator.page.get_by_test_id("confirm-pause").click()
    # Paused, or the API's refusal in the dialog (said, so a failure names its cause); the whole
    # suite shares two cores, so the answer is given longer than one screen's default
    operator.page.locator("[data-status=paused], .ant-modal [data-testid=api-error]").first.wait_for(timeout=30_000)
    refusal = operator.page.locator(".ant-modal").get_by_test_id("api-error")
    assert refusal.count() == 0, refusal.first.inner_text()
    operator.page.locator("[data-status=paused]").first.wait_for()
    answer = operator.api("GET", f"/v1/admin/campaigns/{campaign_id}")
    assert (answer["status"], answer["body"]["status"], answer["body"]["pausedReason"]) == (200, "paused", "operator"), json.dumps(answer)
    operator.screenshot("campaign-paused")
