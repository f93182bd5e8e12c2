"""e2e: the coupon flow against `python -m infra.local run`, as the bank's systems would drive it:
HTTP with tokens for the operator, the customer and the payment flow; SQS for a campaign's command.

It only reads and adds: it never stops the session's system (test_local_cloud.py's last test does).
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest

from tests.e2e.conftest import RunningSystem
from tests.support.api import Api, eventually
from tests.support.coupons import (
    active_template,
    claim,
    coupon_action,
    error_code,
    fixed_amount,
    order,
    wallet,
    wallet_items,
)

CUSTOMER = "c-001"  # seeded by the demo bank


@pytest.fixture()
def api(system: RunningSystem) -> Api:
    assert system.process.poll() is None, "the session's local cloud was stopped by an earlier test"
    return system.api


def sqs_client(system: RunningSystem) -> Any:
    return boto3.client(
        "sqs", endpoint_url=system.aws_endpoint, region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local",
    )


def test_an_operator_creates_a_coupon_that_a_customer_claims_and_spends(api: Api) -> None:
    # Given an operator who creates and activates a 20.00 CNY template
    template_id = active_template(api, benefit=fixed_amount(2_000), stock=10, lifetime_limit=1)
    # When customer c-001 claims it
    claimed = claim(api, CUSTOMER, template_id)
    assert claimed.status_code == 201, claimed.text
    coupon_id = claimed.json()["couponId"]
    # Then their wallet shows it available
    mine = [c for c in wallet_items(api, CUSTOMER) if c["templateId"] == template_id]
    assert [(c["couponId"], c["status"]) for c in mine] == [(coupon_id, "available")]
    assert wallet(api, CUSTOMER).status_code == 200  # the customer reads their own wallet too

    # When the payment flow quotes, locks and redeems it for a 150.00 order
    basket = order(15_000)
    quote = coupon_action(api, coupon_id, "quote", CUSTOMER, basket, idempotency_key=None)
    assert quote.status_code == 200, quote.text
    assert (quote.json()["discountMinor"], quote.json()["payableMinor"]) == (2_000, 13_000)
    lock = coupon_action(api, coupon_id, "lock", CUSTOMER, {"orderId": "e2e-order-1", "order": basket})
    assert lock.status_code == 200, lock.text
    redeem = coupon_action(api, coupon_id, "redeem", CUSTOMER, {"orderId": "e2e-order-1"})
    assert redeem.status_code == 200, redeem.text
    # Then the wallet shows it redeemed for that order
    redeemed = [c for c in wallet_items(api, CUSTOMER, status="redeemed") if c["couponId"] == coupon_id]
    assert len(redeemed) == 1
    assert redeemed[0]["redemption"]["orderId"] == "e2e-order-1"
    assert redeemed[0]["redemption"]["discountMinor"] == 2_000

    # And another customer can neither redeem it nor read c-001's wallet
    other = coupon_action(api, coupon_id, "redeem", "c-002", {"orderId": "e2e-order-2"})
    assert (other.status_code, error_code(other)) == (403, "NOT_RESOURCE_OWNER")
    assert wallet(api, CUSTOMER, as_="c-002").status_code == 403
    # And the limit of one holds
    again = claim(api, CUSTOMER, template_id)
    assert (again.status_code, error_code(again)) == (409, "COUPON_LIMIT_REACHED")


def test_a_campaign_command_on_the_queue_lands_in_the_wallet(system: RunningSystem, api: Api) -> None:
    # Given an active template and a campaign sending IssueCoupon to coupon-commands with boto3
    template_id = active_template(api, stock=5)
    sqs = sqs_client(system)
    url = sqs.get_queue_url(QueueName="coupon-commands")["QueueUrl"]
    command = {"commandId": f"e2e-{uuid.uuid4()}", "customerId": "c-002", "templateId": template_id,
               "source": "campaign", "campaignId": "e2e-campaign"}
    # When it is sent twice (at-least-once delivery)
    for _ in range(2):
        sqs.send_message(QueueUrl=url, MessageBody=json.dumps(command))
    # Then c-002 finds one coupon from the campaign in their wallet

    def campaign_coupons() -> list[dict[str, Any]]:
        return [c for c in wallet_items(api, "c-002") if c["templateId"] == template_id]

    def drained() -> bool:
        names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
        attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
        return all(attributes[name] == "0" for name in names)

    found = eventually(campaign_coupons, timeout_s=15)
    eventually(drained, timeout_s=15)
    assert found[0]["campaignId"] == "e2e-campaign"
    assert len(campaign_coupons()) == 1
