"""e2e, budget pools through the running system: head office allocates part of its year's CNY pool to two
branches, each mapped to a core-banking branch code; each branch runs a campaign at its unit whose own
budget would allow more; core banking publishes the branches' customers' profiles, then their card
transactions, which trigger both campaigns. Each branch's grants stop at its allocation, and the head
office's roll-up, its branch league table and each branch's cash-need forecast agree with the grants and
with the campaigns' reports (the expected figures are computed here, from what the test published and
what the reports say)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from tests.e2e.conftest import RunningSystem
from tests.e2e.test_points_flow import put
from tests.support import org
from tests.support.api import eventually
from tests.support.campaigns import card_spend, coupon_campaign, iso, launch, report, unique
from tests.support.coupons import active_template
from tests.support.points import bank_today

BANK = ZoneInfo("Asia/Shanghai")  # BANK_TIME_ZONE's default: the local system's
COST = 100  # each grant's cost, in fen
BUDGET = 10_000  # each campaign's own budget: 100.00 CNY, room for 100 grants
CUSTOMERS = 8  # per branch


def spread(remaining: int, now: datetime, window: dict[str, str], months: list[str]) -> dict[str, int]:
    """A campaign's remaining budget spread evenly over what is left of its window (no burn to observe yet),
    by month of the bank's time zone: the cumulative spread floored, month after month."""
    starts, ends = datetime.fromisoformat(window["startsAt"]), datetime.fromisoformat(window["endsAt"])
    left_from = max(now, starts)
    micro = timedelta(microseconds=1)
    window_left = (ends - left_from) // micro
    found, placed = {}, 0
    for label in months:
        year, month = (int(part) for part in label.split("-"))
        month_end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=BANK)
        cumulative = min(remaining, remaining * max((min(ends, month_end) - left_from) // micro, 0) // window_left)
        found[label], placed = cumulative - placed, cumulative
    return found


def test_head_office_allocates_to_two_branches_and_the_rollup_league_table_and_forecast_agree(system: RunningSystem) -> None:
    api = system.api
    year = str(bank_today().year)
    org.ensure_root_pool(api, year, "CNY")
    # Given two branches, each mapped to a branch code of core banking, given 3 and 5 grants' worth of the head office's year
    codes = {org.branch(api, branchCode=code): code for code in (unique("code-a"), unique("code-b"))}
    grants = dict(zip(codes, (3, 5), strict=True))
    for branch, count in grants.items():
        allocated = org.allocate(api, org.HEAD_OFFICE, branch, year, count * COST, measure="CNY")
        assert allocated.status_code == 200, allocated.text
    # And a campaign at each whose own budget is 100.00 CNY, 1.00 a grant
    bodies = {}
    for branch in codes:
        body = coupon_campaign(active_template(api, stock=100), budget={"unit": "minor", "currency": "CNY", "total": BUDGET},
                               orgUnitId=branch)
        body["variants"][0]["actions"][0]["costMinor"] = COST
        bodies[branch] = body
    campaigns = {branch: launch(api, body) for branch, body in bodies.items()}
    # And 8 customers of each branch, whose profiles (opened today, at the branch) core banking publishes
    customers = {branch: [unique("e2e-pool") for _ in range(CUSTOMERS)] for branch in codes}
    opened = iso(datetime.now(UTC))
    for branch, mine in customers.items():
        for customer in mine:
            put(system, "CustomerProfileChanged", {"customerId": customer, "changedAt": opened, "branchId": codes[branch], "openedAt": opened})
    everyone = [c for mine in customers.values() for c in mine]
    eventually(lambda: all(api.call("GET", f"/v1/customers/{c}", as_=c).status_code == 200 for c in everyone), timeout_s=30)
    # When each of them makes a qualifying card transaction at their branch's campaign
    month = f"{bank_today():%Y-%m}"
    for branch, campaign_id in campaigns.items():
        for customer in customers[branch]:
            put(system, "CardTransactionPosted", card_spend(customer, 150_000, merchant=campaign_id))

    # Then each branch's pool is spent to its allocation, no further
    def rollup() -> dict[str, Any] | None:
        nodes = {b: org.pool(api, b, year, "CNY")["units"][0] for b in codes}  # each branch's roll-up starts with itself
        return nodes if all(nodes[b]["spent"] == count * COST for b, count in grants.items()) else None

    nodes = eventually(rollup, timeout_s=90, interval_s=0.5)
    # And the head office's pool counts what it gave them; the roll-up agrees with each campaign's report
    reports = {}
    for branch, count in grants.items():
        body = report(api, campaigns[branch])
        main = next(a for a in body["arms"] if a["arm"] == "main")
        assert body["budget"]["total"]["spent"] == main["cost"] == count * COST
        assert main["granted"] == count and main["cancelled"] == main["compensated"] == 0
        assert (nodes[branch]["left"], nodes[branch]["committed"], nodes[branch]["subtreeSpent"]) == (0, BUDGET, count * COST)
        reports[branch] = {"granted": main["granted"], "cost": main["cost"], "spent": body["budget"]["total"]["spent"]}
    pools = api.call("GET", f"{org.ROOT}/{org.HEAD_OFFICE}/pools", **org.HQ).json()["items"]
    assert next(p for p in pools if p["poolId"] == f"{year}.CNY")["allocatedOnward"] >= sum(grants.values()) * COST

    # And the head office's league table for the month counts, for each branch, every customer who paid (each
    # opened this month) and the grants of its campaign with their cost, as the reports say
    expected = {branch: {"newCustomers": CUSTOMERS, "activeCustomers": CUSTOMERS, "grants": reports[branch]["granted"],
                         "controlGrants": 0, "grantCostMinor": reports[branch]["cost"], "grantCostRewards": 0,
                         "couponsIssued": reports[branch]["granted"], "couponsRedeemed": 0}
                for branch in codes}

    def league_agrees() -> dict[str, Any] | None:
        response = api.call("GET", f"{org.ROOT}/{org.HEAD_OFFICE}/kpis?period={month}", **org.HQ)
        assert response.status_code == 200, response.text
        rows = {row["unitId"]: row for row in response.json()["units"] if row["unitId"] in codes}
        found = {b: {name: rows[b][name] for name in expected[b]} for b in rows}
        return rows if found == expected else None

    try:
        rows = eventually(league_agrees, timeout_s=60, interval_s=0.5)
    except AssertionError:
        table = api.call("GET", f"{org.ROOT}/{org.HEAD_OFFICE}/kpis?period={month}", **org.HQ).json()["units"]
        raise AssertionError(f"league table {[r for r in table if r['unitId'] in codes]} != {expected}") from None
    assert all(rows[b]["redemptionRate"] == 0.0 for b in codes)

    # And each branch's cash-need forecast holds its campaign alone: the remaining budget (limit - spent, as its report
    # says), spread evenly over what is left of its window (opened minutes ago: no burn to observe yet), all within the horizon
    for branch in codes:
        response = api.call("GET", f"{org.ROOT}/{branch}/forecast", **org.operator(branch))
        assert response.status_code == 200, response.text
        found = response.json()
        remaining = BUDGET - reports[branch]["spent"]
        (campaign,) = found["campaigns"]
        assert (campaign["campaignId"], campaign["orgUnitId"], campaign["totalMinor"], campaign["spentMinor"]) == (
            campaigns[branch], branch, BUDGET, reports[branch]["spent"])
        assert (campaign["remainingMinor"], campaign["method"], campaign["afterHorizonMinor"]) == (remaining, "plan", 0)
        assert campaigns[branch] not in str(found["leftOut"])
        by_month = {line["month"]: line["campaigns"]["amountMinor"] for line in found["months"]}
        assert by_month == spread(remaining, datetime.fromisoformat(found["asOf"]), bodies[branch]["window"], list(by_month))
        assert sum(by_month.values()) == remaining
        assert all([part["campaignId"] for part in line["campaigns"]["byCampaign"]] in ([], [campaigns[branch]]) for line in found["months"])
