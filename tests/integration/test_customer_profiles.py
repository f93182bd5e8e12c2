"""Customer profiles: core-banking events in through the bus and SQS, the profile out over HTTP."""

from __future__ import annotations

import json
import uuid
from typing import Any

from infra.local.cloud import LocalCloud
from tests.support.api import Api, bank_event, eventually, eventually_ok


def new_customer_id() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"


def profile_event(customer_id: str, changed_at: str, **fields: Any) -> dict[str, Any]:
    return bank_event("CustomerProfileChanged", {"customerId": customer_id, "changedAt": changed_at, **fields})


def stored(cloud: LocalCloud, customer_id: str) -> dict[str, Any] | None:
    item = cloud.clients.dynamodb.get_item(TableName="customers", Key={"customerId": {"S": customer_id}}, ConsistentRead=True)
    return item.get("Item")


def invoke_ingest(cloud: LocalCloud, *bodies: str) -> dict[str, Any]:
    function = cloud.topology.function("customers-ingest")
    records = [{"messageId": f"m-{i}", "body": body} for i, body in enumerate(bodies)]
    return dict(cloud.registry.invoke(function, {"Records": records}))


def envelope(customer_id: str, changed_at: str, event_id: str | None = None, **fields: Any) -> str:
    return json.dumps(
        {
            "id": event_id or str(uuid.uuid4()),
            "source": "bank.core",
            "detail-type": "CustomerProfileChanged",
            "time": changed_at,
            "detail": {"customerId": customer_id, "changedAt": changed_at, **fields},
        }
    )


def test_profile_published_on_the_bus_shows_up_in_the_api(cloud: LocalCloud, api: Api) -> None:
    # Given a customer that core banking has just published
    customer = new_customer_id()
    cloud.clients.events.put_events(
        Entries=[profile_event(customer, "2026-11-23T04:12:00Z", aumMinor=120000, currency="CNY", tags=["payroll"])]
    )
    # When the customer reads their profile
    response = eventually_ok(lambda: api.call("GET", f"/v1/customers/{customer}", as_=customer))
    # Then it is the published one
    body = response.json()
    assert body["customerId"] == customer
    assert body["aum"] == {"amountMinor": 120000, "currency": "CNY"}
    assert body["tags"] == ["payroll"]
    assert "sourceEventId" not in body


def test_an_older_event_never_overwrites_a_newer_one(cloud: LocalCloud) -> None:
    # Given a profile stored from a newer event
    customer = new_customer_id()
    invoke_ingest(cloud, envelope(customer, "2026-11-23T10:00:00Z", branchId="new-branch"))
    # When an older event arrives late
    result = invoke_ingest(cloud, envelope(customer, "2026-11-23T09:00:00Z", branchId="old-branch"))
    # Then it is accepted (not retried) but changes nothing
    assert result == {"batchItemFailures": []}
    assert stored(cloud, customer)["branchId"] == {"S": "new-branch"}  # type: ignore[index]


def test_replaying_an_event_three_times_applies_it_once(cloud: LocalCloud) -> None:
    # Given an event applied once, then an operator change on top of it
    customer = new_customer_id()
    event = envelope(customer, "2026-11-23T10:00:00Z", event_id="evt-replay", tags=["a"])
    invoke_ingest(cloud, event)
    cloud.clients.dynamodb.update_item(
        TableName="customers", Key={"customerId": {"S": customer}},
        UpdateExpression="SET tags = :t", ExpressionAttributeValues={":t": {"L": [{"S": "changed"}]}},
    )
    # When the same event is delivered twice more
    invoke_ingest(cloud, event)
    invoke_ingest(cloud, event)
    # Then the replays were no-ops
    assert stored(cloud, customer)["tags"] == {"L": [{"S": "changed"}]}  # type: ignore[index]


def test_a_snapshot_clears_fields_it_omits_but_keeps_operator_tags(cloud: LocalCloud, api: Api) -> None:
    # Given a profile with a branch and operator tags
    customer = new_customer_id()
    invoke_ingest(cloud, envelope(customer, "2026-11-23T10:00:00Z", branchId="b1", riskLevel="R2"))
    assert api.call("PUT", f"/v1/admin/customers/{customer}/tags", as_="op", groups=["operators"], body={"tags": ["vip"]}).ok
    # When a newer snapshot without the branch arrives
    invoke_ingest(cloud, envelope(customer, "2026-11-23T11:00:00Z", riskLevel="R3"))
    # Then the branch is gone, the new risk level stands and the operator tags survive
    body = api.call("GET", f"/v1/customers/{customer}", as_="op", groups=["operators"]).json()
    assert body["branchId"] is None
    assert body["riskLevel"] == "R3"
    assert body["operatorTags"] == ["vip"]


def test_a_contract_violation_goes_to_the_dlq_at_once_with_its_reason(cloud: LocalCloud) -> None:
    # Given a batch holding a good event and one that breaks the contract
    good, bad = new_customer_id(), new_customer_id()
    url = cloud.provisioned.queue_urls["customer-profile-events"]
    dlq = cloud.provisioned.queue_urls["customer-profile-events-dlq"]
    cloud.clients.sqs.send_message(QueueUrl=url, MessageBody=envelope(bad, "2026-11-23T10:00:00Z", aumMinor=-5, currency="CNY"))
    cloud.clients.sqs.send_message(QueueUrl=url, MessageBody=envelope(good, "2026-11-23T10:00:00Z"))
    # When the poller delivers them
    # Then the good one is stored, and the bad one is in the DLQ, untouched, with the reason beside it
    eventually(lambda: stored(cloud, good))
    found: list[dict[str, Any]] = []

    def bad_message_in_dlq() -> bool:
        messages = cloud.clients.sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10, VisibilityTimeout=0,
                                                     MessageAttributeNames=["All"], AttributeNames=["All"]).get("Messages", [])
        found[:] = [m for m in messages if bad in m["Body"]]
        return bool(found)

    eventually(bad_message_in_dlq, timeout_s=20)
    reason = {name: value["StringValue"] for name, value in found[0]["MessageAttributes"].items()}
    assert reason["errorCode"] == "CONTRACT_VIOLATION" and reason["sourceQueue"] == "customer-profile-events"
    assert "aumMinor" in reason["errorDetails"] and reason["originalMessageId"]
    assert json.loads(found[0]["Body"])["detail"]["customerId"] == bad
    # And it was not retried first: it left the queue on its first receive
    attributes = cloud.clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (attributes["ApproximateNumberOfMessages"], attributes["ApproximateNumberOfMessagesNotVisible"]) == ("0", "0")
    assert stored(cloud, bad) is None


def test_a_batch_reports_only_its_failed_records(cloud: LocalCloud) -> None:
    # Given a batch of good, malformed JSON, unknown currency and wrong detail-type records
    good = new_customer_id()
    wrong_type = json.loads(envelope(new_customer_id(), "2026-11-23T10:00:00Z"))
    wrong_type["detail-type"] = "SomethingElse"
    bodies = [
        envelope(good, "2026-11-23T10:00:00Z"),
        "{not json",
        envelope(new_customer_id(), "2026-11-23T10:00:00Z", aumMinor=100, currency="XXX"),
        json.dumps(wrong_type),
    ]
    # When the consumer handles it
    result = invoke_ingest(cloud, *bodies)
    # Then only the three bad records are reported, and the good one is stored
    assert sorted(f["itemIdentifier"] for f in result["batchItemFailures"]) == ["m-1", "m-2", "m-3"]
    assert stored(cloud, good) is not None
