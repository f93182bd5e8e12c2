"""The daily reconciliation in the browser: an operator reconciles today behind a confirmation, the
screen follows the run until it is done, and shows each check with what it examined."""

from __future__ import annotations

from collections.abc import Callable

from tests.browser.conftest import OPERATOR, Console
from tests.e2e.conftest import RunningSystem

CHECKS = ("活动成本 = 发放 = 客户持有的权益", "已扣库存 = 已发卡券 = 卡包", "流水 = 余额 − 欠分；批次 = 负债",
          "积分兑换 ↔ 一张卡券", "发券指令 ↔ 一个结果")


def test_an_operator_reconciles_today_and_reads_each_check(system: RunningSystem, open_console: Callable[..., Console]) -> None:
    operator = open_console(OPERATOR, sign_in="token")
    page = operator.page
    operator.goto("/reconciliation")
    page.get_by_role("button", name="立即对账").click()
    page.locator(".ant-popconfirm").get_by_role("button", name="确定").click()
    # The run goes on in the background; the screen reads the report until it is done
    page.locator("[data-status=done]").first.wait_for(timeout=60_000)
    page.get_by_text("账实相符").or_(page.get_by_text("处差异")).first.wait_for()
    table = page.get_by_role("table", name="核对项")
    for check in CHECKS:
        table.get_by_text(check).wait_for()
    assert operator.axe() == []
    operator.screenshot("reconciliation-done")
