"""e2e, events in any legitimate order (issue 16): every sample event scoring consumes (events/samples,
routed to `scoring-events` by the topology's rules), and a customer's own coupon claim, reach their
effect whether they are published before the customer's profile or after it, and no DLQ receives any
of them. Before the profile they are parked in the scoring table (seen there), not retried."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3

from infra.topology import TOPOLOGY
from tests.e2e.conftest import RunningSystem
from tests.support.api import eventually
from tests.support.coupons import active_template, claim
from tests.support.scoring import OPERATOR, unique

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "samples"
SCORING_QUEUE = "scoring-events"
PROFILE = "CustomerProfileChanged"
TIME_FIELDS = ("postedAt", "changedAt", "loggedInAt", "openedAt")


def client(system: RunningSystem, service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service, endpoint_url=system.aws_endpoint, region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local"
    )


def routed_to_scoring(source: str, detail_type: str) -> bool:
    patterns = [rule.event_pattern for rule in TOPOLOGY.rules if rule.queue == SCORING_QUEUE]
    return any(source in p.get("source", []) and detail_type in p.get("detail-type", []) for p in patterns)  # type: ignore[operator]


def scoring_samples() -> dict[str, dict[str, Any]]:
    """Every sample scoring consumes, by detail-type: the PutEvents entry as the file has it."""
    found = {}
    for path in sorted(SAMPLES.glob("*.json")):
        for entry in json.loads(path.read_text(encoding="utf-8")):
            if routed_to_scoring(entry["Source"], entry["DetailType"]):
                found[entry["DetailType"]] = entry
    return found


def for_customer(entry: dict[str, Any], customer: str) -> dict[str, Any]:
    """The sample for this customer, dated an hour ago (a month's AUM: last month), so its effect is
    inside every window whenever the test runs; every other field as the sample has it."""
    detail = {**json.loads(entry["Detail"]), "customerId": customer}
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    detail.update({name: hour_ago for name in TIME_FIELDS if name in detail})
    if "month" in detail:
        detail["month"] = (datetime.now(UTC).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    return {**entry, "Detail": json.dumps(detail)}


def publish(system: RunningSystem, *entries: dict[str, Any]) -> None:
    result = client(system, "events").put_events(Entries=list(entries))
    assert result["FailedEntryCount"] == 0, result


def parked(system: RunningSystem, customer: str) -> list[str]:
    found = client(system, "dynamodb").query(
        TableName="scoring", KeyConditionExpression="pk = :p AND begins_with(sk, :s)", ConsistentRead=True,
        ExpressionAttributeValues={":p": {"S": f"CUST#{customer}"}, ":s": {"S": "PARKED#"}})
    return sorted(item["detailType"]["S"] for item in found["Items"])


def scores(system: RunningSystem, customer: str) -> dict[str, Any] | None:
    response = system.api.call("GET", f"/v1/admin/customers/{customer}/scores", **OPERATOR)
    return dict(response.json()) if response.status_code == 200 else None


def effects(samples: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What each sample (and one claim) adds to the features the operator's scores view shows."""
    details = {t: json.loads(e["Detail"]) for t, e in samples.items()}
    card, deposit = details["CardTransactionPosted"], details["DepositBalanceChanged"]
    return {
        "productsHeld": 1,  # AccountOpened
        "frequency30": 2,  # CardTransactionPosted and DepositBalanceChanged (money in)
        "monetary30Minor": card["amountMinor"] + deposit["balanceMinor"] - deposit["previousBalanceMinor"],
        "logins30": 1,  # LoginCompleted
        "aumMinor": details["MonthlyAumComputed"]["averageAumMinor"],
        "couponClaims7": 1,  # the customer's own claim (CouponIssued, source claim)
    }


def wait_for_effects(system: RunningSystem, customer: str, expected: dict[str, Any], timeout_s: float) -> None:
    last: dict[str, Any] = {}

    def reached() -> bool:
        found = scores(system, customer)
        last.update(features=found and {k: found["features"][k] for k in expected}, parked=parked(system, customer))
        return last["features"] == expected

    try:
        eventually(reached, timeout_s=timeout_s, interval_s=0.5)
    except AssertionError:
        raise AssertionError(f"{customer} after {timeout_s} s: {last}, expected {expected}") from None


def dead_letters_about(system: RunningSystem, customers: list[str]) -> list[str]:
    """Every message on every DLQ that names one of the customers (made visible again after)."""
    sqs, found = client(system, "sqs"), []
    for url in sqs.list_queues().get("QueueUrls", []):
        if not url.endswith("-dlq"):
            continue
        seen = []
        for _ in range(50):
            messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30).get("Messages", [])
            if not messages:
                break
            seen += messages
        for message in seen:
            sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
        found += [f"{url}: {m['Body'][:200]}" for m in seen if any(c in m["Body"] for c in customers)]
    return found


def test_every_sample_scoring_consumes_reaches_its_effect_before_and_after_the_profile(system: RunningSystem) -> None:
    samples = scoring_samples()
    events = sorted(t for t in samples if t != PROFILE)
    # The samples scoring consumes: the profile and the bank events of the scoring-bank-events rule
    assert PROFILE in samples and {"AccountOpened", "CardTransactionPosted", "DepositBalanceChanged", "LoginCompleted",
                                   "MonthlyAumComputed"} <= set(events)
    expected = effects(samples)
    template = active_template(system.api, stock=10)  # a coupon anyone may claim: no eligibility rules
    early, late = unique("order-early"), unique("order-late")

    # Given one customer whose events come first, and one whose profile does
    publish(system, for_customer(samples[PROFILE], late), *(for_customer(samples[t], early) for t in events))
    assert claim(system.api, early, template).status_code == 201
    # Then the early customer's events, and their claim, are parked (acknowledged: not retried)
    eventually(lambda: parked(system, early) == sorted([*events, "CouponIssued"]), timeout_s=60, interval_s=0.5)
    assert scores(system, early) is None
    # And the late customer's profile is stored (customers-ingest)
    eventually(lambda: system.api.call("GET", f"/v1/customers/{late}", as_=late).status_code == 200, timeout_s=60, interval_s=0.5)

    # When the early customer's profile comes, and the late customer's events and claim
    publish(system, for_customer(samples[PROFILE], early), *(for_customer(samples[t], late) for t in events))
    assert claim(system.api, late, template).status_code == 201
    # Then every event reached its effect for both, once, and nothing is parked any more. (Scoring may
    # see a profile's event before customers-ingest stored it: that one event is retried after the
    # queue's visibility timeout, 60 s, and the early customer's parked events are applied then.)
    for customer in (early, late):
        wait_for_effects(system, customer, expected, timeout_s=100)
        assert parked(system, customer) == []
        stage = system.api.call("GET", f"/v1/customers/{customer}", as_=customer).json()
        assert stage.get("lifecycleStage")  # the profile's own effect: scored, the stage on the profile
    # And no DLQ received any of them
    assert dead_letters_about(system, [early, late]) == []
