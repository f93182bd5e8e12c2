"""Events before the profile (docs/scoring.md, "Events before the profile"), on the local cloud: an
event for a customer core banking has not published yet is parked in the scoring table, not retried
and not dead-lettered; the profile's event applies it, exactly once; a replay changes nothing; the
hourly sweep reports one that waits too long, and applies one whose profile's event never came."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from loyalty.core.clock import iso_utc
from loyalty.scoring import service
from tests.support.api import Api, eventually
from tests.support.points import publish
from tests.support.scoring import (
    TEST_LIFECYCLE,
    card,
    envelope,
    hours_ago,
    ingest,
    opened,
    parked_items,
    profile,
    put_profile,
    save_model,
    scores_of,
    unique,
)

SWEEP = "scoring-parked"
DEVICE, PHONE = "d" * 40 + unique("dev"), "p" * 40 + unique("ph")


@pytest.fixture(scope="module", autouse=True)
def lifecycle(api: Api) -> None:
    save_model(api, "lifecycle", TEST_LIFECYCLE)


@pytest.fixture
def metrics(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, int]]:
    """The business metrics scoring counts (the local cloud turns Powertools' publishing off)."""
    counted: dict[str, int] = {}

    def count(name: str, value: int = 1) -> None:
        counted[name] = counted.get(name, 0) + value

    monkeypatch.setattr(service, "count", count)
    monkeypatch.setattr("loyalty.core.parking.count", count)  # the shared sweep's
    yield counted


def before_the_profile(customer: str) -> list[str]:
    """An account opening (with the bank's device and phone hashes), a card transaction, a login, the
    customer's own coupon claim and a month's AUM: as scoring-ingest receives them."""
    claim = {"eventId": unique("ev"), "customerId": customer, "couponId": unique("cpn"), "source": "claim", "occurredAt": hours_ago(1)}
    return [
        envelope("AccountOpened", {**opened(customer)[1], "deviceHash": DEVICE, "phoneHash": PHONE}),
        envelope(*card(customer, 25_000)),
        envelope("LoginCompleted", {"customerId": customer, "channel": "app", "loggedInAt": hours_ago(3), "deviceHash": DEVICE}),
        envelope("CouponIssued", claim, source="loyalty.coupons"),
        envelope("MonthlyAumComputed", {"customerId": customer, "month": last_month(), "averageAumMinor": 640_000_000, "currency": "CNY"}),
    ]


def last_month() -> str:
    first = datetime.now(UTC).replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def sweep(cloud: LocalCloud) -> dict[str, Any]:
    return dict(cloud.registry.invoke(cloud.topology.function(SWEEP), {"schedule": "scoring-parked-sweep"}))


def test_events_before_the_profile_are_parked_then_applied_once_when_it_arrives(cloud: LocalCloud, api: Api) -> None:
    # Given a customer core banking has not published yet
    customer = unique("park")
    events = before_the_profile(customer)
    # When five of their events arrive, one of them twice
    assert ingest(cloud, *events, events[1]) == {"batchItemFailures": []}
    # Then every one is acknowledged (not retried, nothing for the DLQ), parked once, and nothing is scored yet
    parked = parked_items(cloud, customer)
    assert sorted(p["detailType"] for p in parked) == ["AccountOpened", "CardTransactionPosted", "CouponIssued", "LoginCompleted",
                                                        "MonthlyAumComputed"]
    assert api.call("GET", f"/v1/admin/customers/{customer}/scores", as_="op", groups=["operators"]).status_code == 404
    # And the bank's hashes are held keyed only, never as received
    assert DEVICE not in json.dumps(parked) and PHONE not in json.dumps(parked)
    assert {kind for p in parked for kind in (p.get("identities") or {}).values()} == {"device", "phone"}
    # When the profile arrives: customers-ingest stores it, and scoring sees the same event
    change = envelope(*put_profile(cloud, customer))
    assert ingest(cloud, change) == {"batchItemFailures": []}
    # Then each parked event counted once, and none is parked any more
    scored = scores_of(api, customer)
    features = scored["features"]
    assert (features["productsHeld"], features["frequency30"], features["monetary30Minor"], features["logins30"]) == (1, 1, 25_000, 1)
    assert (features["couponClaims7"], features["aumMinor"]) == (1, 640_000_000)
    assert parked_items(cloud, customer) == []
    assert scored["lifecycleStage"] == "new"
    # And when every event (the profile's too) is delivered again, nothing changes and nothing is parked
    assert ingest(cloud, *events, change) == {"batchItemFailures": []}
    again = scores_of(api, customer)
    assert again["version"] == scored["version"] and again["features"] == features
    assert parked_items(cloud, customer) == []


def test_a_profile_event_before_customers_ingest_stored_it_is_retried_and_parks_nothing(cloud: LocalCloud, api: Api) -> None:
    # Given a parked transaction of a customer without a profile
    customer = unique("park")
    assert ingest(cloud, envelope(*card(customer))) == {"batchItemFailures": []}
    # When the profile's event reaches scoring before customers-ingest stored it
    change = envelope(*profile(customer))
    # Then it is retried (it is the profile arriving, through the other queue), and the transaction waits
    assert ingest(cloud, change) == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert len(parked_items(cloud, customer)) == 1
    # And once customers-ingest stored it, its retry applies the transaction
    records = [{"messageId": "p", "body": change}]
    assert cloud.registry.invoke(cloud.topology.function("customers-ingest"), {"Records": records}) == {"batchItemFailures": []}
    assert ingest(cloud, change) == {"batchItemFailures": []}
    assert scores_of(api, customer)["features"]["frequency30"] == 1 and parked_items(cloud, customer) == []


def age(cloud: LocalCloud, item: dict[str, Any], days: int) -> None:
    """Moves a parked event's parking `days` into the past (as the index sorts it too)."""
    parked_at = iso_utc(datetime.now(UTC) - timedelta(days=days))
    cloud.clients.dynamodb.update_item(
        TableName="scoring", Key={"pk": {"S": item["pk"]}, "sk": {"S": item["sk"]}},
        UpdateExpression="SET parkedAt = :at, gsi1sk = :sk",
        ExpressionAttributeValues={":at": {"S": parked_at}, ":sk": {"S": f"{parked_at}#{item['customerId']}#{item['occurrence']}"}})


def test_the_sweep_reports_a_stale_parked_event_and_applies_one_whose_profile_came(cloud: LocalCloud, api: Api,
                                                                                   metrics: dict[str, int]) -> None:
    # Given an event parked 8 days ago (the report limit is 7), whose customer's profile never came
    customer = unique("park-stale")
    assert ingest(cloud, envelope(*card(customer, 12_000, hours=24 * 8 + 1))) == {"batchItemFailures": []}
    (item,) = parked_items(cloud, customer)
    age(cloud, item, days=8)
    # When the sweep runs
    swept = sweep(cloud)
    # Then it reports it stale, counts it for the alarm, and keeps it (the TTL, 30 days, deletes it)
    assert swept["stale"] >= 1 and metrics["ScoringParkedEventsStale"] == swept["stale"]
    assert swept["oldestParkedAt"] <= iso_utc(datetime.now(UTC) - timedelta(days=7))
    (kept,) = parked_items(cloud, customer)
    assert kept["expiresAt"] > datetime.now(UTC).timestamp() + 20 * 86400
    # When the profile is stored, but its event never reaches scoring (waiting in a DLQ, say)
    put_profile(cloud, customer)
    # Then the next sweep applies the parked event, and it is stale no more
    again = sweep(cloud)
    assert again["applied"] >= 1 and again["stale"] == swept["stale"] - 1
    assert scores_of(api, customer)["features"]["monetary30Minor"] == 12_000 and parked_items(cloud, customer) == []


def test_an_event_through_the_bus_before_the_profile_is_parked_at_once_then_applied(cloud: LocalCloud, api: Api) -> None:
    # Given an event through the bus for a customer without a profile (here: core banking's card transaction)
    customer = unique("park-bus")
    publish(cloud.clients.events, card(customer, 30_000))
    # Then scoring-ingest parks it at its first receive
    eventually(lambda: len(parked_items(cloud, customer)) == 1, timeout_s=30)
    # And when the profile comes through the bus too, it is applied
    publish(cloud.clients.events, profile(customer))
    eventually(lambda: api.call("GET", f"/v1/admin/customers/{customer}/scores", as_="op", groups=["operators"]).status_code == 200,
               timeout_s=30)
    eventually(lambda: scores_of(api, customer)["features"]["frequency30"] == 1 and not parked_items(cloud, customer), timeout_s=30)
