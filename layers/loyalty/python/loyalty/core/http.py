"""API Gateway REST proxy events in, JSON responses out, and the API conventions in one place.

A handler is a plain function of a `Request`; `api_handler` does the rest:
- bodies: JSON only, at most `max_body_bytes`, validated into a pydantic model (unknown fields are
  refused);
- callers: the authorizer's verified claims (Cognito's, or our Lambda authorizer's context) become a
  `Caller`; `/v1/admin` routes need `operators`;
- mutating calls need an `Idempotency-Key`; replays return the first response;
- errors: every `DomainError` becomes `{"error": {"code", "message", "details"}}` with its status.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ValidationError

from loyalty.core import errors
from loyalty.core.auth import Caller
from loyalty.core.config import get_settings
from loyalty.core.observability import lambda_entry, logger, set_correlation_id

Body = TypeVar("Body", bound=BaseModel)

MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ADMIN_PREFIX = "/v1/admin"
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


@dataclass(frozen=True)
class Response:
    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def ok(body: Any) -> Response:
    return Response(200, body)


def created(body: Any) -> Response:
    return Response(201, body)


@dataclass(frozen=True)
class Request(Generic[Body]):
    method: str
    resource: str  # the route template, e.g. /v1/customers/{customerId}
    path: str
    caller: Caller
    path_params: dict[str, str]
    query: dict[str, str]
    headers: dict[str, str]  # lower-cased names
    raw_body: str | None
    body: Body | None
    correlation_id: str

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")

    def path_param(self, name: str) -> str:
        return self.path_params[name]

    def json_body(self) -> Body:
        if self.body is None:
            raise errors.InvalidInput("a JSON body is required", code="BODY_REQUIRED")
        return self.body


def status_of(error: errors.DomainError) -> int:
    for kind in type(error).__mro__:
        if kind in STATUS_BY_ERROR:
            return STATUS_BY_ERROR[kind]  # type: ignore[index]
    return 400


def error_body(error: errors.DomainError) -> dict[str, Any]:
    return {"error": {"code": error.code, "message": error.message, "details": error.details}}


def to_proxy_response(response: Response, correlation_id: str) -> dict[str, Any]:
    headers = {"Content-Type": "application/json", "X-Correlation-Id": correlation_id}
    headers.update(response.headers)
    body = None if response.body is None else json.dumps(response.body, separators=(",", ":"))
    return {"statusCode": response.status, "headers": headers, "body": body or ""}


def validation_details(error: ValidationError) -> list[dict[str, Any]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "(body)", "problem": e["msg"]}
        for e in error.errors(include_url=False, include_input=False, include_context=False)
    ]


def parse_model(model: type[Body], data: Any, *, code: str = "VALIDATION_ERROR") -> Body:
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise errors.InvalidInput("the request failed validation", code=code, details=validation_details(error)) from None


def _parse_body(event: dict[str, Any], headers: dict[str, str], model: type[BaseModel] | None) -> tuple[str | None, Any]:
    raw = event.get("body")
    if event.get("isBase64Encoded") and raw:
        import base64

        raw = base64.b64decode(raw).decode("utf-8", errors="replace")
    if raw is not None and len(raw.encode("utf-8")) > get_settings().max_body_bytes:
        raise errors.PayloadTooLarge(f"the body exceeds {get_settings().max_body_bytes} bytes")
    if model is None:
        if raw:
            raise errors.InvalidInput("this route takes no body", code="BODY_NOT_ALLOWED")
        return None, None
    if not raw:
        raise errors.InvalidInput("a JSON body is required", code="BODY_REQUIRED")
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/json":
        raise errors.UnsupportedMediaType("send the body as application/json")
    try:
        data = json.loads(raw)
    except ValueError:
        raise errors.InvalidInput("the body is not valid JSON", code="MALFORMED_JSON") from None
    return raw, parse_model(model, data)


def build_request(event: dict[str, Any], body_model: type[BaseModel] | None) -> Request[Any]:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items() if v is not None}
    context = event.get("requestContext") or {}
    caller = Caller.from_authorizer(context.get("authorizer"))
    resource = event.get("resource") or context.get("resourcePath") or ""
    if resource == ADMIN_PREFIX or resource.startswith(ADMIN_PREFIX + "/"):
        caller.require_operator()
    raw_body, body = _parse_body(event, headers, body_model)
    return Request(
        method=(event.get("httpMethod") or "").upper(),
        resource=resource,
        path=event.get("path") or resource,
        caller=caller,
        path_params=dict(event.get("pathParameters") or {}),
        query=dict(event.get("queryStringParameters") or {}),
        headers=headers,
        raw_body=raw_body,
        body=body,
        correlation_id=headers.get(CORRELATION_HEADER) or context.get("requestId") or "local",
    )


Handler = Callable[[Request[Any]], Response]
# How a mutating route is made idempotent:
# - "record": the generic Idempotency-Key record (loyalty.core.idempotency), the default;
# - "domain": the key is required, and the operation itself derives its ids from it (coupon claims);
# - "none": the route changes nothing (a quote), so it takes no key.
IdempotencyMode = Literal["record", "domain", "none"]


def api_handler(
    body: type[BaseModel] | None = None,
    idempotency: IdempotencyMode = "record",
    audit_before: Callable[[Request[Any]], Any] | None = None,
    audit_bodies: bool = True,
    audit_after: Callable[[Any], Any] | None = None,
) -> Callable[[Handler], Callable[[dict[str, Any], Any], dict[str, Any]]]:
    """Wrap a `Request -> Response` function as a Lambda proxy handler. An operator's mutating call
    (every `/v1/admin` route, and a customer route an operator calls on a customer's behalf) is
    written to the audit log before and after it runs; `audit_before` loads the state it changes, for
    the log; `audit_after` picks what of the response the log keeps (the whole body by default);
    `audit_bodies=False` keeps the request and response out of it (personal data: exports, erasures)."""

    def decorate(fn: Handler) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
        def execute(request: Request[Any]) -> Response:
            try:
                if request.method in MUTATING_METHODS and idempotency == "record":
                    from loyalty.core.idempotency import run_idempotently

                    return run_idempotently(request, fn)
                if request.method in MUTATING_METHODS and idempotency == "domain":
                    from loyalty.core.idempotency import require_key

                    require_key(request)
                return fn(request)
            except errors.DomainError as error:
                status = status_of(error)
                logger.info("request refused", extra={"status": status, "code": error.code})
                return Response(status, error_body(error))

        @lambda_entry
        def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
            headers = {k.lower(): v for k, v in (event.get("headers") or {}).items() if v}
            correlation_id = headers.get(CORRELATION_HEADER) or (event.get("requestContext") or {}).get("requestId") or "local"
            set_correlation_id(correlation_id)
            logger.append_keys(route=f"{event.get('httpMethod')} {event.get('resource')}")
            try:
                request = build_request(event, body)
                on_behalf = request.caller.is_operator and idempotency != "none"  # an operator changing a customer's things
                if request.method in MUTATING_METHODS and (request.resource.startswith("/v1/admin/") or on_behalf):
                    from loyalty.core.audit import audited

                    response = audited(request, lambda: execute(request), audit_before, with_bodies=audit_bodies, after=audit_after)
                else:
                    response = execute(request)
            except errors.DomainError as error:
                status = status_of(error)
                logger.info("request refused", extra={"status": status, "code": error.code})
                response = Response(status, error_body(error))
            except Exception:
                logger.exception("unhandled error")
                response = Response(500, {"error": {"code": "INTERNAL", "message": "internal error", "details": []}})
            return to_proxy_response(response, correlation_id)

        handler.body_model = body  # type: ignore[attr-defined]  # read by the OpenAPI generator
        handler.idempotency = idempotency  # type: ignore[attr-defined]
        return handler

    return decorate


def api_router(routes: dict[str, Callable[[dict[str, Any], Any], dict[str, Any]]]) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """One Lambda serving several routes: `{"POST /v1/admin/x": handler}`, each an `api_handler`."""

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        target = routes.get(f"{event.get('httpMethod')} {event.get('resource')}")
        if target is None:
            error = errors.NotFound("no such route in this function", code="ROUTE_NOT_FOUND")
            return to_proxy_response(Response(404, error_body(error)), "local")
        return target(event, context)

    handler.routes = routes  # type: ignore[attr-defined]  # read by the OpenAPI generator
    return handler
