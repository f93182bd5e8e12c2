"""Event source mappings: poll each queue and invoke its consumer with batches, as Lambda does.

- A record listed in `batchItemFailures` is left on the queue; it reappears after the visibility
  timeout, and moto's redrive moves it to the DLQ once it exceeds maxReceiveCount.
- A handler that raises fails the whole batch, as in Lambda.
- Polls are short (no long polling: the emulator serializes requests, so a 1 s wait would stall
  everyone); idle queues back off to `max_idle_sleep_s`.
"""

from __future__ import annotations

import threading
from typing import Any

from infra.local.gateway import HandlerRegistry
from infra.topology import Function, Queue

SQS_RECEIVE_MAX = 10


class QueuePoller:
    def __init__(self, queue: Queue, url: str, arn: str, function: Function, registry: HandlerRegistry, sqs: Any,
                 max_idle_sleep_s: float = 0.25):
        self.queue, self.url, self.arn, self.function = queue, url, arn, function
        self.registry, self.sqs = registry, sqs
        self.max_idle_sleep_s = max_idle_sleep_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"poller-{queue.name}", daemon=True)
        self.batches = 0
        self.failures = 0

    def start(self) -> QueuePoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        idle_sleep = 0.02
        while not self._stop.is_set():
            try:
                handled = self.poll_once()
            except Exception:  # the emulator is shutting down, or a transient error: keep polling
                handled = 0
            if handled:
                idle_sleep = 0.02
            else:
                self._stop.wait(idle_sleep)
                idle_sleep = min(self.max_idle_sleep_s, idle_sleep * 2)

    def receive_batch(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while len(messages) < self.queue.batch_size:
            got = self.sqs.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=min(SQS_RECEIVE_MAX, self.queue.batch_size - len(messages)),
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            messages += got
            if len(got) < SQS_RECEIVE_MAX:
                break
        return messages

    def poll_once(self) -> int:
        messages = self.receive_batch()
        if not messages:
            return 0
        event = {"Records": [self._record(m) for m in messages]}
        self.batches += 1
        try:
            result = self.registry.invoke(self.function, event) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:
            failed = {m["MessageId"] for m in messages}
        self.failures += len(failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        for start in range(0, len(done), SQS_RECEIVE_MAX):
            self.sqs.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(done[start : start + 10])],
            )
        return len(messages)

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        return {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": message.get("Attributes", {}),
            "messageAttributes": message.get("MessageAttributes", {}),
            "md5OfBody": message.get("MD5OfBody"),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.arn,
            "awsRegion": "us-east-1",
        }
