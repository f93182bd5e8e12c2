"""e2e, scoring: core banking publishes a customer, an account opening and card transactions on
`loyalty-events` with boto3; the customer moves from `new` to `active`, and `SegmentEntered` reaches
the bus (seen through a queue subscribed to source `loyalty.scoring`, as campaigns subscribe)."""

from __future__ import annotations

import json
from typing import Any

import boto3

from tests.e2e.conftest import RunningSystem
from tests.support.api import eventually, eventually_ok
from tests.support.scoring import OPERATOR, SEGMENTS, TEST_LIFECYCLE, card, hours_ago, opened, segment_body, unique


def client(system: RunningSystem, service: str) -> Any:
    return boto3.client(  # type: ignore[call-overload]
        service, endpoint_url=system.aws_endpoint, region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local"
    )


def put(system: RunningSystem, *events: tuple[str, dict[str, Any]]) -> None:
    entries = [{"EventBusName": "loyalty-events", "Source": "bank.core", "DetailType": t, "Detail": json.dumps(d)} for t, d in events]
    assert client(system, "events").put_events(Entries=entries)["FailedEntryCount"] == 0


def test_transactions_move_a_customer_from_new_to_active_and_segment_entered_reaches_the_bus(system: RunningSystem) -> None:
    api, sqs, bus = system.api, client(system, "sqs"), client(system, "events")
    # Given a bus subscriber to scoring's events
    tap = unique("scoring-e2e-tap")
    url = sqs.create_queue(QueueName=tap)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus.put_rule(Name=tap, EventBusName="loyalty-events", EventPattern=json.dumps({"source": ["loyalty.scoring"]}))
    bus.put_targets(Rule=tap, EventBusName="loyalty-events", Targets=[{"Id": "tap", "Arn": arn}])
    # And an operator's lifecycle model (new: under 2 transactions in 90 days) and a segment of active customers
    assert api.call("PUT", "/v1/admin/scoring/models/lifecycle", body=TEST_LIFECYCLE, **OPERATOR).status_code == 200
    segment = unique("active")
    assert api.call("POST", SEGMENTS, body=segment_body(segment, lifecycleStages=["active"]), **OPERATOR).status_code == 201
    # And a customer core banking published, who opened an account 10 days ago
    customer = unique("e2e-sc")
    put(system, ("CustomerProfileChanged", {"customerId": customer, "changedAt": hours_ago(1)}))
    eventually_ok(lambda: api.call("GET", f"/v1/customers/{customer}", as_=customer), timeout_s=15)
    put(system, opened(customer))

    def stage() -> str | None:
        return api.call("GET", f"/v1/customers/{customer}", as_=customer).json().get("lifecycleStage")

    eventually(lambda: stage() == "new", timeout_s=20)
    # When two card transactions are posted
    put(system, card(customer, 30_000), card(customer, 12_000))
    # Then the customer is active, and sees it in their profile
    eventually(lambda: stage() == "active", timeout_s=20)
    # And SegmentEntered for the segment, and ScoreChanged to active, reached the bus
    seen: list[dict[str, Any]] = []

    def found(detail_type: str, **detail: Any) -> bool:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages", []):
            seen.append(json.loads(message["Body"]))
        expected = {"customerId": customer, **detail}
        return any(e["detail-type"] == detail_type and e["detail"] == {**e["detail"], **expected} for e in seen)

    eventually(lambda: found("SegmentEntered", segmentId=segment), timeout_s=20)
    eventually(lambda: found("ScoreChanged", score="lifecycleStage", to="active"), timeout_s=20)
