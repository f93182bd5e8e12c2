"""A tap on the local cloud's bus: an SQS queue subscribed, by a rule of its own, to the events of
some sources. Tests read what reached the bus from it, as any consumer would."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from infra.local.cloud import LocalCloud


class BusTap:
    def __init__(self, cloud: LocalCloud, name: str, sources: list[str]):
        self.sqs, self.events, self.name, self.bus = cloud.clients.sqs, cloud.clients.events, name, cloud.topology.bus_name
        self.url = self.sqs.create_queue(QueueName=name)["QueueUrl"]
        arn = self.sqs.get_queue_attributes(QueueUrl=self.url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        self.events.put_rule(Name=name, EventBusName=self.bus, EventPattern=json.dumps({"source": sources}))
        self.events.put_targets(Rule=name, EventBusName=self.bus, Targets=[{"Id": "tap", "Arn": arn}])
        self.seen: list[dict[str, Any]] = []

    def drain(self) -> list[dict[str, Any]]:
        """Every event received so far, in the order received."""
        while messages := self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", []):
            self.seen += [json.loads(m["Body"]) for m in messages]
            self.sqs.delete_message_batch(
                QueueUrl=self.url, Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)]
            )
        return self.seen

    def of(self, customer_id: str, detail_type: str | None = None) -> list[dict[str, Any]]:
        return [e for e in self.drain() if e["detail"].get("customerId") == customer_id and detail_type in (None, e["detail-type"])]

    def close(self) -> None:
        self.events.remove_targets(Rule=self.name, EventBusName=self.bus, Ids=["tap"])
        self.events.delete_rule(Name=self.name, EventBusName=self.bus)
        self.sqs.delete_queue(QueueUrl=self.url)
