"""The Lambda TOKEN authorizer for a bank's own identity provider (context `identityProvider`).

REST APIs have no native JWT authorizer (docs/authentication.md): this function verifies the
token against the issuer's JWKS (`loyalty.core.tokens`, code in `functions/auth`). It calls no AWS
API: its role may write to its own log group and send traces, nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from aws_cdk import Duration, Tags
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.stacks.assets import SourceLayout, code_from
from infra.stacks.business_metrics import NAMESPACE
from infra.stacks.compute import ARCHITECTURE, PYTHON_RUNTIME
from infra.stacks.settings import EnvironmentSettings, IdentityProvider

CAPABILITY = "auth"  # functions/auth; the cost-allocation tag
HANDLER = "authorizer.handler"
# API Gateway refuses (401) anything else without invoking the function: a bearer JWT, three
# base64url segments, the signature non-empty (so `alg=none` never even reaches it).
TOKEN_PATTERN = r"^([Bb]earer )?[-_A-Za-z0-9]+\.[-_A-Za-z0-9]+\.[-_A-Za-z0-9]+$"
# API Gateway caches an answer per token; a token stays honoured at most this long past its `exp`.
RESULTS_CACHE_TTL = Duration.minutes(1)
# What the function logs when it cannot fetch the issuer's JWKS (functions.auth.authorizer
# KEY_SET_UNAVAILABLE; a test holds the two equal). Counted by a log metric filter because a refused
# token is a Lambda error too: the Errors metric cannot tell an outage from a bad token.
KEY_SET_UNAVAILABLE_MESSAGE = "issuer key set unavailable"
KEY_SET_UNAVAILABLE_METRIC = "AuthorizerKeySetUnavailable"


class BankTokenAuthorizer(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: EnvironmentSettings,
        identity_provider: IdentityProvider,
        layers: Sequence[lambda_.ILayerVersion],
        source: SourceLayout,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(
            self, "Logs", retention=settings.log_retention, removal_policy=settings.removal_policy
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="Execution role of the JWT authorizer: its own log group, traces; no AWS API",
        )
        self.log_group.grant_write(self.role)

        environment = {
            "JWT_ISSUER": identity_provider.issuer,
            "JWT_AUDIENCE": identity_provider.audience,
            "JWT_JWKS_URL": identity_provider.jwks_url,
            "POWERTOOLS_SERVICE_NAME": CAPABILITY,
            "LOG_LEVEL": settings.log_level,
        }
        if identity_provider.groups_claim:
            environment["JWT_GROUPS_CLAIM"] = identity_provider.groups_claim
        if identity_provider.group_map:
            environment["JWT_GROUP_MAP"] = json.dumps(dict(identity_provider.group_map), sort_keys=True)
        if identity_provider.org_unit_claim:
            environment["JWT_ORG_UNIT_CLAIM"] = identity_provider.org_unit_claim
        self.function = lambda_.Function(
            self,
            "Function",
            description=f"JWT authorizer for {identity_provider.issuer} (functions.auth.authorizer)",
            runtime=PYTHON_RUNTIME,
            architecture=ARCHITECTURE,
            handler=HANDLER,
            code=code_from(source.function_dir(CAPABILITY)),
            layers=list(layers),
            memory_size=256,
            timeout=Duration.seconds(10),  # the JWKS fetch times out after 3 s
            environment=environment,
            tracing=lambda_.Tracing.ACTIVE,
            log_group=self.log_group,
            role=self.role,
        )
        self.authorizer = apigw.TokenAuthorizer(
            self,
            "Authorizer",
            handler=self.function,
            authorizer_name=f"{settings.prefix}-bank-idp",
            identity_source=apigw.IdentitySource.header("Authorization"),
            validation_regex=TOKEN_PATTERN,
            results_cache_ttl=RESULTS_CACHE_TTL,
        )
        filter_ = self.log_group.add_metric_filter(
            "KeySetUnavailable",
            filter_pattern=logs.FilterPattern.string_value("$.message", "=", KEY_SET_UNAVAILABLE_MESSAGE),
            metric_namespace=NAMESPACE,
            metric_name=KEY_SET_UNAVAILABLE_METRIC,
            metric_value="1",
        )
        self.key_set_unavailable = filter_.metric(statistic="Sum")
        for resource in (self.function, self.role, self.log_group):
            Tags.of(resource).add("capability", CAPABILITY)
