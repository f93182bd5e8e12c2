"""What a branch's resources may name: a branch's campaign rewards with coupon templates of its own
line of the tree (its own, its parents', the head office's), and a branch's earn rule names a campaign
of that line. Another branch's is refused exactly as one that does not exist, so nothing leaks; the
head office's operators are not limited."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support import campaigns as cmp
from tests.support import coupons as cpn
from tests.support import org
from tests.support import points as pts
from tests.support.api import Api
from tests.support.points import bank_today

YEAR = str(bank_today().year)


@pytest.fixture(scope="module")
def branches(api: Api) -> dict[str, Any]:
    """Branches A and B, A given a pool of rewards; a coupon template of each and of the head office."""
    org.ensure_root_pool(api, YEAR)
    a, b = org.branch(api), org.branch(api)
    assert org.allocate(api, org.HEAD_OFFICE, a, YEAR, 100).status_code == 200
    assert org.allocate(api, org.HEAD_OFFICE, b, YEAR, 100).status_code == 200
    templates = {unit: cpn.active_template(api, orgUnitId=unit) for unit in (a, b)}
    templates["hq"] = cpn.active_template(api)
    campaign_b = cmp.create(api, cmp.coupon_campaign(templates[b], orgUnitId=b))["campaignId"]
    return {"a": a, "b": b, "templates": templates, "campaign_b": campaign_b}


def code_of(response: Any) -> str:
    return str(response.json()["error"]["code"])


def test_a_branchs_campaign_rewards_with_templates_of_its_own_line_only(api: Api, branches: dict[str, Any]) -> None:
    a, b, templates = branches["a"], branches["b"], branches["templates"]
    # Given A's operator
    def create(template_id: str) -> Any:
        return api.call("POST", cmp.ROOT, body=cmp.coupon_campaign(template_id), **org.operator(a))

    # When they reward with B's template, and with one that does not exist
    theirs, nowhere = create(templates[b]), create(cpn.unique("tpl-nowhere"))
    # Then both are refused alike: B's template does not exist to them
    assert (theirs.status_code, code_of(theirs)) == (422, "CAMPAIGN_REWARD_NOT_FOUND")
    assert (nowhere.status_code, code_of(nowhere)) == (422, "CAMPAIGN_REWARD_NOT_FOUND")
    assert theirs.json()["error"]["message"] == f"coupon template {templates[b]} does not exist"
    # And their own template and the head office's are theirs to use
    assert create(templates[a]).status_code == 201
    assert create(templates["hq"]).status_code == 201


def test_a_branchs_earn_rule_names_campaigns_of_its_own_line_only(api: Api, branches: dict[str, Any]) -> None:
    a = branches["a"]
    own = cmp.create(api, cmp.coupon_campaign(branches["templates"][a], orgUnitId=a))["campaignId"]

    def create(campaign_id: str) -> Any:
        return api.call("POST", pts.RULES, body=pts.rule_body(cpn.unique("rule"), "m-nowhere", campaignId=campaign_id), **org.operator(a))

    # When A's operator writes rules naming B's campaign, a campaign that does not exist, and their own
    theirs, nowhere, mine = create(branches["campaign_b"]), create(cpn.unique("nowhere")), create(own)
    # Then B's is refused as one that does not exist; their own is fine
    assert (theirs.status_code, code_of(theirs)) == (422, "RULE_CAMPAIGN_NOT_FOUND")
    assert (nowhere.status_code, code_of(nowhere)) == (422, "RULE_CAMPAIGN_NOT_FOUND")
    assert mine.status_code == 201, mine.text


def test_the_head_office_is_not_limited(api: Api, branches: dict[str, Any]) -> None:
    # The head office sees every unit: its campaign may reward with a branch's template
    response = api.call("POST", cmp.ROOT, body=cmp.coupon_campaign(branches["templates"][branches["b"]]), **org.HQ)
    assert response.status_code == 201, response.text
