"""`loyalty.core.api` on Powertools' event handler, end to end: proxy event in, proxy response out, no AWS.

The routes under test are built here, on a `Routes("test")`, and served by `serve(...)` exactly as a
Lambda function serves them. Mutating calls go through `run_idempotently` and the process default
store, which the `store` fixture replaces with an in-memory implementation of our own
`IdempotencyRecordStore` port; operators' mutating calls go through the audit log, replaced by an
in-memory one. Powertools' REST responses carry their headers in `multiValueHeaders` (lists).
"""

import base64
import json
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Annotated, Any

import pytest
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from pydantic import BaseModel, ConfigDict, Field, field_validator

from loyalty.core import audit, errors
from loyalty.core.api import (
    CUSTOMER_SCHEME,
    OPERATOR_SCHEME,
    Audit,
    Call,
    CallerDep,
    IdempotencyKey,
    RouteOptions,
    Routes,
    current_call,
    current_caller,
    serve,
)
from loyalty.core.api_conventions import EngineResolver, build_resolver
from loyalty.core.api_params import CustomerIdPath, id_path, limit_query
from loyalty.core.api_responses import Error, SparseView, error_codes, responses_for
from tests.unit.fakes import LAMBDA_CONTEXT, InMemoryIdempotencyStore
from tests.unit.proxy_events import NO_CLAIMS, OPEN_SCOPE, OPERATOR_CLAIMS, json_headers, proxy_event

MAX_BODY = 64 * 1024


# --- the routes under test ----------------------------------------------------------------------


class NoteBody(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [{"note": "hello", "points": 3}]})

    note: str
    points: int = 0


# A test may hold every request inside body validation (set to a barrier's wait), between Powertools
# reading the request into its resolver and the route reading its arguments back.
body_gate: list[Callable[[], Any]] = []


class GatedNote(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"note": "hello"}]})

    note: str

    @field_validator("note")
    @classmethod
    def _wait_at_the_gate(cls, note: str) -> str:
        for wait in body_gate:
            wait()
        return note


class NoteView(BaseModel):
    note: str
    points: int
    n: int = Field(description="How many calls the routes had seen.")


class CustomerView(BaseModel):
    customerId: str
    caller: str
    limit: int


class LockView(BaseModel):
    orderId: str


class CouponSketch(SparseView):
    couponId: str
    lock: LockView | None = Field(default=None, description="Only while an order holds the coupon.")
    note: str | None = None


class Api:
    """The test routes, served as a Lambda serves them; records the call each route saw and lets a
    test decide the route's answer (`answer` returns the answer, or raises)."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.answer: Callable[[Call], Any] | None = None
        self.routes = build_routes(self)
        self.handler = serve(self.routes)

    def __call__(self, event: dict[str, Any]) -> dict[str, Any]:
        response: dict[str, Any] = self.handler(event, LAMBDA_CONTEXT)
        return response

    def seen(self, default: Callable[[], Any]) -> Any:
        call = current_call()
        self.calls.append(call)
        return self.answer(call) if self.answer is not None else default()

    @property
    def count(self) -> int:
        return len(self.calls)


def _before_note(call: Call) -> dict[str, Any]:
    return {"notes": 0}


def build_routes(api: Api) -> Routes:
    routes = Routes("test")

    @routes.get("/v1/customers/{customerId}", scope=OPEN_SCOPE, summary="A customer", errors={403: ["NOT_RESOURCE_OWNER"]})
    def get_customer(customerId: CustomerIdPath, caller: CallerDep, limit: Annotated[int, limit_query()] = 20) -> CustomerView:
        """One customer."""
        return api.seen(lambda: CustomerView(customerId=customerId, caller=caller.subject, limit=limit))  # type: ignore[no-any-return]

    @routes.put("/v1/customers/{customerId}", scope=OPEN_SCOPE, summary="Replace a customer's note")
    def put_customer(customerId: CustomerIdPath, body: NoteBody, key: IdempotencyKey) -> NoteView:
        """Another method on the same path."""
        return api.seen(lambda: NoteView(note=body.note, points=body.points, n=api.count))  # type: ignore[no-any-return]

    @routes.post("/v1/notes", scope=OPEN_SCOPE, summary="Add a note", status=201, errors={422: ["NOT_YET"]})
    def add_note(body: NoteBody, key: IdempotencyKey) -> NoteView:
        """A mutating route with a strict body, idempotent by record."""
        return api.seen(lambda: NoteView(note=body.note, points=body.points, n=api.count))  # type: ignore[no-any-return]

    @routes.post("/v1/gated-notes", scope=OPEN_SCOPE, summary="Add a note, held in validation while a test says", idempotency="none")
    def add_gated_note(body: GatedNote, caller: CallerDep) -> NoteView:
        """For the concurrency tests."""
        return api.seen(lambda: NoteView(note=f"{caller.subject}:{body.note}", points=0, n=0))  # type: ignore[no-any-return]

    @routes.get("/v1/admin/customers/{customerId}", scope=OPEN_SCOPE, summary="A customer, for operators")
    def get_customer_as_operator(customerId: CustomerIdPath, caller: CallerDep) -> CustomerView:
        """An admin read."""
        return api.seen(lambda: CustomerView(customerId=customerId, caller=caller.subject, limit=0))  # type: ignore[no-any-return]

    @routes.post("/v1/admin/notes", scope=OPEN_SCOPE, summary="Add a note, as an operator", status=201, audit=Audit(before=_before_note))
    def add_note_as_operator(body: NoteBody, key: IdempotencyKey) -> NoteView:
        """An admin write, audited."""
        return api.seen(lambda: NoteView(note=body.note, points=body.points, n=api.count))  # type: ignore[no-any-return]

    @routes.get("/v1/coupons/{couponId}", scope=OPEN_SCOPE, summary="A coupon, sparse")
    def get_coupon(couponId: Annotated[str, id_path("The coupon.")]) -> CouponSketch:
        """A sparse view."""
        return api.seen(lambda: CouponSketch(couponId=couponId))  # type: ignore[no-any-return]

    return routes


@pytest.fixture
def api() -> Api:
    return Api()


class InMemoryAuditLog:
    """`loyalty.core.audit.AuditLog`'s `append`, kept in a list."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def append(self, entry: dict[str, Any], now: datetime) -> None:
        self.entries.append(entry)

    @property
    def phases(self) -> list[str]:
        return [entry["phase"] for entry in self.entries]


@pytest.fixture(autouse=True)
def audit_log(monkeypatch: pytest.MonkeyPatch) -> InMemoryAuditLog:
    """Installed for every test: an operator's call must never reach the real (DynamoDB) log here."""
    fake = InMemoryAuditLog()
    monkeypatch.setattr(audit, "default_log", lambda: fake)
    return fake


def body_of(response: dict[str, Any]) -> Any:
    return json.loads(response["body"]) if response["body"] else None


def header(response: dict[str, Any], name: str) -> str | None:
    """The single value of a response header (Powertools' REST responses keep lists)."""
    values = response.get("multiValueHeaders", {}).get(name)
    if values is None:
        return None
    assert len(values) == 1, values
    return str(values[0])


def error_of(response: dict[str, Any]) -> dict[str, Any]:
    body = body_of(response)
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert header(response, "Content-Type") == "application/json"
    return body["error"]  # type: ignore[no-any-return]


def post(path: str, body: str | None = '{"note": "x"}', **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("headers", json_headers())
    return proxy_event("POST", path, body=body, path_params={}, **kwargs)


# --- success path and correlation ---------------------------------------------------------------


def test_a_get_returns_json_with_the_correlation_id_echoed(api: Api) -> None:
    # Given a GET route and a customer's request carrying X-Correlation-Id
    event = proxy_event("GET", headers={"X-Correlation-Id": "corr-42"})
    # When the handler runs
    response = api(event)
    # Then it answers 200 with compact JSON and echoes the correlation id, in multiValueHeaders
    assert response["statusCode"] == 200
    assert response["body"] == '{"customerId":"c-001","caller":"c-001","limit":20}'
    assert header(response, "Content-Type") == "application/json"
    assert header(response, "X-Correlation-Id") == "corr-42"


def test_the_route_sees_the_call_and_its_typed_params(api: Api) -> None:
    # Given a GET with mixed-case headers, a path parameter and a query string
    seen: list[tuple[Call, str]] = []

    def remember(call: Call) -> CustomerView:
        seen.append((call, current_caller().subject))
        return CustomerView(customerId="c-001", caller="c-001", limit=10)

    api.answer = remember
    event = proxy_event("GET", headers={"X-Custom-Header": "v", "Accept": "application/json"}, query={"limit": "10"})
    # When the handler runs
    response = api(event)
    # Then the call carries the method, route template, path, caller, path params, lower-cased headers and no body
    assert response["statusCode"] == 200
    ((call, subject),) = seen
    assert (call.method, call.resource, call.path) == ("GET", "/v1/customers/{customerId}", "/v1/customers/c-001")
    assert call.caller.subject == subject == "c-001"
    assert call.path_param("customerId") == "c-001"
    assert call.headers["x-custom-header"] == "v"
    assert call.body is None
    # And the query parameter reached the route typed
    assert body_of(response)["limit"] == 10


def test_without_the_header_the_correlation_id_is_the_api_gateway_request_id(api: Api) -> None:
    # Given a request with no X-Correlation-Id
    # When the handler runs
    response = api(proxy_event("GET", request_id="apigw-777"))
    # Then the API Gateway request id is used
    assert header(response, "X-Correlation-Id") == "apigw-777"


def test_the_call_carries_the_same_correlation_id_as_the_response(api: Api) -> None:
    # Given a request with no X-Correlation-Id
    # When the handler runs
    response = api(proxy_event("GET", request_id="apigw-777"))
    # Then the call the route (and the audit log) sees carries the id the response echoes, as the old Request did
    assert header(response, "X-Correlation-Id") == "apigw-777"
    assert api.calls[0].correlation_id == "apigw-777"


def test_the_correlation_id_is_echoed_on_errors_too(api: Api) -> None:
    # Given an unauthenticated request with a correlation id
    event = proxy_event("GET", claims=NO_CLAIMS, headers={"x-correlation-id": "corr-err"})
    # When the handler runs
    response = api(event)
    # Then the refusal carries the same correlation id
    assert response["statusCode"] == 401
    assert header(response, "X-Correlation-Id") == "corr-err"


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
def test_each_domain_error_maps_to_its_status_and_error_body(api: Api, error: errors.DomainError, status: int, code: str) -> None:
    # Given a route that raises a domain error
    def refuse(call: Call) -> Any:
        raise error

    api.answer = refuse
    # When it runs
    response = api(proxy_event("GET", headers={"X-Correlation-Id": "corr-domain"}))
    # Then the status is the error's and the body is {"error": {"code", "message", "details"}}
    assert response["statusCode"] == status
    assert error_of(response) == {"code": code, "message": error.message, "details": error.details}
    assert header(response, "X-Correlation-Id") == "corr-domain"


def test_an_unexpected_exception_is_a_500_without_the_message(api: Api) -> None:
    # Given a route that fails with a secret in its exception message
    def crash(call: Call) -> Any:
        raise RuntimeError("connection to db-prod.internal:5432 failed for user admin")

    api.answer = crash
    # When it runs
    response = api(proxy_event("GET", headers={"X-Correlation-Id": "corr-500"}))
    # Then the client sees a generic INTERNAL error and nothing of the message
    assert response["statusCode"] == 500
    assert error_of(response) == {"code": "INTERNAL", "message": "internal error", "details": []}
    assert "db-prod" not in response["body"] and "admin" not in response["body"]
    assert header(response, "X-Correlation-Id") == "corr-500"


def test_an_unexpected_failure_before_routing_is_a_500_too(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given the checks before routing failing unexpectedly (here: the settings cannot be read)
    from loyalty.core import api_conventions

    def broken() -> None:
        raise RuntimeError("settings unreadable")

    monkeypatch.setattr(api_conventions, "get_settings", broken)
    event = post("/v1/notes", body='{"note": "x"}', headers=json_headers(**{"X-Correlation-Id": "corr-500b"}))
    # When the handler runs
    response = api(event)
    # Then it is a 500 INTERNAL with the correlation id, as any other unexpected failure, not an invocation error
    assert response["statusCode"] == 500
    assert error_of(response)["code"] == "INTERNAL"
    assert header(response, "X-Correlation-Id") == "corr-500b"


@pytest.mark.parametrize(
    ("body", "flagged"),
    [("abc", True), (base64.b64encode(b'{"note": "\xff\xfe"}').decode(), True)],
    ids=["flagged-base64-but-not", "not-utf-8"],
)
def test_a_body_that_cannot_be_json_text_is_400_malformed_json(api: Api, body: str, flagged: bool) -> None:
    # Given a body that is not base64 though flagged so, or whose bytes are not UTF-8
    event = post("/v1/notes", body=body, headers=json_headers(**{"X-Correlation-Id": "corr-b64"})) | {"isBase64Encoded": flagged}
    # When the handler runs
    response = api(event)
    # Then it is the caller's error, with the correlation id
    assert response["statusCode"] == 400
    assert error_of(response)["code"] == "MALFORMED_JSON"
    assert header(response, "X-Correlation-Id") == "corr-b64"


def test_a_response_that_breaks_its_own_model_is_a_500_not_a_400(api: Api) -> None:
    # Given a route whose answer lacks a field its response model requires
    api.answer = lambda call: {"customerId": "c-001"}
    # When it runs
    response = api(proxy_event("GET"))
    # Then it is our bug: 500 INTERNAL, and nothing of the broken answer is passed on
    assert response["statusCode"] == 500
    assert error_of(response) == {"code": "INTERNAL", "message": "internal error", "details": []}


def test_a_mutating_response_that_breaks_its_model_releases_the_key(api: Api, store: InMemoryIdempotencyStore) -> None:
    # Given a POST route whose answer breaks its response model
    api.answer = lambda call: {"note": "x"}
    # When it runs
    response = api(post("/v1/notes"))
    # Then it is a 500 and the idempotency record is gone, so a retry runs again
    assert (response["statusCode"], error_of(response)["code"]) == (500, "INTERNAL")
    assert store.records == {} and len(store.releases) == 1


# --- routing ------------------------------------------------------------------------------------


def test_an_unknown_path_is_404_route_not_found(api: Api) -> None:
    # Given a path no route serves
    event = proxy_event("GET", "/v1/nowhere", path_params={}, headers={"X-Correlation-Id": "corr-404"})
    # When the handler runs
    response = api(event)
    # Then it is 404 ROUTE_NOT_FOUND, with the correlation id
    assert response["statusCode"] == 404
    assert error_of(response)["code"] == "ROUTE_NOT_FOUND"
    assert header(response, "X-Correlation-Id") == "corr-404"
    assert api.count == 0


@pytest.mark.parametrize(
    ("method", "resource", "allow"),
    [
        ("DELETE", "/v1/customers/{customerId}", "GET, PUT"),  # a dynamic path with two methods
        ("GET", "/v1/notes", "POST"),  # a static path
    ],
)
def test_a_known_path_with_another_method_is_405_with_allow(api: Api, method: str, resource: str, allow: str) -> None:
    # Given a path that is served, but not for this method
    event = proxy_event(method, resource, headers={"X-Correlation-Id": "corr-405"})
    # When the handler runs
    response = api(event)
    # Then it is 405 METHOD_NOT_ALLOWED and Allow lists the methods the path takes
    assert response["statusCode"] == 405
    assert error_of(response)["code"] == "METHOD_NOT_ALLOWED"
    assert header(response, "Allow") == allow
    assert header(response, "X-Correlation-Id") == "corr-405"


def test_a_body_on_a_route_that_takes_none_is_ignored(api: Api) -> None:
    # Given a GET carrying a JSON body (the old layer refused it with BODY_NOT_ALLOWED; Powertools ignores it)
    event = proxy_event("GET", body='{"note": "x"}', headers={"Content-Type": "application/json"})
    # When the handler runs
    response = api(event)
    # Then it is served as if there were no body
    assert response["statusCode"] == 200
    assert api.calls[0].body is None


# --- typed parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize("limit", ["0", "101", "abc", "-1", "1.5"])
def test_a_query_param_out_of_its_type_or_range_is_400_naming_it(api: Api, limit: str) -> None:
    # Given a limit that is not an integer from 1 to 100
    # When the handler runs
    response = api(proxy_event("GET", query={"limit": limit}))
    # Then it is 400 VALIDATION_ERROR with one detail naming the query parameter, and the route never ran
    assert response["statusCode"] == 400
    error = error_of(response)
    assert error["code"] == "VALIDATION_ERROR"
    (detail,) = error["details"]
    assert (detail["field"], detail["in"]) == ("limit", "query")
    assert detail["problem"]
    assert api.count == 0


@pytest.mark.parametrize("limit", ["1", "100"])
def test_a_query_param_at_its_bounds_is_accepted(api: Api, limit: str) -> None:
    response = api(proxy_event("GET", query={"limit": limit}))
    assert (response["statusCode"], body_of(response)["limit"]) == (200, int(limit))


@pytest.mark.parametrize("customer_id", ["a b", "x" * 65, "c-001;drop", "c*"])
def test_a_path_param_breaking_its_pattern_is_400_naming_it(api: Api, customer_id: str) -> None:
    # Given a customer id with a space, 65 characters or punctuation the pattern refuses (Powertools reads it from the path)
    event = proxy_event("GET", path_params={"customerId": customer_id})
    # When the handler runs
    response = api(event)
    # Then it is 400 VALIDATION_ERROR naming the path parameter
    assert response["statusCode"] == 400
    error = error_of(response)
    assert error["code"] == "VALIDATION_ERROR"
    assert [(d["field"], d["in"]) for d in error["details"]] == [("customerId", "path")]
    assert api.count == 0


# --- authentication and authorisation -----------------------------------------------------------


def test_no_claims_is_401_and_the_route_does_not_run(api: Api) -> None:
    # Given a request without authorizer claims
    # When the handler runs
    response = api(proxy_event("GET", claims=NO_CLAIMS))
    # Then it is 401 UNAUTHENTICATED and the route never ran
    assert response["statusCode"] == 401
    assert error_of(response)["code"] == "UNAUTHENTICATED"
    assert api.count == 0


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": "c-001"},
        {"sub": "c-001", "cognito:groups": "approvers"},
        {"sub": "c-001", "cognito:groups": ["approvers"]},
    ],
)
def test_an_admin_route_without_the_operators_group_is_403(api: Api, claims: dict[str, Any]) -> None:
    # Given a /v1/admin route and a caller who is not an operator
    event = proxy_event("GET", "/v1/admin/customers/{customerId}", claims=claims)
    # When the handler runs
    response = api(event)
    # Then it is 403 OPERATOR_REQUIRED and the route never ran
    assert response["statusCode"] == 403
    assert error_of(response)["code"] == "OPERATOR_REQUIRED"
    assert api.count == 0


@pytest.mark.parametrize("groups", ["operators,approvers", "[operators approvers]", ["approvers", "operators"]])
def test_an_admin_route_admits_operators_in_every_claim_shape(api: Api, groups: Any) -> None:
    # Given a /v1/admin route and an operator (groups as the authorizer may flatten them)
    event = proxy_event("GET", "/v1/admin/customers/{customerId}", claims={"sub": "op-1", "cognito:groups": groups})
    # When the handler runs
    response = api(event)
    # Then it is served
    assert response["statusCode"] == 200
    assert body_of(response)["caller"] == "op-1"


@pytest.mark.parametrize("body", ["{not json", '{"bonus": 1}', None])
def test_the_admin_check_precedes_body_validation(api: Api, body: str | None, audit_log: InMemoryAuditLog) -> None:
    # Given a customer posting a malformed, invalid or missing body to an admin route
    event = post("/v1/admin/notes", body=body)
    # When the handler runs
    response = api(event)
    # Then the caller learns only that the route needs operators, and nothing was audited
    assert response["statusCode"] == 403
    assert error_of(response)["code"] == "OPERATOR_REQUIRED"
    assert audit_log.entries == []


# --- bodies -------------------------------------------------------------------------------------


def test_a_valid_post_body_reaches_the_route_as_the_model(api: Api, store: InMemoryIdempotencyStore) -> None:
    # Given a POST with a JSON body, charset parameter in the content type
    headers = json_headers(**{"Content-Type": "application/json; charset=utf-8"})
    # When the handler runs
    response = api(post("/v1/notes", body='{"note": "hello", "points": 3}', headers=headers))
    # Then the route receives the parsed model and answers 201
    assert response["statusCode"] == 201
    assert body_of(response) == {"note": "hello", "points": 3, "n": 1}
    assert api.calls[0].body == NoteBody(note="hello", points=3)


def test_a_base64_encoded_body_is_decoded(api: Api, store: InMemoryIdempotencyStore) -> None:
    # Given a POST whose body API Gateway delivered base64-encoded
    event = post("/v1/notes", body='{"note": "积分"}', encode_base64=True)
    # When the handler runs
    response = api(event)
    # Then it is decoded as UTF-8 and parsed
    assert response["statusCode"] == 201
    assert body_of(response)["note"] == "积分"


@pytest.mark.parametrize("raw", ["{not json", '{"note": "x",}', "[1, 2", "undefined"])
def test_malformed_json_is_400_malformed_json(api: Api, raw: str, store: InMemoryIdempotencyStore) -> None:
    # Given a POST whose body is not JSON
    # When the handler runs
    response = api(post("/v1/notes", body=raw))
    # Then it is 400 MALFORMED_JSON, the route never ran and no idempotency key was claimed
    assert response["statusCode"] == 400
    assert error_of(response)["code"] == "MALFORMED_JSON"
    assert api.count == 0
    assert store.claims == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Content-Type": "text/plain", "Idempotency-Key": "key-1"},
        {"Content-Type": "application/x-www-form-urlencoded", "Idempotency-Key": "key-1"},
        {"Idempotency-Key": "key-1"},  # no content type at all
    ],
)
def test_a_non_json_content_type_is_415(api: Api, headers: dict[str, str]) -> None:
    # Given a JSON-looking body sent with another (or no) content type
    # When the handler runs
    response = api(post("/v1/notes", headers=headers))
    # Then it is 415 UNSUPPORTED_MEDIA_TYPE
    assert response["statusCode"] == 415
    assert error_of(response)["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert api.count == 0


def test_an_unknown_body_field_is_400_naming_the_field(api: Api, store: InMemoryIdempotencyStore) -> None:
    # Given a body with a field the model does not declare (extra="forbid")
    # When the handler runs
    response = api(post("/v1/notes", body='{"note": "x", "bonus": 1000}'))
    # Then it is 400 VALIDATION_ERROR whose details name the unknown field, in the body
    assert response["statusCode"] == 400
    error = error_of(response)
    assert error["code"] == "VALIDATION_ERROR"
    assert [(d["field"], d["in"]) for d in error["details"]] == [("bonus", "body")]
    assert set(error["details"][0]) == {"field", "in", "problem"}
    assert api.count == 0


def test_a_missing_and_a_mistyped_field_are_both_reported(api: Api, store: InMemoryIdempotencyStore) -> None:
    # Given a body missing "note" and with "points" not an integer
    # When the handler runs
    response = api(post("/v1/notes", body='{"points": "lots"}'))
    # Then both fields are named in the details, without echoing the input
    error = error_of(response)
    assert (response["statusCode"], error["code"]) == (400, "VALIDATION_ERROR")
    assert sorted(d["field"] for d in error["details"]) == ["note", "points"]
    assert "lots" not in response["body"]


def test_a_json_array_body_is_a_validation_error_on_the_whole_body(api: Api, store: InMemoryIdempotencyStore) -> None:
    # Given valid JSON that is not an object
    # When the handler runs
    response = api(post("/v1/notes", body="[]"))
    # Then it is 400 VALIDATION_ERROR about the body itself
    error = error_of(response)
    assert (response["statusCode"], error["code"]) == (400, "VALIDATION_ERROR")
    assert error["details"][0]["field"] == "(body)"


def test_a_body_over_64_kb_is_413(api: Api) -> None:
    # Given a body one byte over 64 KB
    padding = "x" * (MAX_BODY + 1 - len('{"note":""}'))
    body = '{"note":"' + padding + '"}'
    assert len(body.encode()) == MAX_BODY + 1
    # When the handler runs
    response = api(post("/v1/notes", body=body))
    # Then it is 413 PAYLOAD_TOO_LARGE
    assert response["statusCode"] == 413
    assert error_of(response)["code"] == "PAYLOAD_TOO_LARGE"
    assert api.count == 0


def test_the_limit_counts_utf8_bytes_not_characters(api: Api) -> None:
    # Given a body of fewer than 64 K characters but more than 64 KB in UTF-8 (3 bytes per 积)
    body = '{"note":"' + "积" * 21_843 + '"}'
    assert len(body) < MAX_BODY < len(body.encode())
    # When the handler runs
    response = api(post("/v1/notes", body=body))
    # Then it is 413
    assert response["statusCode"] == 413


def test_the_limit_counts_the_decoded_bytes_of_a_base64_body(api: Api, store: InMemoryIdempotencyStore) -> None:
    # Given a body of exactly 64 KB, delivered base64-encoded (a third longer on the wire)
    body = '{"note":"' + "x" * (MAX_BODY - len('{"note":""}')) + '"}'
    # When the handler runs
    response = api(post("/v1/notes", body=body, encode_base64=True))
    # Then it is served: the limit is on the body, not its encoding
    assert response["statusCode"] == 201


def test_a_body_of_exactly_64_kb_is_accepted(api: Api, store: InMemoryIdempotencyStore) -> None:
    # Given a body of exactly 64 KB
    body = '{"note":"' + "x" * (MAX_BODY - len('{"note":""}')) + '"}'
    assert len(body.encode()) == MAX_BODY
    # When the handler runs
    response = api(post("/v1/notes", body=body))
    # Then it is served
    assert response["statusCode"] == 201


@pytest.mark.parametrize("raw", [None, ""])
def test_a_post_without_a_body_is_400_body_required(api: Api, raw: str | None, store: InMemoryIdempotencyStore) -> None:
    # Given a route with a body model and a request with no body
    # When the handler runs
    response = api(post("/v1/notes", body=raw))
    # Then it is 400 BODY_REQUIRED
    assert response["statusCode"] == 400
    assert error_of(response)["code"] == "BODY_REQUIRED"
    assert api.count == 0


# --- idempotency through the handler ------------------------------------------------------------


@pytest.mark.parametrize("key", [None, ""])
def test_a_post_without_an_idempotency_key_is_400(api: Api, key: str | None, store: InMemoryIdempotencyStore) -> None:
    # Given a valid POST without an Idempotency-Key header (or an empty one)
    # When the handler runs
    response = api(post("/v1/notes", headers=json_headers(idempotency_key=key)))
    # Then it is 400 IDEMPOTENCY_KEY_REQUIRED and the route never ran
    assert response["statusCode"] == 400
    assert error_of(response)["code"] == "IDEMPOTENCY_KEY_REQUIRED"
    assert api.count == 0
    assert store.claims == []


@pytest.mark.parametrize("key", ["k" * 129, "two words", "tab\there", "clé"])
def test_an_idempotency_key_too_long_or_not_visible_ascii_is_400_invalid(api: Api, key: str, store: InMemoryIdempotencyStore) -> None:
    # Given a key of 129 characters, or with a space, a control character or a non-ASCII letter
    # When the handler runs
    response = api(post("/v1/notes", headers=json_headers(idempotency_key=key)))
    # Then it is 400 IDEMPOTENCY_KEY_INVALID naming the header, and nothing was claimed
    assert response["statusCode"] == 400
    error = error_of(response)
    assert error["code"] == "IDEMPOTENCY_KEY_INVALID"
    assert [(d["field"].lower(), d["in"]) for d in error["details"]] == [("idempotency-key", "header")]
    assert api.count == 0
    assert store.claims == []


def test_an_idempotency_key_of_128_characters_is_accepted(api: Api, store: InMemoryIdempotencyStore) -> None:
    response = api(post("/v1/notes", headers=json_headers(idempotency_key="k" * 128)))
    assert response["statusCode"] == 201


def test_the_idempotency_key_header_name_is_case_insensitive(api: Api, store: InMemoryIdempotencyStore) -> None:
    # Given an HTTP/2 client, which sends header names in lower case
    headers = {"content-type": "application/json", "idempotency-key": "key-lower"}
    # When the handler runs
    response = api(post("/v1/notes", headers=headers))
    # Then the key is found and claimed
    assert response["statusCode"] == 201
    assert [key.rsplit("#", 1)[1] for key in store.claims] == ["key-lower"]


def test_a_get_needs_no_idempotency_key(api: Api, store: InMemoryIdempotencyStore) -> None:
    # Given a GET without an Idempotency-Key
    # When it runs
    response = api(proxy_event("GET"))
    # Then it is served and nothing is claimed
    assert response["statusCode"] == 200
    assert store.claims == []


def test_a_replayed_post_returns_the_first_response_without_running_again(api: Api, store: InMemoryIdempotencyStore) -> None:
    # Given a POST that succeeded
    first = api(post("/v1/notes", body='{"note": "x", "points": 2}'))
    # When the same request is retried with the same key (fields reordered, spaces changed)
    second = api(post("/v1/notes", body='{ "points":2,"note":"x" }'))
    # Then the stored response comes back, marked as a replay, and the route ran once
    assert first["statusCode"] == second["statusCode"] == 201
    assert second["body"] == first["body"]
    assert header(second, "Idempotent-Replayed") == "true"
    assert header(first, "Idempotent-Replayed") is None
    assert api.count == 1


def test_the_same_key_with_another_body_is_422(api: Api, store: InMemoryIdempotencyStore) -> None:
    # Given a POST that succeeded under key-1
    api(post("/v1/notes", body='{"note": "x"}'))
    # When another body is sent under key-1
    response = api(post("/v1/notes", body='{"note": "y"}'))
    # Then it is 422 IDEMPOTENCY_KEY_REUSED
    assert response["statusCode"] == 422
    assert error_of(response)["code"] == "IDEMPOTENCY_KEY_REUSED"
    assert api.count == 1


def test_a_crash_releases_the_key_so_a_retry_runs(api: Api, store: InMemoryIdempotencyStore) -> None:
    # Given a route that crashes on its first call only
    def flaky(call: Call) -> NoteView:
        if api.count == 1:
            raise RuntimeError("transient")
        return NoteView(note="x", points=0, n=api.count)

    api.answer = flaky
    # When it is called, then retried with the same key
    first = api(post("/v1/notes"))
    second = api(post("/v1/notes"))
    # Then the first is a 500, the retry runs the route and succeeds, and is not a replay
    assert first["statusCode"] == 500
    assert (second["statusCode"], body_of(second)) == (201, {"note": "x", "points": 0, "n": 2})
    assert header(second, "Idempotent-Replayed") is None


def test_a_refused_post_releases_the_key(api: Api, store: InMemoryIdempotencyStore) -> None:
    # Given a route that refuses the first call with a domain error
    def refuse_once(call: Call) -> NoteView:
        if api.count == 1:
            raise errors.BusinessRuleViolation("not yet", code="NOT_YET")
        return NoteView(note="x", points=0, n=api.count)

    api.answer = refuse_once
    # When it is called twice with the same key
    first = api(post("/v1/notes"))
    second = api(post("/v1/notes"))
    # Then the refusal is a 422 that left no record, and the retry runs
    assert (first["statusCode"], error_of(first)["code"]) == (422, "NOT_YET")
    assert second["statusCode"] == 201
    assert api.count == 2


# --- the audit log ------------------------------------------------------------------------------


def test_an_admin_write_is_audited_before_and_after(api: Api, store: InMemoryIdempotencyStore, audit_log: InMemoryAuditLog) -> None:
    # Given an operator posting to an admin route whose audit loads the state before
    event = post("/v1/admin/notes", body='{"note": "x"}', claims=OPERATOR_CLAIMS)
    # When the handler runs
    response = api(event)
    # Then the log has the request (with the body and the state before), then the completion with the answer
    assert response["statusCode"] == 201
    requested, completed = audit_log.entries
    assert (requested["phase"], requested["who"], requested["route"]) == ("requested", "op-1", "POST /v1/admin/notes")
    assert json.loads(requested["request"]) == {"note": "x", "points": 0}
    assert json.loads(requested["before"]) == {"notes": 0}
    assert requested["idempotencyKey"] == "key-1"
    assert (completed["phase"], completed["status"]) == ("completed", 201)
    assert json.loads(completed["after"]) == body_of(response)
    assert completed["actionId"] == requested["actionId"]


def test_a_replayed_admin_write_is_audited_as_a_replay(api: Api, store: InMemoryIdempotencyStore, audit_log: InMemoryAuditLog) -> None:
    # Given an admin write that succeeded
    api(post("/v1/admin/notes", claims=OPERATOR_CLAIMS))
    # When the operator retries it with the same key
    api(post("/v1/admin/notes", claims=OPERATOR_CLAIMS))
    # Then the retry's entries say it was replayed, and the route ran once
    assert audit_log.phases == ["requested", "completed", "requested", "replayed"]
    assert api.count == 1


def test_an_operator_writing_on_a_customer_route_is_audited(api: Api, store: InMemoryIdempotencyStore, audit_log: InMemoryAuditLog) -> None:
    # Given an operator calling a customer's mutating route on their behalf, and the customer calling it
    api(post("/v1/notes", claims=OPERATOR_CLAIMS, headers=json_headers("key-op")))
    api(post("/v1/notes", headers=json_headers("key-customer")))
    # Then only the operator's call is in the log
    assert [entry["who"] for entry in audit_log.entries] == ["op-1", "op-1"]


def test_a_refused_admin_write_is_audited_as_refused(api: Api, store: InMemoryIdempotencyStore, audit_log: InMemoryAuditLog) -> None:
    # Given an admin route that refuses
    def refuse(call: Call) -> Any:
        raise errors.Conflict("clash", code="CLASH")

    api.answer = refuse
    # When an operator calls it
    response = api(post("/v1/admin/notes", claims=OPERATOR_CLAIMS))
    # Then the log says it was refused, with the status
    assert response["statusCode"] == 409
    assert audit_log.phases == ["requested", "refused"]
    assert audit_log.entries[1]["status"] == 409


def test_reads_are_not_audited(api: Api, audit_log: InMemoryAuditLog) -> None:
    api(proxy_event("GET", "/v1/admin/customers/{customerId}", claims=OPERATOR_CLAIMS))
    assert audit_log.entries == []


# --- sparse views -------------------------------------------------------------------------------


def test_a_sparse_view_leaves_none_out_of_the_answer(api: Api) -> None:
    # Given a route whose sparse view has two optional fields unset
    # When it runs
    response = api(proxy_event("GET", "/v1/coupons/{couponId}", path="/v1/coupons/cp-1", path_params={"couponId": "cp-1"}))
    # Then they are left out of the JSON rather than sent as null
    assert response["statusCode"] == 200
    assert body_of(response) == {"couponId": "cp-1"}


def test_a_sparse_view_sends_what_is_set_and_nests() -> None:
    # Given a sparse view with its lock set and its note unset
    view = CouponSketch(couponId="cp-1", lock=LockView(orderId="o-1"))
    # When it is serialised
    # Then the lock is sent in full and the note left out
    assert view.model_dump(mode="json") == {"couponId": "cp-1", "lock": {"orderId": "o-1"}}
    assert json.loads(view.model_dump_json()) == {"couponId": "cp-1", "lock": {"orderId": "o-1"}}


def test_a_sparse_view_still_documents_every_field() -> None:
    # Given a sparse view
    # When its JSON schema is generated
    schema = CouponSketch.model_json_schema()
    # Then every field is listed, the optional ones with their description and not required
    assert set(schema["properties"]) == {"couponId", "lock", "note"}
    assert schema["required"] == ["couponId"]
    assert schema["properties"]["lock"]["description"] == "Only while an order holds the coupon."


def test_a_sparse_view_response_documents_every_field_in_the_openapi_document(api: Api) -> None:
    # Given a route answering a sparse view
    # When the OpenAPI document is generated (pydantic's serialization mode, where a serializer's return annotation would win)
    schemas = openapi_of(api)["components"]["schemas"]
    # Then the view's schema lists its fields, only the unconditional ones required, not an open object
    assert set(schemas["CouponSketch"].get("properties", {})) == {"couponId", "lock", "note"}
    assert schemas["CouponSketch"]["required"] == ["couponId"]


# --- documented responses -----------------------------------------------------------------------


def openapi_of(api: Api) -> dict[str, Any]:
    schemes = {CUSTOMER_SCHEME: HTTPBearer(), OPERATOR_SCHEME: HTTPBearer()}
    schema = build_resolver([api.routes]).get_openapi_schema(security_schemes=schemes)  # type: ignore[arg-type]
    document: dict[str, Any] = schema.model_dump(mode="json", by_alias=True, exclude_none=True)
    return document


def options(method: str = "POST", path: str = "/v1/notes", idempotency: Any = "record",
            errors_: dict[int, tuple[str, ...]] | None = None, replay: Any = None) -> RouteOptions:
    return RouteOptions(method, path, 201 if method == "POST" else 200, idempotency, Audit(), errors_ or {}, replay=replay)


def test_a_read_documents_only_the_common_codes() -> None:
    # Given a GET with no body (a GET never takes a key)
    # When its codes are listed
    codes = error_codes(options("GET", "/v1/customers/{customerId}", "none"), takes_body=False)
    # Then only validation, authentication, throttling and internal errors are documented
    assert codes == {400: ["VALIDATION_ERROR"], 401: ["UNAUTHENTICATED"], 429: ["THROTTLED"], 500: ["INTERNAL"]}


def test_a_recorded_write_with_a_body_documents_size_media_and_idempotency_codes() -> None:
    # Given a POST with a body, idempotent by record
    # When its codes are listed
    codes = error_codes(options(), takes_body=True)
    # Then the body's and the key's codes are added, with 409 and 422 for the record (and, without a
    # replay, 409 IDEMPOTENCY_COMMITTED for a retry of a call that committed and died)
    assert codes == {
        400: ["VALIDATION_ERROR", "BODY_REQUIRED", "MALFORMED_JSON", "IDEMPOTENCY_KEY_REQUIRED", "IDEMPOTENCY_KEY_INVALID"],
        401: ["UNAUTHENTICATED"],
        409: ["IDEMPOTENCY_IN_PROGRESS", "IDEMPOTENCY_COMMITTED"],
        413: ["PAYLOAD_TOO_LARGE"],
        415: ["UNSUPPORTED_MEDIA_TYPE"],
        422: ["IDEMPOTENCY_KEY_REUSED"],
        429: ["THROTTLED"],
        500: ["INTERNAL"],
    }


def test_a_recorded_write_with_a_replay_does_not_document_idempotency_committed() -> None:
    # Given a POST idempotent by record whose answer a replay rebuilds
    # When its codes are listed
    codes = error_codes(options(replay=lambda call: {}), takes_body=True)
    # Then a retry of a call that committed and died is answered by the replay, never a 409
    assert codes[409] == ["IDEMPOTENCY_IN_PROGRESS"]


def test_a_domain_idempotent_write_without_a_body_documents_the_key_but_not_the_record() -> None:
    # Given a POST without a body whose operation derives its ids from the key
    # When its codes are listed
    codes = error_codes(options(idempotency="domain"), takes_body=False)
    # Then the key's 400 codes are there, but neither 413/415 (no body) nor 409/422 (no record)
    assert codes[400] == ["VALIDATION_ERROR", "IDEMPOTENCY_KEY_REQUIRED", "IDEMPOTENCY_KEY_INVALID"]
    assert not {409, 413, 415, 422} & set(codes)


def test_a_write_that_takes_no_key_documents_no_key_codes() -> None:
    codes = error_codes(options(idempotency="none"), takes_body=True)
    assert codes[400] == ["VALIDATION_ERROR", "BODY_REQUIRED", "MALFORMED_JSON"]
    assert 409 not in codes and 422 not in codes


def test_an_admin_route_documents_operator_required_and_the_routes_own_codes_follow() -> None:
    # Given an admin route whose own logic answers 403, 404 and 422 codes (one repeating a convention's)
    own = {403: ("OPERATOR_REQUIRED", "NOT_APPROVER"), 404: ("CUSTOMER_NOT_FOUND",), 422: ("BUDGET_EXHAUSTED",)}
    # When its codes are listed
    codes = error_codes(options(path="/v1/admin/notes", errors_=own), takes_body=True)
    # Then OPERATOR_REQUIRED comes first and once, the route's codes follow the conventions', by status in order
    assert codes[403] == ["OPERATOR_REQUIRED", "NOT_APPROVER"]
    assert codes[404] == ["CUSTOMER_NOT_FOUND"]
    assert codes[422] == ["IDEMPOTENCY_KEY_REUSED", "BUDGET_EXHAUSTED"]
    assert list(codes) == sorted(codes)


def test_a_customer_route_does_not_document_operator_required() -> None:
    assert 403 not in error_codes(options(path="/v1/customers/{customerId}/notes"), takes_body=True)


def test_responses_for_documents_the_success_and_each_error_with_its_codes_as_examples() -> None:
    # Given a recorded POST with a body that answers 201
    # When its responses are built
    responses = responses_for(options(), takes_body=True)
    # Then the success is there, and each error status has the Error shape and one example per code
    assert responses[201]["description"] == "Created"
    assert set(responses[201]["headers"]) == {"X-Correlation-Id", "Idempotent-Replayed"}
    conflict = responses[409]
    assert "IDEMPOTENCY_IN_PROGRESS" in conflict["description"]
    content = conflict["content"]["application/json"]
    assert content["model"] is Error
    assert content["examples"]["IDEMPOTENCY_IN_PROGRESS"]["value"]["error"]["code"] == "IDEMPOTENCY_IN_PROGRESS"
    assert set(responses) == {201, 400, 401, 409, 413, 415, 422, 429, 500}


def test_the_routes_document_their_conventions_in_the_openapi_document(api: Api) -> None:
    # Given the test routes
    # When their OpenAPI document is generated
    paths = openapi_of(api)["paths"]
    # Then a write with a body documents 413, 415 and the record's 409 and 422, a read not the record's, an admin route 403
    add_note, read = paths["/v1/notes"]["post"], paths["/v1/customers/{customerId}"]["get"]
    assert {"409", "413", "415", "422"} <= set(add_note["responses"])
    assert "IDEMPOTENCY_KEY_REUSED" in add_note["responses"]["422"]["description"]
    assert "NOT_YET" in add_note["responses"]["422"]["description"]
    assert "409" not in read["responses"]
    assert "OPERATOR_REQUIRED" in paths["/v1/admin/notes"]["post"]["responses"]["403"]["description"]
    # And the key is a required header (Powertools writes header names in lower case), the caller is not a parameter, and operation ids are camelCase
    params = {(p["in"], p["name"].lower()): p.get("required", False) for p in add_note.get("parameters", [])}
    assert params == {("header", "idempotency-key"): True}
    assert [p["name"] for p in read["parameters"]] == ["customerId", "limit"]
    assert (add_note["operationId"], read["operationId"]) == ("addNote", "getCustomer")


def test_a_read_returning_a_model_documents_no_body_codes(api: Api) -> None:
    # Given a GET that takes no body and returns a response model
    # When the OpenAPI document is generated
    read = openapi_of(api)["paths"]["/v1/customers/{customerId}"]["get"]
    # Then it documents neither 413 nor 415, nor the body's 400 codes
    assert not {"413", "415"} & set(read["responses"])
    assert "BODY_REQUIRED" not in read["responses"]["400"]["description"]


# --- concurrency --------------------------------------------------------------------------------


def test_concurrent_requests_on_one_handler_each_get_their_own_answer(api: Api) -> None:
    # Given 8 customers calling the same handler at once, each held inside the route until all 8 are in
    ids = [f"c-{n:03d}" for n in range(8)]
    barrier = threading.Barrier(len(ids), timeout=10)

    def once_all_are_in(call: Call) -> CustomerView:
        barrier.wait()
        # what the route reads after the others have started must still be its own request's
        now = current_call()
        return CustomerView(customerId=now.path_param("customerId"), caller=current_caller().subject, limit=len(now.path))

    api.answer = once_all_are_in

    def call(customer_id: str) -> dict[str, Any]:
        return api(proxy_event("GET", claims={"sub": customer_id}, path_params={"customerId": customer_id},
                               headers={"X-Correlation-Id": f"corr-{customer_id}"}, query={"limit": "5"}))

    # When they all run on their own threads
    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        responses = list(pool.map(call, ids))
    # Then each got its own answer, with its own caller and correlation id
    for customer_id, response in zip(ids, responses, strict=True):
        assert response["statusCode"] == 200, response["body"]
        assert body_of(response) == {"customerId": customer_id, "caller": customer_id, "limit": len(f"/v1/customers/{customer_id}")}
        assert header(response, "X-Correlation-Id") == f"corr-{customer_id}"
    assert sorted(seen.path_param("customerId") for seen in api.calls) == ids


def test_concurrent_writes_each_get_their_own_record(api: Api, store: InMemoryIdempotencyStore) -> None:
    # Given 8 customers posting different notes under the same key at once, held in the route until all are in
    ids = [f"c-{n:03d}" for n in range(8)]
    barrier = threading.Barrier(len(ids), timeout=10)

    def once_all_are_in(call: Call) -> NoteView:
        barrier.wait()
        body = current_call().body
        assert isinstance(body, NoteBody)
        return NoteView(note=body.note, points=body.points, n=0)

    api.answer = once_all_are_in

    def call(n: int) -> dict[str, Any]:
        return api(post("/v1/notes", body=json.dumps({"note": ids[n], "points": n}), claims={"sub": ids[n]}))

    # When they all run on their own threads
    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        responses = list(pool.map(call, range(len(ids))))
    # Then each got its own note back, and each caller's key holds its own record
    assert [body_of(r) for r in responses] == [{"note": c, "points": n, "n": 0} for n, c in enumerate(ids)]
    assert sorted(key.split("#")[0] for key in store.records) == ids


def test_concurrent_requests_held_in_validation_each_get_their_own_arguments(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given 8 customers posting at once, each held inside body validation until all 8 are there: after
    # Powertools has read each request into its resolver, before the route reads its arguments back
    ids = [f"c-{n:03d}" for n in range(8)]
    barrier = threading.Barrier(len(ids), timeout=10)
    monkeypatch.setattr(sys.modules[__name__], "body_gate", [barrier.wait])

    def call(customer_id: str) -> dict[str, Any]:
        return api(post("/v1/gated-notes", body=json.dumps({"note": f"note of {customer_id}"}), claims={"sub": customer_id},
                        headers={"Content-Type": "application/json", "X-Correlation-Id": f"corr-{customer_id}"}))

    # When they all run on their own threads
    with ThreadPoolExecutor(max_workers=len(ids)) as pool:
        responses = list(pool.map(call, ids))
    # Then each route ran with its own body and caller, and each answer went back to its own request
    for customer_id, response in zip(ids, responses, strict=True):
        assert response["statusCode"] == 200, response["body"]
        assert body_of(response)["note"] == f"{customer_id}:note of {customer_id}"
        assert header(response, "X-Correlation-Id") == f"corr-{customer_id}"


def test_the_resolver_keeps_the_request_per_thread() -> None:
    # Given one resolver serving a request on this thread
    app = EngineResolver()
    app.current_event = "this thread's request"
    seen: list[Any] = []

    def another_request() -> None:
        app.current_event = "another thread's request"
        seen.append(app.current_event)

    # When another thread serves a request on the same resolver
    thread = threading.Thread(target=another_request)
    thread.start()
    thread.join()
    # Then each thread sees its own
    assert seen == ["another thread's request"]
    assert app.current_event == "this thread's request"


def test_an_integer_written_as_12_point_0_is_that_integer(api: Api, store: InMemoryIdempotencyStore) -> None:
    # Given a body whose integer field a client's serializer wrote as 12.0 (JSON Schema's "integer" allows it)
    event = post("/v1/notes", body='{"note": "x", "points": 12.0}')
    # When the handler runs
    response = api(event)
    # Then it is accepted as 12; a fraction is still refused
    assert response["statusCode"] == 201, response["body"]
    assert json.loads(response["body"])["points"] == 12
    assert api(post("/v1/notes", body='{"note": "x", "points": 12.5}', headers=json_headers("k-2")))["statusCode"] == 400
