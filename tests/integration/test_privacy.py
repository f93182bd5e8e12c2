"""PIPL rights on the local cloud: an operator exports everything held on a customer, or erases
them; the books stay correct and both actions are audited, without the personal data."""

from __future__ import annotations

import json
import time
from typing import Any

from infra.local.cloud import LocalCloud
from tests.support.api import Api, eventually
from tests.support.points import OPERATOR, adjust, all_balances_available, balance, new_customer

PROFILE = {"changedAt": "2026-11-01T00:00:00Z", "birthday": "1990-05-17", "branchId": "br-9", "tags": ["payroll"],
           "relationshipManagerId": "rm-3"}


def with_profile(cloud: LocalCloud, api: Api) -> str:
    customer = new_customer()
    cloud.clients.events.put_events(Entries=[{"EventBusName": "loyalty-events", "Source": "bank.core", "DetailType": "CustomerProfileChanged",
                                              "Detail": json.dumps({"customerId": customer, **PROFILE})}])
    eventually(lambda: api.call("GET", f"/v1/customers/{customer}", as_=customer).status_code == 200, timeout_s=15)
    return customer


def call(api: Api, customer: str, action: str) -> Any:
    return api.call("POST", f"/v1/admin/customers/{customer}/{action}", **OPERATOR)


def test_an_export_holds_the_profile_and_the_points_and_is_audited_without_them(cloud: LocalCloud, api: Api) -> None:
    # Given a customer with a profile and points
    customer = with_profile(cloud, api)
    assert adjust(api, customer, 300).status_code == 201
    # When an operator exports them
    response = call(api, customer, "export")
    # Then the export has the profile, the balance and every ledger entry
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["profile"]["birthday"] == "1990-05-17" and body["profile"]["branchId"] == "br-9"
    assert [e["kind"] for e in body["points"]["ledger"]] == ["adjust"] and body["points"]["ledger"][0]["points"] == 300
    # And the audit log shows who exported whom, but not what
    (done,) = [e for e in api.call("GET", f"/v1/admin/audit?resource=customers/{customer}", **OPERATOR).json()["items"]
               if e["route"].endswith("/export") and e["phase"] == "completed"]
    assert done["who"] == OPERATOR["as_"] and done["status"] == 200 and "after" not in done and "1990" not in str(done)


def test_an_erasure_anonymises_the_profile_for_good_and_keeps_the_books(cloud: LocalCloud, api: Api) -> None:
    # Given a customer with a profile and 300 points
    customer = with_profile(cloud, api)
    assert adjust(api, customer, 300).status_code == 201
    total_before = all_balances_available(cloud.clients.dynamodb)
    # When an operator erases them
    response = call(api, customer, "erase")
    # Then the personal fields are gone from the profile
    assert response.status_code == 200, response.text
    assert {"birthday", "branchId", "tags", "relationshipManagerId"} <= set(response.json()["profileFieldsRemoved"])
    exported = call(api, customer, "export").json()
    assert exported["profile"].get("birthday") is None and exported["profile"]["erased"] is True
    # And the points stay: the balance, the ledger and the liability total are unchanged
    assert balance(api, customer)["available"] == 300
    assert all_balances_available(cloud.clients.dynamodb) == total_before
    # And a profile event published later cannot bring the data back
    cloud.clients.events.put_events(Entries=[{"EventBusName": "loyalty-events", "Source": "bank.core", "DetailType": "CustomerProfileChanged",
                                              "Detail": json.dumps({"customerId": customer, **PROFILE, "changedAt": "2026-11-20T00:00:00Z"})}])
    time.sleep(2)  # the ingest consumer has had its chance
    assert call(api, customer, "export").json()["profile"].get("birthday") is None


def test_unknown_customers_and_customers_callers_are_refused(cloud: LocalCloud, api: Api) -> None:
    assert call(api, new_customer(), "erase").status_code == 404
    customer = new_customer()
    assert api.call("POST", f"/v1/admin/customers/{customer}/export", as_=customer).status_code == 403


def test_an_erased_customer_is_never_acted_on_again_and_campaigns_forget_them(cloud: LocalCloud, api: Api) -> None:
    from datetime import date

    from tests.support.campaigns import card_spend, coupon_campaign, grants_of, launch, trigger
    from tests.support.coupons import active_template
    from tests.support.points import accrue, card_transaction, create_rule, posted, rule_body, unique

    # Given a customer with an invite code, a check-in counted by a streak campaign, a running
    # "spend and get a coupon" campaign and a points rule at one merchant
    customer = with_profile(cloud, api)
    assert api.call("POST", f"/v1/customers/{customer}/invite-code", as_=customer).status_code == 200
    streak = coupon_campaign(active_template(api), audience={"customerIds": [customer], "requireProfile": False})
    streak["trigger"], streak["frequencyCaps"] = {"type": "event", "eventType": "CheckInCompleted", "streakDays": 3}, {"monthly": 4}
    streak_id = launch(api, streak)
    check_in = {"customerId": customer, "businessDate": date.today().isoformat(), "checkedInAt": "2026-12-04T01:00:00Z"}
    assert trigger(cloud, "CheckInCompleted", check_in) == {"batchItemFailures": []}
    spend_campaign = launch(api, coupon_campaign(active_template(api)))
    merchant = unique("m")
    create_rule(api, rule_body(unique("r"), merchant))
    held = call(api, customer, "export").json()["campaigns"]
    assert held["inviteCode"] and held["progress"]
    # When an operator erases them
    assert call(api, customer, "erase").status_code == 200
    # Then campaigns hold no progress and no invite code of theirs any more
    held = call(api, customer, "export").json()["campaigns"]
    assert held["inviteCode"] == [] and held["progress"] == []
    # And a qualifying transaction afterwards earns neither a campaign reward nor points
    assert trigger(cloud, "CardTransactionPosted", card_spend(customer, 150_000, merchant=spend_campaign)) == {"batchItemFailures": []}
    assert grants_of(cloud.clients.dynamodb, spend_campaign, customer) == []
    accrue(cloud, posted(card_transaction(customer, merchant, 100_000)))
    assert balance(api, customer)["available"] == 0
    # And a check-in that read the profile just before the erasure writes no progress after it
    from datetime import UTC, datetime

    from loyalty.campaigns import service as campaigns
    from loyalty.campaigns import tasks

    store = campaigns.default_store()
    later = {**check_in, "businessDate": date.today().isoformat()}
    assert tasks.on_progress(store, store.get(streak_id), customer, later, "CheckInCompleted:late", datetime.now(UTC)) == "erased"
    assert call(api, customer, "export").json()["campaigns"]["progress"] == []
    # And operator tags cannot be put on the erased profile
    tags = api.call("PUT", f"/v1/admin/customers/{customer}/tags", body={"tags": ["vip"]}, **OPERATOR)
    assert tags.status_code == 409 and tags.json()["error"]["code"] == "CUSTOMER_ERASED"
    # And an uploaded list naming them does not bring them back into an audience
    from tests.support.campaigns import APPROVER, ROOT

    uploaded = launch(api, coupon_campaign(active_template(api), trigger={"type": "manual"}, audience={"uploaded": True}))
    batch = api.call("POST", f"{ROOT}/{uploaded}/audience-uploads", body={"uploadId": "u-1", "csv": customer}, **APPROVER)
    assert batch.status_code == 200 and batch.json()["batch"]["unknown"] == [customer]


def test_an_export_of_a_scored_customer_has_their_scores_as_numbers_and_an_erasure_is_audited_without_bodies(cloud: LocalCloud, api: Api) -> None:
    from tests.support.scoring import card, ingest_ok, opened, put_profile, scores_of, unique

    # Given a scored customer whose value score has decimals (DynamoDB keeps it as a Decimal)
    customer = unique("px")
    put_profile(cloud, customer, tags=["payroll"])
    ingest_ok(cloud, opened(customer), card(customer, 12_345))
    scores = scores_of(api, customer)["scores"]
    assert scores["value"] != int(scores["value"])
    # When an operator exports them
    response = call(api, customer, "export")
    # Then the scoring state's scores are the same JSON numbers the scores API gives
    assert response.status_code == 200, response.text
    (state,) = [i for i in response.json()["scoring"] if i.get("sk") == "STATE"]
    assert state["scores"] == scores and all(isinstance(v, int | float) for v in state["scores"].values())
    # And when they are erased, the log shows the erasure without its request or its answer
    assert call(api, customer, "erase").status_code == 200
    erased = [e for e in api.call("GET", f"/v1/admin/audit?resource=customers/{customer}", **OPERATOR).json()["items"]
              if e["route"].endswith("/erase")]
    assert {e["phase"] for e in erased} == {"requested", "completed"}
    assert all("request" not in e and "after" not in e for e in erased), erased
