"""cdk-nag AwsSolutions suppressions. Each one is scoped to the finding it answers, with the why."""

from __future__ import annotations

from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from cdk_nag import NagPackSuppression, NagSuppressions

from infra.stacks.api import Api
from infra.stacks.compute import Functions
from infra.stacks.data import DataStore
from infra.topology import Topology

XRAY_REASON = (
    "Active tracing: xray:PutTraceSegments and xray:PutTelemetryRecords support no resource-level "
    "permissions, so CDK grants them on '*'."
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

KMS_WILDCARD_ACTIONS = ("Action::kms:ReEncrypt*", "Action::kms:GenerateDataKey*")
API_CLOUDWATCH_POLICY = "Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs"


def _index_wildcard(table: dynamodb.Table) -> str:
    cfn = table.node.default_child
    assert cfn is not None
    return f"Resource::<{Stack.of(table).resolve(Stack.of(table).get_logical_id(cfn))}.Arn>/index/*"  # type: ignore[arg-type]


def suppress(topology: Topology, data: DataStore, functions: Functions, api: Api) -> None:
    for spec in topology.functions:
        suppressions = [NagPackSuppression(id="AwsSolutions-IAM5", reason=XRAY_REASON, applies_to=["Resource::*"])]
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

    NagSuppressions.add_resource_suppressions(
        api.rest_api,
        [NagPackSuppression(id="AwsSolutions-IAM4", reason=API_CLOUDWATCH_ROLE_REASON, applies_to=[API_CLOUDWATCH_POLICY])],
        apply_to_children=True,
    )
    NagSuppressions.add_resource_suppressions(
        api.user_pool, [NagPackSuppression(id="AwsSolutions-COG8", reason=COGNITO_PLUS_REASON)]
    )
