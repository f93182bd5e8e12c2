"""Budget pools allocated down the org tree, against the local cloud: allocation and its roll-up,
reallocation by an approver at the parent, each refusal changing nothing; campaigns drawing from their
unit's pool inside the grant's transaction, never past it under real concurrency (threads); a pacing
plan's running allowance day by day, and its alert; an undone grant giving its cost back to the pool."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from loyalty.campaigns import granting
from loyalty.campaigns.store import DynamoCampaignStore
from loyalty.core import pacing
from loyalty.core.config import get_settings
from loyalty.core.dynamo import from_item
from tests.support import campaigns as cmp
from tests.support import org
from tests.support import scoring as scr
from tests.support.api import Api, eventually
from tests.support.coupons import active_template, set_status
from tests.support.org import HQ, ROOT, error_code, operator, unique
from tests.support.points import bank_today

# The bank's year, without reading the settings at import (they are the local cloud's once it runs).
YEAR = str(bank_today().year)


@pytest.fixture(scope="module", autouse=True)
def root_pool(api: Api) -> None:
    org.ensure_root_pool(api, YEAR)


def branch_with(api: Api, amount: int, period: str = YEAR, branchCode: str | None = None, **fields: Any) -> str:
    unit = org.branch(api, **({"branchCode": branchCode} if branchCode else {}))
    response = org.allocate(api, org.HEAD_OFFICE, unit, period, amount, **fields)
    assert response.status_code == 200, response.text
    return unit


def node(rollup: dict[str, Any], unit_id: str) -> dict[str, Any]:
    return next(n for n in rollup["units"] if n["unitId"] == unit_id)


def pooled_campaign(api: Api, unit_id: str, budget: int = 1000, **overrides: Any) -> dict[str, Any]:
    """A launched reward-unit campaign at the unit (its grants draw from the unit's pool), and its META."""
    campaign_id = cmp.launch(api, cmp.coupon_campaign(active_template(api, stock=5000), budget_total=budget, orgUnitId=unit_id,
                                                      **overrides))
    return DynamoCampaignStore().get(campaign_id)


# ---- allocation, roll-up, reallocation ----------------------------------------------------------------


def test_allocation_flows_down_the_tree_and_the_rollup_shows_every_node(api: Api) -> None:
    # Given a branch given 1000 rewards of the head office's year, and a sub-branch under it
    branch = branch_with(api, 1000)
    sub = org.create(api, unique("sub"), "sub_branch", branch)["unitId"]
    # When the branch's own operator allocates 300 of it to the sub-branch
    moved = org.allocate(api, branch, sub, YEAR, 300, who=operator(branch))
    assert moved.status_code == 200, moved.text
    assert (moved.json()["giver"]["allocatedOnward"], moved.json()["receiver"]["allocation"]) == (300, 300)
    # Then the branch's roll-up shows both nodes
    rollup = org.pool(api, branch, YEAR, who=operator(branch))
    assert [n["unitId"] for n in rollup["units"]] == [branch, sub]
    assert {k: node(rollup, branch)[k] for k in ("allocation", "allocatedOnward", "spent", "left")} == {
        "allocation": 1000, "allocatedOnward": 300, "spent": 0, "left": 700}
    assert (node(rollup, sub)["allocation"], node(rollup, sub)["left"]) == (300, 300)
    # And the branch's pools list says the same
    listed = api.call("GET", f"{ROOT}/{branch}/pools", **operator(branch)).json()["items"]
    assert [(p["poolId"], p["allocation"], p["allocatedOnward"], p["left"]) for p in listed] == [(f"{YEAR}.rewards", 1000, 300, 700)]


def test_allocating_more_than_is_left_is_refused_and_changes_nothing(api: Api) -> None:
    branch = branch_with(api, 100)
    sub = org.create(api, unique("sub"), "sub_branch", branch)["unitId"]
    assert org.allocate(api, branch, sub, YEAR, 60, who=operator(branch)).status_code == 200
    before = org.pool(api, branch, YEAR)
    refused = org.allocate(api, branch, sub, YEAR, 41, who=operator(branch))
    assert refused.status_code == 422 and error_code(refused) == "POOL_INSUFFICIENT"
    assert org.pool(api, branch, YEAR) == before
    # And a child that is not right under the unit, or a pool outside the caller's subtree, is not found
    other = org.branch(api)
    assert error_code(org.allocate(api, branch, other, YEAR, 1, who=operator(branch))) == "ORG_UNIT_NOT_FOUND"
    outside = api.call("GET", f"{ROOT}/{branch}/pools/{YEAR}.rewards", **operator(other))
    assert outside.status_code == 404 and error_code(outside) == "ORG_UNIT_NOT_FOUND"
    # And only the head office creates pools from nothing
    created = api.call("POST", f"{ROOT}/{branch}/pools", body={"period": "2030", "unit": "rewards", "allocation": 5}, **operator(branch))
    assert created.status_code == 403 and error_code(created) == "ORG_HEAD_OFFICE_REQUIRED"


def test_reallocation_between_siblings_needs_an_approver_at_their_parent(api: Api) -> None:
    first, second = branch_with(api, 100), branch_with(api, 100)
    body = {"fromUnitId": first, "toUnitId": second, "period": YEAR, "unit": "rewards", "amount": 40, "note": "Q4 push"}
    path = f"{ROOT}/{org.HEAD_OFFICE}/pools/reallocations"
    # An operator who is not an approver, and an approver below the parent, are refused
    assert error_code(api.call("POST", path, body=body, **HQ)) == "APPROVER_REQUIRED"
    below: dict[str, Any] = {"as_": "ap-branch", "groups": ["operators", "approvers"], "org": first}
    assert api.call("POST", path, body=body, **below).status_code == 404
    # An approver at the head office moves it, in one transaction
    moved = api.call("POST", path, body=body, **org.APPROVER_HQ)
    assert moved.status_code == 200, moved.text
    assert (moved.json()["giver"]["allocation"], moved.json()["receiver"]["allocation"]) == (60, 140)
    # And more than the giver has unspent is refused, changing nothing
    refused = api.call("POST", path, body={**body, "amount": 61}, **org.APPROVER_HQ)
    assert refused.status_code == 422 and error_code(refused) == "POOL_INSUFFICIENT"
    assert org.pool(api, first, YEAR)["pool"]["allocation"] == 60


def test_a_campaign_names_an_open_unit_holding_a_pool_in_its_budgets_measure(api: Api) -> None:
    branch = branch_with(api, 10)
    template = active_template(api)
    unknown = api.call("POST", cmp.ROOT, body=cmp.coupon_campaign(template, orgUnitId=unique("nowhere")), **cmp.AUTHOR)
    assert unknown.status_code == 422 and error_code(unknown) == "CAMPAIGN_ORG_UNIT_INVALID"
    in_money = cmp.coupon_campaign(template, orgUnitId=branch, budget={"unit": "minor", "currency": "CNY", "total": 10_000})
    in_money["variants"][0]["actions"][0]["costMinor"] = 500
    mismatch = api.call("POST", cmp.ROOT, body=in_money, **cmp.AUTHOR)
    assert mismatch.status_code == 422 and error_code(mismatch) == "CAMPAIGN_POOL_MISMATCH", mismatch.text
    assert api.call("POST", cmp.ROOT, body=cmp.coupon_campaign(template, orgUnitId=branch), **cmp.AUTHOR).status_code == 201


# ---- grants draw from the pool ------------------------------------------------------------------------


def grant_all(meta_and_customer: list[tuple[dict[str, Any], str]], now: datetime, workers: int = 16) -> list[str]:
    store = DynamoCampaignStore()

    def one(pair: tuple[dict[str, Any], str]) -> str:
        meta, customer = pair
        return granting.grant(store, meta, customer, f"t:{customer}", now)

    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(one, meta_and_customer))


def test_two_campaigns_racing_on_one_pool_while_it_allocates_onward_never_pass_its_allocation(api: Api) -> None:
    # Given a branch given 30 rewards, and two campaigns at it whose own budgets would allow far more
    branch = branch_with(api, 30)
    first, second = pooled_campaign(api, branch), pooled_campaign(api, branch)
    sub = org.create(api, unique("sub"), "sub_branch", branch)["unitId"]
    # When 80 customers trigger both campaigns on 16 threads while the branch allocates 2 at a time onward
    pairs = [(meta, unique("cc")) for _ in range(40) for meta in (first, second)]
    with ThreadPoolExecutor(2) as side:
        allocations = side.submit(lambda: [org.allocate(api, branch, sub, YEAR, 2, who=operator(branch)).status_code for _ in range(5)])
        outcomes = grant_all(pairs, datetime.now(UTC))
        codes = allocations.result()
    granted = outcomes.count("granted")
    # Then grants and allocations together took exactly the branch's 30, never more
    assert set(outcomes) <= {"granted", "pool_exhausted"} and set(codes) <= {200, 422}
    pool = org.pool(api, branch, YEAR)["pool"]
    assert pool["spent"] == granted and pool["spent"] + pool["allocatedOnward"] == 30 and pool["left"] == 0
    assert pool["allocatedOnward"] == 2 * codes.count(200)
    # And each campaign's report counts what it drew
    drawn = sum(cmp.report(api, m["campaignId"])["budget"]["total"]["spent"] for m in (first, second))
    assert drawn == granted


def test_two_branches_racing_under_one_parent_never_pass_the_parents_allocation(api: Api) -> None:
    # Given a branch given 24 rewards, and two sub-branches each given 12 of it, each running a campaign
    branch = branch_with(api, 24)
    subs = [org.create(api, unique("sub"), "sub_branch", branch)["unitId"] for _ in range(2)]
    for sub in subs:
        assert org.allocate(api, branch, sub, YEAR, 12, who=operator(branch)).status_code == 200
    metas = [pooled_campaign(api, sub) for sub in subs]
    # When both campaigns draw concurrently, 30 customers each, while the branch's approver moves 5 between them
    pairs = [(meta, unique("cc")) for _ in range(30) for meta in metas]
    moves = {"fromUnitId": subs[0], "toUnitId": subs[1], "period": YEAR, "unit": "rewards", "amount": 5}
    approver: dict[str, Any] = {"as_": "ap-br", "groups": ["operators", "approvers"], "org": branch}
    with ThreadPoolExecutor(1) as side:
        moved = side.submit(lambda: api.call("POST", f"{ROOT}/{branch}/pools/reallocations", body=moves, **approver).status_code)
        outcomes = grant_all(pairs, datetime.now(UTC))
        code = moved.result()
    # Then the sub-branches' spend never passed what the branch gave them
    rollup = org.pool(api, branch, YEAR)
    spent = [node(rollup, sub)["spent"] for sub in subs]
    allocated = [node(rollup, sub)["allocation"] for sub in subs]
    assert sum(allocated) == 24 and all(s <= a for s, a in zip(spent, allocated, strict=True))
    assert sum(spent) == outcomes.count("granted") <= 24 and node(rollup, branch)["subtreeSpent"] == sum(spent)
    assert code in (200, 422)


def test_spend_by_day_stays_within_a_weekly_plans_tolerance_and_alerts_once_behind(cloud: LocalCloud, api: Api) -> None:
    # Given a branch given 130 rewards of 2031-Q1, paced evenly by week (13 weeks) with 10% tolerance
    period = "2031-Q1"
    org.ensure_root_pool(api, period)
    plan = {"granularity": "week", "shape": "even", "tolerancePercent": 10}
    branch = branch_with(api, 130, period=period, plan=plan)
    meta = pooled_campaign(api, branch, window={"startsAt": "2031-01-01T00:00:00+08:00", "endsAt": "2031-04-01T00:00:00+08:00"})
    store, zone = DynamoCampaignStore(), get_settings().bank_zone
    paced = pacing.Plan("week", "even", (), 10)
    spent, outcomes_by_day = 0, {}
    # When customers keep coming on the first day of each week from the 5th, and on a day midweek
    days = [first for first, _ in pacing.slices(pacing.period(period), "week")][4:]
    for day in [d for first in days for d in (first, first + timedelta(days=3))]:
        now = datetime(day.year, day.month, day.day, 12, tzinfo=zone)
        outcomes = []
        while True:
            customer = unique("cc")
            outcomes.append(granting.grant(store, meta, customer, f"t:{customer}", now))
            if outcomes[-1] != "granted":
                break
        spent += outcomes.count("granted")
        outcomes_by_day[day] = outcomes
        # Then spend by the day's end is exactly the running allowance: the plan to date and its tolerance
        assert spent == pacing.allowance(130, paced, period, day) <= pacing.plan_to_date(130, paced, period, day) * 110 // 100
        assert outcomes[-1] == ("pool_exhausted" if spent == 130 else "pool_pacing")  # the allowance reaches the whole allocation
    assert org.pool(api, branch, period)["pool"]["spent"] == spent
    # And the first grant, behind a plan that meant 50 spent by week 5, alerted once that day
    alerts = [json.loads(from_item(i)["detail"]) for i in cloud.clients.dynamodb.scan(
        TableName="campaigns", FilterExpression="detailType = :t", ExpressionAttributeValues={":t": {"S": "BudgetPacingAlert"}})["Items"]]
    mine = [a for a in alerts if a["orgUnitId"] == branch]
    assert [(a["direction"], a["businessDate"]) for a in mine] == [("behind", days[0].isoformat())]


def test_an_undone_grant_gives_its_cost_back_to_the_pool(cloud: LocalCloud, api: Api) -> None:
    # Given a campaign at a branch given 10 rewards, whose coupon template is then paused, and a customer of the branch
    code = unique("code")
    branch = branch_with(api, 10, branchCode=code)
    template = active_template(api)
    campaign_id = cmp.launch(api, cmp.coupon_campaign(template, orgUnitId=branch))
    assert set_status(api, template, "paused").status_code == 200
    customer = unique("cc")
    scr.put_profile(cloud, customer, branchId=code)
    # When a qualifying transaction grants the reward, drawing from the pool, and the coupon is refused
    assert cmp.trigger(cloud, "CardTransactionPosted", cmp.card_spend(customer, 150_000, merchant=campaign_id)) == {"batchItemFailures": []}
    assert cmp.grants_of(cloud.clients.dynamodb, campaign_id, customer)[0]["poolKey"] == f"{branch}/{YEAR}/rewards"
    # Then the grant is cancelled and its cost is back in the pool, as in the campaign's budget
    eventually(lambda: cmp.grants_of(cloud.clients.dynamodb, campaign_id, customer)[0]["status"] == "cancelled", timeout_s=60)
    assert org.pool(api, branch, YEAR)["pool"]["spent"] == 0
    assert cmp.report(api, campaign_id)["budget"]["total"]["spent"] == 0
