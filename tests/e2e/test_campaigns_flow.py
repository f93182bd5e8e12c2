"""e2e, campaigns: an operator creates a "spend X get a coupon" campaign from its template and
submits it, another approves it; core banking publishes card transactions on `loyalty-events`;
eligible customers find the coupon in their wallets, control customers do not; the report counts.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import RunningSystem
from tests.e2e.test_points_flow import put
from tests.support.api import eventually
from tests.support.campaigns import APPROVER, AUTHOR, ROOT, card_spend, open_window, unique
from tests.support.coupons import OPERATOR as COUPONS_OPERATOR
from tests.support.coupons import TEMPLATES, template_body


def test_spend_x_get_a_coupon_from_template_to_wallet_and_report(system: RunningSystem) -> None:
    api = system.api
    # Given an active coupon template
    template = template_body()
    assert api.call("POST", TEMPLATES, body=template, **COUPONS_OPERATOR).status_code == 201
    assert api.call("PUT", f"{TEMPLATES}/{template['templateId']}/status", body={"status": "active"}, **COUPONS_OPERATOR).status_code == 200
    # And a campaign from the "spend_x_get_coupon" template: 1000 yuan at hotels, 30% control
    body = {"campaignId": unique("camp"), "name": "Dinner for a coupon", "window": open_window(), "fundingCostCentre": "cc-marketing",
            "budget": {"unit": "rewards", "total": 100}, "controlPercent": 30,
            "parameters": {"minAmountMinor": 100_000, "mccs": ["7011"], "couponTemplateId": template["templateId"]}}
    created = api.call("POST", "/v1/admin/campaign-templates/spend_x_get_coupon/campaigns", body=body, **AUTHOR)
    assert created.status_code == 201, created.text
    campaign_id = created.json()["campaignId"]
    # When its author submits it and another operator approves it
    assert api.call("POST", f"{ROOT}/{campaign_id}/submit", body={}, **AUTHOR).status_code == 200
    approved = api.call("POST", f"{ROOT}/{campaign_id}/approve", body={"note": "reviewed"}, **APPROVER)
    assert approved.status_code == 200 and approved.json()["effectiveStatus"] == "active", approved.text
    # And core banking publishes 11 customers' profiles, then qualifying card transactions for 10 of
    # them and a small one for the last
    customers = [unique("e2e") for _ in range(10)]
    small = unique("e2e")
    for customer in [*customers, small]:
        put(system, "CustomerProfileChanged", {"customerId": customer, "changedAt": "2026-11-01T00:00:00Z"})
    eventually(lambda: all(api.call("GET", f"/v1/customers/{c}", as_=c).status_code == 200 for c in [*customers, small]), timeout_s=20)
    for customer in customers:
        put(system, "CardTransactionPosted", card_spend(customer, 150_000, mcc="7011"))
    put(system, "CardTransactionPosted", card_spend(small, 5_000, mcc="7011"))

    def report() -> dict[str, Any]:
        return dict(api.call("GET", f"{ROOT}/{campaign_id}/report", **AUTHOR).json())

    # Then every qualifying customer is targeted, in one arm or the other
    eventually(lambda: sum(a["targeted"] for a in report()["arms"]) == 10, timeout_s=30)
    arms = {a["arm"]: a for a in report()["arms"]}
    treated = arms["main"]["granted"]
    assert treated + arms["control"]["targeted"] == 10 and arms["control"]["granted"] == 0

    def wallet(customer: str) -> list[dict[str, Any]]:
        return list(api.call("GET", f"/v1/customers/{customer}/coupons", as_=customer).json()["items"])

    # And exactly the treated customers find the coupon in their wallets; control and the small spender do not
    eventually(lambda: sum(1 for c in customers if wallet(c)) == treated, timeout_s=30)
    assert all(w["templateId"] == template["templateId"] and w["campaignId"] == campaign_id for c in customers for w in wallet(c))
    assert wallet(small) == []
    # And the report shows the cost and what is left of the budget
    assert report()["budget"]["total"] == {"limit": 100, "spent": treated, "left": 100 - treated}
