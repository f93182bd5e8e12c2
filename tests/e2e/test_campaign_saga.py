"""e2e, a grant as a saga, through the running system as a bank would drive it: a campaign of a coupon
and 200 points; core banking publishes a qualifying card transaction for a customer already at the
coupon template's limit; coupons refuse the coupon, so the grant is undone: the customer's points are
unchanged net of the compensation (the reverse entry names the grant), the report and the budget say
nothing was spent, and the day's reconciliation finds the books agree for everything this test did."""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import RunningSystem
from tests.e2e.test_points_flow import put
from tests.support.api import eventually
from tests.support.campaigns import AUTHOR, ROOT, card_spend, coupon_campaign, launch, unique
from tests.support.coupons import active_template, claimed
from tests.support.points import bank_today

FINANCE: dict[str, Any] = {"as_": "op-finance", "groups": ["operators"]}


def test_a_refused_coupon_undoes_the_grant_and_the_books_agree(system: RunningSystem) -> None:
    api = system.api
    # Given a campaign granting a coupon and 200 points, and a customer already at the template's limit
    template_id = active_template(api, lifetime_limit=1)
    actions = [{"type": "issue_coupon", "templateId": template_id}, {"type": "award_points", "points": 200, "costCentre": "cc-marketing"}]
    campaign_id = launch(api, coupon_campaign(template_id, budget_total=10,
                                              variants=[{"variantId": "main", "weightPercent": 100, "actions": actions}]))
    customer = unique("e2e-saga")
    claimed(api, customer, template_id)
    # When core banking publishes a qualifying card transaction
    put(system, "CardTransactionPosted", card_spend(customer, 150_000, merchant=campaign_id))

    def main_arm() -> dict[str, Any]:
        report = api.call("GET", f"{ROOT}/{campaign_id}/report", **AUTHOR).json()
        return {**next(a for a in report["arms"] if a["arm"] == "main"), "budget": report["budget"]}

    # Then the grant is undone: compensated (the points were booked, then reversed) or cancelled (forestalled)
    def undone() -> dict[str, Any] | None:
        arm = main_arm()
        return arm if arm["compensated"] + arm["cancelled"] == 1 else None

    arm = eventually(undone, timeout_s=60)
    assert (arm["granted"], arm["compensating"], arm["cost"]) == (0, 0, 0)
    assert arm["budget"]["total"] == {"limit": 10, "spent": 0, "left": 10}
    # And the customer's points are unchanged net of the compensation, the reversal naming the grant
    balance = api.call("GET", f"/v1/customers/{customer}/points", as_=customer).json()
    assert (balance["available"], balance["debt"]) == (0, 0)
    history = api.call("GET", f"/v1/customers/{customer}/points/history", as_=customer).json()["items"]
    assert sum(e["points"] for e in history) == 0
    reversal = next(e for e in history if e["kind"] == "reverse")
    assert reversal["source"]["campaignId"] == campaign_id and reversal["source"]["grantId"]
    # And the day's reconciliation finds nothing wrong with this campaign, its template or the customer
    day = bank_today().isoformat()
    run_id = api.call("POST", f"/v1/admin/reconciliation/{day}", **FINANCE).json()["runId"]

    def reconciled() -> dict[str, Any] | None:
        report = api.call("GET", f"/v1/admin/reconciliation/{day}", **FINANCE).json()
        return report if report["runId"] == run_id and report["status"] == "done" else None

    report = eventually(reconciled, timeout_s=120, interval_s=0.5)
    about_us = [f for c in report["checks"] for f in c["findings"] if {campaign_id, template_id, customer} & {str(v) for v in f.values()}]
    assert about_us == []
