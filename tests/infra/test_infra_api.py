"""The REST API: one Cognito-protected method per topology route, throttled, logged, behind WAF."""

from __future__ import annotations

import json

import pytest

from infra.stacks.api import USER_GROUPS
from infra.topology import TOPOLOGY, Function, Route
from tests.infra.infra_support import Synthesized

ROUTES = [pytest.param(route, fn, id=f"{route.method} {route.path}") for route, fn in TOPOLOGY.routes()]


def _methods(synth: Synthesized) -> dict[tuple[str, str], dict]:
    return {
        (props["HttpMethod"], synth.api_path(props["ResourceId"])): props
        for props in synth.of_type("AWS::ApiGateway::Method").values()
    }


@pytest.mark.parametrize(("route", "spec"), ROUTES)
def test_route_is_a_cognito_protected_proxy_method(synth: Synthesized, route: Route, spec: Function) -> None:
    """Given a topology route / Then a method at that path proxies to its function behind Cognito."""
    method = _methods(synth)[(route.method, route.path)]
    authorizer_id = synth.logical_id(synth.stack.api.authorizer)
    fn_id = synth.logical_id(synth.stack.compute.functions[spec.name])

    assert method["AuthorizationType"] == "COGNITO_USER_POOLS"
    assert method["AuthorizerId"] == {"Ref": authorizer_id}
    assert method["RequestValidatorId"] == {"Ref": synth.logical_id(synth.stack.api.validator)}
    assert method["Integration"]["Type"] == "AWS_PROXY"
    assert method["Integration"]["IntegrationHttpMethod"] == "POST"
    assert f'"{fn_id}"' in json.dumps(method["Integration"]["Uri"])
    for name in route.path.split("{")[1:]:
        assert method["RequestParameters"][f"method.request.path.{name.split('}')[0]}"] is True


def test_api_has_exactly_the_topology_methods_and_no_cors(synth: Synthesized) -> None:
    """Given the routes / Then no other method exists (no OPTIONS: CORS is off), but the 405 ANY per path."""
    routed = {(r.method, r.path) for r, _ in TOPOLOGY.routes()}
    assert set(_methods(synth)) == routed | {("ANY", path) for _, path in routed}


def test_another_method_on_a_routed_path_is_405_with_allow(synth: Synthesized) -> None:
    """Given a path with GET and PUT / Then its ANY method is a mock answering 405, Allow: GET, PUT, behind the authorizer."""
    method = _methods(synth)[("ANY", "/v1/admin/point-rules/{ruleId}")]
    response = method["Integration"]["IntegrationResponses"][0]
    assert method["Integration"]["Type"] == "MOCK"
    assert response["StatusCode"] == "405"
    assert response["ResponseParameters"]["method.response.header.Allow"] == "'GET, PUT'"
    assert json.loads(response["ResponseTemplates"]["application/json"])["error"]["code"] == "METHOD_NOT_ALLOWED"
    assert method["AuthorizationType"] == "COGNITO_USER_POOLS"


def test_an_unknown_path_is_404_in_the_error_shape(synth: Synthesized) -> None:
    responses = [p for p in synth.of_type("AWS::ApiGateway::GatewayResponse").values() if p["ResponseType"] == "MISSING_AUTHENTICATION_TOKEN"]
    assert responses and responses[0]["StatusCode"] == "404"
    assert "ROUTE_NOT_FOUND" in responses[0]["ResponseTemplates"]["application/json"]


def test_authorizer_uses_the_staff_user_pool(synth: Synthesized) -> None:
    props = synth.properties(synth.stack.api.authorizer)
    assert props["Type"] == "COGNITO_USER_POOLS"
    assert props["IdentitySource"] == "method.request.header.Authorization"
    assert props["ProviderARNs"] == [{"Fn::GetAtt": [synth.logical_id(synth.stack.api.user_pool), "Arn"]}]


def test_request_validator_checks_bodies_and_parameters(synth: Synthesized) -> None:
    props = synth.properties(synth.stack.api.validator)
    assert props["ValidateRequestBody"] is True
    assert props["ValidateRequestParameters"] is True


def test_stage_is_named_after_env_throttled_traced_and_logged(synth: Synthesized) -> None:
    """Given env=dev / Then the stage `dev` throttles, traces, and writes JSON access logs."""
    stage = synth.properties(synth.stack.api.rest_api.deployment_stage)
    settings = synth.stack.settings
    assert stage["StageName"] == "dev"
    assert stage["TracingEnabled"] is True
    (all_methods,) = [m for m in stage["MethodSettings"] if m["HttpMethod"] == "*"]
    assert all_methods["ResourcePath"] == "/*"
    assert all_methods["ThrottlingRateLimit"] == settings.api_rate_limit
    assert all_methods["ThrottlingBurstLimit"] == settings.api_burst_limit
    assert all_methods["MetricsEnabled"] is True
    assert all_methods["LoggingLevel"] == "ERROR"
    assert all_methods["DataTraceEnabled"] is False
    access_log = json.loads(stage["AccessLogSetting"]["Format"])
    assert access_log["requestId"] == "$context.requestId"
    assert f'"{synth.logical_id(synth.stack.api.access_logs)}"' in json.dumps(stage["AccessLogSetting"])


def test_waf_rate_limits_and_is_associated_with_the_stage(synth: Synthesized) -> None:
    """Given the WebACL / Then it has a per-IP rate rule and is attached to the API stage."""
    acl = synth.properties(synth.stack.api.web_acl)
    assert acl["Scope"] == "REGIONAL"
    rate_rules = [r for r in acl["Rules"] if "RateBasedStatement" in r["Statement"]]
    assert len(rate_rules) == 1
    assert rate_rules[0]["Statement"]["RateBasedStatement"] == {
        "AggregateKeyType": "IP",
        "Limit": synth.stack.settings.waf_rate_limit,
    }
    assert rate_rules[0]["Action"] == {"Block": {}}

    (association,) = synth.of_type("AWS::WAFv2::WebACLAssociation").values()
    assert association["WebACLArn"] == {"Fn::GetAtt": [synth.logical_id(synth.stack.api.web_acl), "Arn"]}
    arn = json.dumps(association["ResourceArn"])
    assert f'"{synth.logical_id(synth.stack.api.rest_api)}"' in arn
    assert f'"{synth.logical_id(synth.stack.api.rest_api.deployment_stage)}"' in arn


def test_user_pool_is_staff_only_with_mfa_and_strong_passwords(synth: Synthesized) -> None:
    pool = synth.properties(synth.stack.api.user_pool)
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    assert pool["MfaConfiguration"] == "ON"
    policy = pool["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 14
    assert all(policy[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols"))


def test_user_pool_has_operator_and_approver_groups(synth: Synthesized) -> None:
    groups = synth.of_type("AWS::Cognito::UserPoolGroup").values()
    assert {g["GroupName"] for g in groups} == set(USER_GROUPS) == {"operators", "approvers", "relationship-managers"}


@pytest.mark.parametrize(
    ("response_type", "status", "code"),
    [
        ("UNAUTHORIZED", "401", "UNAUTHENTICATED"),
        ("ACCESS_DENIED", "403", "FORBIDDEN"),
        ("THROTTLED", "429", "THROTTLED"),
        ("REQUEST_TOO_LARGE", "413", "PAYLOAD_TOO_LARGE"),
        ("DEFAULT_4XX", "400", "BAD_REQUEST"),
        ("DEFAULT_5XX", "502", "UPSTREAM_ERROR"),
    ],
)
def test_gateway_answers_in_the_api_error_shape(synth: Synthesized, response_type: str, status: str, code: str) -> None:
    """Given a request API Gateway refuses itself / Then the body has the handlers' error shape and code."""
    responses = {props["ResponseType"]: props for props in synth.of_type("AWS::ApiGateway::GatewayResponse").values()}
    response = responses[response_type]
    assert response["StatusCode"] == status
    template = response["ResponseTemplates"]["application/json"]
    assert f'"code": "{code}"' in template
    assert '"details": []' in template


def test_every_route_has_its_own_throttle_below_the_stage(synth: Synthesized) -> None:
    """Given the topology's routes / Then each has a MethodSettings entry with its share of the stage limits."""
    stage = synth.properties(synth.stack.api.rest_api.deployment_stage)
    settings = synth.stack.settings
    per_route = {(m["ResourcePath"], m["HttpMethod"]): m for m in stage["MethodSettings"] if m["HttpMethod"] != "*"}
    for route, _spec in TOPOLOGY.routes():
        # API Gateway's path for a method setting: "/" then the path with its slashes escaped as ~1
        setting = per_route[("/" + route.path.replace("/", "~1"), route.method)]
        assert setting["ThrottlingRateLimit"] == max(1, settings.api_rate_limit * route.throttle_percent // 100)
        assert 0 < setting["ThrottlingRateLimit"] <= settings.api_rate_limit
        assert 0 < setting["ThrottlingBurstLimit"] <= settings.api_burst_limit


def test_backend_callers_have_keys_in_a_usage_plan_required_outside_dev(synth: Synthesized, small_synth: Synthesized) -> None:
    """Given dev and prod / Then each backend client has an API key in the usage plan on the stage,
    with a throttle and a daily quota; prod methods require the key, dev ones do not."""
    for s, required in ((synth, False), (small_synth, True)):
        (plan,) = s.of_type("AWS::ApiGateway::UsagePlan").values()
        assert plan["Quota"]["Period"] == "DAY" and plan["Quota"]["Limit"] == s.stack.settings.api_daily_quota
        assert plan["Throttle"]["RateLimit"] == s.stack.settings.api_rate_limit
        assert len(s.of_type("AWS::ApiGateway::ApiKey")) == len(s.stack.settings.api_clients)
        assert len(s.of_type("AWS::ApiGateway::UsagePlanKey")) == len(s.stack.settings.api_clients)
        assert {m.get("ApiKeyRequired", False) for m in s.of_type("AWS::ApiGateway::Method").values()} == {required}
