"""Context `identityProvider`: the API trusts a bank's own identity provider through a Lambda TOKEN
authorizer instead of the Cognito user pool; without it, Cognito stays."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Template

from functions.auth import authorizer as authorizer_function
from infra.app import build
from infra.stacks.api import COGNITO_SUBJECT, TOKEN_AUTHORIZER_SUBJECT
from infra.stacks.authorizer import KEY_SET_UNAVAILABLE_MESSAGE, KEY_SET_UNAVAILABLE_METRIC, RESULTS_CACHE_TTL, TOKEN_PATTERN
from infra.stacks.business_metrics import NAMESPACE
from infra.stacks.settings import LOYALTY_GROUPS, IdentityProvider, validate_identity_provider
from infra.topology import TOPOLOGY
from loyalty.core.auth import KNOWN_GROUPS
from tests.infra.infra_support import BANK_IDP, Synthesized, as_list, cdk_json_context, referenced_ids

ROUTES = [pytest.param(route, id=f"{route.method} {route.path}") for route, _ in TOPOLOGY.routes()]


def _methods(s: Synthesized) -> dict[tuple[str, str], dict[str, Any]]:
    return {(p["HttpMethod"], s.api_path(p["ResourceId"])): p for p in s.of_type("AWS::ApiGateway::Method").values()}


# --- the synthesized API, with a bank identity provider ---------------------------------------


@pytest.mark.parametrize("route", ROUTES)
def test_every_customer_and_operator_method_uses_the_token_authorizer(idp_synth: Synthesized, route: Any) -> None:
    """Given identityProvider / Then each topology route's method is CUSTOM, behind the TOKEN authorizer."""
    assert idp_synth.stack.api.token_authorizer is not None
    method = _methods(idp_synth)[(route.method, route.path)]
    assert method["AuthorizationType"] == "CUSTOM"
    assert method["AuthorizerId"] == {"Ref": idp_synth.logical_id(idp_synth.stack.api.authorizer)}


def test_every_audience_is_covered(idp_synth: Synthesized) -> None:
    assert {route.audience for route, _ in TOPOLOGY.routes()} == {"customer", "operator", "relationship_manager"}
    assert {m["AuthorizationType"] for m in idp_synth.of_type("AWS::ApiGateway::Method").values()} == {"CUSTOM"}


def test_the_token_authorizer_reads_the_bearer_header_and_caches_briefly(idp_synth: Synthesized) -> None:
    """Given the authorizer / Then TOKEN type on the Authorization header, a JWT-shaped validation
    expression (API Gateway refuses anything else itself), a short cache, and our function."""
    (authorizer,) = idp_synth.of_type("AWS::ApiGateway::Authorizer").values()
    token = idp_synth.stack.api.token_authorizer
    assert token is not None
    assert authorizer["Type"] == "TOKEN"
    assert authorizer["IdentitySource"] == "method.request.header.Authorization"
    assert authorizer["IdentityValidationExpression"] == TOKEN_PATTERN
    assert authorizer["AuthorizerResultTtlInSeconds"] == RESULTS_CACHE_TTL.to_seconds() <= 60
    assert referenced_ids(authorizer["AuthorizerUri"]) == {idp_synth.logical_id(token.function)}


def test_no_user_pool_is_created(idp_synth: Synthesized) -> None:
    """Given the bank's IdP / Then no Cognito user pool, client or group exists, nor its outputs."""
    assert idp_synth.stack.api.user_pool is None
    for cfn_type in ("AWS::Cognito::UserPool", "AWS::Cognito::UserPoolClient", "AWS::Cognito::UserPoolGroup"):
        assert idp_synth.of_type(cfn_type) == {}
    outputs = idp_synth.template.to_json()["Outputs"]
    assert "UserPoolId" not in outputs
    assert outputs["TokenIssuer"]["Value"] == BANK_IDP["issuer"]


def test_the_authorizer_function_is_configured_like_the_others(idp_synth: Synthesized) -> None:
    """Given the authorizer function / Then the newest Python on arm64, traced, both layers, its own
    log group with the environment's retention, and the issuer's settings in its environment."""
    token = idp_synth.stack.api.token_authorizer
    assert token is not None
    fn = idp_synth.properties(token.function)
    assert fn["Runtime"] == "python3.14" and fn["Architectures"] == ["arm64"]
    assert fn["Handler"] == "authorizer.handler"
    assert fn["TracingConfig"] == {"Mode": "Active"}
    compute = idp_synth.stack.compute
    assert [referenced_ids(layer) for layer in fn["Layers"]] == [
        {idp_synth.logical_id(compute.dependency_layer)},
        {idp_synth.logical_id(compute.domain_layer)},
    ]
    assert fn["Environment"]["Variables"] == {
        "JWT_ISSUER": "https://idp.bank.example/",
        "JWT_AUDIENCE": "loyalty-api",
        "JWT_JWKS_URL": "https://idp.bank.example/.well-known/jwks.json",
        "POWERTOOLS_SERVICE_NAME": "auth",
        "LOG_LEVEL": "INFO",
    }
    log_group_id = idp_synth.logical_id(token.log_group)
    assert fn["LoggingConfig"]["LogGroup"] == {"Ref": log_group_id}
    assert idp_synth.resources[log_group_id]["Properties"]["RetentionInDays"] == 90  # staging
    tags = {t["Key"]: t["Value"] for t in fn["Tags"]}
    assert tags == {"capability": "auth", "environment": "staging", "project": "loyalty"}


def test_the_authorizer_role_has_least_privilege(idp_synth: Synthesized) -> None:
    """Given the authorizer's role / Then Lambda assumes it, no managed policy, and it may only write
    to its own log group and send traces: it calls no AWS API."""
    token = idp_synth.stack.api.token_authorizer
    assert token is not None
    role_id = idp_synth.logical_id(token.role)
    role = idp_synth.resources[role_id]["Properties"]
    assert "ManagedPolicyArns" not in role
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "lambda.amazonaws.com"}
    assert idp_synth.properties(token.function)["Role"] == {"Fn::GetAtt": [role_id, "Arn"]}

    granted = {
        frozenset(as_list(st["Action"])): st["Resource"]
        for st in idp_synth.role_statements(role_id)
        if st["Effect"] == "Allow"
    }
    assert granted == {
        frozenset({"logs:CreateLogStream", "logs:PutLogEvents"}): {"Fn::GetAtt": [idp_synth.logical_id(token.log_group), "Arn"]},
        frozenset({"xray:PutTraceSegments", "xray:PutTelemetryRecords"}): "*",
    }


def test_only_this_apis_authorizer_may_invoke_the_function(idp_synth: Synthesized) -> None:
    """Given the function's resource policy / Then API Gateway may invoke it for this authorizer only."""
    token = idp_synth.stack.api.token_authorizer
    assert token is not None
    fn_id = idp_synth.logical_id(token.function)
    permissions = [p for p in idp_synth.of_type("AWS::Lambda::Permission").values() if referenced_ids(p["FunctionName"]) == {fn_id}]
    (permission,) = permissions
    assert permission["Principal"] == "apigateway.amazonaws.com"
    assert permission["Action"] == "lambda:InvokeFunction"
    assert idp_synth.logical_id(idp_synth.stack.api.authorizer) in referenced_ids(permission["SourceArn"])
    assert "/authorizers/" in json.dumps(permission["SourceArn"])


def test_the_authorizer_alarms_when_the_issuer_s_keys_are_unreachable_or_it_is_throttled(synth: Synthesized, idp_synth: Synthesized) -> None:
    """Given the bank IdP / Then its log group counts the function's "key set unavailable" error (a
    refused token is a Lambda error too, so Errors cannot tell an outage), and that count and the
    function's throttles alarm to the alarm topic; given Cognito / Then neither alarm exists."""
    token = idp_synth.stack.api.token_authorizer
    assert token is not None
    (metric_filter,) = idp_synth.of_type("AWS::Logs::MetricFilter").values()
    assert metric_filter["LogGroupName"] == {"Ref": idp_synth.logical_id(token.log_group)}
    assert metric_filter["FilterPattern"] == f'{{ $.message = "{authorizer_function.KEY_SET_UNAVAILABLE}" }}'
    assert KEY_SET_UNAVAILABLE_MESSAGE == authorizer_function.KEY_SET_UNAVAILABLE
    (transformation,) = metric_filter["MetricTransformations"]
    assert (transformation["MetricNamespace"], transformation["MetricName"], transformation["MetricValue"]) == (
        NAMESPACE, KEY_SET_UNAVAILABLE_METRIC, "1")

    alarms = idp_synth.stack.alarms.alarms
    outage = idp_synth.properties(alarms["authorizer-key-set-unavailable"])
    assert (outage["Namespace"], outage["MetricName"], outage["Statistic"], outage["Threshold"]) == (
        NAMESPACE, KEY_SET_UNAVAILABLE_METRIC, "Sum", 1)
    throttles = idp_synth.properties(alarms["authorizer-throttles"])
    assert (throttles["Namespace"], throttles["MetricName"], throttles["Statistic"], throttles["Threshold"]) == ("AWS/Lambda", "Throttles", "Sum", 1)
    (dimension,) = throttles["Dimensions"]
    assert dimension["Name"] == "FunctionName"
    assert idp_synth.through_outputs(dimension["Value"]) == {"Ref": idp_synth.logical_id(token.function)}
    for alarm in (outage, throttles):
        assert alarm["AlarmActions"] == [{"Ref": idp_synth.logical_id(idp_synth.stack.alarms.topic)}]
    assert not {"authorizer-key-set-unavailable", "authorizer-throttles"} & set(synth.stack.alarms.alarms)


def test_access_logs_name_the_caller_in_both_modes(synth: Synthesized, idp_synth: Synthesized) -> None:
    """Given Cognito / the bank IdP / Then the access log's `sub` is the claim / the authorizer's principal."""
    for s, subject in ((synth, COGNITO_SUBJECT), (idp_synth, TOKEN_AUTHORIZER_SUBJECT)):
        stage = s.properties(s.stack.api.rest_api.deployment_stage)
        assert json.loads(stage["AccessLogSetting"]["Format"])["sub"] == subject


def test_refused_tokens_get_the_api_error_shape(idp_synth: Synthesized) -> None:
    """Given a token the authorizer refuses ("Unauthorized") / Then 401 UNAUTHENTICATED, as with Cognito."""
    responses = {p["ResponseType"]: p for p in idp_synth.of_type("AWS::ApiGateway::GatewayResponse").values()}
    assert responses["UNAUTHORIZED"]["StatusCode"] == "401"
    assert '"code": "UNAUTHENTICATED"' in responses["UNAUTHORIZED"]["ResponseTemplates"]["application/json"]


def test_cognito_stays_without_the_context(synth: Synthesized) -> None:
    """Given no identityProvider / Then Cognito authorizes every method and no authorizer function exists."""
    assert synth.stack.api.token_authorizer is None and synth.stack.api.user_pool is not None
    assert {m["AuthorizationType"] for m in synth.of_type("AWS::ApiGateway::Method").values()} == {"COGNITO_USER_POOLS"}
    assert [a["Type"] for a in synth.of_type("AWS::ApiGateway::Authorizer").values()] == ["COGNITO_USER_POOLS"]


def test_the_cognito_exception_is_suppressed_only_with_a_bank_idp(synth: Synthesized, idp_synth: Synthesized) -> None:
    """Given cdk-nag's COG4 (methods without a Cognito authorizer) / Then it is suppressed, with its
    reason, only when the bank's IdP is configured."""
    assert not [r for r in synth.nag_rows() if r["Rule ID"] == "AwsSolutions-COG4" and r["Compliance"] != "Compliant"]
    cog4 = [r for r in idp_synth.nag_rows() if r["Rule ID"] == "AwsSolutions-COG4"]
    assert cog4 and {r["Compliance"] for r in cog4} == {"Suppressed"}
    assert all("identityProvider" in r["Exception Reason"] for r in cog4)


# --- the context setting ------------------------------------------------------------------------


def test_the_jwks_url_defaults_to_the_issuers_well_known_one() -> None:
    assert validate_identity_provider(BANK_IDP, "dev") == IdentityProvider(
        issuer="https://idp.bank.example/",
        audience="loyalty-api",
        jwks_url="https://idp.bank.example/.well-known/jwks.json",
    )


def test_a_group_map_reaches_the_authorizer_as_json_and_names_only_our_groups() -> None:
    """Given groupMap / Then it is validated, kept sorted, and set in the function's environment;
    the groups it may name are exactly the ones the handlers know."""
    provider = validate_identity_provider({**BANK_IDP, "groupMap": {"LOYALTY-OPS": "operators", "LOYALTY-CHECKERS": "approvers"}}, "prod")
    assert provider is not None
    assert provider.group_map == (("LOYALTY-CHECKERS", "approvers"), ("LOYALTY-OPS", "operators"))
    assert set(LOYALTY_GROUPS) == KNOWN_GROUPS
    app = cdk.App(context={**cdk_json_context(), "env": "dev", "identityProvider": json.dumps({**BANK_IDP, "groupMap": {"LOYALTY-OPS": "operators"}})})
    stack = build(app)
    assert stack.api.token_authorizer is not None
    fn = Template.from_stack(cdk.Stack.of(stack.api.token_authorizer.function)).find_resources("AWS::Lambda::Function")
    (variables,) = (f["Properties"]["Environment"]["Variables"] for f in fn.values() if "JWT_ISSUER" in f["Properties"]["Environment"]["Variables"])
    assert json.loads(variables["JWT_GROUP_MAP"]) == {"LOYALTY-OPS": "operators"}


def test_the_context_takes_an_object_json_text_or_one_per_environment() -> None:
    full = {**BANK_IDP, "jwksUrl": "https://keys.bank.example/jwks", "groupsClaim": "roles"}
    expected = IdentityProvider("https://idp.bank.example/", "loyalty-api", "https://keys.bank.example/jwks", "roles")
    assert validate_identity_provider(full, "prod") == expected
    assert validate_identity_provider(json.dumps(full), "prod") == expected
    per_env = {"prod": full}
    assert validate_identity_provider(per_env, "prod") == expected
    assert validate_identity_provider(per_env, "dev") is None  # dev keeps Cognito
    assert validate_identity_provider(None, "prod") is None


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"issuer": "http://idp.bank.example/", "audience": "a"}, "'issuer' must be an https URL"),
        ({"issuer": "idp.bank.example", "audience": "a"}, "'issuer' must be an https URL"),
        ({"issuer": "https://idp.bank.example/?x=1", "audience": "a"}, "'issuer' must be an https URL"),
        ({"audience": "a"}, "'issuer' must be an https URL"),
        ({"issuer": "https://idp.bank.example/"}, "'audience' must be a non-empty string"),
        ({"issuer": "https://idp.bank.example/", "audience": ""}, "'audience' must be a non-empty string"),
        ({"issuer": "https://idp.bank.example/", "audience": ["a"]}, "'audience' must be a non-empty string"),
        ({"issuer": "https://idp.bank.example/", "audience": "a", "jwksUrl": "http://x/jwks"}, "'jwksUrl' must be an https URL"),
        ({"issuer": "https://idp.bank.example/", "audience": "a", "groupsClaim": ""}, "'groupsClaim' must be a claim name"),
        ({"issuer": "https://idp.bank.example/", "audiance": "a"}, "unknown key(s) ['audiance']"),
        ({**BANK_IDP, "groupMap": {}}, "'groupMap' must be a non-empty object"),
        ({**BANK_IDP, "groupMap": ["LOYALTY-OPS"]}, "'groupMap' must be a non-empty object"),
        ({**BANK_IDP, "groupMap": {"LOYALTY-OPS": "admins"}}, "maps 'LOYALTY-OPS' to 'admins'; allowed: ['operators', 'approvers', 'relationship-managers']"),
        ({**BANK_IDP, "groupMap": {"CN=Ops,OU=Loyalty": "operators"}}, "must be a group name without spaces, commas or brackets"),
        ("not json", "must be a JSON object"),
        ('["https://idp.bank.example/"]', "must be a JSON object"),
    ],
)
def test_a_bad_context_fails_synthesis_with_a_clear_message(raw: Any, message: str) -> None:
    """Given a malformed identityProvider / When the app is built / Then a ValueError says what is wrong."""
    app = cdk.App(context={**cdk_json_context(), "env": "dev", "identityProvider": raw})
    with pytest.raises(ValueError) as raised:
        build(app)
    assert "context 'identityProvider'" in str(raised.value)
    assert message in str(raised.value)
