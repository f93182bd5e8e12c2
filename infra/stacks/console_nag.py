"""cdk-nag AwsSolutions suppressions for the console stacks, each scoped to the finding it answers."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_cdk import Stack
from aws_cdk import aws_lambda as lambda_
from cdk_nag import NagPackSuppression, NagSuppressions, RegexAppliesTo

if TYPE_CHECKING:
    from infra.stacks.console import ConsoleStack
    from infra.stacks.console_edge import ConsoleEdgeStack

LOG_BUCKET_REASON = (
    "This bucket receives the console distribution's standard access logs; logging the log bucket "
    "would only record CloudFront's log deliveries into it."
)
SITE_BUCKET_ACCESS_LOG_REASON = (
    "The bucket holds only the console's public build and is readable by the distribution alone "
    "(origin access control): every read is a CloudFront request, recorded in the distribution's "
    "access logs; the only writer is the CDK deployment."
)
GEO_REASON = (
    "Bank staff sign in through the Cognito Hosted UI with MFA; the distribution serves the console's "
    "static files and passes its API calls (each with a staff token) to the API, behind WAF (IP "
    "reputation, managed rules, rate limit); which countries staff work from is the bank's choice, "
    "not a default we can set."
)
DEFAULT_CERTIFICATE_REASON = (
    "No context consoleDomain: the distribution answers on its *.cloudfront.net name, whose default "
    "certificate CloudFront serves with its own policy. Set consoleDomain and consoleCertificateArn "
    "to enforce TLSv1.2_2021 (docs/operations.md)."
)
DEPLOY_RUNTIME_REASON = (
    "CDK's BucketDeployment custom resource runs the AWS CLI layer on the Python runtime that "
    "aws-cdk-lib pins for it; it runs only during a deploy, never on a request path."
)
DEPLOY_WILDCARD_REASON = (
    "BucketDeployment copies the built files from the CDK asset bucket into the console bucket: "
    "CDK's read grant on the asset objects and its read/write grant on the console bucket's objects "
    "(object-level wildcards on those two buckets only)."
)
API_KEY_ROTATION_REASON = (
    "The console's API key only places the console's calls in its usage plan (throttle, quota): every "
    "method still requires a staff member's Cognito token. CloudFormation resolves the secret into the "
    "API key and the distribution's origin header when it creates or updates them, so a rotation in "
    "Secrets Manager would reach neither; the key is replaced by a deploy that replaces the secret."
)
DEPLOY_WILDCARD_ACTIONS = ("s3:GetBucket*", "s3:GetObject*", "s3:List*", "s3:Abort*", "s3:DeleteObject*")
# The bootstrap's asset bucket: cdk-<qualifier>-assets-<account>-<region>.
ASSET_BUCKET_OBJECTS = r"/^Resource::arn:[a-z-]+:s3:::cdk-[a-z0-9]+-assets-\d{12}-[a-z0-9-]+\/\*$/"


def suppress_edge(edge: ConsoleEdgeStack) -> None:
    NagSuppressions.add_resource_suppressions(edge.log_bucket, [NagPackSuppression(id="AwsSolutions-S1", reason=LOG_BUCKET_REASON)])


def suppress_console(console: ConsoleStack) -> None:
    NagSuppressions.add_resource_suppressions(
        console.bucket, [NagPackSuppression(id="AwsSolutions-S1", reason=SITE_BUCKET_ACCESS_LOG_REASON)]
    )
    distribution = [NagPackSuppression(id="AwsSolutions-CFR1", reason=GEO_REASON)]
    if console.domain is None:
        distribution.append(NagPackSuppression(id="AwsSolutions-CFR4", reason=DEFAULT_CERTIFICATE_REASON))
    NagSuppressions.add_resource_suppressions(console.distribution, distribution)
    if console.api_key_secret is not None:
        NagSuppressions.add_resource_suppressions(
            console.api_key_secret, [NagPackSuppression(id="AwsSolutions-SMG4", reason=API_KEY_ROTATION_REASON)]
        )
    site_objects = f"Resource::<{console.resolve(console.get_logical_id(console.bucket.node.default_child))}.Arn>/*"  # type: ignore[arg-type]
    NagSuppressions.add_resource_suppressions(
        console.deploy_role,
        [
            NagPackSuppression(
                id="AwsSolutions-IAM5",
                reason=DEPLOY_WILDCARD_REASON,
                applies_to=[*(f"Action::{a}" for a in DEPLOY_WILDCARD_ACTIONS), site_objects, RegexAppliesTo(regex=ASSET_BUCKET_OBJECTS)],
            )
        ],
        apply_to_children=True,
    )
    # The deployment's handler is a singleton function CDK adds to the stack itself.
    for handler in _deployment_handlers(console):
        NagSuppressions.add_resource_suppressions(handler, [NagPackSuppression(id="AwsSolutions-L1", reason=DEPLOY_RUNTIME_REASON)])


def _deployment_handlers(stack: Stack) -> list[lambda_.CfnFunction]:
    return [
        c
        for c in stack.node.find_all()
        if isinstance(c, lambda_.CfnFunction) and c.node.path.split("/")[1].startswith("Custom::CDKBucketDeployment")
    ]
