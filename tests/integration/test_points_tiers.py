"""Member levels on the local cloud: the versioned ladder, an upgrade in the accrual's own
transaction (TierChanged, the welcome coupon, the new multiplier), and the monthly re-evaluation
that downgrades only after the grace period.

The ladder is one per bank, so this module sets it and removes it again when it is done.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from loyalty.points import service, tier_service
from loyalty.points.store import DynamoPointsStore
from tests.support.api import Api, eventually
from tests.support.coupons import active_template, wallet_items
from tests.support.points import (
    OPERATOR,
    POINTS_TABLE,
    PointsTap,
    accrue,
    balance,
    card_refund,
    card_transaction,
    conforms,
    create_rule,
    error_code,
    new_customer,
    posted,
    refunded,
    rule_body,
    stored,
    unique,
)

TIERS = "/v1/admin/point-tiers"


@pytest.fixture(scope="module")
def tap(cloud: LocalCloud) -> Iterator[PointsTap]:
    points_tap = PointsTap(cloud, f"tiers-tap-{uuid.uuid4().hex[:8]}")
    yield points_tap
    points_tap.close()


@pytest.fixture(scope="module")
def ladder(cloud: LocalCloud, api: Api) -> Iterator[dict[str, Any]]:
    """standard (0), silver (100 growth), gold (500 growth, a welcome coupon); 30 days' grace."""
    welcome = active_template(api)
    body = {
        "tiers": [
            {"tierId": "standard", "name": "Standard", "minGrowth": 0},
            {"tierId": "silver", "name": "Silver", "minGrowth": 100},
            {"tierId": "gold", "name": "Gold", "minGrowth": 500, "benefits": [{"templateId": welcome, "cadence": "on_upgrade"}]},
        ],
        "qualifyingMonths": 12,
        "downgradeGraceDays": 30,
    }
    response = api.call("PUT", TIERS, body=body, **OPERATOR)
    assert response.status_code == 200, response.text
    yield {**response.json(), "welcome": welcome}
    for sk in [i["sk"]["S"] for i in cloud.clients.dynamodb.query(
        TableName=POINTS_TABLE, KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": "TIERS"}})["Items"]]:
        cloud.clients.dynamodb.delete_item(TableName=POINTS_TABLE, Key={"pk": {"S": "TIERS"}, "sk": {"S": sk}})
    service.forget_cached_config()


def growth_and_points_rules(api: Api, merchant: str, multipliers: dict[str, int]) -> None:
    """1 growth and 1 point per 10 yuan at `merchant`, points multiplied by tier."""
    create_rule(api, rule_body(unique("g"), merchant, category="growth"))
    create_rule(api, rule_body(unique("p"), merchant, tierMultipliersPercent=multipliers))


def test_an_invalid_ladder_is_refused_and_the_one_in_force_stays(cloud: LocalCloud, api: Api, ladder: dict[str, Any]) -> None:
    # When an operator saves a ladder that does not start at zero
    bad = api.call("PUT", TIERS, body={"tiers": [{"tierId": "vip", "name": "VIP", "minGrowth": 10}]}, **OPERATOR)
    # Then it is refused, and the ladder in force is unchanged
    assert bad.status_code == 400 and error_code(bad) == "VALIDATION_ERROR"
    current = api.call("GET", TIERS, **OPERATOR).json()
    assert current["version"] == ladder["version"] and [t["tierId"] for t in current["tiers"]] == ["standard", "silver", "gold"]
    # And a customer may not change it
    customer = new_customer()
    assert api.call("PUT", TIERS, as_=customer, body=ladder).status_code == 403


def test_crossing_a_threshold_upgrades_at_once_and_the_next_event_earns_the_new_multiplier(
    cloud: LocalCloud, api: Api, ladder: dict[str, Any], tap: PointsTap
) -> None:
    # Given growth and points rules where silver earns double
    customer, merchant = new_customer(), unique("m")
    growth_and_points_rules(api, merchant, {"silver": 200})
    assert balance(api, customer)["tier"] == "standard"
    # When a 1000-yuan transaction earns 100 growth
    accrue(cloud, posted(card_transaction(customer, merchant, 100_000)))
    # Then the customer is silver at once, and TierChanged reaches the bus
    after = balance(api, customer)
    assert after["tier"] == "silver" and after["growth"] == 100 and after["available"] == 100
    (changed,) = eventually(lambda: tap.of(customer, "TierChanged"), timeout_s=15)
    detail = conforms(changed)
    assert detail["fromTier"] == "standard" and detail["toTier"] == "silver" and detail["direction"] == "up"
    # And the next transaction earns points at the silver multiplier
    accrue(cloud, posted(card_transaction(customer, merchant, 100_000)))
    assert balance(api, customer)["available"] == 300


def test_reaching_gold_sends_the_welcome_coupon_to_the_wallet(cloud: LocalCloud, api: Api, ladder: dict[str, Any]) -> None:
    # Given growth rules
    customer, merchant = new_customer(), unique("m")
    growth_and_points_rules(api, merchant, {})
    # When one transaction earns 600 growth
    accrue(cloud, posted(card_transaction(customer, merchant, 600_000)))
    # Then the customer is gold and the welcome coupon is issued into the wallet, once
    assert balance(api, customer)["tier"] == "gold"
    coupons = eventually(lambda: wallet_items(api, customer), timeout_s=20)
    assert [c["templateId"] for c in coupons] == [ladder["welcome"]]


def test_the_monthly_run_downgrades_only_after_the_grace_period(cloud: LocalCloud, api: Api, ladder: dict[str, Any], tap: PointsTap) -> None:
    # Given a silver customer whose growth was all earned this month
    customer, merchant = new_customer(), unique("m")
    growth_and_points_rules(api, merchant, {})
    accrue(cloud, posted(card_transaction(customer, merchant, 150_000)))
    assert balance(api, customer)["tier"] == "silver"
    store = DynamoPointsStore()
    # When the run happens 13 months later, when that growth no longer counts
    later = datetime.now(UTC) + timedelta(days=400)
    tier_service.reevaluate_all(store, later)
    # Then the tier stays for the grace period
    assert balance(api, customer)["tier"] == "silver"
    # And a run after the grace period lowers it, announced once, however often the run repeats
    tier_service.reevaluate_all(store, later + timedelta(days=31))
    tier_service.reevaluate_all(store, later + timedelta(days=31))
    assert balance(api, customer)["tier"] == "standard"
    downs = eventually(lambda: [e for e in tap.of(customer, "TierChanged") if e["detail"]["direction"] == "down"], timeout_s=15)
    assert len(downs) == 1 and downs[0]["detail"]["toTier"] == "standard"


def test_an_erased_member_is_left_alone_by_the_monthly_run(cloud: LocalCloud, api: Api, ladder: dict[str, Any]) -> None:
    from loyalty.points import privacy

    # Given a silver customer, erased
    customer, merchant = new_customer(), unique("m")
    growth_and_points_rules(api, merchant, {})
    accrue(cloud, posted(card_transaction(customer, merchant, 150_000)))
    privacy.erase(customer, datetime.now(UTC))
    before = stored(cloud.clients.dynamodb, customer).balance
    # When the monthly run comes after their growth lapsed
    store = DynamoPointsStore()
    for days in (400, 431):
        tier_service.reevaluate_all(store, datetime.now(UTC) + timedelta(days=days))
    # Then their account is not touched: no level change, no benefits, nothing announced
    assert stored(cloud.clients.dynamodb, customer).balance == before


def growth_months(cloud: LocalCloud, customer: str) -> dict[str, int]:
    """The growth the account counts per business month (what tiers read)."""
    return {k: int(v) for k, v in stored(cloud.clients.dynamodb, customer).balance.items() if k.startswith("growth@")}


def test_a_refund_takes_back_growth_from_its_month_so_the_level_it_bought_lapses(
    cloud: LocalCloud, api: Api, ladder: dict[str, Any], tap: PointsTap
) -> None:
    # Given a customer whose 1500-yuan purchase earned 150 growth and 150 points, and made them silver
    customer, merchant = new_customer(), unique("m")
    growth_and_points_rules(api, merchant, {})
    purchase = card_transaction(customer, merchant, 150_000)
    accrue(cloud, posted(purchase))
    assert balance(api, customer)["tier"] == "silver"
    (earned_in,) = growth_months(cloud, customer)
    # When 1000 yuan of it is returned
    accrue(cloud, refunded(card_refund(customer, purchase["transactionId"], 100_000)))
    # Then two thirds of the growth and of the points are taken back, the growth from the month it counted in
    after = balance(api, customer)
    assert (after["growth"], after["available"]) == (50, 50)
    account = stored(cloud.clients.dynamodb, customer)
    account.check_invariants()
    assert growth_months(cloud, customer) == {earned_in: 50}
    reversals = eventually(lambda: tap.of(customer, "PointsReversed") if len(tap.of(customer, "PointsReversed")) == 2 else [], timeout_s=15)
    assert sorted((conforms(e)["points"], conforms(e)["growth"]) for e in reversals) == [(-100, 0), (0, -100)]
    # And the level stays until the monthly run, which finds 50 growth short of silver and lowers it after the grace period
    assert after["tier"] == "silver"
    store = DynamoPointsStore()
    tier_service.reevaluate_all(store, datetime.now(UTC))
    assert balance(api, customer)["tier"] == "silver"
    tier_service.reevaluate_all(store, datetime.now(UTC) + timedelta(days=31))
    assert balance(api, customer)["tier"] == "standard"
