"""The fault hooks `make chaos` uses (infra/local/chaos_faults.py), each against the emulator:
throttling answered as DynamoDB answers it, a partly refused PutEvents retried by the outbox
publisher, and an invocation killed mid-batch (or timed out) getting its whole batch again."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from infra.local.chaos_faults import PUT_EVENTS, Faults, Rates
from infra.local.clients import LOCAL_CREDENTIALS, LOCAL_REGION
from infra.local.cloud import LocalCloud
from infra.local.emulator import Answer, Fault, Rewritten
from infra.local.pollers import QueuePoller
from infra.local.polling import Mishap
from infra.local.streams import StreamPoller
from infra.topology import Function, Queue, StreamSource
from loyalty.core.outbox import PendingEvent, outbox_put
from tests.support.api import eventually
from tests.support.bus import BusTap

NO_FAULTS = Rates(throttle=0, put_events=0, timeout=0, kill=0)
TEST_SOURCE = "loyalty.test.faults"


def only(rates: dict[str, float]) -> Rates:
    return Rates(**{**vars(NO_FAULTS), **rates})


@pytest.fixture
def unretried(cloud: LocalCloud) -> Any:
    """A DynamoDB client that sees every throttle: botocore would retry the first two kinds itself."""
    return boto3.client("dynamodb", endpoint_url=cloud.emulator.url, region_name=LOCAL_REGION,  # type: ignore[call-overload]
                        config=Config(retries={"mode": "standard", "max_attempts": 1}), **LOCAL_CREDENTIALS)


@pytest.fixture
def emulator_faults(cloud: LocalCloud) -> Iterator[list[Fault]]:
    """Whatever the test puts here answers in the emulator; removed afterwards."""
    installed: list[Fault] = []
    cloud.emulator.app.fault = lambda target, body: installed[0](target, body) if installed else None
    yield installed
    cloud.emulator.app.fault = None


# ---- throttling -----------------------------------------------------------------------------------------


def test_throttled_requests_are_answered_as_dynamodb_answers_them(cloud: LocalCloud, unretried: Any,
                                                                  emulator_faults: list[Fault]) -> None:
    # Given every DynamoDB request throttled
    faults = Faults(seed=7, rates=only({"throttle": 1.0}))
    emulator_faults.append(faults.emulator_fault)
    faults.start()
    key = {"customerId": {"S": f"thr-{uuid.uuid4().hex[:8]}"}}
    # When reads and a transaction are sent
    codes = set()
    for _ in range(12):
        with pytest.raises(ClientError) as read:
            unretried.get_item(TableName="customers", Key=key)
        codes.add(read.value.response["Error"]["Code"])
    with pytest.raises(ClientError) as transaction:
        unretried.transact_write_items(TransactItems=[{"Put": {"TableName": "customers", "Item": key}},
                                                      {"Put": {"TableName": "idempotency", "Item": {"pk": {"S": key["customerId"]["S"]}}}}])
    # Then reads meet both throttling errors botocore retries, and the transaction is cancelled with one ThrottlingError
    assert codes == {"ProvisionedThroughputExceededException", "ThrottlingException"}
    assert transaction.value.response["Error"]["Code"] == "TransactionCanceledException"
    reasons = [r["Code"] for r in transaction.value.response["CancellationReasons"]]
    assert sorted(reasons) == ["None", "ThrottlingError"]
    # And each is counted by kind
    assert faults.counts["TransactionCanceledException (ThrottlingError)"] >= 1
    assert faults.counts["ProvisionedThroughputExceededException"] + faults.counts["ThrottlingException"] >= 12
    # And once stopped, the same requests pass: nothing was written meanwhile
    faults.stop()
    assert "Item" not in unretried.get_item(TableName="customers", Key=key)


def test_the_seed_decides_the_draws() -> None:
    def draws(seed: int) -> list[str]:
        faults = Faults(seed, only({"throttle": 0.5}))
        faults.start()
        answers = [faults.emulator_fault("DynamoDB_20120810.GetItem", b"{}") for _ in range(60)]
        return [json.loads(a[2])["__type"] if isinstance(a, tuple) else "-" for a in answers]

    assert draws(1) == draws(1)
    assert draws(1) != draws(2)
    assert {"-"} < set(draws(1))


# ---- PutEvents partly refused ----------------------------------------------------------------------------


def outbox_record(sequence: int, event: PendingEvent) -> dict[str, Any]:
    """A stream record of an outbox insert, as Lambda hands it to the publisher."""
    item = outbox_put("coupons", event)["Put"]["Item"]
    return {"eventName": "INSERT", "dynamodb": {"Keys": {"pk": item["pk"], "sk": item["sk"]}, "NewImage": item,
                                                  "SequenceNumber": str(sequence)}}


@pytest.fixture
def tap(cloud: LocalCloud) -> Iterator[BusTap]:
    listening = BusTap(cloud, f"faults-tap-{uuid.uuid4().hex[:8]}", [TEST_SOURCE])
    yield listening
    listening.close()


def published(tap: BusTap, marker: str) -> list[str]:
    return [e["detail"]["eventId"] for e in tap.drain() if e["detail"].get("marker") == marker]


def test_the_publisher_reports_exactly_the_refused_entries(cloud: LocalCloud, tap: BusTap, emulator_faults: list[Fault]) -> None:
    # Given PutEvents refusing some entries of every request
    faults = Faults(seed=3, rates=only({"put_events": 1.0}))
    emulator_faults.append(faults.emulator_fault)
    faults.start()
    marker = uuid.uuid4().hex
    events = [PendingEvent(TEST_SOURCE, "TestHappened", {"marker": marker, "n": n}) for n in range(8)]
    # When the coupons outbox publisher gets a batch of their outbox inserts
    result = cloud.registry.invoke(cloud.topology.function("coupons-outbox"),
                                   {"Records": [outbox_record(100 + n, e) for n, e in enumerate(events)]})
    faults.stop()
    # Then it reports as failed exactly the refused entries, so that Lambda retries them
    failed = {int(f["itemIdentifier"]) - 100 for f in result["batchItemFailures"]}
    assert len(failed) == faults.counts["PutEvents entries refused"] >= 1
    # And the others reached the bus, the refused ones did not
    accepted = {e.event_id for n, e in enumerate(events) if n not in failed}
    eventually(lambda: set(published(tap, marker)) == accepted, timeout_s=10)


def test_a_partly_refused_put_events_is_retried_until_every_event_is_on_the_bus(
    cloud: LocalCloud, tap: BusTap, emulator_faults: list[Fault]
) -> None:
    # Given the outbox publisher's first PutEvents of these events partly refused
    faults = Faults(seed=5, rates=only({"put_events": 1.0}))
    faults.start()
    marker = uuid.uuid4().hex

    def first_of_ours(target: str, body: bytes) -> Answer | Rewritten | None:
        if target != PUT_EVENTS or marker.encode() not in body or faults.counts["PutEvents partly failed (requests)"]:
            return None
        return faults.emulator_fault(target, body)

    emulator_faults.append(first_of_ours)
    (poller,) = [p for p in cloud.stream_pollers if p.function.name == "coupons-outbox"]
    retried_before = poller.redelivered
    # When four events are written in one transaction: one batch on the coupons stream
    events = [PendingEvent(TEST_SOURCE, "TestHappened", {"marker": marker, "n": n}) for n in range(4)]
    cloud.clients.dynamodb.transact_write_items(TransactItems=[outbox_put("coupons", e) for e in events])
    # Then every event reaches the bus: the refused entries were retried
    eventually(lambda: set(published(tap, marker)) == {e.event_id for e in events}, timeout_s=30)
    assert faults.counts["PutEvents entries refused"] >= 1
    assert poller.redelivered > retried_before


# ---- a function killed mid-batch, or timed out -------------------------------------------------------------


@dataclass
class Recorder:
    """Stands in for HandlerRegistry: records each invocation's records, and reports no failure."""

    invocations: list[list[dict[str, Any]]] = field(default_factory=list)

    def invoke(self, function: Function, event: dict[str, Any]) -> Any:
        self.invocations.append(event["Records"])
        return {"batchItemFailures": []}


def first_invocation(kind: str, handled: int) -> Any:
    calls: list[int] = []

    def mishaps(function: Function, records: int) -> Mishap | None:
        calls.append(records)
        return Mishap(kind, handled) if len(calls) == 1 else None

    return mishaps


def depth(cloud: LocalCloud, url: str) -> tuple[int, int]:
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    found = cloud.clients.sqs.get_queue_attributes(QueueUrl=url, AttributeNames=names)["Attributes"]
    return int(found[names[0]]), int(found[names[1]])


@pytest.mark.parametrize(("kind", "handled"), [("killed", 1), ("timeout", 3)])
def test_a_queue_batch_killed_or_timed_out_comes_back_whole(cloud: LocalCloud, kind: str, handled: int) -> None:
    # Given a queue (visibility 1 s) holding three messages, and a consumer whose first invocation goes wrong
    queue = Queue(f"faults-{uuid.uuid4().hex[:8]}", visibility_timeout_s=1)
    sqs = cloud.clients.sqs
    url = sqs.create_queue(QueueName=queue.name, Attributes={"VisibilityTimeout": "1"})["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.send_message_batch(QueueUrl=url, Entries=[{"Id": str(n), "MessageBody": json.dumps({"n": n})} for n in range(3)])
    recorder = Recorder()
    poller = QueuePoller(queue, url, arn, Function("faulty", capability="tests", module="faulty", queue=queue.name), recorder, sqs)  # type: ignore[arg-type]
    poller.mishaps = first_invocation(kind, handled)
    try:
        # When it is handed the batch, and the process dies (or runs out of time) after `handled` records
        assert poller.poll_once() == 3
        # Then those records were handled, nothing was deleted: all three are in flight
        assert [len(batch) for batch in recorder.invocations] == [handled]
        assert depth(cloud, url) == (0, 3)
        # And after the visibility timeout the whole batch comes back, and is handled and deleted
        time.sleep(1.2)
        eventually(lambda: poller.poll_once(), timeout_s=10)
        ids = [{r["messageId"] for r in batch} for batch in recorder.invocations]
        assert ids[1] == ids[0] | ids[1] and len(ids[1]) == 3
        assert poller.redelivered == 3
        assert depth(cloud, url) == (0, 0)
    finally:
        sqs.delete_queue(QueueUrl=url)


@pytest.fixture
def streamed_table(cloud: LocalCloud) -> Iterator[tuple[str, str]]:
    name = f"faults-stream-{uuid.uuid4().hex[:8]}"
    created = cloud.clients.dynamodb.create_table(
        TableName=name, BillingMode="PAY_PER_REQUEST", KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_IMAGE"})["TableDescription"]
    yield name, created["LatestStreamArn"]
    cloud.clients.dynamodb.delete_table(TableName=name)


def test_a_stream_batch_killed_mid_batch_is_retried_from_its_first_record(cloud: LocalCloud, streamed_table: tuple[str, str]) -> None:
    # Given three records on a table's stream, and a consumer whose first invocation is killed after one
    name, arn = streamed_table
    for pk in ("a", "b", "c"):
        cloud.clients.dynamodb.put_item(TableName=name, Item={"pk": {"S": pk}})
    recorder = Recorder()
    function = Function("faulty", capability="tests", module="faulty", stream=StreamSource(name, batch_size=10, max_retries=2))
    poller = StreamPoller(function, arn, recorder, cloud.clients.dynamodbstreams, cloud.clients.sqs, "", retry_delay_s=0.0)
    poller.mishaps = first_invocation("killed", 1)
    # When it polls: the kill, then the retry
    assert poller.poll_once() == 3
    assert poller.retrying
    assert poller.poll_once() == 3
    # Then the first record was handled before the kill, and the retry got the whole batch again, from its first record
    keys = [[r["dynamodb"]["Keys"]["pk"]["S"] for r in batch] for batch in recorder.invocations]
    assert keys == [["a"], ["a", "b", "c"]]
    assert poller.redelivered == 3 and not poller.retrying
    assert poller.sent_to_failure_queue == 0


def test_faults_strike_invocations_by_kind() -> None:
    # Given faults that always time out, then always kill
    queue_consumer = Function("q", capability="tests", module="q", queue="q")
    stream_consumer = Function("s", capability="tests", module="s", stream=StreamSource("t"))
    timeouts, kills = Faults(1, only({"timeout": 1.0})), Faults(1, only({"kill": 1.0}))
    assert timeouts.mishap(queue_consumer, 5) is None  # not started: nothing strikes
    timeouts.start()
    kills.start()
    # Then a timeout handled the whole batch, a kill only part of it; each is counted by source
    assert timeouts.mishap(queue_consumer, 5) == Mishap("timeout", 5)
    killed = kills.mishap(stream_consumer, 5)
    assert killed is not None and killed.kind == "killed" and 0 <= killed.handled < 5
    assert timeouts.counts["queue batch timed out"] == 1 and kills.counts["stream batch killed mid-batch"] == 1
