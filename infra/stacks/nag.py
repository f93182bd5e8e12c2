"""cdk-nag AwsSolutions suppressions. Each one is scoped to the finding it answers, with the why."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from cdk_nag import NagPackSuppression, NagSuppressions

from infra.stacks.api import Api
from infra.stacks.compute import Functions
from infra.stacks.data import DataStore
from infra.stacks.messaging import Messaging
from infra.topology import Topology

XRAY_REASON = (
    "Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
    "permissions, so CDK grants them on '*'."
)
LIST_STREAMS_REASON = (
    "The DynamoDB stream event source mapping needs dynamodb:ListStreams, which supports no "
    "resource-level permissions (it lists stream ARNs, no data); reading records is granted on the "
    "consumed table's stream ARN only."
)
KMS_REASON = (
    "Write access to tables encrypted with the data key: CDK's grant includes kms:ReEncrypt* and "
    "kms:GenerateDataKey*, scoped to that single key ARN."
)
INDEX_REASON = (
    "The function may query the table's global secondary indexes: '<table ARN>/index/*' is scoped to that single table."
)
API_CLOUDWATCH_ROLE_REASON = (
    "API Gateway execution logging needs the account-level CloudWatch role; "
    "AmazonAPIGatewayPushToCloudWatchLogs is the AWS-maintained policy for exactly that service role."
)
COGNITO_PLUS_REASON = (
    "The user pool holds only bank staff (operators, approvers) with MFA required; customer identity, "
    "and its threat protection, stays with the bank's own identity provider. The Plus tier adds cost "
    "for no additional control here."
)
BANK_IDP_AUTHORIZER_REASON = (
    "Context identityProvider: the bank's own OpenID Connect provider issues the tokens, which a "
    "Cognito user pool authorizer cannot verify. Every method uses a Lambda TOKEN authorizer instead "
    "that verifies them (RS256/ES256 signature against the issuer's JWKS, iss, aud, exp/nbf, sub); "
    "see docs/authentication.md."
)
STREAM_FAILURE_QUEUE_REASON = (
    "This queue is the on-failure destination of a DynamoDB stream event source mapping: it is itself "
    "the dead-letter queue (records Lambda gave up on after its retries), kept 14 days for an operator; "
    "a DLQ behind it would have nothing to catch."
)

BUS_DLQ_REASON = (
    "This queue is the event bus's own dead-letter queue (events EventBridge could not encrypt or "
    "decrypt): it is itself the dead-letter queue, kept 14 days for an operator; a DLQ behind it "
    "would have nothing to catch."
)

KMS_WILDCARD_ACTIONS = ("Action::kms:ReEncrypt*", "Action::kms:GenerateDataKey*")
API_CLOUDWATCH_POLICY = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"


def _index_wildcard(table: dynamodb.Table) -> str:
    cfn = table.node.default_child
    assert cfn is not None
    return f"Resource::<{Stack.of(table).resolve(Stack.of(table).get_logical_id(cfn))}.Arn>/index/*"  # type: ignore[arg-type]


def suppress(topology: Topology, data: DataStore, messaging: Messaging, functions: Functions, api: Api) -> None:
    for spec in topology.functions:
        wildcard_reason = f"{XRAY_REASON} {LIST_STREAMS_REASON}" if spec.stream else XRAY_REASON
        suppressions = [NagPackSuppression(id="AwsSolutions-IAM5", reason=wildcard_reason, applies_to=["Resource::*"])]
        if "write" in spec.tables.values():
            suppressions.append(
                NagPackSuppression(id="AwsSolutions-IAM5", reason=KMS_REASON, applies_to=list(KMS_WILDCARD_ACTIONS))
            )
        indexed = [data.tables[name] for name in spec.tables if topology.table(name).indexes]
        if indexed:
            suppressions.append(
                NagPackSuppression(
                    id="AwsSolutions-IAM5",
                    reason=INDEX_REASON,
                    applies_to=[_index_wildcard(table) for table in indexed],
                )
            )
        NagSuppressions.add_resource_suppressions(functions.roles[spec.name], suppressions, apply_to_children=True)

    for queue in messaging.failure_queues.values():
        NagSuppressions.add_resource_suppressions(
            queue, [NagPackSuppression(id="AwsSolutions-SQS3", reason=STREAM_FAILURE_QUEUE_REASON)]
        )
    NagSuppressions.add_resource_suppressions(
        messaging.bus_dead_letter_queue, [NagPackSuppression(id="AwsSolutions-SQS3", reason=BUS_DLQ_REASON)]
    )

    NagSuppressions.add_resource_suppressions(
        api.rest_api,
        [NagPackSuppression(id="AwsSolutions-IAM4", reason=API_CLOUDWATCH_ROLE_REASON, applies_to=[API_CLOUDWATCH_POLICY])],
        apply_to_children=True,
    )
    if api.user_pool is not None:
        NagSuppressions.add_resource_suppressions(
            api.user_pool, [NagPackSuppression(id="AwsSolutions-COG8", reason=COGNITO_PLUS_REASON)]
        )
    if api.token_authorizer is not None:
        NagSuppressions.add_resource_suppressions(
            api.rest_api, [NagPackSuppression(id="AwsSolutions-COG4", reason=BANK_IDP_AUTHORIZER_REASON)], apply_to_children=True
        )
        NagSuppressions.add_resource_suppressions(
            api.token_authorizer.role,
            [NagPackSuppression(id="AwsSolutions-IAM5", reason=XRAY_REASON, applies_to=["Resource::*"])],
            apply_to_children=True,
        )
