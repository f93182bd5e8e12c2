"""Points' PIPL port (`loyalty.points.privacy`, through `loyalty.points.ports`) on the local cloud,
as `loyalty.privacy.service` calls it: the export's points section, and the erasure's mark."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from infra.local.cloud import LocalCloud
from loyalty.core.clock import iso_utc
from loyalty.points import service
from loyalty.points.ports import privacy
from tests.support.api import Api
from tests.support.points import (
    OPERATOR,
    POINTS_TABLE,
    accrue,
    adjust,
    balance,
    card_transaction,
    create_rule,
    known_customer,
    posted,
    rule_body,
    stored,
    unique,
)

SETTINGS = "/v1/admin/points/risk-settings"


@pytest.fixture
def events_per_hour(cloud: LocalCloud, api: Api) -> Iterator[None]:
    """One earning event an hour per customer: the second is held (the limits are one per bank)."""
    response = api.call("PUT", SETTINGS, body={"maxEventsPerHour": 1}, **OPERATOR)
    assert response.status_code == 200, response.text
    service.forget_cached_config()
    yield
    cloud.clients.dynamodb.delete_item(TableName=POINTS_TABLE, Key={"pk": {"S": "RISK"}, "sk": {"S": "CURRENT"}})
    service.forget_cached_config()


def customer_with_everything(cloud: LocalCloud, api: Api) -> str:
    """A customer with a balance, a lot, cap and velocity counters, earnings, an adjustment, a held
    mall redemption and a risk hold."""
    customer, merchant = known_customer(cloud), unique("m")
    create_rule(api, rule_body(unique("r"), merchant, caps={"perCustomerDaily": 1000}))
    accrue(cloud, posted(card_transaction(customer, merchant, 128_800)))
    accrue(cloud, posted(card_transaction(customer, merchant, 50_000)))  # past 1 event an hour: held
    assert adjust(api, customer, 300).status_code == 201
    item = unique("item")
    body = {"itemId": item, "name": "Umbrella", "kind": "mall_item", "points": 200, "cashMinor": 990, "currency": "CNY"}
    assert api.call("PUT", f"/v1/admin/points/catalogue/{item}", body=body, **OPERATOR).status_code == 200
    assert api.call("POST", "/v1/points/redemptions", as_=customer, body={"itemId": item}, idempotency_key="k-1").status_code == 201
    return customer


def test_the_export_is_the_points_section_with_every_kind_of_item(cloud: LocalCloud, api: Api, events_per_hour: None) -> None:
    # Given a customer with every kind of points item
    customer = customer_with_everything(cloud, api)
    # When points exports them
    exported = privacy().export(customer)
    # Then it is the points section, with each kind of item as stored, less keys and TTLs
    assert set(exported) == {"points"}
    points = exported["points"]
    assert [e["kind"] for e in points["ledger"]].count("earn") == 1 and points["ledger"][0]["source"]
    assert len(points["redemptions"]) == 1 and points["redemptions"][0]["status"] == "held"
    assert len(points["riskHolds"]) == 1 and points["riskHolds"][0]["planned"][0]["entry_id"].startswith("earn:")
    assert {i["sk"].split("#")[0] for i in points["account"]} == {"BALANCE", "LOT", "CAP"}
    assert all("pk" not in i and "expiresAt" not in i and "gsi2pk" not in i for i in points["account"])


def test_a_customer_points_never_saw_exports_empty_lists(cloud: LocalCloud) -> None:
    assert privacy().export(unique("nobody")) == {"points": {"account": [], "ledger": [], "redemptions": [], "riskHolds": []}}


def test_the_erasure_marks_the_account_and_nothing_more_is_earned(cloud: LocalCloud, api: Api) -> None:
    # Given a customer with 300 points
    ours = known_customer(cloud)
    assert adjust(api, ours, 300).status_code == 201
    # When they are erased through the port
    now = datetime.now(UTC)
    assert privacy().erase(ours, now) == {}
    # Then the balance says erased and when, its version moved on, and the points are kept (the liability)
    mine = stored(cloud.clients.dynamodb, ours).balance
    assert mine["erased"] is True and mine["erasedAt"] == iso_utc(now) and mine["version"] == 2 and mine["available"] == 300
    # And an earning afterwards books nothing
    merchant = unique("m")
    create_rule(api, rule_body(unique("r"), merchant))
    accrue(cloud, posted(card_transaction(ours, merchant, 100_000)))
    assert balance(api, ours)["available"] == 300


def test_erasing_a_customer_points_never_saw_leaves_only_the_mark(cloud: LocalCloud) -> None:
    # Given a customer without points, When erased, Then their account exists only as the erasure's mark
    customer = unique("pc")
    privacy().erase(customer, datetime.now(UTC))
    assert stored(cloud.clients.dynamodb, customer).balance["erased"] is True
    assert stored(cloud.clients.dynamodb, customer).balance["version"] == 1
