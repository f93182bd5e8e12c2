"""The REST API (one method per `Topology` route), its authorizer and its WAF.

The authorizer is the Cognito user pool's, unless context `identityProvider` names a bank's own
OpenID Connect provider: then a Lambda TOKEN authorizer (`stacks/authorizer.py`) verifies that
issuer's tokens on every method, and no user pool is created (docs/authentication.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from infra.stacks.assets import SourceLayout
from infra.stacks.authorizer import BankTokenAuthorizer
from infra.stacks.settings import EnvironmentSettings
from infra.topology import Topology

# Cognito groups the domain library's `loyalty.core.auth` checks in the `cognito:groups` claim.
USER_GROUPS = {
    "operators": "Bank staff who may run operator (admin) routes",
    "approvers": "Bank staff who may approve operator changes (four-eyes)",
    "relationship-managers": "Relationship managers (客户经理): their own MOT tasks and book, under /v1/rm",
}

# The operator's org unit (loyalty.core.auth ORG_UNIT_CLAIM, `custom:orgUnit` in the ID token): set by
# administrators only (AdminUpdateUserAttributes). No app client may write it, or a member of staff
# could move themselves to the head office; every client reads it, so ID tokens carry it.
ORG_UNIT_ATTRIBUTE = "orgUnit"


def staff_client_writable() -> cognito.ClientAttributes:
    """What a member of staff may change on themselves through an app client: never their org unit."""
    return cognito.ClientAttributes().with_standard_attributes(
        email=True, fullname=True, preferred_username=True, locale=True, timezone=True, phone_number=True
    )


_PATH_PARAM = re.compile(r"{([A-Za-z0-9_]+)\+?}")

# Where the access log finds the caller: the Cognito authorizer's claims, or the principal our
# Lambda authorizer answers with (the token's `sub`).
COGNITO_SUBJECT = "$context.authorizer.claims.sub"
TOKEN_AUTHORIZER_SUBJECT = "$context.authorizer.principalId"


def access_log_format(subject: str = COGNITO_SUBJECT) -> str:
    """One JSON object per request; no bodies, no tokens."""
    return json.dumps(_access_log_fields(subject), separators=(",", ":"))


def _access_log_fields(subject: str) -> dict[str, str]:
    return {
        "requestId": "$context.requestId",
        "extendedRequestId": "$context.extendedRequestId",
        "requestTime": "$context.requestTime",
        "ip": "$context.identity.sourceIp",
        "userAgent": "$context.identity.userAgent",
        "sub": subject,
        "httpMethod": "$context.httpMethod",
        "resourcePath": "$context.resourcePath",
        "path": "$context.path",
        "status": "$context.status",
        "protocol": "$context.protocol",
        "responseLength": "$context.responseLength",
        "responseLatency": "$context.responseLatency",
        "integrationLatency": "$context.integration.latency",
        "integrationStatus": "$context.integration.status",
        "errorMessage": "$context.error.message",
        "authorizerError": "$context.authorizer.error",
        "wafResponseCode": "$context.wafResponseCode",
        "xrayTraceId": "$context.xrayTraceId",
    }


ERROR_TEMPLATE = '{"error": {"code": "CODE", "message": $context.error.messageString, "details": []}}'
GATEWAY_ERRORS = (
    (apigw.ResponseType.UNAUTHORIZED, "401", "UNAUTHENTICATED"),
    (apigw.ResponseType.ACCESS_DENIED, "403", "FORBIDDEN"),
    (apigw.ResponseType.THROTTLED, "429", "THROTTLED"),
    # Every route has an authorizer, so API Gateway's "missing authentication token" means no route
    # matched the path (a known path with another method is the ANY method's 405, below).
    (apigw.ResponseType.MISSING_AUTHENTICATION_TOKEN, "404", "ROUTE_NOT_FOUND"),
    (apigw.ResponseType.REQUEST_TOO_LARGE, "413", "PAYLOAD_TOO_LARGE"),
    (apigw.ResponseType.BAD_REQUEST_BODY, "400", "VALIDATION_ERROR"),
    (apigw.ResponseType.DEFAULT_4_XX, "400", "BAD_REQUEST"),
    (apigw.ResponseType.DEFAULT_5_XX, "502", "UPSTREAM_ERROR"),
)


def path_parameters(path: str) -> list[str]:
    return _PATH_PARAM.findall(path)


class Api(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        topology: Topology,
        settings: EnvironmentSettings,
        functions: dict[str, lambda_.Function],
        layers: Sequence[lambda_.ILayerVersion] = (),
        source: SourceLayout | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        # Exactly one of: the staff user pool (Cognito mode), or the bank IdP's token authorizer.
        self.user_pool: cognito.UserPool | None = None
        self.user_pool_client: cognito.UserPoolClient | None = None
        self.token_authorizer: BankTokenAuthorizer | None = None
        if settings.identity_provider is None:
            self.user_pool = self._user_pool(settings)
            self.user_pool_client = self.user_pool.add_client(
                "ApiClient",
                auth_flows=cognito.AuthFlow(user_srp=True),
                prevent_user_existence_errors=True,
                generate_secret=False,
                write_attributes=staff_client_writable(),
            )

        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=settings.log_retention, removal_policy=settings.removal_policy
        )
        self.rest_api = apigw.RestApi(
            self,
            "RestApi",
            rest_api_name=settings.prefix,
            description=f"Loyalty engine API ({settings.name})",
            endpoint_types=[apigw.EndpointType.REGIONAL],
            # Execution logging needs the account-level CloudWatch role; it outlives this stack.
            cloud_watch_role=True,
            cloud_watch_role_removal_policy=RemovalPolicy.RETAIN,
            fail_on_warnings=True,
            deploy_options=apigw.StageOptions(
                stage_name=settings.name,  # paths already carry the version (/v1/...)
                throttling_rate_limit=settings.api_rate_limit,
                throttling_burst_limit=settings.api_burst_limit,
                access_log_destination=apigw.LogGroupLogDestination(self.access_logs),
                access_log_format=apigw.AccessLogFormat.custom(
                    access_log_format(COGNITO_SUBJECT if self.user_pool else TOKEN_AUTHORIZER_SUBJECT)
                ),
                tracing_enabled=True,
                metrics_enabled=True,
                logging_level=apigw.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,  # request/response bodies carry customer data
                method_options={
                    f"{route.path}/{route.method}": apigw.MethodDeploymentOptions(
                        throttling_rate_limit=max(1, settings.api_rate_limit * route.throttle_percent // 100),
                        throttling_burst_limit=max(1, settings.api_burst_limit * route.throttle_percent // 100),
                    )
                    for route, _ in topology.routes()
                },
            ),
        )
        self.authorizer: apigw.IAuthorizer
        if self.user_pool is not None:
            self.authorizer = apigw.CognitoUserPoolsAuthorizer(
                self,
                "Authorizer",
                cognito_user_pools=[self.user_pool],
                results_cache_ttl=Duration.minutes(5),
            )
            self.authorization_type = apigw.AuthorizationType.COGNITO
        else:
            assert settings.identity_provider is not None
            self.token_authorizer = BankTokenAuthorizer(
                self,
                "BankIdp",
                settings=settings,
                identity_provider=settings.identity_provider,
                layers=layers,
                source=source or SourceLayout(),
            )
            self.authorizer = self.token_authorizer.authorizer
            self.authorization_type = apigw.AuthorizationType.CUSTOM
        self.validator = self.rest_api.add_request_validator(
            "Validator", validate_request_body=True, validate_request_parameters=True
        )

        # API Gateway answers some requests itself (no or bad token, throttling, too large): in the
        # same error shape as the handlers, so clients parse one format.
        for response_type, status, code in GATEWAY_ERRORS:
            self.rest_api.add_gateway_response(
                f"Gateway{code.title().replace('_', '')}",
                type=response_type,
                status_code=status,
                templates={"application/json": ERROR_TEMPLATE.replace("CODE", code)},
            )

        self.methods: dict[tuple[str, str], apigw.Method] = {}
        for route, spec in topology.routes():
            resource = self.rest_api.root.resource_for_path(route.path)
            self.methods[(route.method, route.path)] = resource.add_method(
                route.method,
                apigw.LambdaIntegration(functions[spec.name], proxy=True, scope_permission_to_method=False),
                authorizer=self.authorizer,
                authorization_type=self.authorization_type,
                request_validator=self.validator,
                request_parameters={f"method.request.path.{p}": True for p in path_parameters(route.path)},
                api_key_required=settings.require_api_key,
            )
        self.method_not_allowed = self._answer_other_methods_with_405(topology, settings)
        self.usage_plan = self._usage_plan(settings)

        self.web_acl = self._web_acl(settings)
        self.web_acl_association = wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.rest_api.deployment_stage.stage_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )

    def _answer_other_methods_with_405(self, topology: Topology, settings: EnvironmentSettings) -> dict[str, apigw.Method]:
        """An ANY method on every routed path answers the methods the path does not have: 405 with
        `Allow`, as the functions and the local API do. API Gateway prefers a path's own methods to
        ANY, and the mock integration costs no Lambda invocation. Callers still need a token (and
        the API key where required), so it tells nothing to an anonymous caller."""
        allowed: dict[str, set[str]] = {}
        for route, _ in topology.routes():
            allowed.setdefault(route.path, set()).add(route.method)
        methods = {}
        for path, verbs in sorted(allowed.items()):
            allow = ", ".join(sorted(verbs))
            body = json.dumps({"error": {"code": "METHOD_NOT_ALLOWED", "message": f"allowed: {allow}", "details": []}})
            methods[path] = self.rest_api.root.resource_for_path(path).add_method(
                "ANY",
                apigw.MockIntegration(
                    request_templates={"application/json": '{"statusCode": 405}'},
                    passthrough_behavior=apigw.PassthroughBehavior.WHEN_NO_TEMPLATES,
                    integration_responses=[apigw.IntegrationResponse(
                        status_code="405",
                        response_parameters={"method.response.header.Allow": f"'{allow}'"},
                        response_templates={"application/json": body},
                    )],
                ),
                method_responses=[apigw.MethodResponse(status_code="405", response_parameters={"method.response.header.Allow": True})],
                authorizer=self.authorizer,
                authorization_type=self.authorization_type,
                api_key_required=settings.require_api_key,
            )
        return methods

    def _usage_plan(self, settings: EnvironmentSettings) -> apigw.UsagePlan:
        """Backend callers (the mobile-banking backend, ...) each hold an API key in one usage plan:
        their own throttle and daily quota, on top of the stage's and each route's."""
        plan = self.rest_api.add_usage_plan(
            "UsagePlan",
            name=f"{settings.prefix}-backends",
            throttle=apigw.ThrottleSettings(rate_limit=settings.api_rate_limit, burst_limit=settings.api_burst_limit),
            quota=apigw.QuotaSettings(limit=settings.api_daily_quota, period=apigw.Period.DAY),
        )
        plan.add_api_stage(stage=self.rest_api.deployment_stage)
        for client in settings.api_clients:
            plan.add_api_key(self.rest_api.add_api_key(f"ApiKey-{client}", api_key_name=f"{settings.prefix}-{client}"))
        return plan

    def _user_pool(self, settings: EnvironmentSettings) -> cognito.UserPool:
        pool = cognito.UserPool(
            self,
            "UserPool",
            user_pool_name=f"{settings.prefix}-staff",
            self_sign_up_enabled=False,
            sign_in_aliases=cognito.SignInAliases(email=True),
            auto_verify=cognito.AutoVerifiedAttrs(email=True),
            password_policy=cognito.PasswordPolicy(
                min_length=14,
                require_lowercase=True,
                require_uppercase=True,
                require_digits=True,
                require_symbols=True,
                temp_password_validity=Duration.days(3),
            ),
            mfa=cognito.Mfa.REQUIRED,
            mfa_second_factor=cognito.MfaSecondFactor(otp=True, sms=False),
            account_recovery=cognito.AccountRecovery.EMAIL_ONLY,
            feature_plan=cognito.FeaturePlan.ESSENTIALS,
            # An org unit id (loyalty.core.api_params.ID_PATTERN): the subtree the operator works in.
            custom_attributes={ORG_UNIT_ATTRIBUTE: cognito.StringAttribute(min_len=1, max_len=64, mutable=True)},
            deletion_protection=settings.is_prod,
            removal_policy=settings.removal_policy,
        )
        for group, description in USER_GROUPS.items():
            cognito.CfnUserPoolGroup(
                self, f"Group-{group}", user_pool_id=pool.user_pool_id, group_name=group, description=description
            )
        return pool

    def _web_acl(self, settings: EnvironmentSettings) -> wafv2.CfnWebACL:
        def visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True,
                metric_name=f"{settings.prefix}-{metric}",
                sampled_requests_enabled=True,
            )

        return wafv2.CfnWebACL(
            self,
            "WebAcl",
            scope="REGIONAL",
            description=f"Protects the loyalty {settings.name} API stage",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            visibility_config=visibility("api"),
            rules=[
                wafv2.CfnWebACL.RuleProperty(
                    name="rate-limit-per-ip",
                    priority=0,
                    action=wafv2.CfnWebACL.RuleActionProperty(block={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                            limit=settings.waf_rate_limit, aggregate_key_type="IP"
                        )
                    ),
                    visibility_config=visibility("rate-limit"),
                ),
                wafv2.CfnWebACL.RuleProperty(
                    name="aws-known-bad-inputs",
                    priority=1,
                    override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                    statement=wafv2.CfnWebACL.StatementProperty(
                        managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                            vendor_name="AWS", name="AWSManagedRulesKnownBadInputsRuleSet"
                        )
                    ),
                    visibility_config=visibility("known-bad-inputs"),
                ),
            ],
        )
