"""A branch's campaign rewards the customers of its subtree only, whatever reaches it: a trigger, a
fire for chosen customers, an uploaded list. Another branch's customer is never granted, and to an
upload they are unknown, as a customer the engine does not know is."""

from __future__ import annotations

from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from tests.support import campaigns as cmp
from tests.support import org
from tests.support.api import Api, eventually
from tests.support.coupons import active_template
from tests.support.points import bank_today
from tests.support.scoring import put_profile

YEAR = str(bank_today().year)


@pytest.fixture(scope="module")
def branches(api: Api) -> dict[str, str]:
    """Two branches with their branch codes, the first given 50 rewards of the year."""
    org.ensure_root_pool(api, YEAR)
    codes = {org.branch(api, branchCode=code): code for code in (org.unique("code-a"), org.unique("code-b"))}
    mine = next(iter(codes))
    assert org.allocate(api, org.HEAD_OFFICE, mine, YEAR, 50).status_code == 200
    return codes


def customer_of(cloud: LocalCloud, code: str) -> str:
    customer = org.unique("cc")
    put_profile(cloud, customer, branchId=code)
    return customer


def launched(api: Api, unit: str, **overrides: Any) -> str:
    return cmp.launch(api, cmp.coupon_campaign(active_template(api), orgUnitId=unit, **overrides))


def test_a_trigger_grants_the_branchs_own_customer_and_not_another_branchs(cloud: LocalCloud, api: Api, branches: dict[str, str]) -> None:
    # Given a branch's campaign, a customer of that branch and one of the other branch
    mine, other = branches
    campaign_id = launched(api, mine)
    own, foreign = customer_of(cloud, branches[mine]), customer_of(cloud, branches[other])
    # When both spend at the campaign's merchant
    for customer in (own, foreign):
        assert cmp.trigger(cloud, "CardTransactionPosted", cmp.card_spend(customer, 150_000, merchant=campaign_id)) == {"batchItemFailures": []}
    # Then only the branch's own customer is granted
    assert len(cmp.grants_of(cloud.clients.dynamodb, campaign_id, own)) == 1
    assert cmp.grants_of(cloud.clients.dynamodb, campaign_id, foreign) == []


def test_a_fire_for_chosen_customers_reaches_only_the_branchs_own(cloud: LocalCloud, api: Api, branches: dict[str, str]) -> None:
    # Given a branch's manual campaign, and a customer of each branch
    mine, other = branches
    campaign_id = launched(api, mine, trigger={"type": "manual"})
    own, foreign = customer_of(cloud, branches[mine]), customer_of(cloud, branches[other])
    # When the branch's operator fires it for both
    fired = api.call("POST", f"{cmp.ROOT}/{campaign_id}/fire", body={"customerIds": [own, foreign]}, **org.operator(mine))
    assert fired.status_code == 202, fired.text
    # Then the run grants the branch's own customer only
    run_path = f"{cmp.ROOT}/{campaign_id}/runs/{fired.json()['runId']}"
    done = eventually(lambda: (r := api.call("GET", run_path, **org.operator(mine)).json())["status"] == "completed" and r, timeout_s=60)
    assert done["granted"] == 1
    assert cmp.grants_of(cloud.clients.dynamodb, campaign_id, foreign) == []


def test_an_upload_knows_only_the_branchs_own_customers(cloud: LocalCloud, api: Api, branches: dict[str, str]) -> None:
    # Given a branch's draft campaign for an uploaded list, and a customer of each branch
    mine, other = branches
    campaign = cmp.create(api, cmp.coupon_campaign(active_template(api), orgUnitId=mine, audience={"uploaded": True}))
    own, foreign = customer_of(cloud, branches[mine]), customer_of(cloud, branches[other])
    # When the branch's operator uploads both
    batch = api.call("POST", f"{cmp.ROOT}/{campaign['campaignId']}/audience-uploads", body={"uploadId": "u-1", "csv": f"{own}\n{foreign}"},
                     **org.operator(mine))
    # Then the other branch's customer is unknown to it, as a customer the engine does not know
    assert batch.status_code == 200, batch.text
    assert (batch.json()["batch"]["imported"], batch.json()["batch"]["unknown"]) == (1, [foreign])
