"""The local API Gateway: HTTP in, REST proxy events to in-process handlers, responses out.

It does what API Gateway and its Cognito authorizer do in AWS, and no more: route matching,
token verification (claims go to `requestContext.authorizer.claims`), and the proxy event shape.
Everything else, from validation to idempotency, happens in the handlers, as in AWS.
"""

from __future__ import annotations

import base64
import importlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from infra.local import tokens
from infra.topology import Function, Topology

LambdaHandler = Callable[[dict[str, Any], Any], Any]


class LambdaContext:
    """The context object Lambda passes a handler; Powertools reads these attributes."""

    def __init__(self, function: Function):
        self.function_name = function.name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = function.memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:000000000000:function:{function.name}"
        self.aws_request_id = str(uuid.uuid4())
        self.log_group_name = f"/aws/lambda/{function.name}"
        self.log_stream_name = "local"
        self._deadline = time.monotonic() + function.timeout_s

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._deadline - time.monotonic()) * 1000))


class HandlerRegistry:
    """Imports each function's handler module once, on first use, as Lambda would on a cold start."""

    def __init__(self) -> None:
        self._handlers: dict[str, LambdaHandler] = {}
        self._lock = threading.Lock()

    def get(self, function: Function) -> LambdaHandler:
        with self._lock:
            if function.name not in self._handlers:
                module = importlib.import_module(function.import_path)
                self._handlers[function.name] = module.handler
            return self._handlers[function.name]

    def invoke(self, function: Function, event: dict[str, Any]) -> Any:
        return self.get(function)(event, LambdaContext(function))


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    body = {"error": {"code": code, "message": message, "details": []}}
    return Response(json.dumps(body), status=status, content_type="application/json", headers=headers)


def werkzeug_path(path: str) -> str:
    return path.replace("{", "<").replace("}", ">")


class LocalApiGateway:
    def __init__(self, topology: Topology, registry: HandlerRegistry, extra: dict[str, Callable[[Request], Response]] | None = None):
        self.registry = registry
        self.routes: dict[str, tuple[str, Function]] = {}
        rules = []
        for route, function in topology.routes():
            endpoint = f"{route.method} {route.path}"
            self.routes[endpoint] = (route.path, function)
            rules.append(Rule(werkzeug_path(route.path), methods=[route.method], endpoint=endpoint))
        self.extra = extra or {}
        rules += [Rule(path, endpoint=path, methods=["GET", "POST"]) for path in self.extra]
        self.url_map = Map(rules, strict_slashes=False, merge_slashes=False)

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        return self.dispatch(Request(environ))(environ, start_response)

    def dispatch(self, request: Request) -> Response:
        try:
            endpoint, params = self.url_map.bind_to_environ(request.environ).match()
        except MethodNotAllowed as refused:
            allowed = ", ".join(sorted(m for m in refused.valid_methods or () if m not in ("HEAD", "OPTIONS")))
            return _error(405, "METHOD_NOT_ALLOWED", f"{request.method} is not allowed on {request.path}", {"Allow": allowed})
        except NotFound:
            return _error(404, "ROUTE_NOT_FOUND", f"no route for {request.method} {request.path}")
        if endpoint in self.extra:
            return self.extra[endpoint](request)
        resource, function = self.routes[endpoint]
        claims = self._authorize(request)
        if isinstance(claims, Response):
            return claims
        event = proxy_event(request, resource, dict(params), claims)
        result = self.registry.invoke(function, event)
        response = Response(result.get("body") or "", status=result["statusCode"])
        # As API Gateway does: `headers`, then every value of `multiValueHeaders`.
        for name, value in (result.get("headers") or {}).items():
            response.headers[name] = value
        for name, values in (result.get("multiValueHeaders") or {}).items():
            response.headers.remove(name)
            for value in values:
                response.headers.add(name, value)
        return response

    @staticmethod
    def _authorize(request: Request) -> dict[str, str] | Response:
        header = request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            return _error(401, "UNAUTHENTICATED", "a bearer token is required")
        try:
            return tokens.authorizer_claims(tokens.verify(token.strip()))
        except tokens.InvalidToken as error:
            return _error(401, "UNAUTHENTICATED", f"the token was refused: {error}")


def proxy_event(request: Request, resource: str, params: dict[str, str], claims: dict[str, str]) -> dict[str, Any]:
    raw = request.get_data(cache=True)
    try:
        body: str | None = raw.decode("utf-8") if raw else None
        is_base64 = False
    except UnicodeDecodeError:
        body, is_base64 = base64.b64encode(raw).decode(), True
    request_id = str(uuid.uuid4())
    return {
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": dict(request.headers.items()),
        "multiValueHeaders": {k: request.headers.getlist(k) for k, _ in request.headers.items()},
        "queryStringParameters": dict(request.args.items()) or None,
        "multiValueQueryStringParameters": {k: request.args.getlist(k) for k in request.args} or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": request.method,
            "path": request.path,
            "stage": "local",
            "requestId": request_id,
            "requestTimeEpoch": int(time.time() * 1000),
            "identity": {"sourceIp": request.remote_addr or "127.0.0.1"},
            "authorizer": {"claims": claims},
        },
        "body": body,
        "isBase64Encoded": is_base64,
    }
