"""The `loyalty-events` bus, the work queues with their DLQs, the rules feeding them, and the failure
queues of the DynamoDB stream consumers."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.stacks.settings import EnvironmentSettings
from infra.topology import Topology

# Top-level EventBridge pattern fields, as `events.EventPattern` spells them.
_PATTERN_FIELDS = {
    "account": "account",
    "detail": "detail",
    "detail-type": "detail_type",
    "id": "id",
    "region": "region",
    "resources": "resources",
    "source": "source",
    "time": "time",
    "version": "version",
}


def event_pattern(pattern: dict[str, object]) -> events.EventPattern:
    unknown = set(pattern) - set(_PATTERN_FIELDS)
    if unknown:
        raise ValueError(f"unsupported event pattern fields: {sorted(unknown)}")
    kwargs: dict[str, Any] = {_PATTERN_FIELDS[k]: v for k, v in pattern.items()}
    return events.EventPattern(**kwargs)


class Messaging(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, topology: Topology, settings: EnvironmentSettings) -> None:
        super().__init__(scope, construct_id)
        # Physical name on purpose: the bank's core systems publish to the bus by name.
        self.bus = events.EventBus(self, "Bus", event_bus_name=topology.bus_name, description=f"loyalty {settings.name} events")
        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        for spec in topology.queues:
            dlq = sqs.Queue(
                self,
                f"Dlq-{spec.name}",
                retention_period=Duration.days(14),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
            )
            queue = sqs.Queue(
                self,
                f"Queue-{spec.name}",
                visibility_timeout=Duration.seconds(spec.visibility_timeout_s),
                retention_period=Duration.days(4),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
                dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=spec.max_receive_count),
            )
            self.queues[spec.name] = queue
            self.dead_letter_queues[spec.name] = dlq

        # A stream consumer's on-failure destination: what Lambda gives up on after the retries
        # (a pointer to the records: shard and sequence-number range). It is itself the last stop.
        self.failure_queues: dict[str, sqs.Queue] = {}
        for fn in topology.functions:
            if fn.stream is None or fn.stream.failure_queue in self.failure_queues:
                continue
            self.failure_queues[fn.stream.failure_queue] = sqs.Queue(
                self,
                f"FailureQueue-{fn.stream.failure_queue}",
                retention_period=Duration.days(14),
                encryption=sqs.QueueEncryption.SQS_MANAGED,
                enforce_ssl=True,
            )

        self.rules: dict[str, events.Rule] = {}
        for rule in topology.rules:
            self.rules[rule.name] = events.Rule(
                self,
                f"Rule-{rule.name}",
                event_bus=self.bus,
                description=f"{rule.name} -> {rule.queue}",
                event_pattern=event_pattern(rule.event_pattern),
                targets=[
                    targets.SqsQueue(
                        self.queues[rule.queue],
                        # Events EventBridge cannot deliver land next to the ones the consumer gave up on.
                        dead_letter_queue=self.dead_letter_queues[rule.queue],
                        retry_attempts=8,
                        max_event_age=Duration.hours(24),
                    )
                ],
            )
