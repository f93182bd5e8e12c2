"""A campaign's own budget under a pacing plan: grants spend at most the plan's running allowance by
each day's end (what is unspent carries over), a grant beyond it is refused without pausing the
campaign, `BudgetPacingAlert` is announced once when spend runs behind, and a plan that does not fit
the window is refused when the campaign is saved."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime

from infra.local.cloud import LocalCloud
from loyalty.campaigns import granting
from loyalty.campaigns.store import DynamoCampaignStore
from loyalty.core import pacing
from loyalty.core.config import get_settings
from loyalty.core.dynamo import from_item
from tests.support import campaigns as cmp
from tests.support.api import Api
from tests.support.coupons import active_template
from tests.support.org import unique

PERIOD = pacing.window(date(2031, 1, 1), date(2031, 3, 31))  # 2031-Q1 as a campaign's window: 13 weekly slices
WINDOW = {"startsAt": "2031-01-01T00:00:00+08:00", "endsAt": "2031-04-01T00:00:00+08:00"}
PLAN = {"granularity": "week", "shape": "even", "tolerancePercent": 10}


def paced_campaign(api: Api, total: int, plan: dict[str, object] = PLAN) -> str:
    return cmp.launch(api, cmp.coupon_campaign(active_template(api, stock=5000), window=WINDOW,
                                               budget={"unit": "rewards", "total": total, "pacing": plan}))


def test_spend_by_day_stays_within_the_campaigns_plan_and_a_refusal_pauses_nothing(cloud: LocalCloud, api: Api) -> None:
    # Given a campaign of 130 rewards over 2031-Q1, paced evenly by week with 10% tolerance
    campaign_id = paced_campaign(api, 130)
    store, zone = DynamoCampaignStore(), get_settings().bank_zone
    plan = pacing.Plan("week", "even", (), 10)
    spent = 0
    # When customers keep coming, 8 threads at a time, on the first day of weeks 5, 6 and 9
    for day in (date(2031, 1, 29), date(2031, 2, 5), date(2031, 2, 26)):
        now = datetime(day.year, day.month, day.day, 12, tzinfo=zone)
        meta = store.get(campaign_id)
        customers = [unique("pc") for _ in range(80)]
        with ThreadPoolExecutor(8) as pool:
            outcomes = list(pool.map(lambda c, m=meta, at=now: granting.grant(store, m, c, f"t:{c}", at), customers))
        spent += outcomes.count("granted")
        # Then spend by the day's end is exactly the running allowance: the plan to date and its tolerance
        assert spent == pacing.allowance(130, plan, PERIOD, day) <= pacing.plan_to_date(130, plan, PERIOD, day) * 110 // 100
        assert set(outcomes) == {"granted", "budget_pacing"}
        # And the campaign is still approved: the plan catches up, nothing was exhausted
        assert store.get(campaign_id)["status"] == "approved"
    assert cmp.report(api, campaign_id)["budget"]["total"]["spent"] == spent
    # And the first day, behind a plan that meant 50 spent by week 5, announced it once
    alerts = [json.loads(from_item(i)["detail"]) for i in cloud.clients.dynamodb.scan(
        TableName="campaigns", FilterExpression="detailType = :t", ExpressionAttributeValues={":t": {"S": "BudgetPacingAlert"}})["Items"]]
    mine = [a for a in alerts if a.get("budget") == "campaign" and a["campaignId"] == campaign_id]
    assert [(a["direction"], a["businessDate"]) for a in mine] == [("behind", "2031-01-29")]


def test_a_custom_plan_that_does_not_fit_the_window_is_refused(api: Api) -> None:
    # Given a custom weekly plan with 12 weights for a window of 13 weeks
    body = cmp.coupon_campaign(active_template(api), window=WINDOW,
                               budget={"unit": "rewards", "total": 10, "pacing": {"granularity": "week", "shape": "custom", "weights": [1] * 12}})
    # When it is saved
    response = api.call("POST", cmp.ROOT, body=body, **cmp.AUTHOR)
    # Then it is refused, naming the plan, and nothing is saved
    assert response.status_code == 400 and response.json()["error"]["details"][0]["field"] == "budget.pacing", response.text
    assert api.call("GET", f"{cmp.ROOT}/{body['campaignId']}", **cmp.AUTHOR).status_code == 404
