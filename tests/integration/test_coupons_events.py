"""Coupon events on the bus: written to the table's outbox in the same transaction as the change,
published by `coupons-outbox` from the table's stream (the local stream poller runs it).

A queue of the test's own, behind a rule on `loyalty-events` for `loyalty.coupons`, sees what any
consumer would. Every detail is checked against its schema in events/schemas/outbound.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from infra.local.cloud import LocalCloud
from tests.support.api import Api, eventually
from tests.support.bus import BusTap
from tests.support.coupons import (
    FUNDING,
    active_template,
    add_stock,
    claim,
    claimed,
    coupon_action,
    earlier_today,
    move_validity_end,
    new_customer,
    red_packet,
    set_status,
    unique,
)

SCHEMAS = {p.stem: json.loads(p.read_text()) for p in (Path(__file__).resolve().parents[2] / "events" / "schemas").rglob("*.json")}
COST = {"amountMinor": FUNDING["unitCostMinor"], "currency": FUNDING["currency"]}


class CouponsTap(BusTap):
    """Every `loyalty.coupons` event that reaches the bus."""

    def __init__(self, cloud: LocalCloud):
        super().__init__(cloud, unique("coupon-events-tap"), ["loyalty.coupons"])

    def matching(self, detail_type: str, **detail: Any) -> list[dict[str, Any]]:
        return [
            e for e in self.seen
            if e["detail-type"] == detail_type and all(e["detail"].get(k) == v for k, v in detail.items())
        ]

    def wait_for(self, detail_type: str, timeout_s: float = 15.0, **detail: Any) -> dict[str, Any]:
        """The first event of that type whose detail has those values; its detail."""

        def probe() -> list[dict[str, Any]]:
            self.drain()
            return self.matching(detail_type, **detail)

        try:
            found = eventually(probe, timeout_s=timeout_s, interval_s=0.1)
        except AssertionError:
            raise AssertionError(
                f"no {detail_type} {detail} on the bus within {timeout_s}s: is the coupons table's stream poller "
                f"running (infra/local/streams.py)? The tap saw {[e['detail-type'] for e in self.seen][-20:]}"
            ) from None
        event = found[0]
        assert event["source"] == "loyalty.coupons"
        jsonschema.validate(event["detail"], SCHEMAS[detail_type], format_checker=jsonschema.FormatChecker())
        return dict(event["detail"])


@pytest.fixture(scope="module")
def tap(cloud: LocalCloud) -> Iterator[CouponsTap]:
    bus_tap = CouponsTap(cloud)
    yield bus_tap
    bus_tap.close()


def assert_costed(detail: dict[str, Any], template_id: str, customer: str, coupon_id: str) -> None:
    assert detail["templateId"] == template_id
    assert detail["customerId"] == customer
    assert detail["couponId"] == coupon_id
    assert detail["cost"] == COST
    assert detail["funding"] == {"costCentre": FUNDING["costCentre"]}
    uuid.UUID(detail["eventId"])


def test_the_redemption_flow_is_announced_event_by_event(api: Api, tap: CouponsTap) -> None:
    # Given a customer who claims, locks, redeems and returns a coupon
    customer = new_customer()
    template_id = active_template(api, stock=5)
    coupon_id = claimed(api, customer, template_id)["couponId"]
    lock = {"orderId": "o-1", "order": {"orderAmountMinor": 9_900, "currency": "CNY", "merchantId": "m-1", "channel": "app"}}
    assert coupon_action(api, coupon_id, "lock", customer, lock).status_code == 200
    assert coupon_action(api, coupon_id, "redeem", customer, {"orderId": "o-1"}).status_code == 200
    assert coupon_action(api, coupon_id, "return", customer, {"orderId": "o-1"}).status_code == 200
    # Then each step arrives on the bus, with the template, customer, cost and funding
    issued = tap.wait_for("CouponIssued", couponId=coupon_id)
    locked = tap.wait_for("CouponLocked", couponId=coupon_id)
    redeemed = tap.wait_for("CouponRedeemed", couponId=coupon_id)
    returned = tap.wait_for("CouponReturned", couponId=coupon_id)
    for detail in (issued, locked, redeemed, returned):
        assert_costed(detail, template_id, customer, coupon_id)
    assert (issued["source"], issued["kind"]) == ("claim", "fixed_amount")
    assert locked["orderId"] == redeemed["orderId"] == returned["orderId"] == "o-1"
    assert redeemed["discountMinor"] == 500
    assert returned["status"] == "available"
    # And every event has its own id
    assert len({d["eventId"] for d in (issued, locked, redeemed, returned)}) == 4


def test_a_replayed_claim_is_announced_once(api: Api, tap: CouponsTap) -> None:
    customer, key = new_customer(), str(uuid.uuid4())
    template_id = active_template(api, stock=5)
    coupon_id = claim(api, customer, template_id, key=key).json()["couponId"]
    assert claim(api, customer, template_id, key=key).status_code == 201
    # A later event of the same stream, to know the replay had its chance to publish
    assert coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-1"}).status_code == 200
    tap.wait_for("CouponLocked", couponId=coupon_id)
    assert len(tap.matching("CouponIssued", couponId=coupon_id)) == 1


def test_a_refused_claim_is_not_announced(api: Api, tap: CouponsTap) -> None:
    template_id = active_template(api, stock=1)
    winner, loser = new_customer(), new_customer()
    claimed(api, winner, template_id)
    assert claim(api, loser, template_id).status_code == 409
    later = new_customer()
    add_stock(api, template_id, 1)
    claimed(api, later, template_id)
    tap.wait_for("CouponIssued", customerId=later)
    assert tap.matching("CouponIssued", customerId=loser) == []


def test_a_command_refused_for_stock_announces_coupon_issue_failed(cloud: LocalCloud, api: Api, tap: CouponsTap) -> None:
    # Given a campaign's IssueCoupon for a template with no stock
    template_id = active_template(api, stock=0)
    command = {"commandId": unique("cmd"), "customerId": new_customer(), "templateId": template_id,
               "source": "campaign", "campaignId": "camp-1"}
    cloud.clients.sqs.send_message(QueueUrl=cloud.provisioned.queue_urls["coupon-commands"], MessageBody=json.dumps(command))
    # Then CouponIssueFailed tells the campaign why, so it can roll its budget back
    failed = tap.wait_for("CouponIssueFailed", commandId=command["commandId"])
    assert failed["reason"] == "COUPON_OUT_OF_STOCK"
    assert (failed["customerId"], failed["templateId"], failed["campaignId"]) == (command["customerId"], template_id, "camp-1")
    uuid.UUID(failed["eventId"])


def test_a_refused_command_without_a_campaign_announces_a_valid_event(cloud: LocalCloud, api: Api, tap: CouponsTap) -> None:
    # Given an operator's IssueCoupon (no campaignId) for an unknown template
    command = {"commandId": unique("cmd"), "customerId": new_customer(), "templateId": unique("missing"), "source": "operator"}
    cloud.clients.sqs.send_message(QueueUrl=cloud.provisioned.queue_urls["coupon-commands"], MessageBody=json.dumps(command))
    # Then CouponIssueFailed arrives, and matches its schema (wait_for validates it)
    failed = tap.wait_for("CouponIssueFailed", commandId=command["commandId"])
    assert failed["reason"] == "TEMPLATE_NOT_FOUND"


def test_a_command_issue_carries_the_campaign(cloud: LocalCloud, api: Api, tap: CouponsTap) -> None:
    template_id = active_template(api, stock=5)
    command = {"commandId": unique("cmd"), "customerId": new_customer(), "templateId": template_id,
               "source": "points_mall", "campaignId": "camp-2"}
    cloud.clients.sqs.send_message(QueueUrl=cloud.provisioned.queue_urls["coupon-commands"], MessageBody=json.dumps(command))
    issued = tap.wait_for("CouponIssued", commandId=command["commandId"])
    assert (issued["source"], issued["campaignId"], issued["customerId"]) == ("points_mall", "camp-2", command["customerId"])


def test_a_red_packet_asks_core_banking_for_the_credit(api: Api, tap: CouponsTap) -> None:
    customer = new_customer()
    template_id = active_template(api, benefit=red_packet(1_888))
    coupon_id = claimed(api, customer, template_id)["couponId"]
    credit = tap.wait_for("RedPacketCreditRequested", couponId=coupon_id)
    assert credit["credit"] == {"amountMinor": 1_888, "currency": "CNY"}
    assert credit["customerId"] == customer


def test_operator_changes_and_expiry_are_announced(cloud: LocalCloud, api: Api, tap: CouponsTap) -> None:
    # Given a template paused, restocked, and a coupon of it swept as expired
    customer = new_customer()
    template_id = active_template(api, stock=5)
    coupon_id = claimed(api, customer, template_id)["couponId"]
    assert set_status(api, template_id, "paused").status_code == 200
    assert add_stock(api, template_id, 7).status_code == 200
    move_validity_end(cloud.clients.dynamodb, coupon_id, earlier_today(seconds=5))
    cloud.scheduler.fire_now("coupons-expiry-sweep")
    # Then each is on the bus
    paused = tap.wait_for("CouponTemplateStatusChanged", templateId=template_id, to="paused")
    assert paused["from"] == "active"
    stocked = tap.wait_for("CouponStockAdded", templateId=template_id)
    assert (stocked["added"], stocked["stockAdded"]) == (7, 12)
    expired = tap.wait_for("CouponExpired", couponId=coupon_id)
    assert_costed(expired, template_id, customer, coupon_id)
