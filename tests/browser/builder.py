"""Driving the campaign builder as an operator does: step by step, through its labelled fields."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.browser.conftest import TIME_ZONE, Console


def local_minute(delta: timedelta) -> str:
    """A time as the pickers show it (the bank's zone), `delta` from now."""
    return (datetime.now(ZoneInfo(TIME_ZONE)) + delta).strftime("%Y-%m-%d %H:%M")


def pick_instant(page: Any, field_id: str, text: str) -> None:
    field = page.locator(f"#{field_id}")
    field.click()
    field.fill(text)
    field.press("Enter")
    page.keyboard.press("Escape")


def pick_option(page: Any, field_id: str, text: str) -> None:
    """A choice in a select: typed into one that searches, picked from the list in one that does not."""
    field = page.locator(f"#{field_id}")
    field.click()
    options = page.locator(".ant-select-dropdown:visible .ant-select-item-option")
    if field.is_editable():
        field.fill(text)
        options.first.click()
    else:
        options.filter(has_text=text).first.click()


def next_step(page: Any) -> None:
    page.get_by_role("button", name="下一步").click()


def build_from_template(console: Console, campaign_id: str, coupon_template: str, *, starts: timedelta = timedelta(minutes=-5),
                        ends: timedelta = timedelta(days=30), min_amount_yuan: str = "1000") -> None:
    """The "spend X get a coupon" template, filled in to the review step."""
    page = console.page
    console.goto("/campaigns/new")
    page.get_by_test_id("template-spend_x_get_coupon").check()
    next_step(page)
    page.locator("#campaignId").fill(campaign_id)
    page.locator("#name").fill(f"消费满 {min_amount_yuan} 元送 50 元券（{campaign_id}）")
    pick_instant(page, "window_startsAt", local_minute(starts))
    pick_instant(page, "window_endsAt", local_minute(ends))
    page.locator("#fundingCostCentre").fill("cc-retail-marketing")
    next_step(page)
    page.locator("#parameters_minAmountMinor").fill(min_amount_yuan)
    pick_option(page, "parameters_couponTemplateId", coupon_template)
    next_step(page)
    page.locator("#controlPercent").fill("0")
    next_step(page)
    page.locator("#budget_total").fill("100")
    next_step(page)
    page.get_by_test_id("body-preview").wait_for()


def restore_draft(console: Console, campaign_id: str, coupon_template: str, *, starts: timedelta, ends: timedelta) -> None:
    """The builder as an operator left it on the review step (its draft in sessionStorage), reloaded."""
    def iso(delta: timedelta) -> str:
        return (datetime.now(UTC) + delta).strftime("%Y-%m-%dT%H:%M:00Z")

    values = {
        "source": "template", "template": "spend_x_get_coupon", "campaignId": campaign_id, "name": f"草稿 {campaign_id}",
        "window": {"startsAt": iso(starts), "endsAt": iso(ends)}, "fundingCostCentre": "cc-retail-marketing", "controlPercent": 0,
        "parameters": {"minAmountMinor": 100_000, "couponTemplateId": coupon_template, "currency": "CNY", "mccs": []},
        "budget": {"unit": "rewards", "total": 100},
    }
    draft = {"values": values, "step": 5, "key": str(uuid.uuid4()), "editing": None}
    console.page.evaluate("draft => sessionStorage.setItem('console.campaignDraft', draft)", json.dumps(draft))
    console.goto("/campaigns/new")
    console.page.get_by_test_id("body-preview").wait_for()
