"""Grants as sagas on the local cloud: a grant of a coupon and points is all or nothing. A refused
coupon undoes the grant: the points are reversed (or never booked), the budget is given back, no
notice goes, and the report and the budget agree with the ledger; a compensation delivered twice
changes nothing; a coupon whose value left at issue cannot be taken back, and stays in cost; a coupon
returned by a refund stays with its grant."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from tests.support.api import Api, eventually
from tests.support.bus import BusTap
from tests.support.campaigns import arm, card_spend, coupon_campaign, grants_of, launch, report, trigger, unique
from tests.support.coupons import active_template, claimed, coupon_action, order, red_packet, wallet_items
from tests.support.points import envelope, stored

OK: dict[str, list[object]] = {"batchItemFailures": []}
SETTLED = ("compensated", "partly_delivered", "cancelled")


@pytest.fixture
def tap(cloud: LocalCloud) -> Iterator[BusTap]:
    """What campaigns put on the bus (NotificationRequested among it)."""
    listening = BusTap(cloud, unique("sagas-tap"), ["loyalty.campaigns"])
    yield listening
    listening.close()


def coupon_and_points(template_id: str, **overrides: Any) -> dict[str, Any]:
    """Spend at the campaign's merchant, get a coupon, 200 points and a push notice."""
    actions = [{"type": "issue_coupon", "templateId": template_id},
               {"type": "award_points", "points": 200, "costCentre": "cc-marketing"},
               {"type": "notify", "channel": "push", "templateId": "notice-reward"}]
    return coupon_campaign(template_id, variants=[{"variantId": "main", "weightPercent": 100, "actions": actions}], **overrides)


def the_grant(cloud: LocalCloud, campaign_id: str, customer: str) -> dict[str, Any]:
    (grant,) = grants_of(cloud.clients.dynamodb, campaign_id, customer)
    return grant


def settled(cloud: LocalCloud, campaign_id: str, customer: str, *statuses: str) -> dict[str, Any]:
    def probe() -> dict[str, Any] | None:
        grant = the_grant(cloud, campaign_id, customer)
        return grant if grant["status"] in (statuses or SETTLED) else None

    return eventually(probe, timeout_s=60)


def action(grant: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(a for a in grant["actions"] if a["kind"] == kind)


def invoke(cloud: LocalCloud, function: str, detail_type: str, detail: dict[str, Any]) -> dict[str, Any]:
    """A function, in-process, with one SQS record carrying `detail` as a bus event."""
    record = {"messageId": "m-0", "body": envelope(detail_type, detail), "eventSource": "aws:sqs"}
    return dict(cloud.registry.invoke(cloud.topology.function(function), {"Records": [record]}))


def test_a_refused_coupon_leaves_the_customers_points_unchanged_and_the_budget_whole(cloud: LocalCloud, api: Api, tap: BusTap) -> None:
    # Given a campaign of a coupon and 200 points, and a customer already at the coupon template's limit
    template_id = active_template(api, lifetime_limit=1)
    campaign_id = launch(api, coupon_and_points(template_id, budget_total=10))
    customer = unique("saga")
    claimed(api, customer, template_id)
    # When a qualifying transaction grants them the reward, and coupons refuse the coupon
    assert trigger(cloud, "CardTransactionPosted", card_spend(customer, 150_000, merchant=campaign_id)) == OK
    # Then the grant is undone: compensated if the points had been booked, cancelled if the compensation forestalled them
    grant = settled(cloud, campaign_id, customer)
    assert action(grant, "coupon")["state"] == "refused" and grant["cancelReason"] == "CouponIssueFailed:COUPON_LIMIT_REACHED"
    # And the customer's points are unchanged net of the compensation: the reverse entry names the grant
    points = stored(cloud.clients.dynamodb, customer)
    points.check_invariants()
    assert (points.available, points.debt) == (0, 0)
    award_command = action(grant, "points")["commandId"]
    (reversal,) = points.entries_of("reverse")
    assert reversal["entryId"] == f"reverse:award:{award_command}"
    assert json.loads(reversal["source"])["grantId"] == grant["grantId"]
    awarded = [e for e in points.entries if e["entryId"] == f"award:{award_command}"]
    assert sum(int(e["points"]) for e in [*awarded, reversal]) == 0
    # And the report agrees with the ledger: compensated when the award was booked, else cancelled; no cost
    body = report(api, campaign_id)
    main = arm(body, "main")
    expected = "compensated" if awarded else "cancelled"
    assert grant["status"] == expected and action(grant, "points")["state"] == ("compensated" if awarded else "prevented")
    assert {k: main[k] for k in ("granted", "compensating", "compensated", "partlyDelivered", "cancelled", "cost")} == {
        "granted": 0, "compensating": 0, "compensated": int(bool(awarded)), "partlyDelivered": 0, "cancelled": int(not awarded), "cost": 0}
    assert body["budget"]["total"] == {"limit": 10, "spent": 0, "left": 10} and grant["givenBack"] == 1
    # And no notice was sent
    assert tap.of(customer, "NotificationRequested") == [] and "notification" not in grant


def test_a_compensation_delivered_twice_changes_nothing(cloud: LocalCloud, api: Api) -> None:
    # Given a grant undone after its coupon was refused
    template_id = active_template(api, lifetime_limit=1)
    campaign_id = launch(api, coupon_and_points(template_id))
    customer = unique("twice")
    claimed(api, customer, template_id)
    assert trigger(cloud, "CardTransactionPosted", card_spend(customer, 150_000, merchant=campaign_id)) == OK
    grant = settled(cloud, campaign_id, customer)
    before_points, before_report = stored(cloud.clients.dynamodb, customer), report(api, campaign_id)
    # When its points' compensation is delivered again, and points' answer to it too
    command = {"commandId": action(grant, "points")["commandId"], "customerId": customer, "campaignId": campaign_id,
               "grantId": grant["grantId"], "reason": grant["cancelReason"]}
    assert invoke(cloud, "points-commands", "ReversePoints", command) == OK
    answer = {"commandId": command["commandId"], "customerId": customer, "campaignId": campaign_id, "grantId": grant["grantId"],
              "entryId": f"reverse:award:{command['commandId']}", "booked": True, "points": 200, "debt": 0}
    assert invoke(cloud, "campaigns-outcomes", "PointsAwardReversed", answer) == OK
    # Then nothing changed: the ledger, the grant, the report and the budget
    after = stored(cloud.clients.dynamodb, customer)
    assert (after.entries, after.balance) == (before_points.entries, before_points.balance)
    assert the_grant(cloud, campaign_id, customer) == grant
    assert report(api, campaign_id) == before_report


def test_a_coupon_delivered_at_issue_cannot_be_compensated_and_stays_in_cost(cloud: LocalCloud, api: Api) -> None:
    # Given a campaign in minor units granting a red packet (30 yuan, delivered when issued), a coupon
    # (10 yuan) of a template the customer is already at the limit of, and 200 points (20 yuan)
    first_template, second_template = active_template(api, benefit=red_packet(3000)), active_template(api, lifetime_limit=1)
    actions = [{"type": "issue_coupon", "templateId": first_template, "costMinor": 3000},
               {"type": "issue_coupon", "templateId": second_template, "costMinor": 1000},
               {"type": "award_points", "points": 200, "costCentre": "cc-marketing", "costMinor": 2000}]
    campaign_id = launch(api, coupon_campaign(first_template, variants=[{"variantId": "main", "weightPercent": 100, "actions": actions}],
                                              budget={"unit": "minor", "currency": "CNY", "total": 100_000}))
    customer = unique("kept")
    claimed(api, customer, second_template)
    # When a qualifying transaction grants the reward, and coupons refuse the second coupon
    assert trigger(cloud, "CardTransactionPosted", card_spend(customer, 150_000, merchant=campaign_id)) == OK
    # Then the grant is undone but partly delivered: the redeemed coupon could not be taken back, the points were
    grant = settled(cloud, campaign_id, customer)
    assert grant["status"] == "partly_delivered"
    kept = next(a for a in grant["actions"] if a["state"] == "kept")
    assert (kept["cost"], kept["reason"]) == (3000, "COUPON_NOT_REVOCABLE")
    assert action(grant, "points")["state"] in ("compensated", "prevented")
    points = stored(cloud.clients.dynamodb, customer)
    points.check_invariants()
    assert (points.available, points.debt) == (0, 0)
    # And its cost stays spent, in the budget and the report alike; the rest went back
    body = report(api, campaign_id)
    main = arm(body, "main")
    assert (main["partlyDelivered"], main["granted"], main["cost"]) == (1, 0, 3000)
    assert body["budget"]["total"]["spent"] == 3000 and (grant["keptCost"], grant["givenBack"]) == (3000, 3000)


def test_a_returned_coupon_stays_with_its_grant_and_only_its_redemption_is_taken_back(cloud: LocalCloud, api: Api) -> None:
    # Given a delivered grant of a coupon and points, whose coupon was redeemed
    template_id = active_template(api)
    campaign_id = launch(api, coupon_and_points(template_id))
    customer = unique("returned")
    assert trigger(cloud, "CardTransactionPosted", card_spend(customer, 150_000, merchant=campaign_id)) == OK
    settled(cloud, campaign_id, customer, "delivered")
    (coupon,) = wallet_items(api, customer)
    assert coupon_action(api, coupon["couponId"], "redeem", customer, {"orderId": "o-1", "order": order()}).status_code == 200
    eventually(lambda: arm(report(api, campaign_id), "main")["redeemed"] == 1, timeout_s=30)
    # When the order is refunded and the coupon returned
    assert coupon_action(api, coupon["couponId"], "return", customer, {"orderId": "o-1"}).status_code == 200
    # Then the redemption is no longer counted, and the grant stays delivered: the coupon is usable again
    eventually(lambda: arm(report(api, campaign_id), "main")["redeemed"] == 0, timeout_s=30)
    assert the_grant(cloud, campaign_id, customer)["status"] == "delivered"
    assert [c["status"] for c in wallet_items(api, customer)] == ["available"]
    assert (main := arm(report(api, campaign_id), "main"))["granted"] == 1 and main["cost"] == 1
