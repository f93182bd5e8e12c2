"""The `loyalty-events` bus, the work queues with their DLQs, the rules feeding them, and the failure
queues of the DynamoDB stream consumers, all encrypted with one customer-managed key (the bus's
own dead-letter queue excepted: see `_bus_dead_letter_queue`)."""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Tags
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.stacks.encryption import EVENTS, EncryptedQueueTarget, allow_rules_to_use_queue_key, customer_managed_key
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
        self._settings = settings
        self.key = customer_managed_key(
            self, "MessagingKey", settings=settings, purpose="messaging", protects="SQS queues, event bus and event archive"
        )
        allow_rules_to_use_queue_key(self.key, bus_name=topology.bus_name, queue_name_prefix=settings.prefix)

        self.bus_dead_letter_queue = self._bus_dead_letter_queue()
        # Physical name on purpose: the bank's core systems publish to the bus by name. CDK adds the
        # key-policy statement EventBridge needs, bound to this bus's ARN.
        self.bus = events.EventBus(
            self,
            "Bus",
            event_bus_name=topology.bus_name,
            description=f"loyalty {settings.name} events",
            kms_key=self.key,
            dead_letter_queue=self.bus_dead_letter_queue,
        )
        self.bus_dead_letter_queue.add_to_resource_policy(
            iam.PolicyStatement(
                principals=[iam.ServicePrincipal(EVENTS)],
                actions=["sqs:SendMessage"],
                resources=[self.bus_dead_letter_queue.queue_arn],
                conditions={"ArnEquals": {"aws:SourceArn": self.bus.event_bus_arn}},
            )
        )

        self.queues: dict[str, sqs.Queue] = {}
        self.dead_letter_queues: dict[str, sqs.Queue] = {}
        for spec in topology.queues:
            dlq = self._queue(f"Dlq-{spec.name}", spec.dlq_name, retention_period=Duration.days(14))
            queue = self._queue(
                f"Queue-{spec.name}",
                spec.name,
                visibility_timeout=Duration.seconds(spec.visibility_timeout_s),
                retention_period=Duration.days(4),
                dead_letter_queue=sqs.DeadLetterQueue(queue=dlq, max_receive_count=spec.max_receive_count),
            )
            self.queues[spec.name] = queue
            self.dead_letter_queues[spec.name] = dlq
            consumer = topology.consumer_of(spec.name)
            if consumer is not None:  # cost allocation: a queue belongs to the capability consuming it
                Tags.of(queue).add("capability", consumer.capability)
                Tags.of(dlq).add("capability", consumer.capability)

        # A stream consumer's on-failure destination: what Lambda gives up on after the retries
        # (a pointer to the records: shard and sequence-number range). It is itself the last stop.
        self.failure_queues: dict[str, sqs.Queue] = {}
        for fn in topology.functions:
            if fn.stream is None or fn.stream.failure_queue in self.failure_queues:
                continue
            name = fn.stream.failure_queue
            self.failure_queues[name] = self._queue(f"FailureQueue-{name}", name, retention_period=Duration.days(14))
            Tags.of(self.failure_queues[name]).add("capability", fn.capability)

        self.rules: dict[str, events.Rule] = {}
        for rule in topology.rules:
            self.rules[rule.name] = events.Rule(
                self,
                f"Rule-{rule.name}",
                event_bus=self.bus,
                description=f"{rule.name} -> {rule.queue}",
                event_pattern=event_pattern(rule.event_pattern),
                targets=[
                    EncryptedQueueTarget(
                        self.queues[rule.queue],
                        # Events EventBridge cannot deliver land next to the ones the consumer gave up on.
                        dead_letter_queue=self.dead_letter_queues[rule.queue],
                        retry_attempts=8,
                        max_event_age=Duration.hours(24),
                    )
                ],
            )

    def _queue(self, construct_id: str, logical_name: str, **props: Any) -> sqs.Queue:
        # Named `loyalty-<env>-<topology name>`: the redrive command (infra.ops.redrive) and the key
        # policy find them by that name, and two environments can share an account's console.
        return sqs.Queue(
            self,
            construct_id,
            queue_name=self._settings.queue_name(logical_name),
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=self.key,
            data_key_reuse=Duration.minutes(5),  # the default, said out loud: KMS calls per queue stay few
            enforce_ssl=True,
            removal_policy=self._settings.removal_policy,
            **props,
        )

    def _bus_dead_letter_queue(self) -> sqs.Queue:
        """Where EventBridge puts events it could not encrypt or decrypt with the messaging key
        (a disabled key, a broken key policy). Encrypted by SQS, not by that key: it must still
        accept events when the key is the problem."""
        return sqs.Queue(
            self,
            "BusDlq",
            queue_name=self._settings.queue_name("bus-dlq"),
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            retention_period=Duration.days(14),
            enforce_ssl=True,
            removal_policy=self._settings.removal_policy,
        )
