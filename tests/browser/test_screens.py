"""Every screen, as an operator who is also an approver sees it (and the relationship manager's
workbench, as an RM sees it): no serious or critical axe violation, and a screenshot of each into
tests/browser/screenshots/ (CI keeps the folder)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import APPROVER, Console, unique
from tests.browser.conftest import SCREENSHOTS as SCREENSHOTS_DIR
from tests.browser.seed import OPS, coupon_template, demo_programme, ok
from tests.browser.test_bad_input import submitted_campaign
from tests.e2e.conftest import RunningSystem


@pytest.fixture(scope="module")
def data(system: RunningSystem) -> dict[str, str]:
    template = unique("tpl-screens")
    coupon_template(system.api, template)
    voucher = unique("tpl-voucher")
    coupon_template(system.api, voucher, kind="voucher_code")
    campaign = submitted_campaign(system.api, {"subject": "op-alice", "groups": ["operators"]}, template)
    mot_rule = ok(system.api.call("POST", "/v1/admin/mot-rules", body={
        "name": "Deposit maturing: offer a renewal", "trigger": {"eventType": "DepositMaturing"},
        "task": {"priority": 2, "slaHours": 48, "talkingPoints": "{customerId}'s deposit matures soon: offer a renewal"},
        "goal": {"moment": {"eventType": "DepositBalanceChanged"}, "withinDays": 30}, "holdoutPercent": 10}, **OPS))["ruleId"]
    return {**demo_programme(system), "template": template, "voucher": voucher, "campaign": campaign, "motRule": mot_rule}


def screens(data: dict[str, str]) -> list[tuple[str, str]]:
    return [
        ("home", "/"),
        ("campaigns", "/campaigns"),
        ("campaign-new", "/campaigns/new"),
        ("campaign", f"/campaigns/{data['campaign']}"),
        ("campaign-report-empty", f"/campaigns/{data['campaign']}/report"),
        ("approvals", "/approvals"),
        ("coupons", "/coupons"),
        ("coupon-new", "/coupons/new"),
        ("coupon-template", f"/coupons/{data['voucher']}"),
        ("points-rules", "/points/rules"),
        ("points-ladder", "/points/ladder"),
        ("points-catalogue", "/points/catalogue"),
        ("points-holds", "/points/holds"),
        ("points-liability", "/points/liability"),
        ("segments", "/segments"),
        ("segment", f"/segments/{data['segment']}"),
        ("segment-new", "/segments/new"),
        ("customers", "/customers"),
        ("customer-360", "/customers/c-001"),
        ("audit", "/audit"),
        ("reconciliation", "/reconciliation"),
        ("stacking-policy", "/stacking-policy"),
        ("checkout-inspector", "/checkout-sessions"),
        ("org-units", "/org-units"),
        ("mot-rules", "/mot-rules"),
        ("mot-rule-report-empty", f"/mot-rules/{data['motRule']}"),
    ]


# The relationship manager's screens, as the development sign-in's RM sees them (not an operator).
RM_SCREENS = [("rm-tasks", "/rm"), ("rm-book", "/rm?tab=book")]


def test_every_screen_is_accessible_and_screenshotted(data: dict[str, str], open_console: Callable[..., Console]) -> None:
    console = open_console(APPROVER, sign_in="token")
    found: dict[str, list[dict[str, Any]]] = {}
    shots: list[Path] = []
    console.goto("/")
    for name, path in screens(data):
        console.navigate(path)
        console.settle(path)
        shots.append(console.screenshot(name))
        violations = console.axe()
        if violations:
            found[name] = violations
    # The sign-in page, signed out
    console.page.get_by_role("button", name="退出").click()
    console.page.wait_for_url(re.compile(r"/console/signin$"))
    console.page.locator("[data-testid^=sign-in-]").first.wait_for()
    console.page.wait_for_function("() => document.title.startsWith('登录')")
    shots.append(console.screenshot("sign-in"))
    if violations := console.axe():
        found["sign-in"] = violations
    (SCREENSHOTS_DIR / "axe.json").write_text(json.dumps(found, indent=1, ensure_ascii=False), encoding="utf-8")
    assert found == {}, found
    assert all(shot.stat().st_size > 10_000 for shot in shots)


def test_the_relationship_managers_screens_are_accessible(open_console: Callable[..., Console]) -> None:
    console = open_console({"subject": "rm-sh-pudong-1", "groups": ["relationship-managers"]}, sign_in="token")
    console.goto("/")
    found: dict[str, list[dict[str, Any]]] = {}
    for name, path in RM_SCREENS:
        console.navigate(path)
        console.settle(path)
        console.screenshot(name)
        if violations := console.axe():
            found[name] = violations
    assert found == {}, found


def test_the_console_speaks_english_on_request(data: dict[str, str], open_console: Callable[..., Console]) -> None:
    console = open_console(APPROVER, sign_in="token")
    console.goto("/")
    console.page.get_by_text("English", exact=True).click()
    console.page.get_by_role("heading", name="Today", exact=True).wait_for()
    assert console.page.evaluate("document.documentElement.lang") == "en"
    console.goto(f"/campaigns/{data['campaign']}")
    console.page.get_by_role("button", name="Approve").wait_for()
    console.screenshot("campaign-en")
    assert console.axe() == []
