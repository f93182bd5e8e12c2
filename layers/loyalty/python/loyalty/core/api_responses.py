"""The responses each route documents: its success, and every error status it can answer, each with
the error shape and its codes as examples. The conventions' own codes (validation, idempotency, size,
media type, callers) are added here, so a route declares only what its own logic refuses."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

if TYPE_CHECKING:
    from loyalty.core.api import RouteOptions


class ErrorInfo(BaseModel):
    code: str = Field(description="Stable, machine-readable: clients branch on it, never on the message.")
    message: str = Field(description="For people; may change.")
    details: list[dict[str, Any] | str] = Field(
        description="For validation errors, one `{field, in, problem}` per problem; otherwise the ids or values concerned."
    )


class Error(BaseModel):
    """Every 4xx and 5xx answer of this API."""

    error: ErrorInfo


STATUS_TEXT = {
    400: "The request is malformed or breaks the contract.",
    401: "No valid bearer token.",
    403: "The caller may not do this.",
    404: "Not found.",
    409: "Clashes with the current state.",
    413: "The body is over 64 KB.",
    415: "The body is not application/json.",
    422: "Well-formed, but a business rule refuses it.",
    429: "Throttled: retry after a pause, with the same Idempotency-Key.",
    500: "An internal error: nothing is promised about what happened; retry with the same Idempotency-Key.",
}


def error_codes(options: RouteOptions, *, takes_body: bool) -> dict[int, list[str]]:
    from loyalty.core.api import ADMIN_PREFIX

    codes: dict[int, list[str]] = {400: ["VALIDATION_ERROR"], 401: ["UNAUTHENTICATED"], 429: ["THROTTLED"], 500: ["INTERNAL"]}
    if takes_body:
        codes[400] += ["BODY_REQUIRED", "MALFORMED_JSON"]
        codes[413] = ["PAYLOAD_TOO_LARGE"]
        codes[415] = ["UNSUPPORTED_MEDIA_TYPE"]
    if options.idempotency != "none":
        codes[400] += ["IDEMPOTENCY_KEY_REQUIRED", "IDEMPOTENCY_KEY_INVALID"]
    if options.idempotency == "record":
        codes.setdefault(409, []).append("IDEMPOTENCY_IN_PROGRESS")
        if options.replay is None:  # a retry of a call that committed and died before answering
            codes[409].append("IDEMPOTENCY_COMMITTED")
        codes.setdefault(422, []).append("IDEMPOTENCY_KEY_REUSED")
    if options.path.startswith(ADMIN_PREFIX):
        codes.setdefault(403, []).append("OPERATOR_REQUIRED")
    elif not options.operators_too:
        codes.setdefault(403, []).append("CUSTOMER_TOKEN_REQUIRED")
    scoped = options.scope.errors.items() if options.scope is not None else ()
    for status, names in [*scoped, *options.errors.items()]:
        codes.setdefault(status, [])
        codes[status] += [name for name in names if name not in codes[status]]
    return dict(sorted(codes.items()))


def responses_for(options: RouteOptions, *, takes_body: bool) -> dict[int, Any]:
    """Powertools' `responses=`: the success (its schema from the route's return type) and each error."""
    success: dict[str, Any] = {"description": _success_text(options.status), "headers": _success_headers(options)}
    if options.links:
        success["links"] = {target[0].upper() + target[1:]: {"operationId": target, "parameters": dict(parameters)}
                            for target, parameters in options.links.items()}
    responses: dict[int, Any] = {options.status: success}
    for status, codes in error_codes(options, takes_body=takes_body).items():
        responses[status] = error_response_spec(status, codes, {"model": Error})
    return responses


def error_response_spec(status: int, codes: list[str], schema: dict[str, Any]) -> dict[str, Any]:
    """One error status of an operation: the error shape, and each code as an example."""
    examples = {code: {"summary": code, "value": {"error": {"code": code, "message": STATUS_TEXT[status], "details": []}}}
                for code in codes}
    return {"description": f"{STATUS_TEXT[status]} Codes: {', '.join(codes)}.",
            "content": {"application/json": {**schema, "examples": examples}}}


CORRELATION = {"description": "The request's correlation id (X-Correlation-Id as sent, or API Gateway's request id).",
               "schema": {"type": "string"}}
REPLAYED = {"description": "`true` when this is the stored answer of an earlier request with the same Idempotency-Key.",
            "schema": {"type": "string", "enum": ["true"]}}


def _success_headers(options: RouteOptions) -> dict[str, Any]:
    headers = {"X-Correlation-Id": CORRELATION}
    if options.idempotency != "none":
        headers["Idempotent-Replayed"] = REPLAYED
    return headers


def _success_text(status: int) -> str:
    return {200: "OK", 201: "Created", 202: "Accepted: the work goes on in the background."}.get(status, "OK")


class SparseView(BaseModel):
    """A response model whose empty optional fields are left out of the answer rather than sent as
    null (a coupon that is not locked has no `lock`). The document still describes every field."""

    # No return annotation: pydantic would take it for the serialized schema (a bare object).
    @model_serializer(mode="wrap")
    def _leave_out_absent(self, serialize: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        return {name: value for name, value in serialize(self).items() if value is not None}
