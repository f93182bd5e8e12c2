"""`loyalty.core.consumer`: bus events from SQS, one failure never blocks the batch."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from loyalty.core import errors
from loyalty.core.consumer import BusEvent, parse_bus_event, sqs_consumer
from loyalty.core.money import Money
from loyalty.customers.model import ProfileChangedDetail
from tests.unit.fakes import LAMBDA_CONTEXT


class TransactionPostedDetail(BaseModel):
    """A small detail model for the tests: a card transaction with its amount."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    customerId: str
    transactionId: str
    amount: Money


MODELS: dict[str, type[BaseModel]] = {
    "CustomerProfileChanged": ProfileChangedDetail,
    "CardTransactionPosted": TransactionPostedDetail,
}

PROFILE = {"customerId": "c-001", "changedAt": "2026-11-23T04:12:00Z", "aumMinor": 52_000_000, "currency": "CNY"}
TRANSACTION = {"customerId": "c-001", "transactionId": "t-1", "amount": {"amountMinor": 12_800, "currency": "CNY"}}


def envelope(
    detail: Any,
    detail_type: str = "CustomerProfileChanged",
    *,
    event_id: str | None = "evt-1",
    time: str | None = "2026-11-23T04:12:05Z",
    source: str = "bank.core",
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "version": "0",
        "detail-type": detail_type,
        "source": source,
        "account": "000000000000",
        "region": "ap-east-1",
        "resources": [],
        "detail": detail,
    }
    if event_id is not None:
        body["id"] = event_id
    if time is not None:
        body["time"] = time
    return body


def sqs_record(message_id: str, body: str | dict[str, Any]) -> dict[str, Any]:
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body if isinstance(body, str) else json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:ap-east-1:000000000000:customers-profile-changed",
    }


def refusal(body: str | dict[str, Any]) -> errors.InvalidInput:
    with pytest.raises(errors.InvalidInput) as raised:
        parse_bus_event(body if isinstance(body, str) else json.dumps(body), MODELS)
    return raised.value


# --- parse_bus_event ----------------------------------------------------------------------------


def test_a_valid_event_parses_into_its_envelope_and_typed_detail() -> None:
    # Given an EventBridge envelope carrying a CustomerProfileChanged
    body = json.dumps(envelope(PROFILE, event_id="evt-42"))
    # When it is parsed
    event = parse_bus_event(body, MODELS)
    # Then the envelope fields are read and the detail is the typed model
    assert (event.id, event.source, event.detail_type) == ("evt-42", "bank.core", "CustomerProfileChanged")
    assert event.time == datetime(2026, 11, 23, 4, 12, 5, tzinfo=UTC)
    assert isinstance(event.detail, ProfileChangedDetail)
    assert event.detail.customerId == "c-001" and event.detail.aumMinor == 52_000_000


def test_the_detail_type_selects_the_model() -> None:
    # Given a CardTransactionPosted envelope
    body = json.dumps(envelope(TRANSACTION, "CardTransactionPosted"))
    # When it is parsed
    event = parse_bus_event(body, MODELS)
    # Then its detail is the transaction model
    assert isinstance(event.detail, TransactionPostedDetail)
    assert event.detail.amount == Money(amountMinor=12_800, currency="CNY")


def test_an_envelope_without_time_has_none() -> None:
    # Given an envelope without "time"
    # When parsed
    event = parse_bus_event(json.dumps(envelope(PROFILE, time=None)), MODELS)
    # Then time is None
    assert event.time is None


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "",
        '{"id": "evt-1", "detail": ',
        "[1, 2, 3]",  # JSON, not an object
        '"a string"',
        json.dumps(envelope(PROFILE, event_id=None)),  # no id
        json.dumps(envelope(PROFILE, event_id="")),  # empty id
        json.dumps({k: v for k, v in envelope(PROFILE).items() if k != "detail"}),  # no detail
    ],
)
def test_a_message_that_is_not_an_eventbridge_event_is_malformed(body: str) -> None:
    # Given a body that is not JSON, not an object, or lacks the id or detail
    # When parsed
    error = refusal(body)
    # Then it is refused as MALFORMED_MESSAGE
    assert error.code == "MALFORMED_MESSAGE"


@pytest.mark.parametrize("detail_type", ["AccountOpened", "", "customerprofilechanged"])
def test_an_unexpected_detail_type_is_refused(detail_type: str) -> None:
    # Given an event of a type this consumer does not handle
    # When parsed
    error = refusal(envelope(PROFILE, detail_type))
    # Then it is refused as UNEXPECTED_EVENT
    assert error.code == "UNEXPECTED_EVENT"


@pytest.mark.parametrize(
    ("detail", "field"),
    [
        ({"changedAt": "2026-11-23T04:12:00Z"}, "customerId"),
        ({**PROFILE, "currency": "XXY"}, "currency"),
        ({**PROFILE, "aumMinor": 12.5}, "aumMinor"),
        ({**PROFILE, "riskLevel": "R6"}, "riskLevel"),
    ],
)
def test_a_detail_that_breaks_the_contract_names_the_field(detail: dict[str, Any], field: str) -> None:
    # Given a detail that breaks the CustomerProfileChanged contract
    # When parsed
    error = refusal(envelope(detail))
    # Then it is a CONTRACT_VIOLATION whose details name the field
    assert error.code == "CONTRACT_VIOLATION"
    assert field in {d["field"] for d in error.details}


def test_a_null_detail_is_a_contract_violation() -> None:
    # Given "detail": null
    # When parsed
    # Then it is a CONTRACT_VIOLATION
    assert refusal(envelope(None)).code == "CONTRACT_VIOLATION"


# --- sqs_consumer -------------------------------------------------------------------------------


class Recorder:
    def __init__(self, fail_for: set[str] | None = None, error: Exception | None = None) -> None:
        self.processed: list[BusEvent] = []
        self.fail_for = fail_for or set()
        self.error = error or RuntimeError("downstream unavailable")

    def __call__(self, event: BusEvent) -> None:
        if event.id in self.fail_for:
            raise self.error
        self.processed.append(event)


def consumer(recorder: Recorder) -> Any:
    @sqs_consumer(MODELS)
    def process(event: BusEvent) -> None:
        recorder(event)

    return process


BAD_BODIES: dict[str, str | dict[str, Any]] = {
    "not-json": "{{{ not json",
    "missing-customer-id": envelope({"changedAt": "2026-11-23T04:12:00Z"}, event_id="evt-bad"),
    "unknown-currency": envelope({**PROFILE, "currency": "ABC"}, event_id="evt-bad"),
    "wrong-detail-type": envelope(PROFILE, "LoginCompleted", event_id="evt-bad"),
    "no-envelope-id": envelope(PROFILE, event_id=None),
    "naive-changed-at": envelope({**PROFILE, "changedAt": "2026-11-23T04:12:00"}, event_id="evt-bad"),
}


@pytest.mark.parametrize("kind", sorted(BAD_BODIES))
def test_one_bad_record_fails_alone_and_the_good_one_is_processed(kind: str) -> None:
    # Given a batch with a malformed record between two good ones
    recorder = Recorder()
    batch = {
        "Records": [
            sqs_record("msg-good-1", envelope(PROFILE, event_id="evt-1")),
            sqs_record("msg-bad", BAD_BODIES[kind]),
            sqs_record("msg-good-2", envelope(TRANSACTION, "CardTransactionPosted", event_id="evt-2")),
        ]
    }
    # When the consumer handles the batch
    result = consumer(recorder)(batch, LAMBDA_CONTEXT)
    # Then both good records are processed and only the bad messageId is reported
    assert [e.id for e in recorder.processed] == ["evt-1", "evt-2"]
    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-bad"}]}


def test_every_bad_record_is_reported_in_a_mixed_batch() -> None:
    # Given one good record and one record of each bad kind
    recorder = Recorder()
    records = [sqs_record("msg-good", envelope(PROFILE, event_id="evt-good"))]
    records += [sqs_record(f"msg-{kind}", body) for kind, body in sorted(BAD_BODIES.items())]
    # When the consumer handles the batch
    result = consumer(recorder)({"Records": records}, LAMBDA_CONTEXT)
    # Then the good one is processed and each bad one is reported, in batch order
    assert [e.id for e in recorder.processed] == ["evt-good"]
    assert result["batchItemFailures"] == [{"itemIdentifier": f"msg-{kind}"} for kind in sorted(BAD_BODIES)]


@pytest.mark.parametrize("error", [RuntimeError("downstream unavailable"), errors.Conflict("stale snapshot")])
def test_an_exception_in_process_fails_only_that_record(error: Exception) -> None:
    # Given a batch of three where processing the second raises
    recorder = Recorder(fail_for={"evt-2"}, error=error)
    batch = {"Records": [sqs_record(f"msg-{n}", envelope(PROFILE, event_id=f"evt-{n}")) for n in (1, 2, 3)]}
    # When the consumer handles the batch
    result = consumer(recorder)(batch, LAMBDA_CONTEXT)
    # Then the first and third are processed and only the second is reported
    assert [e.id for e in recorder.processed] == ["evt-1", "evt-3"]
    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-2"}]}


def test_an_all_good_batch_reports_no_failures() -> None:
    # Given two good records
    recorder = Recorder()
    batch = {"Records": [sqs_record("m1", envelope(PROFILE, event_id="e1")), sqs_record("m2", envelope(PROFILE, event_id="e2"))]}
    # When handled
    result = consumer(recorder)(batch, LAMBDA_CONTEXT)
    # Then the failure list is empty (SQS deletes the whole batch)
    assert result == {"batchItemFailures": []}
    assert len(recorder.processed) == 2


def test_an_empty_batch_reports_no_failures() -> None:
    # Given no records
    # When handled
    # Then nothing fails
    assert consumer(Recorder())({"Records": []}, LAMBDA_CONTEXT) == {"batchItemFailures": []}


def test_each_record_runs_under_the_correlation_id_its_event_carries_or_its_own_id() -> None:
    # Given a batch: an event caused by an API request (carrying its correlation id), and a bank event
    from loyalty.core.observability import correlation_id
    from loyalty.core.outbox import PendingEvent, outbox_put

    seen: list[str | None] = []

    @sqs_consumer(MODELS)
    def handler(event: BusEvent) -> None:
        seen.append(correlation_id())

    carried = {**PROFILE, "correlationId": "req-42"}
    batch = {"Records": [sqs_record("m1", envelope(carried, event_id="e1")), sqs_record("m2", envelope(PROFILE, event_id="e2"))]}
    # When the consumer handles it
    assert handler(batch, LAMBDA_CONTEXT) == {"batchItemFailures": []}
    # Then each record ran under its own correlation id
    assert seen == ["req-42", "e2"]
    # And an event written while handling carries the current one on
    put = outbox_put("t", PendingEvent("loyalty.test", "Thing", {"customerId": "c-1"}))
    assert json.loads(put["Put"]["Item"]["detail"]["S"])["correlationId"] == "e2"


def test_every_bus_event_a_consumer_parses_names_its_occurrence() -> None:
    from pydantic import BaseModel, ConfigDict

    class Detail(BaseModel):
        model_config = ConfigDict(extra="ignore")
        customerId: str

    # Given the same transaction under two envelope ids; the consumer's model ignores transactionId
    detail = {"customerId": "c-1", "transactionId": "tx-5"}
    first = parse_bus_event(json.dumps(envelope(detail, "CardTransactionPosted", event_id="e-1")), {"CardTransactionPosted": Detail})
    second = parse_bus_event(json.dumps(envelope(detail, "CardTransactionPosted", event_id="e-2")), {"CardTransactionPosted": Detail})
    # Then both name one occurrence, read from the event as sent
    assert first.occurrence == second.occurrence == "CardTransactionPosted:tx-5"


def test_poison_whose_dlq_cannot_be_reached_is_reported_failed_so_nothing_is_lost() -> None:
    # Given a poison record from a queue whose ARN names no DLQ the consumer can reach
    recorder = Recorder()
    bad = {**sqs_record("msg-bad", "{{{ not json"), "eventSourceARN": "not-an-arn"}
    # When the consumer handles it
    result = consumer(recorder)({"Records": [bad]}, LAMBDA_CONTEXT)
    # Then it is reported failed: the queue's redrive still takes it to the DLQ
    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-bad"}]}


def test_a_refusal_while_processing_is_not_poison_and_keeps_its_retries() -> None:
    # Given a well-formed event whose processing is refused as invalid (a fact that may change on a retry)
    recorder = Recorder(fail_for={"evt-1"}, error=errors.InvalidInput("no such template yet"))
    record = {**sqs_record("msg-1", envelope(PROFILE, event_id="evt-1")), "eventSourceARN": "arn:aws:sqs:ap-east-1:123456789012:q"}
    # When the consumer handles it
    result = consumer(recorder)({"Records": [record]}, LAMBDA_CONTEXT)
    # Then it is reported failed for a retry, not sent to the DLQ
    assert result == {"batchItemFailures": [{"itemIdentifier": "msg-1"}]}
