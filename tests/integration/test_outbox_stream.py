"""The transactional outbox end to end: TransactWriteItems -> coupons stream -> coupons-outbox -> bus.

A tap (an SQS queue behind a rule on `loyalty-events` matching source `loyalty.test`) shows what
reached the bus. The stream is one ordered shard, so once a sentinel event written last is on the
bus, everything written before it has been handled: that is how "nothing was published" is checked.

The last tests drive `infra.local.streams.StreamPoller` directly, with a tiny registry, on a table of
their own: partial failures, retries, the failure queue, and shard handling.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

import loyalty.core.aws
from infra.local.cloud import LocalCloud
from infra.local.streams import StreamPoller, _failed_sequence_numbers
from infra.topology import Function, StreamSource
from loyalty.core.outbox import PendingEvent, outbox_put
from tests.support.api import eventually
from tests.support.bus import BusTap

TEST_SOURCE = "loyalty.test"


class OutboxTap(BusTap):
    """Everything with source `loyalty.test` that reaches the bus."""

    def __init__(self, cloud: LocalCloud, name: str):
        super().__init__(cloud, name, [TEST_SOURCE])

    def with_event_id(self, event_id: str) -> list[dict[str, Any]]:
        return [e for e in self.drain() if e["detail"].get("eventId") == event_id]

    def with_marker(self, marker: str) -> list[dict[str, Any]]:
        return [e for e in self.drain() if e["detail"].get("marker") == marker]


@pytest.fixture(scope="module")
def tap(cloud: LocalCloud) -> OutboxTap:
    return OutboxTap(cloud, f"outbox-tap-{uuid.uuid4().hex[:8]}")


def transact(cloud: LocalCloud, *items: dict[str, Any]) -> None:
    cloud.clients.dynamodb.transact_write_items(TransactItems=list(items))


def state_put(key: str, condition: str | None = None) -> dict[str, Any]:
    put: dict[str, Any] = {"TableName": "coupons", "Item": {"pk": {"S": f"TEST#{key}"}, "sk": {"S": "STATE"}}}
    if condition:
        put["ConditionExpression"] = condition
    return {"Put": put}


def pending(**detail: Any) -> PendingEvent:
    return PendingEvent(TEST_SOURCE, "TestHappened", detail)


def flush(cloud: LocalCloud, tap: OutboxTap) -> None:
    """Writes a sentinel outbox item and waits for it on the bus: every earlier record is handled."""
    sentinel = PendingEvent(TEST_SOURCE, "Sentinel", {"marker": "sentinel"})
    transact(cloud, outbox_put("coupons", sentinel))
    eventually(lambda: tap.with_event_id(sentinel.event_id), timeout_s=15)


def test_an_outbox_item_written_with_its_state_change_reaches_the_bus_once(cloud: LocalCloud, tap: OutboxTap) -> None:
    # Given an event written in the same transaction as a state change
    event = pending(couponId="cp-1", amountMinor=500)
    # When the transaction commits
    transact(cloud, state_put(uuid.uuid4().hex), outbox_put("coupons", event))
    # Then the event reaches the bus with its eventId, source, detail-type and detail
    (published,) = eventually(lambda: tap.with_event_id(event.event_id), timeout_s=15)
    assert published["source"] == TEST_SOURCE
    assert published["detail-type"] == "TestHappened"
    assert published["detail"]["couponId"] == "cp-1" and published["detail"]["amountMinor"] == 500
    assert published["detail"]["occurredAt"].endswith("Z")
    # And it is there exactly once, once everything after it was handled too
    flush(cloud, tap)
    assert len(tap.with_event_id(event.event_id)) == 1


def test_a_cancelled_transaction_publishes_nothing(cloud: LocalCloud, tap: OutboxTap) -> None:
    # Given a state item that already exists
    key = uuid.uuid4().hex
    transact(cloud, state_put(key))
    event = pending(couponId="cp-cancelled")
    # When a transaction writes the outbox item first, then fails its condition on that item
    with pytest.raises(ClientError) as cancelled:
        transact(cloud, outbox_put("coupons", event), state_put(key, condition="attribute_not_exists(pk)"))
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    # Then the outbox item was never stored
    stored = cloud.clients.dynamodb.get_item(TableName="coupons", Key={"pk": {"S": f"OUTBOX#{event.event_id}"}, "sk": {"S": "OUTBOX"}})
    assert "Item" not in stored
    # And, once later writes have been published (the stream still flows after the rollback), it never was
    flush(cloud, tap)
    assert tap.with_event_id(event.event_id) == []


def test_an_item_outside_the_outbox_is_not_published(cloud: LocalCloud, tap: OutboxTap) -> None:
    # Given an item shaped like an outbox item but not keyed OUTBOX#
    marker = uuid.uuid4().hex
    item = {
        "pk": {"S": f"COUPON#{marker}"},
        "sk": {"S": "OUTBOX"},
        "source": {"S": TEST_SOURCE},
        "detailType": {"S": "TestHappened"},
        "detail": {"S": json.dumps({"eventId": marker, "marker": marker})},
    }
    # When it is inserted
    cloud.clients.dynamodb.put_item(TableName="coupons", Item=item)
    # Then nothing reaches the bus for it
    flush(cloud, tap)
    assert tap.with_marker(marker) == []


def test_writes_outside_the_outbox_invoke_no_publisher(cloud: LocalCloud, tap: OutboxTap) -> None:
    # Given the coupons table's publisher, and its invocations so far
    (poller,) = [p for p in cloud.stream_pollers if p.source.table == "coupons"]
    flush(cloud, tap)
    invoked, read = poller.batches, poller.batches_read
    # When only items outside the outbox change (a counter bumped twice, then deleted)
    key = {"pk": {"S": f"COUNTER#{uuid.uuid4().hex}"}, "sk": {"S": "C"}}
    for _ in range(2):
        cloud.clients.dynamodb.update_item(TableName="coupons", Key=key, UpdateExpression="ADD n :one",
                                           ExpressionAttributeValues={":one": {"N": "1"}})
    cloud.clients.dynamodb.delete_item(TableName="coupons", Key=key)
    # Then the stream carried them, as Lambda's filter sees them, but no publisher ran for them
    from tests.support.api import eventually

    eventually(lambda: poller.batches_read > read, timeout_s=10)
    assert poller.batches == invoked


@dataclass
class PutEventsSpy:
    """Wraps the handlers' EventBridge client and records the size of every PutEvents call."""

    client: Any
    sizes: list[int] = field(default_factory=list)
    entries: list[list[str]] = field(default_factory=list)

    def put_events(self, **kwargs: Any) -> Any:
        self.sizes.append(len(kwargs["Entries"]))
        self.entries.append([json.loads(e["Detail"]).get("eventId", "") for e in kwargs["Entries"]])
        return self.client.put_events(**kwargs)


def test_25_outbox_items_in_one_transaction_are_all_published_in_chunks_of_10(
    cloud: LocalCloud, tap: OutboxTap, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a spy on the publisher's EventBridge client
    spy = PutEventsSpy(loyalty.core.aws.events())
    monkeypatch.setattr(loyalty.core.aws, "events", lambda: spy)
    # When one transaction writes 25 outbox items (one stream batch: batch size 100)
    events = [pending(n=n) for n in range(25)]
    transact(cloud, *(outbox_put("coupons", e) for e in events))
    # Then every one of them reaches the bus, once
    ids = {e.event_id for e in events}
    eventually(lambda: ids <= {e["detail"]["eventId"] for e in tap.drain()}, timeout_s=15)
    flush(cloud, tap)
    published = [e["detail"]["eventId"] for e in tap.drain() if e["detail"]["eventId"] in ids]
    assert sorted(published) == sorted(ids)
    # And PutEvents was called with at most 10 entries, the 25 spread over 3 calls
    assert spy.sizes and max(spy.sizes) <= 10
    assert len([call for call in spy.entries if ids & set(call)]) == 3


# --- the poller itself --------------------------------------------------------------------------


@dataclass
class FlakyRegistry:
    """Stands in for HandlerRegistry: fails records whose NewImage says `fail`, raises on `raise`."""

    invocations: list[list[dict[str, Any]]] = field(default_factory=list)
    delivered: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def invoke(self, function: Function, event: dict[str, Any]) -> Any:
        records = event["Records"]
        with self.lock:
            self.invocations.append(records)
        names = [r["dynamodb"]["NewImage"]["pk"]["S"] for r in records]
        if any(r["dynamodb"]["NewImage"].get("mode", {}).get("S") == "raise" for r in records):
            raise RuntimeError("handler crashed")
        failed = [r for r in records if r["dynamodb"]["NewImage"].get("mode", {}).get("S") == "fail"]
        with self.lock:
            self.delivered += [n for n, r in zip(names, records, strict=True) if r not in failed]
        return {"batchItemFailures": [{"itemIdentifier": r["dynamodb"]["SequenceNumber"]} for r in failed]}

    def attempts_of(self, pk: str) -> int:
        return sum(1 for batch in self.invocations if any(r["dynamodb"]["Keys"]["pk"]["S"] == pk for r in batch))


@dataclass
class StreamedTable:
    name: str
    stream_arn: str
    failure_queue_url: str


@pytest.fixture
def streamed_table(cloud: LocalCloud) -> Iterator[StreamedTable]:
    name = f"stream-test-{uuid.uuid4().hex[:8]}"
    created = cloud.clients.dynamodb.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"},
    )["TableDescription"]
    url = cloud.clients.sqs.create_queue(QueueName=f"{name}-stream-failures")["QueueUrl"]
    yield StreamedTable(name, created["LatestStreamArn"], url)
    cloud.clients.dynamodb.delete_table(TableName=name)
    cloud.clients.sqs.delete_queue(QueueUrl=url)


def poller_for(cloud: LocalCloud, table: StreamedTable, registry: FlakyRegistry, batch_size: int, max_retries: int) -> StreamPoller:
    function = Function("flaky", capability="tests", module="flaky", stream=StreamSource(table.name, batch_size, max_retries))
    return StreamPoller(
        function,
        table.stream_arn,
        registry,
        cloud.clients.dynamodbstreams,
        cloud.clients.sqs,
        table.failure_queue_url,
        max_idle_sleep_s=0.02,
        retry_delay_s=0.0,
    )


def put(cloud: LocalCloud, table: StreamedTable, pk: str, mode: str = "ok", payload: bytes | None = None) -> None:
    item: dict[str, dict[str, Any]] = {"pk": {"S": pk}, "mode": {"S": mode}}
    if payload is not None:
        item["blob"] = {"B": payload}
    cloud.clients.dynamodb.put_item(TableName=table.name, Item=item)


def failure_messages(cloud: LocalCloud, table: StreamedTable) -> list[dict[str, Any]]:
    messages = cloud.clients.sqs.receive_message(QueueUrl=table.failure_queue_url, MaxNumberOfMessages=10, VisibilityTimeout=0)
    return [json.loads(m["Body"]) for m in messages.get("Messages", [])]


def test_the_poller_hands_lambda_shaped_records(cloud: LocalCloud, streamed_table: StreamedTable) -> None:
    # Given one item written to a streamed table (with a binary attribute)
    put(cloud, streamed_table, "a", payload=b"\x00\xff")
    registry = FlakyRegistry()
    poller = poller_for(cloud, streamed_table, registry, batch_size=10, max_retries=0)
    # When the poller runs one round
    assert poller.poll_once() == 1
    # Then the function got one record shaped as Lambda shapes a DynamoDB stream record
    ((record,),) = registry.invocations
    assert record["eventName"] == "INSERT"
    assert record["eventVersion"] == "1.1"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["awsRegion"] == "us-east-1"
    assert record["eventSourceARN"] == streamed_table.stream_arn
    assert isinstance(record["eventID"], str) and record["eventID"]
    dynamodb = record["dynamodb"]
    assert dynamodb["Keys"] == {"pk": {"S": "a"}}
    assert dynamodb["NewImage"] == {"pk": {"S": "a"}, "mode": {"S": "ok"}, "blob": {"B": "AP8="}}
    assert dynamodb["StreamViewType"] == "NEW_IMAGE"
    assert dynamodb["SequenceNumber"].isdigit() and dynamodb["SizeBytes"] > 0
    assert isinstance(dynamodb["ApproximateCreationDateTime"], int)
    json.dumps(registry.invocations)  # the event is plain JSON, as Lambda's is
    # And an idle stream hands nothing more
    assert poller.poll_once() == 0


def test_a_record_that_keeps_failing_goes_to_the_failure_queue_and_later_ones_flow(
    cloud: LocalCloud, streamed_table: StreamedTable
) -> None:
    # Given records a, P (always reported as failed), b, c, d and batches of 3 with 2 retries
    for pk, mode in [("a", "ok"), ("P", "fail"), ("b", "ok"), ("c", "ok"), ("d", "ok")]:
        put(cloud, streamed_table, pk, mode)
    registry = FlakyRegistry()
    poller = poller_for(cloud, streamed_table, registry, batch_size=3, max_retries=2).start()
    try:
        # When the poller runs
        (failure,) = eventually(lambda: failure_messages(cloud, streamed_table))
        eventually(lambda: "d" in registry.delivered)
    finally:
        poller.stop()
    # Then P was attempted once plus its 2 retries, each retry starting at P (a was checkpointed)
    assert registry.attempts_of("P") == 3
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in registry.invocations[0]] == ["a", "P", "b"]
    assert all(batch[0]["dynamodb"]["Keys"]["pk"]["S"] == "P" for batch in registry.invocations[1:3])
    assert registry.delivered.count("a") == 1
    # And the failure queue holds one Lambda-style failure record for the batch from P, with its records
    info = failure["DDBStreamBatchInfo"]
    given_up = [r["dynamodb"]["Keys"]["pk"]["S"] for r in failure["records"]]
    assert given_up[0] == "P" and given_up == ["P", "b", "c"]
    assert info["startSequenceNumber"] == failure["records"][0]["dynamodb"]["SequenceNumber"]
    assert info["endSequenceNumber"] == failure["records"][-1]["dynamodb"]["SequenceNumber"]
    assert info["batchSize"] == 3
    assert info["streamArn"] == streamed_table.stream_arn
    assert info["shardId"].startswith("shardId-")
    assert failure["requestContext"]["condition"] == "RetryAttemptsExhausted"
    assert failure["requestContext"]["approximateInvokeCount"] == 3
    # And d, written after the batch given up on, was delivered exactly once, in a batch of its own
    assert registry.invocations[-1][0]["dynamodb"]["Keys"]["pk"]["S"] == "d"
    assert registry.delivered.count("d") == 1
    assert poller.sent_to_failure_queue == 1


def test_a_raising_handler_fails_its_whole_batch_then_the_stream_moves_on(
    cloud: LocalCloud, streamed_table: StreamedTable
) -> None:
    # Given a batch whose handler raises (x), then a later record (y)
    put(cloud, streamed_table, "w", "ok")
    put(cloud, streamed_table, "x", "raise")
    registry = FlakyRegistry()
    poller = poller_for(cloud, streamed_table, registry, batch_size=10, max_retries=1)
    # When the poller runs until the batch is given up on, then y is written
    while poller.sent_to_failure_queue == 0:
        poller.poll_once()
    put(cloud, streamed_table, "y", "ok")
    while poller.poll_once():
        pass
    # Then w and x were attempted twice (the first try and 1 retry), and both went to the failure queue
    assert [len(batch) for batch in registry.invocations[:2]] == [2, 2]
    (failure,) = failure_messages(cloud, streamed_table)
    assert [r["dynamodb"]["Keys"]["pk"]["S"] for r in failure["records"]] == ["w", "x"]
    assert failure["responseContext"]["functionError"] == "RuntimeError"
    # And y was delivered afterwards
    assert registry.delivered == ["y"]


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (None, set()),
        ({}, set()),
        ({"batchItemFailures": []}, set()),
        ({"batchItemFailures": [{"itemIdentifier": "12"}]}, {12}),
        ({"batchItemFailures": [{"itemIdentifier": "99"}]}, {11, 12, 13}),  # not in the batch
        ({"batchItemFailures": [{"itemIdentifier": ""}]}, {11, 12, 13}),
        ({"batchItemFailures": [{"nope": "12"}]}, {11, 12, 13}),
    ],
    ids=["none", "empty", "no-failures", "one", "unknown", "blank", "malformed"],
)
def test_batch_item_failures_are_read_as_lambda_reads_them(result: Any, expected: set[int]) -> None:
    # Given a batch 11..13 and a handler's result / Then the failed sequence numbers are as in Lambda
    assert _failed_sequence_numbers(result, {11, 12, 13}) == expected


class FakeStreams:
    """A two-shard stream (a parent and its child), for what moto never does: split shards."""

    def __init__(self, records: dict[str, list[int]]):
        self.records = records
        self.shards = [{"ShardId": "parent"}, {"ShardId": "child", "ParentShardId": "parent"}]

    def describe_stream(self, StreamArn: str, **_: Any) -> dict[str, Any]:
        return {"StreamDescription": {"Shards": self.shards}}

    def get_shard_iterator(self, ShardId: str, ShardIteratorType: str, SequenceNumber: str = "0", **_: Any) -> dict[str, Any]:
        start = {"TRIM_HORIZON": 0, "AT_SEQUENCE_NUMBER": int(SequenceNumber), "AFTER_SEQUENCE_NUMBER": int(SequenceNumber) + 1}
        return {"ShardIterator": f"{ShardId}:{start[ShardIteratorType]}"}

    def get_records(self, ShardIterator: str, Limit: int) -> dict[str, Any]:
        shard, position = ShardIterator.split(":")
        numbers = [n for n in self.records[shard] if n >= int(position)][:Limit]
        records = [
            {
                "eventID": str(n),
                "eventName": "INSERT",
                "dynamodb": {
                    "Keys": {"pk": {"S": f"{shard}-{n}"}},
                    "NewImage": {"pk": {"S": f"{shard}-{n}"}},
                    "SequenceNumber": str(n),
                    "SizeBytes": 10,
                    "StreamViewType": "NEW_IMAGE",
                },
            }
            for n in numbers
        ]
        following = (numbers[-1] + 1) if numbers else int(position)
        if shard == "parent" and not numbers and following > max(self.records["parent"]):
            return {"Records": []}  # a closed, drained shard has no next iterator
        return {"Records": records, "NextShardIterator": f"{shard}:{following}"}


def test_a_child_shard_is_read_after_its_parent_is_drained() -> None:
    # Given a parent shard with 3 records and its child with 2
    streams = FakeStreams({"parent": [1, 2, 3], "child": [10, 11]})
    registry = FlakyRegistry()
    function = Function("flaky", capability="tests", module="flaky", stream=StreamSource("t", batch_size=2))
    poller = StreamPoller(function, "arn:stream", registry, streams, sqs=None, failure_queue_url="")
    # When the poller runs until nothing is left
    while poller.poll_once():
        pass
    poller.poll_once()
    # Then every parent record came before any child record, each once, and the parent is closed
    assert registry.delivered == ["parent-1", "parent-2", "parent-3", "child-10", "child-11"]
    assert poller.shards["parent"].closed and not poller.shards["child"].closed
