"""MGM referral on the local cloud: invite codes, binding at sign-up, qualification within the
window, both rewards once, and self-referral refused by code or by a shared device or phone hash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from infra.local.cloud import LocalCloud
from tests.support.api import Api
from tests.support.campaigns import STANDING, card_spend, coupon_campaign, grants_of, iso, launch, trigger, unique
from tests.support.coupons import active_template
from tests.support.scoring import ingest_ok, profile_snapshot

OK: dict[str, list[object]] = {"batchItemFailures": []}


def referral_campaign(template_id: str, min_amount: int = 10_000, within_days: int = 30) -> dict[str, Any]:
    body = coupon_campaign(template_id)
    body["trigger"] = {"type": "referral", "minAmountMinor": min_amount, "withinDays": within_days,
                       "inviterActions": [{"type": "award_points", "points": 500, "costCentre": "cc-mgm"}]}
    body["frequencyCaps"] = {"monthly": 10}
    return body


def code_of(api: Api, customer: str) -> str:
    response = api.call("POST", f"/v1/customers/{customer}/invite-code", as_=customer)
    assert response.status_code == 200, response.text
    return str(response.json()["code"])


def sign_up(cloud: LocalCloud, invitee: str, code: str, days_ago: int = 0, **hashes: str) -> None:
    opened = {"customerId": invitee, "accountId": unique("acc"), "productCode": "debit-card", "channel": "app",
              "openedAt": iso(datetime.now(UTC) - timedelta(days=days_ago)), "referralCode": code, **hashes}
    assert trigger(cloud, "AccountOpened", opened) == OK


def referral(cloud: LocalCloud, campaign_id: str, invitee: str) -> dict[str, Any]:
    from loyalty.core.dynamo import from_item

    item = cloud.clients.dynamodb.get_item(TableName="campaigns", Key={"pk": {"S": f"REFERRAL#{campaign_id}"}, "sk": {"S": invitee}},
                                           ConsistentRead=True)["Item"]
    return from_item(item)


def test_an_invite_code_is_the_customers_own_and_stays_the_same(api: Api) -> None:
    customer, other = unique("inviter"), unique("inviter")
    # When the customer asks for their code twice, with different idempotency keys
    first, again = code_of(api, customer), code_of(api, customer)
    # Then it is the same 8-character code, different from another customer's
    assert first == again and len(first) == 8 and first.isalnum()
    assert code_of(api, other) != first
    # And nobody may ask for someone else's code
    response = api.call("POST", f"/v1/customers/{customer}/invite-code", as_=other)
    assert response.status_code == 403 and response.json()["error"]["code"] == "NOT_RESOURCE_OWNER"


def test_a_qualifying_invitee_and_the_inviter_are_each_rewarded_once(cloud: LocalCloud, api: Api) -> None:
    # Given an active MGM campaign and an inviter's code
    campaign_id = launch(api, referral_campaign(active_template(api)))
    inviter, invitee = unique("inviter"), unique("invitee")
    code = code_of(api, inviter)
    # When the invitee signs up with it (the event delivered twice)
    sign_up(cloud, invitee, code.lower())
    sign_up(cloud, invitee, code)
    # Then the referral is bound, once
    assert referral(cloud, campaign_id, invitee)["status"] == "bound"
    # When a transaction below the minimum arrives, nothing happens
    assert trigger(cloud, "CardTransactionPosted", card_spend(invitee, 9_999, merchant="m-mgm")) == OK
    assert referral(cloud, campaign_id, invitee)["status"] == "bound"
    # When a qualifying one arrives, three times, and then another qualifying one
    qualifying = card_spend(invitee, 10_000, merchant="m-mgm")
    for _ in range(3):
        assert trigger(cloud, "CardTransactionPosted", qualifying) == OK
    assert trigger(cloud, "CardTransactionPosted", card_spend(invitee, 50_000, merchant="m-mgm")) == OK
    # Then the referral qualified on that transaction, and each of them has one grant for it
    assert referral(cloud, campaign_id, invitee)["qualifyingTransaction"] == qualifying["transactionId"]
    for customer in (invitee, inviter):
        (grant,) = grants_of(cloud.clients.dynamodb, campaign_id, customer)
        assert grant["sk"] == f"referral:{invitee}" and grant["status"] in STANDING
    # And the inviter sees the referral, with the invitee masked
    mine = api.call("GET", f"/v1/customers/{inviter}/referrals", as_=inviter).json()
    assert mine["code"] == code
    (shown,) = [r for r in mine["referrals"] if r["campaignId"] == campaign_id]
    assert shown["status"] == "qualified" and invitee not in str(shown)


def test_an_invitee_who_qualifies_too_late_gets_nothing(cloud: LocalCloud, api: Api) -> None:
    campaign_id = launch(api, referral_campaign(active_template(api), within_days=30))
    inviter, invitee = unique("inviter"), unique("invitee")
    sign_up(cloud, invitee, code_of(api, inviter), days_ago=31)
    assert trigger(cloud, "CardTransactionPosted", card_spend(invitee, 80_000, merchant="m-mgm")) == OK
    assert referral(cloud, campaign_id, invitee)["status"] == "bound"
    assert grants_of(cloud.clients.dynamodb, campaign_id, invitee) == grants_of(cloud.clients.dynamodb, campaign_id, inviter) == []


def test_self_referral_is_refused_by_code_and_by_a_shared_device_or_phone(cloud: LocalCloud, api: Api) -> None:
    campaign_id = launch(api, referral_campaign(active_template(api)))
    inviter = unique("inviter")
    code = code_of(api, inviter)
    # Given the inviter has logged in from a device and has a phone on their profile
    device, phone = unique("dev-raw"), unique("phone-raw")
    profile_snapshot(cloud, inviter, phoneHash=phone)
    ingest_ok(cloud, ("LoginCompleted", {"customerId": inviter, "channel": "app", "loggedInAt": iso(datetime.now(UTC)), "deviceHash": device}))
    same_device, same_phone, unknown, honest = (unique("invitee") for _ in range(4))
    # When invitees sign up: on the inviter's device, with the inviter's phone, with an unknown code, and one honestly
    sign_up(cloud, same_device, code, deviceHash=device)
    sign_up(cloud, same_phone, code, phoneHash=phone)
    sign_up(cloud, unknown, "ZZZZZZZZ")
    sign_up(cloud, honest, code, deviceHash=unique("dev-raw"), phoneHash=unique("phone-raw"))
    # And the inviter uses their own code on a new account of theirs
    sign_up(cloud, inviter, code)
    # Then each is refused with its reason, and only the honest one is bound
    assert {c: (referral(cloud, campaign_id, c)["status"], referral(cloud, campaign_id, c).get("reason"))
            for c in (same_device, same_phone, unknown, honest, inviter)} == {
        same_device: ("refused", "shared_identity"), same_phone: ("refused", "shared_identity"), unknown: ("refused", "unknown_code"),
        honest: ("bound", None), inviter: ("refused", "self_referral")}
    # And a refused invitee's qualifying transaction rewards nobody
    assert trigger(cloud, "CardTransactionPosted", card_spend(same_device, 80_000, merchant="m-mgm")) == OK
    assert grants_of(cloud.clients.dynamodb, campaign_id, same_device) == grants_of(cloud.clients.dynamodb, campaign_id, inviter) == []
