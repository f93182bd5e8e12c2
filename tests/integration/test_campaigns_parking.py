"""Campaign triggers before the profile (docs/campaigns.md, "Triggers before the profile"), on the
local cloud: a trigger for a customer core banking has not published yet is parked in the campaigns
table for the campaigns whose audience reads the profile, not retried and not dropped; the profile's
event (routed to campaign-triggers too) grants it, once; the hourly sweep reports one that waits too
long, and applies one whose profile's event never came."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from loyalty.core.clock import iso_utc
from loyalty.core.dynamo import from_item
from tests.support.api import Api
from tests.support.campaigns import AUTHOR, STANDING, act, card_spend, coupon_campaign, grants_of, iso, launch, trigger, unique
from tests.support.coupons import active_template
from tests.support.points import envelope
from tests.support.scoring import profile, put_profile

OK: dict[str, list[object]] = {"batchItemFailures": []}
SWEEP = "campaigns-parked"


@pytest.fixture
def metrics(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """The business metrics the sweep counts (the local cloud turns Powertools' publishing off)."""
    counted: dict[str, int] = {}

    def count(name: str, value: int = 1) -> None:
        counted[name] = counted.get(name, 0) + value

    monkeypatch.setattr("loyalty.core.parking.count", count)
    yield counted


@pytest.fixture
def campaign(api: Api) -> Iterator[str]:
    """An active campaign whose audience reads the profile (the default), open since ten days ago, for
    card payments at the merchant named like it (no other test's payments)."""
    now = datetime.now(UTC)
    body = coupon_campaign(active_template(api), audience={}, window={"startsAt": iso(now - timedelta(days=10)),
                                                                       "endsAt": iso(now + timedelta(days=30))})
    campaign_id = launch(api, body)
    yield campaign_id
    assert act(api, campaign_id, "end", AUTHOR).status_code == 200  # active for the session otherwise


def parked(cloud: LocalCloud, customer: str) -> list[dict[str, Any]]:
    found = cloud.clients.dynamodb.query(TableName="campaigns", KeyConditionExpression="pk = :p", ConsistentRead=True,
                                         ExpressionAttributeValues={":p": {"S": f"PARKED#{customer}"}})
    return [from_item(i) for i in found["Items"]]


def profile_reaches_campaigns(cloud: LocalCloud, customer: str) -> dict[str, Any]:
    """CustomerProfileChanged as the campaign-triggers queue delivers it."""
    record = {"messageId": "m-0", "body": envelope(*profile(customer)), "eventSource": "aws:sqs"}
    return dict(cloud.registry.invoke(cloud.topology.function("campaigns-triggers"), {"Records": [record]}))


def sweep(cloud: LocalCloud) -> dict[str, Any]:
    return dict(cloud.registry.invoke(cloud.topology.function(SWEEP), {"schedule": "campaigns-parked-sweep"}))


def age(cloud: LocalCloud, item: dict[str, Any], days: float) -> None:
    """Moves a parked trigger's arrival `days` into the past (as the index sorts it too)."""
    at = iso_utc(datetime.now(UTC) - timedelta(days=days))
    cloud.clients.dynamodb.update_item(
        TableName="campaigns", Key={"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}}, UpdateExpression="SET parkedAt = :at, gsi1sk = :sk",
        ExpressionAttributeValues={":at": {"S": at}, ":sk": {"S": f"{at}#{item['customerId']}#{item['occurrence']}"}})


def test_a_trigger_before_the_profile_is_parked_then_granted_once_when_it_arrives(cloud: LocalCloud, campaign: str) -> None:
    # Given a customer core banking has not published yet
    customer = unique("cp-early")
    payment = card_spend(customer, 150_000, merchant=campaign, transaction_id=unique("tx"))
    # When their qualifying card payment reaches the campaigns, twice
    assert trigger(cloud, "CardTransactionPosted", payment) == trigger(cloud, "CardTransactionPosted", payment) == OK
    # Then it is acknowledged (nothing for the DLQ), parked once for that campaign, and nothing granted yet
    (item,) = parked(cloud, customer)
    assert (item["campaignIds"], item["detailType"], item["gsi1pk"].startswith("PARKED#")) == ([campaign], "CardTransactionPosted", True)
    assert item["expiresAt"] > datetime.now(UTC).timestamp() + 29 * 86400
    assert json.loads(item["detail"])["transactionId"] == payment["transactionId"]
    assert grants_of(cloud.clients.dynamodb, campaign, customer) == []
    # When the profile's event reaches the campaigns before customers-ingest has stored it
    # Then it is retried (it is the profile arriving), and the trigger waits
    assert profile_reaches_campaigns(cloud, customer) == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert len(parked(cloud, customer)) == 1
    # When customers-ingest has stored it, and its event comes again (then once more)
    put_profile(cloud, customer)
    assert profile_reaches_campaigns(cloud, customer) == profile_reaches_campaigns(cloud, customer) == OK
    # Then the payment is granted once, under its own occurrence, and nothing is parked any more
    (grant,) = grants_of(cloud.clients.dynamodb, campaign, customer)
    assert grant["status"] in STANDING and grant["sk"] == f"CardTransactionPosted:{payment['transactionId']}"
    assert parked(cloud, customer) == []
    # And the payment delivered again grants nothing more
    assert trigger(cloud, "CardTransactionPosted", payment) == OK
    assert len(grants_of(cloud.clients.dynamodb, campaign, customer)) == 1 and parked(cloud, customer) == []


def test_the_sweep_reports_a_stale_parked_trigger_and_applies_one_whose_profile_came(cloud: LocalCloud, campaign: str,
                                                                                     metrics: dict[str, int]) -> None:
    # Given a trigger parked 8 days ago (the report limit is 7) whose customer's profile never came,
    # and one parked an hour ago whose profile came but whose event never reached the campaigns
    stale, missed = unique("cp-stale"), unique("cp-missed")
    for customer, days in ((stale, 8), (missed, 1 / 24)):
        assert trigger(cloud, "CardTransactionPosted", card_spend(customer, 150_000, merchant=campaign)) == OK
        (item,) = parked(cloud, customer)
        age(cloud, item, days)
    put_profile(cloud, missed)
    # When the sweep runs
    swept = sweep(cloud)
    # Then it applies the one whose profile came: granted, as of when it arrived
    (grant,) = grants_of(cloud.clients.dynamodb, campaign, missed)
    assert grant["status"] in STANDING and grant["at"] < iso_utc(datetime.now(UTC) - timedelta(minutes=50))
    assert parked(cloud, missed) == [] and swept["applied"] >= 1
    # And it reports the other stale, counts it for the alarm, and keeps it (the TTL deletes it, later)
    assert swept["stale"] >= 1 and metrics["CampaignsParkedEventsStale"] == swept["stale"]
    assert len(parked(cloud, stale)) == 1 and grants_of(cloud.clients.dynamodb, campaign, stale) == []
