"""Customer-managed KMS keys, and exactly the grants and key-policy statements their users need.

CDK's convenience grants are broader than what SQS with SSE-KMS uses (`grantSendMessages` adds
kms:Encrypt, kms:ReEncrypt* and kms:GenerateDataKey*), and its EventBridge SQS target drops the
per-rule `aws:SourceArn` condition as soon as a queue has a key. The helpers here keep both tight.
"""

from __future__ import annotations

import jsii
from aws_cdk import ArnFormat, Duration, Stack
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sqs as sqs
from aws_cdk.interfaces import aws_events as events_refs
from constructs import Construct

from infra.stacks.settings import EnvironmentSettings

EVENTS = "events.amazonaws.com"
CLOUDWATCH = "cloudwatch.amazonaws.com"
# An SQS producer asks KMS for a data key and SQS decrypts it again when it reuses one; a
# consumer only decrypts (CDK's grantConsumeMessages already grants just kms:Decrypt).
SQS_PRODUCER_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
SQS_SEND_ACTIONS = ("sqs:SendMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl")


def customer_managed_key(
    scope: Construct, construct_id: str, *, settings: EnvironmentSettings, purpose: str, protects: str
) -> kms.Key:
    """One key per purpose (`alias/loyalty-<env>-<purpose>`), rotated yearly, kept in prod."""
    return kms.Key(
        scope,
        construct_id,
        alias=f"alias/{settings.prefix}-{purpose}",
        description=f"Encrypts the loyalty {settings.name} {protects}",
        enable_key_rotation=True,
        removal_policy=settings.removal_policy,
    )


def grant_send(queue: sqs.IQueue, key: kms.IKey, grantee: iam.IGrantable) -> None:
    iam.Grant.add_to_principal(grantee=grantee, actions=list(SQS_SEND_ACTIONS), resource_arns=[queue.queue_arn])
    key.grant(grantee, *SQS_PRODUCER_KEY_ACTIONS)


def allow_rules_to_use_queue_key(key: kms.IKey, *, bus_name: str, queue_name_prefix: str) -> None:
    """Let EventBridge encrypt what our bus's rules deliver to our queues (targets and their DLQs).

    Rules are named by ARN pattern, not by reference: the key policy lives on the key, every queue
    refers to the key, and every rule refers to its queue, so a reference would be a cycle.
    """
    stack = Stack.of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="EventBridgeRulesOnOurBusToOurQueues",
            principals=[iam.ServicePrincipal(EVENTS)],
            actions=list(SQS_PRODUCER_KEY_ACTIONS),
            resources=["*"],
            conditions={
                "StringEquals": {"aws:SourceAccount": stack.account},
                "ArnLike": {
                    "aws:SourceArn": stack.format_arn(service="events", resource="rule", resource_name=f"{bus_name}/*"),
                    "kms:EncryptionContext:aws:sqs:arn": stack.format_arn(
                        service="sqs", resource=f"{queue_name_prefix}-*", arn_format=ArnFormat.NO_RESOURCE_NAME
                    ),
                },
            },
        )
    )


def allow_archive_to_use_key(key: kms.IKey, *, bus_name: str) -> None:
    """What EventBridge needs to write an archive of our bus with this key, and to replay it
    (the statements the EventBridge archive encryption guide lists, bound to our bus ARN)."""
    stack = Stack.of(key)
    bus_arn = stack.format_arn(service="events", resource="event-bus", resource_name=bus_name)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="EventBridgeArchiveOfOurBus",
            principals=[iam.ServicePrincipal(EVENTS)],
            actions=["kms:GenerateDataKey", "kms:Decrypt", "kms:ReEncrypt*"],
            resources=["*"],
            conditions={"StringEquals": {"kms:EncryptionContext:aws:events:event-bus:arn": bus_arn}},
        )
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="EventBridgeDescribesTheArchiveKey",
            principals=[iam.ServicePrincipal(EVENTS)],
            actions=["kms:DescribeKey"],
            resources=["*"],
        )
    )


@jsii.implements(events.IRuleTarget)
class EncryptedQueueTarget:
    """`targets.SqsQueue` for a KMS-encrypted queue, with its queue policies (target and DLQ)
    allowing this one rule only. Queue policies are separate resources, so naming the rule by
    reference there creates no cycle."""

    def __init__(self, queue: sqs.IQueue, *, dead_letter_queue: sqs.IQueue, retry_attempts: int, max_event_age: Duration):
        self.queue = queue
        self.dead_letter_queue = dead_letter_queue
        self.retry_attempts = retry_attempts
        self.max_event_age = max_event_age

    def bind(self, rule: events_refs.IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        from_this_rule = {"ArnEquals": {"aws:SourceArn": events.CfnRule.arn_for_rule(rule)}}
        for queue in (self.queue, self.dead_letter_queue):
            queue.add_to_resource_policy(
                iam.PolicyStatement(
                    principals=[iam.ServicePrincipal(EVENTS)],
                    actions=["sqs:SendMessage"],
                    resources=[queue.queue_arn],
                    conditions=from_this_rule,
                )
            )
        return events.RuleTargetConfig(
            arn=self.queue.queue_arn,
            target_resource=self.queue,
            dead_letter_config=events.CfnRule.DeadLetterConfigProperty(arn=self.dead_letter_queue.queue_arn),
            retry_policy=events.CfnRule.RetryPolicyProperty(
                maximum_retry_attempts=self.retry_attempts,
                maximum_event_age_in_seconds=int(self.max_event_age.to_seconds()),
            ),
        )


@jsii.implements(lambda_.IEventSourceDlq)
class EncryptedFailureQueue:
    """`SqsDlq` (an event source mapping's on-failure destination) for a KMS-encrypted queue: Lambda
    sends with the function's role, which gets `grant_send` instead of CDK's broader grant."""

    def __init__(self, queue: sqs.IQueue, key: kms.IKey):
        self.queue = queue
        self.key = key

    def bind(self, target: lambda_.IEventSourceMapping, target_handler: lambda_.IFunction) -> lambda_.DlqDestinationConfig:
        grant_send(self.queue, self.key, target_handler)
        return lambda_.DlqDestinationConfig(destination=self.queue.queue_arn)
