"""e2e, points: an operator creates an earn rule; core banking publishes a card transaction on
`loyalty-events` with boto3; the customer sees the points; a published refund takes them back.
"""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.e2e.conftest import RunningSystem
from tests.support.api import eventually
from tests.support.points import OPERATOR, RULES, card_refund, card_transaction, new_customer, rule_body, unique


def events_client(system: RunningSystem) -> Any:
    return boto3.client(
        "events", endpoint_url=system.aws_endpoint, region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
    )


def put(system: RunningSystem, detail_type: str, detail: dict[str, Any]) -> None:
    result = events_client(system).put_events(
        Entries=[{"EventBusName": "loyalty-events", "Source": "bank.core", "DetailType": detail_type, "Detail": json.dumps(detail)}]
    )
    assert result["FailedEntryCount"] == 0


def test_a_card_transaction_earns_points_and_its_refund_takes_them_back(system: RunningSystem) -> None:
    api = system.api
    customer, merchant, rule_id = new_customer(), unique("m"), unique("r")
    # Given an operator's rule: 1 point per 10 yuan at one merchant
    created = api.call("POST", RULES, body=rule_body(rule_id, merchant), **OPERATOR)
    assert created.status_code == 201, created.text
    # When core banking publishes a 1288 yuan card transaction there
    tx = card_transaction(customer, merchant, 128_800)
    put(system, "CardTransactionPosted", tx)

    def points() -> dict[str, Any]:
        response = api.call("GET", f"/v1/customers/{customer}/points", as_=customer)
        assert response.status_code == 200, response.text
        return dict(response.json())

    # Then the customer sees 128 points
    eventually(lambda: points()["available"] == 128, timeout_s=15)
    (earned,) = api.call("GET", f"/v1/customers/{customer}/points/history", as_=customer).json()["items"]
    assert earned["kind"] == "earn" and earned["source"]["ruleId"] == rule_id
    # And when the transaction is refunded in full, the points are taken back
    put(system, "CardTransactionRefunded", card_refund(customer, tx["transactionId"], 128_800))
    eventually(lambda: points()["available"] == 0, timeout_s=15)
    kinds = [e["kind"] for e in api.call("GET", f"/v1/customers/{customer}/points/history", as_=customer).json()["items"]]
    assert kinds == ["reverse", "earn"]


def test_points_earned_from_a_card_transaction_buy_a_coupon_that_reaches_the_wallet(system: RunningSystem) -> None:
    from tests.support.coupons import TEMPLATES, template_body

    api = system.api
    customer, merchant = new_customer(), unique("m")
    # Given 128 points earned from a card transaction published by core banking
    assert api.call("POST", RULES, body=rule_body(unique("r"), merchant), **OPERATOR).status_code == 201
    put(system, "CardTransactionPosted", card_transaction(customer, merchant, 128_800))
    eventually(lambda: api.call("GET", f"/v1/customers/{customer}/points", as_=customer).json()["available"] == 128, timeout_s=15)
    # And an active coupon template in the points catalogue at 100 points
    template = template_body()
    assert api.call("POST", TEMPLATES, body=template, **OPERATOR).status_code == 201
    assert api.call("PUT", f"{TEMPLATES}/{template['templateId']}/status", body={"status": "active"}, **OPERATOR).status_code == 200
    item = {"itemId": unique("item"), "name": "5 yuan off", "kind": "coupon", "points": 100, "templateId": template["templateId"]}
    assert api.call("PUT", f"/v1/admin/points/catalogue/{item['itemId']}", body=item, **OPERATOR).status_code == 200
    # When the customer redeems it
    redeemed = api.call("POST", "/v1/points/redemptions", as_=customer, body={"itemId": item["itemId"]})
    assert redeemed.status_code == 201, redeemed.text
    # Then the coupon reaches the wallet, through IssueCoupon on the bus, and 28 points are left
    def wallet() -> list[dict[str, Any]]:
        return list(api.call("GET", f"/v1/customers/{customer}/coupons", as_=customer).json()["items"])

    (coupon,) = eventually(wallet, timeout_s=20)
    assert coupon["templateId"] == template["templateId"]
    rid = redeemed.json()["redemptionId"]
    eventually(lambda: api.call("GET", f"/v1/points/redemptions/{rid}", as_=customer).json()["status"] == "completed", timeout_s=15)
    assert api.call("GET", f"/v1/customers/{customer}/points", as_=customer).json()["available"] == 28
