"""`python -m infra.ops.redrive` (`make redrive`) against the local cloud: DLQ messages go back onto
their queue, the DLQ is left without them, and the queue's consumer handles them."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from infra.ops.redrive import main
from tests.support.api import eventually


def _depth(cloud: LocalCloud, url: str) -> tuple[int, int]:
    attributes = cloud.clients.sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def _all_messages(cloud: LocalCloud, url: str) -> list[dict[str, Any]]:
    messages: list[dict[str, Any]] = []
    while batch := cloud.clients.sqs.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"], VisibilityTimeout=60
    ).get("Messages", []):
        messages += batch
    return messages


@pytest.fixture
def probe(cloud: LocalCloud) -> tuple[str, str, str]:
    """A queue and its DLQ with no consumer polling them, so what lands on the queue stays visible."""
    name = f"redrive-probe-{uuid.uuid4().hex[:8]}"
    dlq_url = cloud.clients.sqs.create_queue(QueueName=f"{name}-dlq")["QueueUrl"]
    url = cloud.clients.sqs.create_queue(QueueName=name)["QueueUrl"]
    return name, url, dlq_url


def test_redrive_moves_dlq_messages_onto_the_queue_with_their_attributes(
    cloud: LocalCloud, probe: tuple[str, str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    # Given three messages on a DLQ, one with the attributes EventBridge adds to an undelivered event
    name, url, dlq_url = probe
    bodies = [json.dumps({"n": i}) for i in range(3)]
    for body in bodies:
        cloud.clients.sqs.send_message(QueueUrl=dlq_url, MessageBody=body)
    cloud.clients.sqs.send_message(
        QueueUrl=dlq_url,
        MessageBody="with-attributes",
        MessageAttributes={"ERROR_CODE": {"DataType": "String", "StringValue": "SDK_CLIENT_ERROR"}},
    )
    # When an operator redrives the queue on the local cloud
    exit_code = main([name, "--endpoint-url", cloud.emulator.url])
    # Then all four are on the queue, as they were, and none is left on the DLQ
    assert exit_code == 0
    assert "moved 4, failed 0" in capsys.readouterr().out
    on_queue = _all_messages(cloud, url)
    assert sorted(m["Body"] for m in on_queue) == sorted([*bodies, "with-attributes"])
    (tagged,) = [m for m in on_queue if m["Body"] == "with-attributes"]
    assert tagged["MessageAttributes"]["ERROR_CODE"]["StringValue"] == "SDK_CLIENT_ERROR"
    assert _depth(cloud, dlq_url) == (0, 0)


def test_redrive_moves_at_most_max_messages(cloud: LocalCloud, probe: tuple[str, str, str], capsys: pytest.CaptureFixture[str]) -> None:
    # Given three messages on a DLQ
    name, url, dlq_url = probe
    for i in range(3):
        cloud.clients.sqs.send_message(QueueUrl=dlq_url, MessageBody=f"m{i}")
    # When an operator redrives at most two, naming the DLQ itself
    assert main([f"{name}-dlq", "--max", "2", "--endpoint-url", cloud.emulator.url]) == 0
    # Then two moved and one waits on the DLQ
    assert "moved 2, failed 0" in capsys.readouterr().out
    assert len(_all_messages(cloud, url)) == 2
    assert _depth(cloud, dlq_url) == (1, 0)


def test_a_redriven_event_reaches_the_queue_consumer(cloud: LocalCloud) -> None:
    # Given a profile event that ended on the customer-profile-events DLQ (say, during an outage)
    customer = f"c-{uuid.uuid4().hex[:10]}"
    event = {
        "id": str(uuid.uuid4()),
        "source": "bank.core",
        "detail-type": "CustomerProfileChanged",
        "time": "2026-11-23T04:12:00Z",
        "detail": {"customerId": customer, "changedAt": "2026-11-23T04:12:00Z", "branchId": "redriven"},
    }
    dlq_url = cloud.provisioned.queue_urls["customer-profile-events-dlq"]
    cloud.clients.sqs.send_message(QueueUrl=dlq_url, MessageBody=json.dumps(event))
    # When an operator redrives the topology queue by its name
    assert main(["customer-profile-events", "--endpoint-url", cloud.emulator.url]) == 0
    # Then its consumer (customers-ingest) stores the profile
    def stored() -> dict[str, Any] | None:
        item = cloud.clients.dynamodb.get_item(TableName="customers", Key={"customerId": {"S": customer}}, ConsistentRead=True)
        return item.get("Item")

    assert eventually(stored)["branchId"] == {"S": "redriven"}


def test_an_unknown_queue_is_refused_with_a_hint(cloud: LocalCloud, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["no-such-queue", "--endpoint-url", cloud.emulator.url]) == 2
    assert "no queue named 'no-such-queue'" in capsys.readouterr().err
