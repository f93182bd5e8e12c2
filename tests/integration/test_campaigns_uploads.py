"""Audiences uploaded as CSV, in batches: unknown and malformed ids are reported and the rest import;
a fire grants to the uploaded list only; an event grants only to its members."""

from __future__ import annotations

from typing import Any

from infra.local.cloud import LocalCloud
from tests.support.api import Api, eventually
from tests.support.campaigns import APPROVER, AUTHOR, ROOT, card_spend, coupon_campaign, grants_of, launch, trigger, unique
from tests.support.coupons import active_template, error_code, wallet_items


def known(cloud: LocalCloud, count: int) -> list[str]:
    """Customers with a profile (written as customers-ingest would, to keep the test short)."""
    ids = [unique("up") for _ in range(count)]
    for customer in ids:
        cloud.clients.dynamodb.put_item(TableName="customers", Item={"customerId": {"S": customer}, "changedAt": {"S": "2026-11-01T00:00:00.000000Z"},
                                                                     "sourceEventId": {"S": "seed"}})
    return ids


def upload(api: Api, campaign_id: str, upload_id: str, text: str, who: dict[str, Any] = APPROVER) -> Any:
    """As an approver: the campaigns here are approved already, and their list is part of what was approved."""
    return api.call("POST", f"{ROOT}/{campaign_id}/audience-uploads", body={"uploadId": upload_id, "csv": text}, **who)


def test_an_upload_reports_unknown_and_malformed_ids_and_imports_the_rest_in_batches(cloud: LocalCloud, api: Api) -> None:
    # Given a manual campaign whose audience is an uploaded list, and four customers the engine knows
    campaign_id = launch(api, coupon_campaign(active_template(api), trigger={"type": "manual"}, audience={"uploaded": True}))
    customers = known(cloud, 4)
    ghost = unique("ghost")
    # When the list arrives in two batches, the first with a header, an unknown id and a malformed one
    first = upload(api, campaign_id, "u-1", "customerId\n" + "\n".join([customers[0], customers[1], ghost, "bad id!"]) + "\n")
    second = upload(api, campaign_id, "u-1", "\n".join(customers[2:]))
    # Then each batch reports what it imported and what it could not, and the upload adds up
    assert first.status_code == 200, first.text
    assert first.json()["batch"] == {"received": 4, "imported": 2, "unknown": [ghost], "invalid": ["bad id!"]}
    assert second.json()["progress"] | {"lastBatchAt": None} == {"batches": 2, "imported": 4, "unknown": 1, "invalid": 1, "lastBatchAt": None}
    # And a fire grants to the four imported customers only
    fired = api.call("POST", f"{ROOT}/{campaign_id}/fire", body={}, **AUTHOR)
    assert fired.status_code == 202, fired.text
    run = f"{ROOT}/{campaign_id}/runs/{fired.json()['runId']}"
    eventually(lambda: api.call("GET", run, **AUTHOR).json()["status"] == "completed", timeout_s=60)
    assert api.call("GET", run, **AUTHOR).json()["progress"] == "4/4"
    eventually(lambda: all(wallet_items(api, c) for c in customers), timeout_s=60)
    assert grants_of(cloud.clients.dynamodb, campaign_id, ghost) == []


def test_an_event_grants_only_to_members_of_the_uploaded_list(cloud: LocalCloud, api: Api) -> None:
    # Given an event campaign with an uploaded audience of one customer
    body = coupon_campaign(active_template(api), audience={"uploaded": True})
    campaign_id = launch(api, body)
    member, stranger = known(cloud, 2)
    assert upload(api, campaign_id, "u-1", member).status_code == 200
    # When both spend enough at the campaign's merchant
    for customer in (member, stranger):
        assert trigger(cloud, "CardTransactionPosted", card_spend(customer, 150_000, merchant=campaign_id)) == {"batchItemFailures": []}
    # Then only the member is granted
    assert len(grants_of(cloud.clients.dynamodb, campaign_id, member)) == 1
    assert grants_of(cloud.clients.dynamodb, campaign_id, stranger) == []


def test_an_upload_to_an_unknown_campaign_or_of_an_oversized_batch_is_refused(cloud: LocalCloud, api: Api) -> None:
    assert error_code(upload(api, "no-such-campaign", "u-1", "c-1")) == "CAMPAIGN_NOT_FOUND"
    campaign_id = launch(api, coupon_campaign(active_template(api), trigger={"type": "manual"}, audience={"uploaded": True}))
    too_many = "\n".join(f"c{i}" for i in range(5_001))
    assert error_code(upload(api, campaign_id, "u-2", too_many)) == "BATCH_TOO_LARGE"


def test_adding_to_an_approved_campaigns_list_needs_an_approver(cloud: LocalCloud, api: Api) -> None:
    from tests.support.campaigns import create

    # Given a draft campaign with an uploaded audience: its author uploads the list
    (member, added) = known(cloud, 2)
    draft = create(api, coupon_campaign(active_template(api), trigger={"type": "manual"}, audience={"uploaded": True}))["campaignId"]
    assert upload(api, draft, "u-1", member, who=AUTHOR).status_code == 200
    # When, once approved, the author (not an approver) adds to the list
    approved = launch(api, coupon_campaign(active_template(api), trigger={"type": "manual"}, audience={"uploaded": True}))
    refused = upload(api, approved, "u-1", added, who=AUTHOR)
    # Then it is refused, and an approver may, unless the approver wrote the campaign
    assert refused.status_code == 403 and error_code(refused) == "APPROVER_REQUIRED"
    assert upload(api, approved, "u-1", added).status_code == 200
    own = create(api, coupon_campaign(active_template(api), trigger={"type": "manual"}, audience={"uploaded": True}))["campaignId"]
    from tests.support.campaigns import act

    assert act(api, own, "submit", AUTHOR).status_code == 200 and act(api, own, "approve", APPROVER).status_code == 200
    author_approver = {"as_": AUTHOR["as_"], "groups": ["operators", "approvers"]}
    assert error_code(upload(api, own, "u-1", added, who=author_approver)) == "APPROVER_IS_AUTHOR"


def test_a_csv_one_character_over_its_limit_is_refused_by_validation_not_as_too_large(cloud: LocalCloud, api: Api) -> None:
    from loyalty.campaigns.uploads import MAX_CSV_CHARS
    from tests.support.campaigns import create

    # Given a draft campaign with an uploaded audience, and a CSV one character over the limit (CRLF lines)
    campaign_id = create(api, coupon_campaign("tpl-x", trigger={"type": "manual"}, audience={"uploaded": True}))["campaignId"]
    text = "".join(f"c{i:05d}\r\n" for i in range(MAX_CSV_CHARS // 8 + 1))[: MAX_CSV_CHARS + 1]
    # When it is uploaded
    response = upload(api, campaign_id, "u-1", text, who=AUTHOR)
    # Then validation refuses it, naming the field, and nothing was imported
    assert response.status_code == 400 and error_code(response) == "VALIDATION_ERROR", response.text
    assert response.json()["error"]["details"][0]["field"] == "csv"
    assert error_code(api.call("GET", f"{ROOT}/{campaign_id}/audience-uploads/u-1", **AUTHOR)) == "UPLOAD_NOT_FOUND"
