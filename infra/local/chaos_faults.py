"""The faults `make chaos` injects into the local cloud, drawn from one seeded generator and counted
by kind. docs/chaos.md says where each is injected and which AWS behaviour it stands for.

- **Throttling** (the emulator's `fault` hook): a share of DynamoDB requests is refused as DynamoDB
  refuses them under load, `ProvisionedThroughputExceededException` or `ThrottlingException`, and a
  transaction is cancelled with a `ThrottlingError` reason (botocore retries the first two, never the
  third: the engine must).
- **Partial `PutEvents`** (the same hook): a share of `PutEvents` requests gets some of its entries
  refused (`FailedEntryCount` > 0, an `ErrorCode` per refused entry); moto puts the others on the bus.
- **Timeouts and kills** (the pollers' `mishaps` hook, infra/local/polling.py): a share of event
  source invocations runs past its function's timeout (the whole batch was handled, the result is
  lost), or its process dies after part of the batch. Either way the mapping sees no result.

Seeded, the draws are the same sequence run after run; which request meets which draw still depends
on the threads' timing, so two runs with one seed inject about the same faults, not the same ones.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra.local.emulator import Answer, Rewritten
from infra.local.polling import Mishap

if TYPE_CHECKING:
    from infra.local.cloud import LocalCloud
    from infra.topology import Function

DYNAMODB = "DynamoDB_20120810."  # the data plane's targets (streams are DynamoDBStreams_20120810.*)
PUT_EVENTS = "AWSEvents.PutEvents"
DYNAMODB_JSON = [("Content-Type", "application/x-amz-json-1.0")]
EVENTS_JSON = [("Content-Type", "application/x-amz-json-1.1")]
# Every kind, in the order the summary lists them.
KINDS = (
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "TransactionCanceledException (ThrottlingError)",
    "PutEvents partly failed (requests)",
    "PutEvents entries refused",
    "queue batch timed out",
    "queue batch killed mid-batch",
    "stream batch timed out",
    "stream batch killed mid-batch",
)


@dataclass(frozen=True)
class Rates:
    """Shares, between 0 and 1. Low enough that a message rarely fails maxReceiveCount times in a
    row (that would be a DLQ entry the chaos caused, not the engine): about 0.1 ** 5 per message."""

    throttle: float = 0.03  # of DynamoDB requests
    put_events: float = 0.15  # of PutEvents requests
    timeout: float = 0.03  # of event source invocations
    kill: float = 0.04  # of event source invocations

    def scaled(self, factor: float) -> Rates:
        return Rates(*(min(1.0, share * factor) for share in vars(self).values()))


class Faults:
    def __init__(self, seed: int, rates: Rates = Rates()):
        self.rates = rates
        self.counts: Counter[str] = Counter({kind: 0 for kind in KINDS})
        self.active = False  # installed hooks do nothing until started, and after stopped
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def install(self, cloud: LocalCloud) -> None:
        cloud.emulator.app.fault = self.emulator_fault
        for poller in [*cloud.pollers, *cloud.stream_pollers]:
            poller.mishaps = self.mishap

    def start(self) -> None:
        self.active = True

    def stop(self) -> None:
        self.active = False

    def total(self) -> int:
        return sum(v for k, v in self.counts.items() if k != "PutEvents entries refused")

    # ---- draws -----------------------------------------------------------------------------------

    def _draw(self, share: float) -> float | None:
        """A uniform number in [0, 1) when this request is struck (with probability `share`), else None;
        the number then picks the fault's details, so each strike costs one draw."""
        if not self.active or share <= 0:
            return None
        with self._lock:
            roll = self._random.random()
            return roll / share if roll < share else None

    def _count(self, kind: str, n: int = 1) -> None:
        with self._lock:
            self.counts[kind] += n

    # ---- the emulator's hook ---------------------------------------------------------------------

    def emulator_fault(self, target: str, body: bytes) -> Answer | Rewritten | None:
        if target.startswith(DYNAMODB):
            detail = self._draw(self.rates.throttle)
            return None if detail is None else self._throttled(target.removeprefix(DYNAMODB), body, detail)
        if target == PUT_EVENTS:
            detail = self._draw(self.rates.put_events)
            return None if detail is None else self._partly_refused(body, detail)
        return None

    def _throttled(self, operation: str, body: bytes, detail: float) -> Answer:
        if operation.startswith("Transact"):
            # DynamoDB names the throttled item; the others get "None", as in a real cancellation.
            items = len(json.loads(body).get("TransactItems", [])) or 1
            throttled = int(detail * items)
            reasons = [{"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity of your table or index."}
                       if i == throttled else {"Code": "None"} for i in range(items)]
            kind, payload = "TransactionCanceledException (ThrottlingError)", {
                "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                "Message": "Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError]",
                "CancellationReasons": reasons}
        elif detail < 0.5:
            kind, payload = "ProvisionedThroughputExceededException", {
                "__type": "com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
                "message": "The level of configured provisioned throughput for the table was exceeded."}
        else:
            kind, payload = "ThrottlingException", {
                "__type": "com.amazon.coral.availability#ThrottlingException", "message": "Throughput exceeds the current capacity."}
        self._count(kind)
        return "400 Bad Request", DYNAMODB_JSON, json.dumps(payload).encode()

    def _partly_refused(self, body: bytes, detail: float) -> Answer | Rewritten | None:
        request = json.loads(body)
        entries = request.get("Entries", [])
        if not entries:
            return None  # nothing to refuse: moto answers
        with self._lock:
            refused = {i for i in range(len(entries)) if self._random.random() < 0.5} or {int(detail * len(entries))}
        self._count("PutEvents partly failed (requests)")
        self._count("PutEvents entries refused", len(refused))
        code = "ThrottlingException" if detail < 0.5 else "InternalFailure"
        failure = {"ErrorCode": code, "ErrorMessage": "injected by make chaos"}
        kept = [e for i, e in enumerate(entries) if i not in refused]

        def merged(accepted: list[dict[str, Any]]) -> Answer:
            answers = iter(accepted)
            out = [failure if i in refused else next(answers) for i in range(len(entries))]
            failed = sum(1 for a in out if a.get("ErrorCode"))
            return "200 OK", EVENTS_JSON, json.dumps({"FailedEntryCount": failed, "Entries": out}).encode()

        if not kept:
            return merged([])

        def answer(moto: Answer) -> Answer:
            if not moto[0].startswith("200"):
                return moto
            return merged(json.loads(moto[2])["Entries"])

        return Rewritten(json.dumps({**request, "Entries": kept}).encode(), answer)

    # ---- the pollers' hook -----------------------------------------------------------------------

    def mishap(self, function: Function, records: int) -> Mishap | None:
        detail = self._draw(self.rates.timeout + self.rates.kill)
        if detail is None:
            return None
        source = "stream" if function.stream is not None else "queue"
        if detail * (self.rates.timeout + self.rates.kill) < self.rates.timeout:
            self._count(f"{source} batch timed out")
            return Mishap("timeout", records)  # it handled the batch, and ran out of time before answering
        with self._lock:
            handled = self._random.randrange(records)
        self._count(f"{source} batch killed mid-batch")
        return Mishap("killed", handled)
