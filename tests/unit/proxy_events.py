"""Synthetic API Gateway REST proxy events (the shape Lambda receives), for unit tests."""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

CUSTOMER_CLAIMS: dict[str, Any] = {"sub": "c-001"}
OPERATOR_CLAIMS: dict[str, Any] = {"sub": "op-1", "cognito:groups": "operators,approvers"}
NO_CLAIMS: dict[str, Any] = {}


@dataclass(frozen=True)
class OpenScope:
    """A route scope that admits every caller: the core's own tests judge no org tree
    (loyalty.org.scope's rules are tested in test_org_scope.py)."""

    errors: Mapping[int, Sequence[str]] = field(default_factory=dict)

    def admit(self, call: Any) -> None:
        return None


OPEN_SCOPE = OpenScope()


def proxy_event(
    method: str = "GET",
    resource: str = "/v1/customers/{customerId}",
    *,
    path: str | None = None,
    body: str | None = None,
    headers: dict[str, str] | None = None,
    claims: dict[str, Any] | None = None,
    path_params: dict[str, str] | None = None,
    query: dict[str, str] | None = None,
    request_id: str = "apigw-request-1",
    encode_base64: bool = False,
) -> dict[str, Any]:
    """An API Gateway REST proxy event; `claims=NO_CLAIMS` leaves the authorizer out entirely."""
    claims = CUSTOMER_CLAIMS if claims is None else claims
    params = path_params if path_params is not None else {"customerId": "c-001"}
    concrete_path = path or resource.replace("{customerId}", params.get("customerId", "c-001"))
    context: dict[str, Any] = {"requestId": request_id, "resourcePath": resource, "httpMethod": method}
    if claims:
        context["authorizer"] = {"claims": claims}
    raw = body
    if encode_base64 and body is not None:
        raw = base64.b64encode(body.encode("utf-8")).decode("ascii")
    return {
        "resource": resource,
        "path": concrete_path,
        "httpMethod": method,
        "headers": headers or {},
        "multiValueHeaders": {},
        "queryStringParameters": query,
        "pathParameters": params,
        "requestContext": context,
        "body": raw,
        "isBase64Encoded": encode_base64,
    }


def json_headers(idempotency_key: str | None = "key-1", **extra: str) -> dict[str, str]:
    headers = {"Content-Type": "application/json"}
    if idempotency_key is not None:
        headers["Idempotency-Key"] = idempotency_key
    headers.update(extra)
    return headers
