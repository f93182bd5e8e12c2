"""What CloudFront needs in us-east-1 for the operator console: its WAF web ACL and its access-log bucket.

The web ACL sees every request to the distribution: the console's files and its API calls (`/v1/*`,
which CloudFront sends on to the API stage, where the API's own regional web ACL applies as well).

A web ACL for a distribution must have CLOUDFRONT scope, and CloudFormation creates those only in
us-east-1, whatever region the rest of the environment is in. So this is a stack of its own,
`loyalty-<env>-console-edge`, always in us-east-1; the console stack reads the ACL's ARN and the
bucket through cross-region references (cdk.json sets `@aws-cdk/core:defaultCrossStackReferences`
to "weak": `Fn::GetStackOutput`, no SSM export custom resources). The log bucket sits here too
because CloudFront cannot deliver standard logs to buckets in several regions (ap-east-1 among
them), and us-east-1 works for every main region.
"""

from __future__ import annotations

from typing import Any

from aws_cdk import Duration, Stack
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.stacks.console_nag import suppress_edge
from infra.stacks.settings import EnvironmentSettings

EDGE_REGION = "us-east-1"
# AWS managed rule groups, in evaluation order after the per-IP rate limit.
MANAGED_RULE_GROUPS = (
    "AWSManagedRulesAmazonIpReputationList",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesCommonRuleSet",
)
# Rules of those groups that count instead of block. The common rule set blocks bodies over 8 KB;
# the site takes GET and HEAD only, and the API (`/v1/*` on the same distribution) legitimately
# takes more (a batch of voucher codes, an audience upload, a fire at listed customers): its own
# limits apply there (API Gateway's payload limit, the request validator's schemas).
COUNTED_RULES = {"AWSManagedRulesCommonRuleSet": ("SizeRestrictions_BODY",)}
_LOG_DAYS = {logs.RetentionDays.ONE_MONTH: 30, logs.RetentionDays.THREE_MONTHS: 90, logs.RetentionDays.ONE_YEAR: 365}


class ConsoleEdgeStack(Stack):
    def __init__(self, scope: Construct, construct_id: str, *, settings: EnvironmentSettings, **kwargs: Any) -> None:
        super().__init__(scope, construct_id, **kwargs)
        self.web_acl = self._web_acl(settings)
        self.log_bucket = s3.Bucket(
            self,
            "AccessLogs",
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            encryption=s3.BucketEncryption.S3_MANAGED,
            enforce_ssl=True,
            # CloudFront standard logging writes with an ACL grant to its log-delivery account.
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_PREFERRED,
            lifecycle_rules=[s3.LifecycleRule(expiration=Duration.days(_LOG_DAYS.get(settings.log_retention, 365)))],
            removal_policy=settings.removal_policy,
            auto_delete_objects=not settings.is_prod,
        )
        suppress_edge(self)

    def _web_acl(self, settings: EnvironmentSettings) -> wafv2.CfnWebACL:
        def visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=f"{settings.prefix}-console-{metric}", sampled_requests_enabled=True
            )

        # Staff often share a few corporate egress IPs: the limit is the API's per-environment one.
        # It counts the console's API calls too (/v1/* on the distribution), by the staff's own IP.
        rules = [
            wafv2.CfnWebACL.RuleProperty(
                name="rate-limit-per-ip",
                priority=0,
                action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(limit=settings.waf_rate_limit, aggregate_key_type="IP")
                ),
                visibility_config=visibility("rate-limit"),
            )
        ]
        for priority, group in enumerate(MANAGED_RULE_GROUPS, start=1):
            rules.append(
                wafv2.CfnWebACL.RuleProperty(
                    name=group,
                    priority=priority,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS",
                            name=group,
                            rule_action_overrides=[
                                wafv2.CfnWebACL.RuleActionOverrideProperty(
                                    name=rule, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                                )
                                for rule in COUNTED_RULES.get(group, ())
                            ]
                            or None,
                        )
                    ),
                    visibility_config=visibility(group.removeprefix("AWSManagedRules")),
                )
            )
        return wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="CLOUDFRONT",
            description=f"Protects the loyalty {settings.name} operator console distribution",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility("acl"),
            rules=rules,
        )
