"""`loyalty.core.http.api_handler` end to end: proxy event in, proxy response out, no AWS.

Mutating calls go through `run_idempotently` and the process default store, which the `store`
fixture replaces with an in-memory implementation of our own `IdempotencyRecordStore` port.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from loyalty.core import errors
from loyalty.core.http import Request, Response, api_handler, created, ok
from tests.unit.fakes import LAMBDA_CONTEXT, InMemoryIdempotencyStore
from tests.unit.proxy_events import NO_CLAIMS, json_headers, proxy_event

MAX_BODY = 64 * 1024


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    note: str
    points: int = 0


class Calls:
    """Records each request a handler receives."""

    def __init__(self) -> None:
        self.requests: list[Request[Any]] = []

    @property
    def count(self) -> int:
        return len(self.requests)


def get_route(
    calls: Calls, respond: Callable[[Request[Any]], Response] | None = None
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    @api_handler()
    def handle(request: Request[Any]) -> Response:
        calls.requests.append(request)
        if respond is not None:
            return respond(request)
        return ok({"customerId": request.path_param("customerId"), "caller": request.caller.subject})

    return handle


def post_route(
    calls: Calls, respond: Callable[[Request[Any]], Response] | None = None
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    @api_handler(body=NoteBody)
    def handle(request: Request[Any]) -> Response:
        calls.requests.append(request)
        if respond is not None:
            return respond(request)
        body: NoteBody = request.json_body()
        return created({"note": body.note, "points": body.points, "n": len(calls.requests)})

    return handle


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response["body"] else None


def error_of(response: dict[str, Any]) -> dict[str, Any]:
    body = body_of(response)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]  # type: ignore[no-any-return]


# --- success path and correlation ---------------------------------------------------------------


def test_a_get_returns_json_with_the_correlation_id_echoed() -> None:
    # Given a GET route and a customer's request carrying X-Correlation-Id
    calls = Calls()
    handler = get_route(calls)
    event = proxy_event("GET", headers={"X-Correlation-Id": "corr-42"})
    # When the handler runs
    response = handler(event, LAMBDA_CONTEXT)
    # Then it answers 200 with compact JSON and echoes the correlation id
    assert response["statusCode"] == 200
    assert response["body"] == '{"customerId":"c-001","caller":"c-001"}'
    assert response["headers"]["Content-Type"] == "application/json"
    assert response["headers"]["X-Correlation-Id"] == "corr-42"


def test_the_handler_sees_a_normalised_request() -> None:
    # Given a GET with mixed-case headers, path parameters and a query string
    calls = Calls()
    handler = get_route(calls)
    event = proxy_event("GET", headers={"X-Custom-Header": "v", "Accept": "application/json"}, query={"limit": "10"})
    # When the handler runs
    handler(event, LAMBDA_CONTEXT)
    # Then the request carries the method, route, path, caller, lower-cased headers and query
    (request,) = calls.requests
    assert request.method == "GET"
    assert request.resource == "/v1/customers/{customerId}"
    assert request.path == "/v1/customers/c-001"
    assert request.caller.subject == "c-001"
    assert request.headers["x-custom-header"] == "v"
    assert request.query == {"limit": "10"}
    assert request.body is None


def test_without_the_header_the_correlation_id_is_the_api_gateway_request_id() -> None:
    # Given a request with no X-Correlation-Id
    handler = get_route(Calls())
    # When the handler runs
    response = handler(proxy_event("GET", request_id="apigw-777"), LAMBDA_CONTEXT)
    # Then the API Gateway request id is used
    assert response["headers"]["X-Correlation-Id"] == "apigw-777"


def test_the_correlation_id_is_echoed_on_errors_too() -> None:
    # Given an unauthenticated request with a correlation id
    calls = Calls()
    handler = get_route(calls)
    event = proxy_event("GET", claims=NO_CLAIMS, headers={"x-correlation-id": "corr-err"})
    # When the handler runs
    response = handler(event, LAMBDA_CONTEXT)
    # Then the refusal carries the same correlation id
    assert response["statusCode"] == 401
    assert response["headers"]["X-Correlation-Id"] == "corr-err"


# --- error mapping ------------------------------------------------------------------------------


class CouponNotFound(errors.NotFound):
    code = "COUPON_NOT_FOUND"


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (errors.InvalidInput("bad input", details=[{"field": "x", "problem": "y"}]), 400, "VALIDATION_ERROR"),
        (errors.Unauthenticated("who are you"), 401, "UNAUTHENTICATED"),
        (errors.Forbidden("not yours", code="NOT_RESOURCE_OWNER"), 403, "NOT_RESOURCE_OWNER"),
        (errors.NotFound("no such customer"), 404, "NOT_FOUND"),
        (errors.Conflict("state clash"), 409, "CONFLICT"),
        (errors.PayloadTooLarge("too big"), 413, "PAYLOAD_TOO_LARGE"),
        (errors.UnsupportedMediaType("json only"), 415, "UNSUPPORTED_MEDIA_TYPE"),
        (errors.BusinessRuleViolation("budget exhausted", code="BUDGET_EXHAUSTED"), 422, "BUDGET_EXHAUSTED"),
        (errors.Throttled("slow down"), 429, "THROTTLED"),
        (CouponNotFound("no such coupon"), 404, "COUPON_NOT_FOUND"),  # a subclass maps through its base
        (errors.DomainError("generic"), 400, "DOMAIN_ERROR"),  # an unmapped kind is a 400
    ],
)
def test_each_domain_error_maps_to_its_status_and_error_body(error: errors.DomainError, status: int, code: str) -> None:
    # Given a handler that raises a domain error
    def refuse(request: Request[Any]) -> Response:
        raise error

    handler = get_route(Calls(), refuse)
    # When it runs
    response = handler(proxy_event("GET"), LAMBDA_CONTEXT)
    # Then the status is the error's and the body is {"error": {"code", "message", "details"}}
    assert response["statusCode"] == status
    assert error_of(response) == {"code": code, "message": error.message, "details": error.details}
    assert response["headers"]["Content-Type"] == "application/json"


def test_an_unexpected_exception_is_a_500_without_the_message() -> None:
    # Given a handler that fails with a secret in its exception message
    def crash(request: Request[Any]) -> Response:
        raise RuntimeError("connection to db-prod.internal:5432 failed for user admin")

    handler = get_route(Calls(), crash)
    # When it runs
    response = handler(proxy_event("GET", headers={"X-Correlation-Id": "corr-500"}), LAMBDA_CONTEXT)
    # Then the client sees a generic INTERNAL error and nothing of the message
    assert response["statusCode"] == 500
    assert error_of(response) == {"code": "INTERNAL", "message": "internal error", "details": []}
    assert "db-prod" not in response["body"] and "admin" not in response["body"]
    assert response["headers"]["X-Correlation-Id"] == "corr-500"


# --- authentication and authorisation -----------------------------------------------------------


def test_no_claims_is_401_and_the_handler_does_not_run() -> None:
    # Given a request without authorizer claims
    calls = Calls()
    handler = get_route(calls)
    # When the handler runs
    response = handler(proxy_event("GET", claims=NO_CLAIMS), LAMBDA_CONTEXT)
    # Then it is 401 UNAUTHENTICATED and the route never ran
    assert response["statusCode"] == 401
    assert error_of(response)["code"] == "UNAUTHENTICATED"
    assert calls.count == 0


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "c-001"},
        {"sub": "c-001", "cognito:groups": "approvers"},
        {"sub": "c-001", "cognito:groups": ["approvers"]},
    ],
)
def test_an_admin_route_without_the_operators_group_is_403(claims: dict[str, Any]) -> None:
    # Given a /v1/admin route and a caller who is not an operator
    calls = Calls()
    handler = get_route(calls)
    event = proxy_event("GET", "/v1/admin/customers/{customerId}", claims=claims)
    # When the handler runs
    response = handler(event, LAMBDA_CONTEXT)
    # Then it is 403 OPERATOR_REQUIRED and the route never ran
    assert response["statusCode"] == 403
    assert error_of(response)["code"] == "OPERATOR_REQUIRED"
    assert calls.count == 0


@pytest.mark.parametrize("groups", ["operators,approvers", "[operators approvers]", ["approvers", "operators"]])
def test_an_admin_route_admits_operators_in_every_claim_shape(groups: Any) -> None:
    # Given a /v1/admin route and an operator (groups as the authorizer may flatten them)
    handler = get_route(Calls())
    event = proxy_event("GET", "/v1/admin/customers/{customerId}", claims={"sub": "op-1", "cognito:groups": groups})
    # When the handler runs
    response = handler(event, LAMBDA_CONTEXT)
    # Then it is served
    assert response["statusCode"] == 200


def test_the_admin_check_precedes_body_validation() -> None:
    # Given a customer posting a malformed body to an admin route
    calls = Calls()
    handler = post_route(calls)
    event = proxy_event("POST", "/v1/admin/notes", body="{not json", headers=json_headers(), path_params={})
    # When the handler runs
    response = handler(event, LAMBDA_CONTEXT)
    # Then the caller learns only that the route needs operators
    assert response["statusCode"] == 403
    assert error_of(response)["code"] == "OPERATOR_REQUIRED"


# --- bodies -------------------------------------------------------------------------------------


def test_a_valid_post_body_reaches_the_handler_as_the_model(store: InMemoryIdempotencyStore) -> None:
    # Given a POST with a JSON body, charset parameter in the content type
    calls = Calls()
    handler = post_route(calls)
    headers = json_headers(**{"Content-Type": "application/json; charset=utf-8"})
    event = proxy_event("POST", "/v1/notes", body='{"note": "hello", "points": 3}', headers=headers, path_params={})
    # When the handler runs
    response = handler(event, LAMBDA_CONTEXT)
    # Then the handler receives the parsed model and answers 201
    assert response["statusCode"] == 201
    assert body_of(response) == {"note": "hello", "points": 3, "n": 1}
    assert calls.requests[0].body == NoteBody(note="hello", points=3)
    assert calls.requests[0].raw_body == '{"note": "hello", "points": 3}'


def test_a_base64_encoded_body_is_decoded(store: InMemoryIdempotencyStore) -> None:
    # Given a POST whose body API Gateway delivered base64-encoded
    handler = post_route(Calls())
    event = proxy_event("POST", "/v1/notes", body='{"note": "积分"}', headers=json_headers(), path_params={}, encode_base64=True)
    # When the handler runs
    response = handler(event, LAMBDA_CONTEXT)
    # Then it is decoded as UTF-8 and parsed
    assert response["statusCode"] == 201
    assert body_of(response)["note"] == "积分"


@pytest.mark.parametrize("raw", ["{not json", '{"note": "x",}', "[1, 2", "undefined"])
def test_malformed_json_is_400_malformed_json(raw: str, store: InMemoryIdempotencyStore) -> None:
    # Given a POST whose body is not JSON
    calls = Calls()
    handler = post_route(calls)
    event = proxy_event("POST", "/v1/notes", body=raw, headers=json_headers(), path_params={})
    # When the handler runs
    response = handler(event, LAMBDA_CONTEXT)
    # Then it is 400 MALFORMED_JSON, the route never ran and no idempotency key was claimed
    assert response["statusCode"] == 400
    assert error_of(response)["code"] == "MALFORMED_JSON"
    assert calls.count == 0
    assert store.claims == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/plain", "Idempotency-Key": "key-1"},
        {"Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": "key-1"},
        {"Idempotency-Key": "key-1"},  # no content type at all
    ],
)
def test_a_non_json_content_type_is_415(headers: dict[str, str]) -> None:
    # Given a JSON-looking body sent with another (or no) content type
    calls = Calls()
    handler = post_route(calls)
    event = proxy_event("POST", "/v1/notes", body='{"note": "x"}', headers=headers, path_params={})
    # When the handler runs
    response = handler(event, LAMBDA_CONTEXT)
    # Then it is 415 UNSUPPORTED_MEDIA_TYPE
    assert response["statusCode"] == 415
    assert error_of(response)["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert calls.count == 0


def test_an_unknown_body_field_is_400_naming_the_field(store: InMemoryIdempotencyStore) -> None:
    # Given a body with a field the model does not declare (extra="forbid")
    calls = Calls()
    handler = post_route(calls)
    event = proxy_event("POST", "/v1/notes", body='{"note": "x", "bonus": 1000}', headers=json_headers(), path_params={})
    # When the handler runs
    response = handler(event, LAMBDA_CONTEXT)
    # Then it is 400 VALIDATION_ERROR whose details name the unknown field
    assert response["statusCode"] == 400
    error = error_of(response)
    assert error["code"] == "VALIDATION_ERROR"
    assert [d["field"] for d in error["details"]] == ["bonus"]
    assert set(error["details"][0]) == {"field", "problem"}
    assert calls.count == 0


def test_a_missing_and_a_mistyped_field_are_both_reported(store: InMemoryIdempotencyStore) -> None:
    # Given a body missing "note" and with "points" not an integer
    handler = post_route(Calls())
    event = proxy_event("POST", "/v1/notes", body='{"points": "lots"}', headers=json_headers(), path_params={})
    # When the handler runs
    response = handler(event, LAMBDA_CONTEXT)
    # Then both fields are named in the details, without echoing the input
    error = error_of(response)
    assert response["statusCode"] == 400
    assert sorted(d["field"] for d in error["details"]) == ["note", "points"]
    assert "lots" not in response["body"]


def test_a_json_array_body_is_a_validation_error_on_the_whole_body(store: InMemoryIdempotencyStore) -> None:
    # Given valid JSON that is not an object
    handler = post_route(Calls())
    event = proxy_event("POST", "/v1/notes", body="[]", headers=json_headers(), path_params={})
    # When the handler runs
    response = handler(event, LAMBDA_CONTEXT)
    # Then it is 400 VALIDATION_ERROR about the body itself
    error = error_of(response)
    assert (response["statusCode"], error["code"]) == (400, "VALIDATION_ERROR")
    assert error["details"][0]["field"] == "(body)"


def test_a_body_over_64_kb_is_413() -> None:
    # Given a body one byte over 64 KB
    calls = Calls()
    handler = post_route(calls)
    padding = "x" * (MAX_BODY + 1 - len('{"note":""}'))
    body = '{"note":"' + padding + '"}'
    assert len(body.encode()) == MAX_BODY + 1
    # When the handler runs
    response = handler(proxy_event("POST", "/v1/notes", body=body, headers=json_headers(), path_params={}), LAMBDA_CONTEXT)
    # Then it is 413 PAYLOAD_TOO_LARGE
    assert response["statusCode"] == 413
    assert error_of(response)["code"] == "PAYLOAD_TOO_LARGE"
    assert calls.count == 0


def test_the_limit_counts_utf8_bytes_not_characters() -> None:
    # Given a body of fewer than 64 K characters but more than 64 KB in UTF-8 (3 bytes per 积)
    handler = post_route(Calls())
    body = '{"note":"' + "积" * 21_843 + '"}'
    assert len(body) < MAX_BODY < len(body.encode())
    # When the handler runs
    response = handler(proxy_event("POST", "/v1/notes", body=body, headers=json_headers(), path_params={}), LAMBDA_CONTEXT)
    # Then it is 413
    assert response["statusCode"] == 413


def test_a_body_of_exactly_64_kb_is_accepted(store: InMemoryIdempotencyStore) -> None:
    # Given a body of exactly 64 KB
    handler = post_route(Calls())
    body = '{"note":"' + "x" * (MAX_BODY - len('{"note":""}')) + '"}'
    assert len(body.encode()) == MAX_BODY
    # When the handler runs
    response = handler(proxy_event("POST", "/v1/notes", body=body, headers=json_headers(), path_params={}), LAMBDA_CONTEXT)
    # Then it is served
    assert response["statusCode"] == 201


def test_a_body_on_a_route_without_a_body_model_is_400_body_not_allowed() -> None:
    # Given a GET route (no body model) and a request carrying a body
    calls = Calls()
    handler = get_route(calls)
    event = proxy_event("GET", body='{"note": "x"}', headers={"Content-Type": "application/json"})
    # When the handler runs
    response = handler(event, LAMBDA_CONTEXT)
    # Then it is 400 BODY_NOT_ALLOWED
    assert response["statusCode"] == 400
    assert error_of(response)["code"] == "BODY_NOT_ALLOWED"
    assert calls.count == 0


@pytest.mark.parametrize("raw", [None, ""])
def test_a_post_without_a_body_is_400_body_required(raw: str | None, store: InMemoryIdempotencyStore) -> None:
    # Given a route with a body model and a request with no body
    handler = post_route(Calls())
    event = proxy_event("POST", "/v1/notes", body=raw, headers=json_headers(), path_params={})
    # When the handler runs
    response = handler(event, LAMBDA_CONTEXT)
    # Then it is 400 BODY_REQUIRED
    assert response["statusCode"] == 400
    assert error_of(response)["code"] == "BODY_REQUIRED"


# --- idempotency through the handler ------------------------------------------------------------


def test_a_post_without_an_idempotency_key_is_400(store: InMemoryIdempotencyStore) -> None:
    # Given a valid POST without an Idempotency-Key header
    calls = Calls()
    handler = post_route(calls)
    event = proxy_event("POST", "/v1/notes", body='{"note": "x"}', headers=json_headers(idempotency_key=None), path_params={})
    # When the handler runs
    response = handler(event, LAMBDA_CONTEXT)
    # Then it is 400 IDEMPOTENCY_KEY_REQUIRED and the route never ran
    assert response["statusCode"] == 400
    assert error_of(response)["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    assert calls.count == 0


def test_a_get_needs_no_idempotency_key(store: InMemoryIdempotencyStore) -> None:
    # Given a GET without an Idempotency-Key
    handler = get_route(Calls())
    # When it runs
    response = handler(proxy_event("GET"), LAMBDA_CONTEXT)
    # Then it is served and nothing is claimed
    assert response["statusCode"] == 200
    assert store.claims == []


def test_a_replayed_post_returns_the_first_response_without_running_again(store: InMemoryIdempotencyStore) -> None:
    # Given a POST that succeeded
    calls = Calls()
    handler = post_route(calls)
    first = handler(
        proxy_event("POST", "/v1/notes", body='{"note": "x", "points": 2}', headers=json_headers(), path_params={}),
        LAMBDA_CONTEXT,
    )
    # When the same request is retried with the same key (fields reordered, spaces changed)
    retry = proxy_event("POST", "/v1/notes", body='{ "points":2,"note":"x" }', headers=json_headers(), path_params={})
    second = handler(retry, LAMBDA_CONTEXT)
    # Then the stored response comes back, marked as a replay, and the route ran once
    assert first["statusCode"] == second["statusCode"] == 201
    assert second["body"] == first["body"]
    assert second["headers"]["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first["headers"]
    assert calls.count == 1


def test_the_same_key_with_another_body_is_422(store: InMemoryIdempotencyStore) -> None:
    # Given a POST that succeeded under key-1
    calls = Calls()
    handler = post_route(calls)
    handler(proxy_event("POST", "/v1/notes", body='{"note": "x"}', headers=json_headers(), path_params={}), LAMBDA_CONTEXT)
    # When another body is sent under key-1
    response = handler(
        proxy_event("POST", "/v1/notes", body='{"note": "y"}', headers=json_headers(), path_params={}), LAMBDA_CONTEXT
    )
    # Then it is 422 IDEMPOTENCY_KEY_REUSED
    assert response["statusCode"] == 422
    assert error_of(response)["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert calls.count == 1


def test_a_crash_releases_the_key_so_a_retry_runs(store: InMemoryIdempotencyStore) -> None:
    # Given a route that crashes on its first call only
    calls = Calls()

    def flaky(request: Request[Any]) -> Response:
        if calls.count == 1:
            raise RuntimeError("transient")
        return created({"attempt": calls.count})

    handler = post_route(calls, flaky)
    event = proxy_event("POST", "/v1/notes", body='{"note": "x"}', headers=json_headers(), path_params={})
    # When it is called, then retried with the same key
    first = handler(event, LAMBDA_CONTEXT)
    second = handler(event, LAMBDA_CONTEXT)
    # Then the first is a 500, the retry runs the route and succeeds, and is not a replay
    assert first["statusCode"] == 500
    assert (second["statusCode"], body_of(second)) == (201, {"attempt": 2})
    assert "Idempotent-Replayed" not in second["headers"]


def test_a_refused_post_releases_the_key(store: InMemoryIdempotencyStore) -> None:
    # Given a route that refuses the first call with a domain error
    calls = Calls()

    def refuse_once(request: Request[Any]) -> Response:
        if calls.count == 1:
            raise errors.BusinessRuleViolation("not yet", code="NOT_YET")
        return created({"attempt": calls.count})

    handler = post_route(calls, refuse_once)
    event = proxy_event("POST", "/v1/notes", body='{"note": "x"}', headers=json_headers(), path_params={})
    # When it is called twice with the same key
    first = handler(event, LAMBDA_CONTEXT)
    second = handler(event, LAMBDA_CONTEXT)
    # Then the refusal is a 422 that left no record, and the retry runs
    assert (first["statusCode"], error_of(first)["code"]) == (422, "NOT_YET")
    assert second["statusCode"] == 201
    assert calls.count == 2
