"""The profile other capabilities read: tier (from points' TierChanged), lifecycle stage, segments and
scores (from scoring); coupons' eligibility facts come from it."""

from __future__ import annotations

import json
import uuid
from typing import Any

from infra.local.cloud import LocalCloud
from loyalty.coupons.service import ProfileFacts
from tests.support.api import Api
from tests.support.scoring import (
    TEST_LIFECYCLE,
    create_segment,
    hours_ago,
    ingest_ok,
    opened,
    put_profile,
    save_model,
    stored_profile,
    unique,
)


def tier_changed(customer_id: str, to_tier: str, changed_at: str, event_id: str | None = None) -> str:
    detail = {"eventId": "x", "occurredAt": changed_at, "customerId": customer_id, "fromTier": "standard", "toTier": to_tier,
              "direction": "up", "qualifyingGrowth": 1, "qualifyingMonths": 1, "changedAt": changed_at}
    return json.dumps({"id": event_id or str(uuid.uuid4()), "source": "loyalty.points", "detail-type": "TierChanged", "detail": detail})


def customers_ingest(cloud: LocalCloud, body: str) -> dict[str, Any]:
    return dict(cloud.registry.invoke(cloud.topology.function("customers-ingest"), {"Records": [{"messageId": "m-0", "body": body}]}))


def test_the_profile_keeps_the_newest_tier(cloud: LocalCloud, api: Api) -> None:
    # Given a known customer
    customer = unique("sp")
    put_profile(cloud, customer)
    # When points moves them to gold, and an older (out of order) change to silver arrives later
    assert customers_ingest(cloud, tier_changed(customer, "gold", hours_ago(1))) == {"batchItemFailures": []}
    assert customers_ingest(cloud, tier_changed(customer, "silver", hours_ago(5))) == {"batchItemFailures": []}
    # Then gold stays, and the customer sees it
    assert stored_profile(cloud, customer)["tier"] == "gold"
    assert api.call("GET", f"/v1/customers/{customer}", as_=customer).json()["tier"] == "gold"
    # And a profile snapshot from core banking keeps it (a snapshot sets only core banking's fields)
    put_profile(cloud, customer, tags=["payroll"])
    assert stored_profile(cloud, customer)["tier"] == "gold"


def test_a_tier_change_before_the_profile_is_kept_until_the_profile_completes_it(cloud: LocalCloud, api: Api) -> None:
    from loyalty.customers.ports import directory

    # Given a customer core banking has not published yet
    customer = unique("sp-early")
    # When points' TierChanged reaches customers-ingest first, then an older one
    assert customers_ingest(cloud, tier_changed(customer, "gold", hours_ago(1))) == {"batchItemFailures": []}
    assert customers_ingest(cloud, tier_changed(customer, "silver", hours_ago(5))) == {"batchItemFailures": []}
    # Then it is acknowledged (never retried into the DLQ) and kept on a placeholder that is no profile:
    # nobody reads one, and nothing that needs a profile is written on it
    assert stored_profile(cloud, customer)["tier"] == "gold" and "changedAt" not in stored_profile(cloud, customer)
    assert directory().profile(customer) is None and directory().profiles([customer]) == {}
    assert api.call("GET", f"/v1/customers/{customer}", as_=customer).status_code == 404
    tags = api.call("PUT", f"/v1/admin/customers/{customer}/tags", body={"tags": ["vip"]}, as_="op-tags", groups=["operators"])
    assert (tags.status_code, tags.json()["error"]["code"]) == (404, "CUSTOMER_NOT_FOUND")
    # When the profile arrives
    put_profile(cloud, customer, tags=["payroll"])
    # Then it is the profile, with the tier that came first
    shown = api.call("GET", f"/v1/customers/{customer}", as_=customer).json()
    assert (shown["tier"], shown["tags"]) == ("gold", ["payroll"])
    found = directory().profile(customer)
    assert found is not None and found.tier == "gold" and found.tierChangedAt is not None


def test_coupon_eligibility_reads_tier_segments_and_the_abuse_score(cloud: LocalCloud, api: Api) -> None:
    # Given a scored gold customer in a segment, and one not scored yet
    save_model(api, "lifecycle", TEST_LIFECYCLE)
    segment = unique("seg")
    create_segment(api, segment, tiers=["gold"])
    customer, unscored = unique("sp"), unique("sp")
    put_profile(cloud, customer)
    put_profile(cloud, unscored)
    customers_ingest(cloud, tier_changed(customer, "gold", hours_ago(1)))
    ingest_ok(cloud, opened(customer))
    # When coupons read their facts
    facts, unknown = ProfileFacts().facts(customer), ProfileFacts().facts(unscored)
    # Then the scored one has tier, segment and abuse score; the other has no score (fail closed)
    assert facts.tier == "gold" and segment in facts.segments and facts.abuse_risk_score == 0
    assert unknown.known and unknown.abuse_risk_score is None


def test_nothing_is_scored_again_for_an_erased_customer(cloud: LocalCloud, api: Api) -> None:
    # Given a scored customer whose profile was erased (loyalty.privacy leaves a tombstone)
    from loyalty.core.dynamo import to_item
    from tests.support.scoring import card, envelope, ingest

    customer = unique("sp")
    put_profile(cloud, customer)
    ingest_ok(cloud, opened(customer))
    cloud.clients.dynamodb.put_item(TableName="customers", Item=to_item(
        {"customerId": customer, "changedAt": "9999-12-31T23:59:59.999999Z", "sourceEventId": "erased", "erased": True}))
    cloud.clients.dynamodb.delete_item(TableName="scoring", Key=to_item({"pk": f"CUST#{customer}", "sk": "STATE"}))
    # When a late transaction of theirs arrives
    assert ingest(cloud, envelope(*card(customer))) == {"batchItemFailures": []}
    # Then it is acknowledged, and no scores or stage are derived again
    assert api.call("GET", f"/v1/admin/customers/{customer}/scores", as_="op", groups=["operators"]).status_code == 404
    assert "lifecycleStage" not in stored_profile(cloud, customer)
