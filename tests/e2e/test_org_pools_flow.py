"""e2e, budget pools through the running system: head office allocates part of its year's pool to two
branches; each branch runs a campaign at its unit whose own budget would allow more; core banking's
card transactions trigger both. Each branch's grants stop at its allocation, and the head office's
roll-up agrees with the grants and with the campaigns' reports."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import RunningSystem
from tests.e2e.test_points_flow import put
from tests.support import org
from tests.support.api import eventually
from tests.support.campaigns import card_spend, coupon_campaign, launch, report, unique
from tests.support.coupons import active_template
from tests.support.points import bank_today


def test_head_office_allocates_to_two_branches_and_the_rollup_agrees_with_the_grants(system: RunningSystem) -> None:
    api = system.api
    year = str(bank_today().year)
    org.ensure_root_pool(api, year)
    # Given two branches given 3 and 5 rewards of the head office's year
    branches = {org.branch(api): 3, org.branch(api): 5}
    for branch, amount in branches.items():
        assert org.allocate(api, org.HEAD_OFFICE, branch, year, amount).status_code == 200
    # And a campaign at each whose own budget is 100 rewards
    campaigns = {branch: launch(api, coupon_campaign(active_template(api, stock=100), budget_total=100, orgUnitId=branch))
                 for branch in branches}
    # When 8 customers of each branch make a qualifying card transaction
    for campaign_id in campaigns.values():
        for _ in range(8):
            put(system, "CardTransactionPosted", card_spend(unique("e2e-pool"), 150_000, merchant=campaign_id))

    # Then each branch's pool is spent to its allocation, no further
    def rollup() -> dict[str, Any] | None:
        nodes = {b: org.pool(api, b, year)["units"][0] for b in branches}  # each branch's roll-up starts with itself
        return nodes if all(nodes[b]["spent"] == amount for b, amount in branches.items()) else None

    nodes = eventually(rollup, timeout_s=90, interval_s=0.5)
    # And the head office's pool counts what it gave them; the roll-up agrees with each campaign's report
    for branch, amount in branches.items():
        body = report(api, campaigns[branch])
        main = next(a for a in body["arms"] if a["arm"] == "main")
        assert body["budget"]["total"]["spent"] == main["cost"] == amount
        assert main["granted"] + main["cancelled"] + main["compensated"] == amount
        assert (nodes[branch]["left"], nodes[branch]["committed"], nodes[branch]["subtreeSpent"]) == (0, 100, amount)
    pools = api.call("GET", f"{org.ROOT}/{org.HEAD_OFFICE}/pools", **org.HQ).json()["items"]
    assert next(p for p in pools if p["poolId"] == f"{year}.rewards")["allocatedOnward"] >= sum(branches.values())
