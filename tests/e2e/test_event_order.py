"""e2e, events in any legitimate order (issue 16), in every consumer: each sample event in events/samples,
and points' TierChanged, reaches its effect in every consumer the topology's rules route it to
(customers-ingest, scoring, points accrual, campaign triggers and a bank scheduler's fire request)
whether it is published before the customer's profile or after it, and no DLQ receives any of them.
Before the profile, what needs it waits: scoring parks, campaigns park for the campaigns whose
audience reads the profile, customers keep the tier on a placeholder; points accrual needs no profile.
(tests/e2e/test_scoring_event_order.py adds a coupon claim before the profile, for scoring.)"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.topology import TOPOLOGY
from loyalty.core.dynamo import from_item
from tests.e2e.conftest import RunningSystem
from tests.e2e.test_scoring_event_order import (
    SAMPLES,
    client,
    dead_letters_about,
    effects,
    for_customer,
    parked,
    publish,
    wait_for_effects,
)
from tests.support.api import eventually
from tests.support.campaigns import AUTHOR, STANDING, act, launch, open_window, unique
from tests.support.points import OPERATOR as POINTS_OPERATOR
from tests.support.points import RULES, bank_today, rule_body

PROFILE = "CustomerProfileChanged"
REFUND = "CardTransactionRefunded"
FIRE = "CampaignFireRequested"
ID_FIELDS = ("transactionId", "originalTransactionId", "accountId", "loanId", "refundId")
MORE_TIMES = ("creditedAt", "checkedInAt", "drawnAt", "movedAt", "refundedAt")
MERCHANT = f"m-order-{uuid.uuid4().hex[:8]}"  # the card rule earns here only: no other test's payments
SLOW_S = 150  # a profile's event that beat customers-ingest waits for the queue's visibility timeout (60 s)


def samples() -> dict[str, dict[str, Any]]:
    return {entry["DetailType"]: entry for path in sorted(SAMPLES.glob("*.json")) for entry in json.loads(path.read_text(encoding="utf-8"))}


def queues_of(entry: dict[str, Any]) -> set[str]:
    """The queues the topology's rules route a sample to."""
    return {r.queue for r in TOPOLOGY.rules
            if entry["Source"] in r.event_pattern.get("source", []) and entry["DetailType"] in r.event_pattern.get("detail-type", [])}  # type: ignore[operator]


def of(entry: dict[str, Any], customer: str) -> dict[str, Any]:
    """The sample for this customer (`for_customer`: dated an hour ago), its ids the customer's own."""
    dated = for_customer(entry, customer)
    detail = json.loads(dated["Detail"])
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    detail.update({name: hour_ago for name in MORE_TIMES if name in detail})
    detail.update({name: f"{detail[name]}-{customer}" for name in ID_FIELDS if name in detail})
    if "businessDate" in detail:
        detail["businessDate"] = bank_today().isoformat()
    if "merchantId" in detail:
        detail["merchantId"] = MERCHANT
    return {**dated, "Detail": json.dumps(detail)}


def tier_changed(customer: str) -> dict[str, Any]:
    """Points' TierChanged (no sample: the engine's own event), as the outbox would publish it."""
    at = (datetime.now(UTC) - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    detail = {"eventId": unique("ev"), "occurredAt": at, "customerId": customer, "fromTier": "standard", "toTier": "gold",
              "direction": "up", "qualifyingGrowth": 1, "qualifyingMonths": 1, "changedAt": at}
    return {"Source": "loyalty.points", "DetailType": "TierChanged", "EventBusName": TOPOLOGY.bus_name, "Detail": json.dumps(detail)}


def fire_request(campaign_id: str, customer: str, entry: dict[str, Any]) -> dict[str, Any]:
    detail = {**json.loads(entry["Detail"]), "campaignId": campaign_id, "requestId": unique("req"), "audienceOverride": [customer]}
    return {**entry, "Detail": json.dumps(detail)}


@pytest.fixture
def earn_rules(system: RunningSystem) -> Iterator[set[str]]:
    """An earn rule per event type points accrues (the card's at this test's merchant), switched off after."""
    api, created = system.api, {}
    for event_type, entry in samples().items():
        if "points-accrual" not in queues_of(entry) or event_type == REFUND:
            continue
        body = rule_body(unique("r-order"), MERCHANT)
        if event_type != "CardTransactionPosted":
            body.update(eventType=event_type, conditions={}, award={"mode": "fixed", "points": 7})
        response = api.call("POST", RULES, body=body, **POINTS_OPERATOR)
        assert response.status_code == 201, response.text
        created[event_type] = body
    yield set(created)
    for body in created.values():  # rules are shared by the session: another test's events must not earn here
        api.call("PUT", f"{RULES}/{body['ruleId']}", body={**body, "active": False}, **POINTS_OPERATOR)


@pytest.fixture
def customers() -> tuple[str, str]:
    return unique("order-early"), unique("order-late")


@pytest.fixture
def campaigns(system: RunningSystem, customers: tuple[str, str]) -> Iterator[dict[str, str]]:
    """A campaign per event type campaigns trigger on, for these customers only, its audience reading
    the profile (the default); and a manual one a bank scheduler fires. Ended after."""
    found: dict[str, str] = {}
    event_types = [t for t, e in samples().items() if "campaign-triggers" in queues_of(e) and t not in (PROFILE, FIRE)] + ["TierChanged"]
    for event_type in event_types:
        found[event_type] = launch(system.api, campaign({"type": "event", "eventType": event_type,
                                                         "pattern": {"customerId": list(customers)}}, {}))
    found[FIRE] = launch(system.api, campaign({"type": "manual"}, {"customerIds": list(customers)}))
    yield found
    for campaign_id in found.values():
        act(system.api, campaign_id, "end", AUTHOR)


def campaign(trigger: dict[str, Any], audience: dict[str, Any]) -> dict[str, Any]:
    notify = {"type": "notify", "channel": "push", "templateId": "order-notice"}
    return {"campaignId": unique("camp-order"), "name": "Any order", "window": open_window(), "trigger": trigger, "audience": audience,
            "variants": [{"variantId": "main", "weightPercent": 100, "actions": [notify]}], "controlPercent": 0,
            "budget": {"unit": "rewards", "total": 100}, "frequencyCaps": {"lifetime": 5}, "fundingCostCentre": "cc-marketing"}


def history(system: RunningSystem, customer: str) -> list[dict[str, Any]]:
    response = system.api.call("GET", f"/v1/customers/{customer}/points/history?limit=50", as_=customer)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def earned_from(system: RunningSystem, customer: str) -> set[str]:
    return {e["source"]["eventType"] for e in history(system, customer) if e["kind"] == "earn" and e["points"] > 0}


def granted(system: RunningSystem, campaign_id: str, customer: str) -> bool:
    items = client(system, "dynamodb").query(TableName="campaigns", KeyConditionExpression="pk = :p", ConsistentRead=True,
                                             ExpressionAttributeValues={":p": {"S": f"GRANT#{campaign_id}#{customer}"}})["Items"]
    return any(from_item(i)["status"] in STANDING for i in items)


def parked_triggers(system: RunningSystem, customer: str) -> list[str]:
    items = client(system, "dynamodb").query(TableName="campaigns", KeyConditionExpression="pk = :p", ConsistentRead=True,
                                             ExpressionAttributeValues={":p": {"S": f"PARKED#{customer}"}})["Items"]
    return sorted(from_item(i)["detailType"] for i in items)


def waits(what: str, check: Callable[[], bool], timeout_s: float = SLOW_S) -> None:
    try:
        eventually(check, timeout_s=timeout_s, interval_s=0.5)
    except AssertionError:
        raise AssertionError(f"not reached in {timeout_s} s: {what}") from None


def publish_events(system: RunningSystem, customer: str, fire_at: str) -> None:
    """Every sample about a customer (but the profile) and TierChanged, then the refund once its
    purchase has earned (a refund before its purchase is not a legitimate order), and a fire request."""
    found = samples()
    events = [of(e, customer) for t, e in found.items() if t not in (PROFILE, REFUND, FIRE)]
    publish(system, *events[:5])
    publish(system, *events[5:], tier_changed(customer), fire_request(fire_at, customer, found[FIRE]))
    waits(f"{customer}'s card payment earned", lambda: "CardTransactionPosted" in earned_from(system, customer), 60)
    publish(system, of(found[REFUND], customer))


def test_every_sample_reaches_every_consumer_before_and_after_the_profile(system: RunningSystem, earn_rules: set[str],
                                                                          campaigns: dict[str, str], customers: tuple[str, str]) -> None:
    found = samples()
    routed = {t: queues_of(e) for t, e in found.items()}
    # The samples and their consumers: every one is routed somewhere, and each consumer this test checks gets some
    assert all(routed.values()) and {"customer-profile-events", "scoring-events", "points-accrual", "campaign-triggers"} <= set().union(*routed.values())
    early, late = customers
    scored = {k: v for k, v in effects({t: e for t, e in found.items() if "scoring-events" in routed[t]}).items() if k != "couponClaims7"}

    # Given one customer whose events come first, and one whose profile does
    publish(system, of(found[PROFILE], late))
    publish_events(system, early, campaigns[FIRE])
    # Then before the profile, scoring parked the early customer's events and campaigns their triggers
    waits("early events parked by scoring", lambda: len(parked(system, early)) >= 6)
    waits("early triggers parked by campaigns", lambda: len(parked_triggers(system, early)) == len(campaigns) - 1)
    # And points accrued them (accrual needs no profile), the refund taking back its share
    waits("early accruals", lambda: earned_from(system, early) == earn_rules)
    waits("early refund", lambda: any(e["kind"] == "reverse" for e in history(system, early)))
    # And a bank scheduler's fire request granted to the customer its audience lists, profile or not
    waits("early fire request", lambda: granted(system, campaigns[FIRE], early))

    # When the early customer's profile comes, and the late customer's events
    publish(system, of(found[PROFILE], early))
    publish_events(system, late, campaigns[FIRE])

    for customer in (early, late):
        # Then customers-ingest has their profile, with the tier points sent (before the profile, for the early one)
        waits(f"{customer}'s profile and tier", lambda c=customer: system.api.call("GET", f"/v1/customers/{c}", as_=c).json().get("tier") == "gold")  # type: ignore[misc]
        # And every campaign their events trigger granted them once
        for event_type, campaign_id in campaigns.items():
            waits(f"{customer} granted by the {event_type} campaign", lambda c=customer, i=campaign_id: granted(system, i, c))  # type: ignore[misc]
        # And points accrued every event, and the refund
        assert earned_from(system, customer) == earn_rules
        assert [e["kind"] for e in history(system, customer)].count("reverse") >= 1
        # And scoring applied every event it consumes
        wait_for_effects(system, customer, scored, timeout_s=SLOW_S)
        # And nothing waits any more
        waits(f"{customer}'s parked events applied", lambda c=customer: parked(system, c) == [] and parked_triggers(system, c) == [])  # type: ignore[misc]
    # And no DLQ received any of them
    assert dead_letters_about(system, [early, late]) == []
