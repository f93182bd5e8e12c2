"""Event source mappings: poll each queue and invoke its consumer with batches, as Lambda does.

- A record listed in `batchItemFailures` is left on the queue; it reappears after the visibility
  timeout, and moto's redrive moves it to the DLQ once it exceeds maxReceiveCount.
- A handler that raises fails the whole batch, as in Lambda; so does one that times out or whose
  process dies (`make chaos`: `BackgroundPoller.mishaps`).
- Polls are short (no long polling: the emulator serializes requests, so a 1 s wait would stall
  everyone); idle queues back off to `max_idle_sleep_s`.
"""

from __future__ import annotations

from typing import Any

from infra.local.gateway import HandlerRegistry
from infra.local.polling import BackgroundPoller
from infra.topology import Function, Queue

SQS_RECEIVE_MAX = 10


class QueuePoller(BackgroundPoller):
    def __init__(self, queue: Queue, url: str, arn: str, function: Function, registry: HandlerRegistry, sqs: Any,
                 max_idle_sleep_s: float = 0.25):
        self.queue, self.url, self.arn, self.function = queue, url, arn, function
        self.registry, self.sqs = registry, sqs
        self.max_idle_sleep_s = max_idle_sleep_s
        self._start_thread(f"poller-{queue.name}")
        self.batches = 0
        self.failures = 0

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
        self.batches += 1
        self.redelivered += sum(1 for m in messages if int(m.get("Attributes", {}).get("ApproximateReceiveCount", 1)) > 1)
        try:
            result = self.invoke(self.registry, self.function, [self._record(m) for m in messages]) or {}
            failed = {f["itemIdentifier"] for f in result.get("batchItemFailures", [])}
        except Exception:  # raised, timed out or killed (InvocationLost): the whole batch comes back
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
