"""Coupons in the browser: a third-party voucher template made with the validated form, activated
behind a confirmation, and stocked from a CSV file of codes, uploaded in batches with progress."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.browser.builder import pick_option
from tests.browser.conftest import OPERATOR, Console, unique
from tests.e2e.conftest import RunningSystem

CODES = 2_500  # three batches of at most 1,000


def test_a_voucher_template_is_created_activated_and_stocked_from_a_csv_file(system: RunningSystem, open_console: Callable[..., Console]) -> None:
    operator = open_console(OPERATOR, sign_in="token")
    page = operator.page
    template_id = unique("tpl-coffee")
    operator.goto("/coupons/new")
    page.locator("#templateId").fill(template_id)
    page.locator("#name").fill("咖啡兑换券")
    pick_option(page, "benefit_kind", "第三方券码")
    # The form checks as it is filled: a voucher needs its provider
    page.locator("#benefit_provider").fill("x")
    page.locator("#benefit_provider").fill("")
    page.get_by_text("必填").first.wait_for()
    page.locator("#benefit_provider").fill("Coffee Co")
    page.locator("#totalStock").fill("0")
    page.locator("#funding_costCentre").fill("cc-partnerships")
    page.get_by_test_id("save-coupon").click()
    page.wait_for_url(re.compile(f"/console/coupons/{template_id}$"))
    page.locator("[data-status=draft]").first.wait_for()

    page.get_by_test_id("coupon-active").click()
    page.locator(".ant-popconfirm").get_by_role("button", name="确定").click()
    page.locator("[data-status=active]").first.wait_for()

    csv = "code\r\n" + "\r\n".join(f"COFFEE-{n:05d}" for n in range(CODES)) + "\r\nCOFFEE-00001\r\n"
    page.locator("#codes-file").set_input_files(files=[{"name": "codes.csv", "mimeType": "text/csv", "buffer": csv.encode()}])
    page.get_by_text(f"已上传 3 / 3 批，入库 {CODES} 个").wait_for(timeout=30_000)
    assert "文件内重复 1 个" in page.get_by_test_id("upload-progress").locator("xpath=..").inner_text()
    page.get_by_test_id("stock-left").filter(has_text="2,500").wait_for()
    operator.screenshot("coupon-codes-uploaded")
