"""DynamoDB stream event source mappings: read each table stream and invoke its consumer, as Lambda does.

Why a poller of our own: moto implements the DynamoDB Streams API (`dynamodbstreams`) but runs no
Lambda in our setup, so nothing would ever read the stream. This reads it over HTTP with boto3,
exactly as it would read any endpoint, and hands Lambda-shaped batches to the in-process handler.

What it emulates (see the CDK `DynamoEventSource` in infra/stacks/compute.py):
- Per shard, in order: an iterator from TRIM_HORIZON, then `NextShardIterator`; batches of at most
  `StreamSource.batch_size` records. Shards are rediscovered every `discover_every_s` (a child shard
  waits for its parent to be drained); a shard whose `NextShardIterator` is gone is closed. The
  position kept is a checkpoint (a sequence number); iterators are rebuilt from it when needed.
- `batchItemFailures` (`{"itemIdentifier": <SequenceNumber>}`): the records before the lowest failed
  sequence number are checkpointed, the batch is retried from that record. An identifier that is not
  in the batch, or a handler that raises, times out or dies (`make chaos`), fails the whole batch, as
  in Lambda.
- Retries: the first attempt plus `max_retries` (Lambda's MaximumRetryAttempts) at the same position,
  with a short doubling delay. Then, as Lambda's on-failure destination does, a failure record goes to
  the failure queue (`StreamSource.failure_queue`) and the poller moves past the batch. Lambda sends
  only metadata (shard, sequence-number range) in `DDBStreamBatchInfo`; locally the record also carries
  the batch's `records`, for convenience (dropped if the message would exceed SQS's 256 KiB).

What it does not: `bisect_batch_on_error` (a raising handler retries and then fails its whole
batch; Lambda would halve it first), parallelization, record age limits.

moto 5.2.5 details this relies on (moto/dynamodbstreams/models.py, moto/dynamodb/models/table.py):
- One shard per stream, forever, with the same ShardId for every table; sequence numbers are
  `StartingSequenceNumber + position`, so they are dense and compared as integers here.
- TRIM_HORIZON on an empty shard is fine; an empty `GetRecords` returns a `NextShardIterator` at the
  same position, so polling an idle shard never skips a record.
- Iterators never expire, and every `GetRecords` stores a new one in moto for good: measured ~1.8 KB
  per call, so an idle stream polled every 0.5 s (the idle back-off here, twice the queue pollers')
  grows the emulator by ~13 MB an hour. An unknown iterator is an HTTP 500 (KeyError), not
  ExpiredIteratorException: on any error the iterator is rebuilt from the checkpoint.
- TransactWriteItems writes one stream record per written item. A cancelled transaction's records
  are trimmed by our emulator patch (infra/local/emulator_patches.py), under the emulator lock, so a
  poller never sees them. Stock moto instead swaps in a deep copy of the table taken before the
  transaction: an open iterator stays on the discarded shard, which still holds the cancelled
  records, while the copy reuses their sequence numbers. Measured without the patch: the cancelled
  outbox item is published and the next real one is skipped. The patch is what makes this correct.
- moto's records say `eventVersion` 1.0 and return `ApproximateCreationDateTime` as a timestamp; Lambda
  events say 1.1 and carry epoch seconds. Binary attributes are re-encoded to base64, as in Lambda.

No blocking calls: the emulator serializes every request behind one lock, so the poller only makes
short requests and sleeps between them (up to `max_idle_sleep_s` when the stream is idle).
"""

from __future__ import annotations

import base64
import json
import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from infra.local.clients import LOCAL_REGION
from infra.local.polling import BackgroundPoller, InvocationLost
from infra.topology import Function, StreamSource

logger = logging.getLogger(__name__)

SQS_MAX_MESSAGE_BYTES = 256 * 1024


class Invoker(Protocol):
    """What the poller needs of `infra.local.gateway.HandlerRegistry`."""

    def invoke(self, function: Function, event: dict[str, Any]) -> Any: ...


@dataclass
class _Shard:
    shard_id: str
    parent_id: str | None
    iterator: str | None = None
    checkpoint: int | None = None  # last sequence number handled (delivered, or sent to the failure queue)
    attempts: int = 0  # consecutive failed invocations at the current position
    not_before: float = 0.0  # monotonic time of the next retry
    closed: bool = False


class StreamPoller(BackgroundPoller):
    def __init__(
        self,
        function: Function,
        stream_arn: str,
        registry: Invoker,
        streams: Any,
        sqs: Any,
        failure_queue_url: str,
        *,
        max_idle_sleep_s: float = 0.5,
        retry_delay_s: float = 0.1,
        max_retry_delay_s: float = 2.0,
        discover_every_s: float = 5.0,
        region: str = LOCAL_REGION,
    ):
        if function.stream is None:
            raise ValueError(f"function {function.name!r} consumes no stream")
        self.function = function
        self.source: StreamSource = function.stream
        self.stream_arn, self.registry, self.streams, self.sqs = stream_arn, registry, streams, sqs
        self.failure_queue_url = failure_queue_url
        self.max_idle_sleep_s, self.discover_every_s, self.region = max_idle_sleep_s, discover_every_s, region
        self.retry_delay_s, self.max_retry_delay_s = retry_delay_s, max_retry_delay_s
        self.shards: dict[str, _Shard] = {}
        self._discovered_at = float("-inf")
        self._start_thread(f"stream-{self.source.table}-{function.name}")
        self.batches = 0  # invocations
        self.batches_read = 0  # non-empty batches read from the stream: the invocations without the filter
        self.records_filtered_out = 0
        self.failed_batches = 0  # invocations that reported a failure or raised
        self.sent_to_failure_queue = 0  # batches given up on

    # --- one round -------------------------------------------------------------------------------

    def poll_once(self) -> int:
        """One batch per readable shard; returns how many records were handed to the function."""
        if time.monotonic() - self._discovered_at >= self.discover_every_s or not self.shards:
            self.discover()
        handled = 0
        for shard in list(self.shards.values()):
            if shard.closed or time.monotonic() < shard.not_before:
                continue
            parent = self.shards.get(shard.parent_id or "")
            if parent is not None and not parent.closed:
                continue  # Lambda drains a parent shard before its children
            handled += self._poll_shard(shard)
        return handled

    @property
    def retrying(self) -> bool:
        """Whether a failed batch waits for its retry: the stream is not drained yet."""
        return any(shard.attempts for shard in self.shards.values())

    def discover(self) -> None:
        """Adds shards the stream has and we do not know yet (each starts at TRIM_HORIZON)."""
        request: dict[str, Any] = {"StreamArn": self.stream_arn}
        while True:
            description = self.streams.describe_stream(**request)["StreamDescription"]
            for shard in description.get("Shards", []):
                if shard["ShardId"] not in self.shards:
                    self.shards[shard["ShardId"]] = _Shard(shard["ShardId"], shard.get("ParentShardId"))
            last = description.get("LastEvaluatedShardId")
            if not last:
                break
            request["ExclusiveStartShardId"] = last
        self._discovered_at = time.monotonic()

    def _poll_shard(self, shard: _Shard) -> int:
        try:
            if shard.iterator is None:
                shard.iterator = self._iterator(shard)
            page = self.streams.get_records(ShardIterator=shard.iterator, Limit=self.source.batch_size)
        except Exception:
            shard.iterator = None  # expired or unknown (moto: a 500): rebuilt from the checkpoint next time
            raise
        records = page.get("Records", [])
        if not records:
            shard.iterator = page.get("NextShardIterator")
            shard.closed = shard.iterator is None
            return 0
        self._deliver(shard, records, page.get("NextShardIterator"))
        return len(records)

    def _iterator(self, shard: _Shard) -> str:
        """An iterator just after the checkpoint, or at TRIM_HORIZON before the first checkpoint."""
        request: dict[str, Any] = {"StreamArn": self.stream_arn, "ShardId": shard.shard_id}
        if shard.checkpoint is not None:
            request |= {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": str(shard.checkpoint)}
        else:
            request["ShardIteratorType"] = "TRIM_HORIZON"
        return str(self.streams.get_shard_iterator(**request)["ShardIterator"])

    # --- one batch -------------------------------------------------------------------------------

    def _deliver(self, shard: _Shard, raw_records: list[dict[str, Any]], next_iterator: str | None) -> None:
        self.batches_read += 1
        everything = [self.lambda_record(r) for r in raw_records]
        # As Lambda's event filter: records that do not match are dropped, never delivered; a batch
        # left empty invokes nothing and the shard moves on.
        records = [r for r in everything if self.source.filter_pattern is None or matches(self.source.filter_pattern, r)]
        self.records_filtered_out += len(everything) - len(records)
        if not records:
            shard.checkpoint = int(everything[-1]["dynamodb"]["SequenceNumber"])
            shard.iterator, shard.closed = next_iterator, next_iterator is None
            return
        sequence = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
        self.batches += 1
        error: str | None = None
        try:
            result = self.invoke(self.registry, self.function, records) or {}
            failed = _failed_sequence_numbers(result, set(sequence))
        except InvocationLost as lost:  # timed out or killed (`make chaos`): nothing to log, the batch is retried
            failed, error = {sequence[0]}, str(lost)
        except Exception as exc:
            logger.exception("stream consumer %s raised; the batch will be retried", self.function.name)
            failed, error = {sequence[0]}, type(exc).__name__

        if not failed:
            # The last record read, not the last delivered: filtered-out records after it are done too.
            shard.checkpoint, shard.attempts, shard.iterator = int(everything[-1]["dynamodb"]["SequenceNumber"]), 0, next_iterator
            shard.closed = next_iterator is None
            return

        self.failed_batches += 1
        lowest = min(failed)
        shard.attempts = shard.attempts + 1 if lowest == sequence[0] else 1
        if lowest > sequence[0]:
            shard.checkpoint = max(s for s in sequence if s < lowest)
        if shard.attempts <= self.source.max_retries:
            self.redelivered += sum(1 for s in sequence if s >= lowest)
            shard.iterator = None  # the retry starts just after the checkpoint: at the lowest failure
            shard.not_before = time.monotonic() + min(self.max_retry_delay_s, self.retry_delay_s * 2 ** (shard.attempts - 1))
            return
        # Retries exhausted: hand the rest of the batch to the on-failure destination and move on.
        given_up = [r for r, s in zip(records, sequence, strict=True) if s >= lowest]
        self._send_failure(shard, given_up, error)
        self.sent_to_failure_queue += 1
        shard.checkpoint, shard.attempts, shard.not_before, shard.iterator = int(everything[-1]["dynamodb"]["SequenceNumber"]), 0, 0.0, next_iterator
        shard.closed = next_iterator is None

    def _send_failure(self, shard: _Shard, records: list[dict[str, Any]], error: str | None) -> None:
        """A record shaped like Lambda's on-failure destination message, plus (locally) the records."""
        arrivals = [r["dynamodb"].get("ApproximateCreationDateTime") for r in records]
        message: dict[str, Any] = {
            "requestContext": {
                "requestId": str(uuid.uuid4()),
                "functionArn": f"arn:aws:lambda:{self.region}:000000000000:function:{self.function.name}",
                "condition": "RetryAttemptsExhausted",
                "approximateInvokeCount": shard.attempts,
            },
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": error or ""},
            "version": "1.0",
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "DDBStreamBatchInfo": {
                "shardId": shard.shard_id,
                "startSequenceNumber": records[0]["dynamodb"]["SequenceNumber"],
                "endSequenceNumber": records[-1]["dynamodb"]["SequenceNumber"],
                "approximateArrivalOfFirstRecord": _iso(arrivals[0]),
                "approximateArrivalOfLastRecord": _iso(arrivals[-1]),
                "batchSize": len(records),
                "streamArn": self.stream_arn,
            },
            "records": records,  # local only: Lambda sends the metadata above, not the records
        }
        body = json.dumps(message, separators=(",", ":"))
        if len(body.encode()) > SQS_MAX_MESSAGE_BYTES:
            del message["records"]
            message["recordsOmitted"] = "over SQS's 256 KiB; read them from the stream by sequence number"
            body = json.dumps(message, separators=(",", ":"))
        logger.warning(
            "stream consumer %s gave up on %d records (%s..%s) after %d attempts",
            self.function.name, len(records), records[0]["dynamodb"]["SequenceNumber"],
            records[-1]["dynamodb"]["SequenceNumber"], shard.attempts,
        )
        self.sqs.send_message(QueueUrl=self.failure_queue_url, MessageBody=body)

    def lambda_record(self, raw: dict[str, Any]) -> dict[str, Any]:
        """A `GetRecords` record (as boto3 parses moto's answer) as Lambda puts it in the event."""
        source = raw["dynamodb"]
        dynamodb: dict[str, Any] = {}
        created = source.get("ApproximateCreationDateTime")
        if isinstance(created, datetime):
            dynamodb["ApproximateCreationDateTime"] = int(created.timestamp())
        elif created is not None:
            dynamodb["ApproximateCreationDateTime"] = created
        for key in ("Keys", "NewImage", "OldImage"):
            if key in source:
                dynamodb[key] = _base64_binaries(source[key])
        dynamodb |= {
            "SequenceNumber": source["SequenceNumber"],
            "SizeBytes": source["SizeBytes"],
            "StreamViewType": source["StreamViewType"],
        }
        return {
            "eventID": raw["eventID"],
            "eventName": raw["eventName"],
            "eventVersion": "1.1",
            "eventSource": "aws:dynamodb",
            "awsRegion": raw.get("awsRegion") or self.region,
            "dynamodb": dynamodb,
            "eventSourceARN": self.stream_arn,
        }


def matches(pattern: Any, value: Any) -> bool:
    """Lambda's event-filter pattern (the subset the topology uses): objects whose every key must
    match, and at the leaves lists of allowed values, literal or `{"prefix": ...}`."""
    if isinstance(pattern, dict):
        return isinstance(value, dict) and all(key in value and matches(inner, value[key]) for key, inner in pattern.items())
    return any(_allowed(option, value) for option in pattern)


def _allowed(option: Any, value: Any) -> bool:
    if isinstance(option, dict) and "prefix" in option:
        return isinstance(value, str) and value.startswith(option["prefix"])
    return bool(option == value)


def _failed_sequence_numbers(result: Any, batch: set[int]) -> set[int]:
    """The sequence numbers a handler reported; all of them if a report is malformed (Lambda's rule)."""
    failures = result.get("batchItemFailures") if isinstance(result, dict) else None
    if not failures:
        return set()
    failed: set[int] = set()
    for failure in failures:
        identifier = failure.get("itemIdentifier") if isinstance(failure, dict) else None
        try:
            number = int(identifier)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            return set(batch)
        if number not in batch:
            return set(batch)
        failed.add(number)
    return failed


def _base64_binaries(value: Any) -> Any:
    """boto3 decodes B/BS attributes to bytes; Lambda's JSON event carries them as base64 strings."""
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, dict):
        return {k: _base64_binaries(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_base64_binaries(v) for v in value]
    return value


def _iso(epoch_seconds: Any) -> str | None:
    if not isinstance(epoch_seconds, int | float):
        return None
    return datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
