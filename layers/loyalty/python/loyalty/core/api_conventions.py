"""What runs around every route, identically in every API function.

Before routing (Powertools validates the request before any middleware runs, and these must come
first): the caller from the authorizer (401), `operators` on `/v1/admin` (403), bodies over 64 KB
(413) and bodies that are not JSON (415). Then Powertools routes and validates (400). Then one
middleware: the route's org scope admits the caller or answers 403/404; an operator's mutating call
is written to the audit log before and after it runs (refused by the scope too); and a mutating
call the scope admits runs at most once per Idempotency-Key. Errors of every kind become
`{"error": {"code", "message", "details"}}` with their status; an unknown route is 404, a known one
with another method 405 with `Allow`.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from http import HTTPStatus
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.exceptions import NotFoundError
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
    ResponseValidationError,
)

from loyalty.core import errors
from loyalty.core.api import (
    ADMIN_PREFIX,
    MUTATING_METHODS,
    RM_PREFIX,
    Call,
    RouteOptions,
    Routes,
    options_of,
    set_call,
    set_caller,
    set_scope,
)
from loyalty.core.auth import Caller
from loyalty.core.config import get_settings
from loyalty.core.observability import correlation_id, logger, set_correlation_id

CORRELATION_HEADER = "x-correlation-id"

STATUS_BY_ERROR: dict[type[errors.DomainError], int] = {
    errors.InvalidInput: 400,
    errors.Unauthenticated: 401,
    errors.Forbidden: 403,
    errors.NotFound: 404,
    errors.Conflict: 409,
    errors.PayloadTooLarge: 413,
    errors.UnsupportedMediaType: 415,
    errors.BusinessRuleViolation: 422,
    errors.Throttled: 429,
}


def status_of(error: errors.DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[kind]  # type: ignore[index]
    return 400


def error_response(status: int, code: str, message: str, details: Sequence[Any] = (), headers: dict[str, str] | None = None) -> Response:
    return Response(status, content_types.APPLICATION_JSON,
                    {"error": {"code": code, "message": message, "details": list(details)}}, headers=headers)


def domain_error_response(error: errors.DomainError) -> Response:
    status = status_of(error)
    logger.info("request refused", extra={"status": status, "code": error.code})
    return error_response(status, error.code, error.message, error.details)


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _number(text: str) -> int | float:
    # JSON Schema's "integer" includes 12.0, as some clients' serializers write it: such a number
    # is read as the integer it is. Models keep refusing 12.5, "12" and true for integer fields.
    value = float(text)
    return int(value) if value.is_integer() else value


def read_json(text: str) -> Any:
    return json.loads(text, parse_float=_number)


_thread = threading.local()


class EngineResolver(APIGatewayRestResolver):
    """Powertools' REST resolver, with the request it serves kept per thread: Powertools keeps it in
    a class attribute (one request per process in Lambda), but the local cloud serves requests on
    many threads at once in one process."""

    def __init__(self) -> None:
        # A response that breaks its own model is our bug: a 500, never the caller's 400.
        super().__init__(enable_validation=True, response_validation_error_http_code=HTTPStatus.INTERNAL_SERVER_ERROR,
                         serializer=compact_json, json_body_deserializer=read_json)

    @staticmethod
    def _compile_regex(rule: str, base_regex: str = "^{}/*$") -> re.Pattern[str]:
        # A path parameter is any one segment, as API Gateway routes it: one that breaks the
        # parameter's own rules is then a 400 naming it, not a 404 for a route that exists.
        return re.compile(base_regex.format(re.sub(r"<(\w+)>", r"(?P<\1>[^/]+)", rule)))

    @property  # type: ignore[override]
    def current_event(self) -> Any:
        return _thread.event

    @current_event.setter
    def current_event(self, value: Any) -> None:
        _thread.event = value

    def _to_proxy_event(self, event: dict[str, Any]) -> Any:
        _thread.event = super()._to_proxy_event(event)  # Powertools assigns it to its class attribute next
        return _thread.event

    def resolve(self, event: Mapping[str, Any], context: Any) -> dict[str, Any]:
        headers = {k.lower(): v for k, v in (event.get("headers") or {}).items() if v is not None}
        request_context = event.get("requestContext") or {}
        correlation = headers.get(CORRELATION_HEADER) or request_context.get("requestId") or "local"
        set_correlation_id(correlation)
        set_call(None)
        logger.append_keys(route=f"{event.get('httpMethod')} {event.get('resource')}")
        try:
            caller = Caller.from_authorizer(request_context.get("authorizer"))
            set_caller(caller)
            _check_before_routing(event, headers, caller)
            result: dict[str, Any] = super().resolve(event, context)
        except errors.DomainError as error:
            result = self._answer(domain_error_response(error), event)
        except Exception:  # e.g. a body flagged base64 that is not: answered, never a failed invocation
            logger.exception("unhandled error")
            result = self._answer(error_response(500, "INTERNAL", "internal error"), event)
        result.setdefault("multiValueHeaders", {})["X-Correlation-Id"] = [correlation]
        return result

    def _answer(self, response: Response, event: Mapping[str, Any]) -> dict[str, Any]:
        from aws_lambda_powertools.event_handler.api_gateway import ResponseBuilder

        self._to_proxy_event(dict(event))
        built: dict[str, Any] = ResponseBuilder(response, self._serializer).build(self.current_event)
        return built

    def allowed_methods(self, path: str) -> list[str]:
        return sorted({route.method for route in self._static_routes + self._dynamic_routes if route.rule.match(path)})


def _check_before_routing(event: Mapping[str, Any], headers: dict[str, str], caller: Caller) -> None:
    resource = event.get("resource") or (event.get("requestContext") or {}).get("resourcePath") or event.get("path") or ""
    if resource == ADMIN_PREFIX or resource.startswith(ADMIN_PREFIX + "/"):
        caller.require_operator()
    if resource.startswith(RM_PREFIX + "/"):
        caller.require_relationship_manager()
    raw = event.get("body")
    if not raw:
        return
    body = _decoded(raw) if event.get("isBase64Encoded") else raw.encode("utf-8")
    if len(body) > get_settings().max_body_bytes:
        raise errors.PayloadTooLarge(f"the body exceeds {get_settings().max_body_bytes} bytes")
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise errors.UnsupportedMediaType("send the body as application/json")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.InvalidInput("the body is not UTF-8 JSON", code="MALFORMED_JSON") from None


def _decoded(raw: str) -> bytes:
    try:
        return base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise errors.InvalidInput("the body is not valid base64, as isBase64Encoded says", code="MALFORMED_JSON") from None


def _call_of(app: EngineResolver, route: Any) -> Call:
    event = app.current_event
    args = app.context.get("_route_args") or {}
    body_names = {param.name for param in route.dependant.body_params}
    body = next((value for name, value in args.items() if name in body_names), None)
    headers = {k.lower(): v for k, v in (event.headers or {}).items() if v is not None}
    return Call(method=event.http_method.upper(), resource=route.openapi_path, path=event.path, caller=app_caller(),
                path_params=dict(event.path_parameters or {}), headers=headers, body=body,
                correlation_id=correlation_id() or "local")


def app_caller() -> Caller:
    from loyalty.core.api import current_caller

    return current_caller()


def conventions(app: EngineResolver, next_middleware: Any) -> Response:
    """The audit log around idempotency around the route, for mutating calls."""
    route = app.context["_route"]
    options = options_of(route.func)
    call = _call_of(app, route)
    set_call(call)
    staff_route = call.resource.startswith((ADMIN_PREFIX, RM_PREFIX + "/"))
    if options is not None and not options.operators_too and call.caller.is_operator and not staff_route:
        # Its subject is a member of staff, never a customer: nothing may be done in their name.
        return domain_error_response(
            errors.Forbidden("this route takes the customer's own token, not an operator's", code="CUSTOMER_TOKEN_REQUIRED")
        )
    refused = _admit(options, call)
    if options is None or call.method not in MUTATING_METHODS:
        return refused or next_middleware(app)  # type: ignore[no-any-return]

    def run_route() -> Response:
        try:
            return next_middleware(app)  # type: ignore[no-any-return]
        except errors.DomainError as error:
            return domain_error_response(error)

    def run_once() -> Response:
        if refused is not None:  # outside the caller's scope: logged as refused, with no idempotency record
            return refused
        if options.idempotency == "record":
            from loyalty.core.idempotency import run_idempotently

            return run_idempotently(call, run_route, replay=_replay(options, call))
        if options.idempotency == "domain":
            from loyalty.core.idempotency import require_key

            require_key(call)
        return run_route()

    on_behalf = call.caller.is_operator and options.idempotency != "none"  # an operator changing a customer's things
    if call.resource.startswith((ADMIN_PREFIX + "/", RM_PREFIX + "/")) or on_behalf:
        from loyalty.core.audit import audited

        return audited(call, run_once, options.audit)
    return run_once()


def _admit(options: RouteOptions | None, call: Call) -> Response | None:
    """The route's org scope on the caller: None when it admits them (its scope kept for `ScopeDep`),
    else the refusal to answer, before the route and its idempotency ever run."""
    set_scope(None)
    if options is None or options.scope is None:
        return None
    try:
        set_scope(options.scope.admit(call))
    except errors.DomainError as error:
        return domain_error_response(error)
    return None


def _replay(options: RouteOptions, call: Call) -> Callable[[], Response] | None:
    load = options.replay
    if load is None:
        return None

    def answer() -> Response:
        from aws_lambda_powertools.event_handler.openapi.encoders import jsonable_encoder

        return Response(options.status, content_types.APPLICATION_JSON, jsonable_encoder(load(call)))

    return answer


def _validation_details(problems: Sequence[Any]) -> tuple[str, list[dict[str, Any]]]:
    """Powertools' validation errors as our details, and the code that says what went wrong."""
    code, details = "VALIDATION_ERROR", []
    for problem in problems:
        where, *rest = [str(part) for part in problem.get("loc", ())] or ["body"]
        if where == "body" and rest and rest[0] == "body":
            rest = rest[1:]  # Powertools names the body parameter too
        if where == "header" and rest and rest[0].lower() == "idempotency-key":
            code = "IDEMPOTENCY_KEY_REQUIRED" if problem.get("type") in ("missing", "string_too_short") else "IDEMPOTENCY_KEY_INVALID"
        elif where == "body" and problem.get("type") == "json_invalid":
            code = "MALFORMED_JSON"
        elif where == "body" and not rest and problem.get("type") == "missing" and code == "VALIDATION_ERROR":
            code = "BODY_REQUIRED"
        field = "(body)" if problem.get("type") == "json_invalid" else ".".join(rest)
        details.append({"field": field or "(body)", "in": where, "problem": str(problem.get("msg") or problem.get("type"))})
    return code, details


def build_resolver(routes: Sequence[Routes]) -> EngineResolver:
    app = EngineResolver()
    for group in routes:
        app.include_router(group.router)
    app.use(middlewares=[conventions])

    @app.exception_handler(errors.DomainError)
    def _domain(error: errors.DomainError) -> Response:
        return domain_error_response(error)

    @app.exception_handler(RequestValidationError)
    def _invalid(error: RequestValidationError) -> Response:
        code, details = _validation_details(error.errors())
        messages = {"MALFORMED_JSON": "the body is not valid JSON", "BODY_REQUIRED": "a JSON body is required",
                    "IDEMPOTENCY_KEY_REQUIRED": "mutating calls need an Idempotency-Key header",
                    "IDEMPOTENCY_KEY_INVALID": "the Idempotency-Key must be 1 to 128 visible ASCII characters"}
        logger.info("request refused", extra={"status": 400, "code": code})
        return error_response(400, code, messages.get(code, "the request failed validation"), details)

    @app.exception_handler(RequestUnsupportedContentType)
    def _media(_error: RequestUnsupportedContentType) -> Response:
        return error_response(415, "UNSUPPORTED_MEDIA_TYPE", "send the body as application/json")

    @app.exception_handler(ResponseValidationError)
    def _broken_response(error: ResponseValidationError) -> Response:
        logger.error("a response broke its own model", extra={"problems": error.errors()[:5]})
        return error_response(500, "INTERNAL", "internal error")

    @app.not_found
    def _no_route(_error: NotFoundError) -> Response:
        event = app.current_event
        allowed = app.allowed_methods(event.path)
        if allowed:
            return error_response(405, "METHOD_NOT_ALLOWED", f"{event.http_method} is not allowed on {event.path}",
                                  headers={"Allow": ", ".join(allowed)})
        return error_response(404, "ROUTE_NOT_FOUND", f"no route for {event.http_method} {event.path}")

    @app.exception_handler(Exception)
    def _unexpected(_error: Exception) -> Response:
        logger.exception("unhandled error")
        return error_response(500, "INTERNAL", "internal error")

    return app
