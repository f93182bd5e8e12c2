"""The campaigns capability's PIPL port on the local cloud: its export is the `campaigns` section the
privacy service puts in an export, and its erasure deletes and anonymises behaviour and relations."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from infra.local.cloud import LocalCloud
from loyalty.core.dynamo import from_item, to_item
from tests.support.api import Api
from tests.support.campaigns import APPROVER, AUTHOR, ROOT, act, card_spend, coupon_campaign, iso, launch, trigger, unique
from tests.support.coupons import active_template

OK: dict[str, list[object]] = {"batchItemFailures": []}


def code_of(api: Api, customer: str) -> str:
    response = api.call("POST", f"/v1/customers/{customer}/invite-code", as_=customer)
    assert response.status_code == 200, response.text
    return str(response.json()["code"])


def sign_up(cloud: LocalCloud, customer: str, code: str) -> None:
    opened = {"customerId": customer, "accountId": unique("acc"), "openedAt": iso(datetime.now(UTC)), "referralCode": code}
    assert trigger(cloud, "AccountOpened", opened) == OK


def holding_everything(cloud: LocalCloud, api: Api) -> tuple[str, str, str, list[str]]:
    """A customer with an invite code and a referral made with it, a referral of their own, task
    progress, a grant with its frequency counter, targeting and notification, a place in an uploaded
    audience, and a trigger still parked from before their profile. (customer, their invitee, their
    code, the campaigns launched)"""
    customer, invitee = unique("pv"), unique("pv-invitee")
    cloud.clients.dynamodb.put_item(TableName="customers", Item={"customerId": {"S": customer}, "changedAt": {"S": "2026-11-01T00:00:00.000000Z"},
                                                                 "sourceEventId": {"S": "seed"}})
    template = active_template(api)
    mgm = coupon_campaign(template, trigger={"type": "referral", "minAmountMinor": 10_000, "withinDays": 30,
                                             "inviterActions": [{"type": "award_points", "points": 500, "costCentre": "cc-mgm"}]},
                          frequencyCaps={"monthly": 10})
    streak = coupon_campaign(template, audience={"customerIds": [customer], "requireProfile": False},
                             trigger={"type": "event", "eventType": "CheckInCompleted", "streakDays": 3}, frequencyCaps={"monthly": 4})
    spend = coupon_campaign(template)
    spend["variants"][0]["actions"].append({"type": "notify", "channel": "push", "templateId": "notice-1"})
    uploaded = coupon_campaign(template, trigger={"type": "manual"}, audience={"uploaded": True})
    launched = [launch(api, body) for body in (mgm, streak, spend, uploaded)]
    code = code_of(api, customer)
    sign_up(cloud, invitee, code)
    sign_up(cloud, customer, code_of(api, unique("pv-inviter")))
    check_in = {"customerId": customer, "businessDate": date.today().isoformat(), "checkedInAt": iso(datetime.now(UTC))}
    assert trigger(cloud, "CheckInCompleted", check_in) == OK
    assert trigger(cloud, "CardTransactionPosted", card_spend(customer, 150_000, merchant=launched[2])) == OK
    batch = api.call("POST", f"{ROOT}/{launched[3]}/audience-uploads", body={"uploadId": "u-1", "csv": customer}, **APPROVER)
    assert batch.status_code == 200 and batch.json()["batch"]["imported"] == 1, batch.text
    park_trigger(customer, check_in, launched[1])
    return customer, invitee, code, launched


def park_trigger(customer: str, check_in: dict[str, Any], campaign_id: str) -> None:
    from loyalty.campaigns import parking
    from loyalty.campaigns.model import TRIGGER_DETAILS
    from loyalty.campaigns.store import DynamoCampaignStore

    detail = TRIGGER_DETAILS["CheckInCompleted"].model_validate({**check_in, "customerId": customer})
    parked = parking.parked("CheckInCompleted", detail, f"CheckInCompleted:{customer}:early", [campaign_id], [], datetime.now(UTC), 30)
    assert DynamoCampaignStore().park_trigger(parked)


def end(api: Api, campaigns: list[str]) -> None:
    """Campaigns stay active for the whole session otherwise, and would act on other tests' events."""
    for campaign_id in campaigns:
        assert act(api, campaign_id, "end", AUTHOR).status_code == 200


def stored(cloud: LocalCloud, pk: str, sk: str) -> dict[str, Any] | None:
    found = cloud.clients.dynamodb.get_item(TableName="campaigns", Key=to_item({"pk": pk, "sk": sk}), ConsistentRead=True).get("Item")
    return from_item(found) if found else None


def test_the_port_exports_every_kind_of_record_and_erases_behaviour_and_relations(cloud: LocalCloud, api: Api) -> None:
    from loyalty.campaigns.ports import campaigns
    from loyalty.campaigns.privacy import held

    # Given a customer holding every kind of campaign record
    customer, invitee, code, launched = holding_everything(cloud, api)
    # When the campaigns port exports them
    exported = campaigns().export(customer)
    # Then the `campaigns` section has every kind of record in it, as stored
    assert set(exported) == set(held(customer))
    assert all(exported[kind] for kind in exported if kind != "notifications") and exported["notifications"]
    assert exported["referralsMade"][0]["inviteeId"] != invitee  # another customer: masked
    before = held(customer)

    # When the port erases them
    receipt = campaigns().erase(customer, datetime.now(UTC))
    # Then it counts each item deleted, the invite code's owner, each referral made
    deleted = sum(len(before[kind]) for kind in ("progress", "notifications", "inviteCode", "referredBy", "audiences", "parkedTriggers"))
    assert receipt == {"campaignItemsErased": deleted + len(before["inviteCode"]) + len(before["referralsMade"])}
    # And their behaviour and relations are gone, the grants, counters and targeting stay
    after = held(customer)
    assert {kind: len(items) for kind, items in after.items()} == {
        "progress": 0, "notifications": 0, "inviteCode": 0, "referredBy": 0, "referralsMade": 0, "audiences": 0, "parkedTriggers": 0,
        **{kind: len(before[kind]) for kind in ("targeted", "frequency", "grants")}}
    assert stored(cloud, f"INVITE#{code}", "CODE") is None
    # And the invitee's referral stays, its inviter replaced and the code dropped
    kept = stored(cloud, f"REFERRAL#{launched[0]}", invitee)
    assert kept is not None and kept["inviterId"] == "erased" and kept["status"] == "bound"
    assert not {"code", "gsi1pk", "gsi1sk"} & set(kept)
    end(api, launched)


def test_the_export_of_a_customer_campaigns_never_saw_is_empty(cloud: LocalCloud) -> None:
    from loyalty.campaigns.ports import campaigns

    # Given a customer campaigns never saw
    # When the port exports and erases them
    exported, receipt = campaigns().export(unique("nobody")), campaigns().erase(unique("nobody"), datetime.now(UTC))
    # Then there is nothing, by kind, and nothing is erased
    assert exported == {kind: [] for kind in ("progress", "notifications", "inviteCode", "referredBy", "referralsMade", "audiences",
                                              "targeted", "frequency", "grants", "parkedTriggers")}
    assert receipt == {"campaignItemsErased": 0}

