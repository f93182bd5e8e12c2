"""The HTTP API, declared on Powertools' event handler, with the engine's conventions on every route.

A capability declares its routes on a `Routes`: a Powertools `Router`, plus what the engine needs to
know of each route (a summary, the error codes it can answer, how it is made idempotent, what the
audit log keeps). Route functions take typed path, query, header and body parameters, which
Powertools validates and documents, and return a response model. `serve(...)` makes the Lambda
handler; `loyalty.core.api_conventions` holds what runs around every route (callers, the audit log,
idempotency, errors). The OpenAPI document is generated from these same routers (`infra/openapi.py`).
"""

from __future__ import annotations

import inspect
import re
import threading
import typing
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.depends import Depends
from aws_lambda_powertools.event_handler.openapi.params import Header
from pydantic import BaseModel

from loyalty.core.auth import APPROVERS, OPERATORS, RELATIONSHIP_MANAGERS, Caller
from loyalty.core.observability import LambdaHandler, lambda_entry

HttpMethod = Literal["GET", "POST", "PUT", "PATCH", "DELETE"]
MUTATING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
ADMIN_PREFIX = "/v1/admin"
RM_PREFIX = "/v1/rm"  # the relationship managers' own routes: their token, their tasks and book
# How a mutating route is made idempotent:
# - "record": the generic Idempotency-Key record (loyalty.core.idempotency), the default;
# - "domain": the key is required, and the operation itself derives its ids from it (coupon claims);
# - "none": the route changes nothing (a quote), so it takes no key.
IdempotencyMode = Literal["record", "domain", "none"]
CUSTOMER_SCHEME, OPERATOR_SCHEME = "customer", "operator"


@dataclass(frozen=True)
class Call:
    """What the conventions know of the call being served: for the audit log and idempotency."""

    method: str
    resource: str  # the route template, e.g. /v1/customers/{customerId}
    path: str
    caller: Caller
    path_params: Mapping[str, str]
    headers: Mapping[str, str]  # lower-cased names
    body: BaseModel | None
    correlation_id: str

    @property
    def idempotency_key(self) -> str | None:
        return self.headers.get("idempotency-key")

    def path_param(self, name: str) -> str:
        return self.path_params[name]


@dataclass(frozen=True)
class Audit:
    """What the audit log keeps of an operator's mutating call: `before` loads the state it changes;
    `after` picks what of the response to keep (all of it by default); `bodies=False` keeps the
    request and response out (personal data: exports, erasures)."""

    before: Callable[[Call], Any] | None = None
    after: Callable[[Any], Any] | None = None
    bodies: bool = True


@dataclass(frozen=True)
class RouteOptions:
    method: str
    path: str
    status: int
    idempotency: IdempotencyMode
    audit: Audit
    errors: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    # Operations that take what this one answers: {operationId: {parameter: "$response.body#/field"}}.
    links: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # What a retry answers when the first try committed and died before answering: the route's
    # answer rebuilt from the resource as it now is (loyalty.core.commit_marker).
    replay: Callable[[Call], Any] | None = None
    # A customer route an operator's token may call on a customer's behalf (False: the customer's own token only).
    operators_too: bool = True
    # Which operators may call it, by their org unit: every route an operator may call has one.
    scope: RouteScope | None = None


class RouteScope(Protocol):
    """Which operators may call a route, by the org unit on their token (docs/security.md, "Org
    scope"). `admit` runs before the route and its idempotency (a refused mutating call is still in
    the audit log, as refused): it raises the route's 403
    (no org unit, or a head-office-only change) or its 404 (a resource outside the caller's subtree,
    answered as one that does not exist), or returns the caller's scope, which a route asks for with
    a `ScopeDep` parameter (a listing filters by it). The org capability builds them
    (`loyalty.org.scope`): the core knows no capability."""

    @property
    def errors(self) -> Mapping[int, Sequence[str]]:
        """The codes `admit` can answer, by status (for the document)."""

    def admit(self, call: Call) -> Any:
        """The caller's scope; raises a DomainError when the caller may not make this call."""


_invocation = threading.local()


def current_caller() -> Caller:
    """The verified caller of the request this thread is serving (set before any route runs)."""
    caller: Caller = _invocation.caller
    return caller


def current_call() -> Call:
    call: Call = _invocation.call
    return call


def set_caller(caller: Caller | None) -> None:
    _invocation.caller = caller


def set_call(call: Call | None) -> None:
    _invocation.call = call


def current_scope() -> Any:
    """What the route's `RouteScope` admitted the caller with (None: the route has no scope)."""
    return getattr(_invocation, "scope", None)


def set_scope(scope: Any) -> None:
    _invocation.scope = scope


# A route function asks for its caller with a parameter of this type; it is not part of the request.
CallerDep = Annotated[Caller, Depends(current_caller)]
# ... and for the scope its route admitted it with (the org capability's `Scope`).
ScopeDep = Annotated[Any, Depends(current_scope)]
IDEMPOTENCY_KEY_MAX = 128
# Visible ASCII: a header value that every client library sends unchanged.
IdempotencyKey = Annotated[
    str,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=IDEMPOTENCY_KEY_MAX,
        pattern=r"^[!-~]+$",
        description="Names this request: a retry with the same key and body returns the first response, never runs again.",
    ),
]


def options_of(function: Callable[..., Any]) -> RouteOptions | None:
    return getattr(function, "__route_options__", None)


class Routes:
    """One capability's routes: a Powertools `Router`, tagged with the capability."""

    def __init__(self, tag: str, description: str = ""):
        self.tag = tag
        self.description = description
        self.router = Router()
        self.options: list[RouteOptions] = []

    def get(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("POST", path, **kwargs)

    def put(self, path: str, **kwargs: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route("PUT", path, **kwargs)

    def route(
        self,
        method: HttpMethod,
        path: str,
        *,
        summary: str,
        description: str | None = None,
        status: int = 200,
        errors: Mapping[int, Sequence[str]] | None = None,
        idempotency: IdempotencyMode = "record",
        audit: Audit | None = None,
        operators_too: bool = True,
        approvers: bool = False,
        operation_id: str | None = None,
        links: Mapping[str, Mapping[str, str]] | None = None,
        replay: Callable[[Call], Any] | None = None,
        scope: RouteScope | None = None,
    ) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """`path` as API Gateway writes it (`/v1/customers/{customerId}`); `errors` the codes the
        route's own logic answers, by status (the conventions' codes are added for it);
        `operators_too` whether an operator may call a customer route on a customer's behalf;
        `links` the operations that take what this one answers (OpenAPI links: clients and the
        contract tests follow them, e.g. create, then read); `replay` the answer to a retry of a
        call that committed and then died before answering (the resource as it now is, in the
        route's response model); without one that retry gets 409 IDEMPOTENCY_COMMITTED; `scope`
        which operators may call it (required of every route an operator may call: a route nobody
        scoped would answer every operator bank-wide)."""
        from loyalty.core.api_responses import responses_for

        if scope is None and (path.startswith(ADMIN_PREFIX) or operators_too):
            raise TypeError(f"{method} {path}: an operator may call it, so it declares its org scope (scope=...)")
        idempotency = idempotency if method in MUTATING_METHODS else "none"
        options = RouteOptions(
            method,
            path,
            status,
            idempotency,
            audit or Audit(),
            {code: tuple(names) for code, names in (errors or {}).items()},
            links or {},
            replay,
            operators_too,
            scope,
        )

        def register(function: Callable[..., Any]) -> Callable[..., Any]:
            function.__route_options__ = options  # type: ignore[attr-defined]  # read by the middleware
            self.options.append(options)
            self.router.route(
                rule=re.sub(r"{(\w+)}", r"<\1>", path),
                method=method,
                summary=summary,
                description=description or inspect.getdoc(function),
                tags=[self.tag],
                operation_id=operation_id or _camel(function.__name__),
                responses=responses_for(options, takes_body=_takes_body(function)),
                security=_security(path, operators_too, approvers),
                status_code=status,
            )(function)
            return function

        return register


def _camel(name: str) -> str:
    head, *rest = name.strip("_").split("_")
    return head + "".join(part.capitalize() for part in rest)


def _security(path: str, operators_too: bool, approvers: bool) -> list[dict[str, list[str]]]:
    if path.startswith(ADMIN_PREFIX):
        return [{OPERATOR_SCHEME: [OPERATORS, APPROVERS] if approvers else [OPERATORS]}]
    if path.startswith(RM_PREFIX + "/"):
        return [{OPERATOR_SCHEME: [RELATIONSHIP_MANAGERS]}]
    return [{CUSTOMER_SCHEME: []}, {OPERATOR_SCHEME: [OPERATORS]}] if operators_too else [{CUSTOMER_SCHEME: []}]


def _takes_body(function: Callable[..., Any]) -> bool:
    hints = typing.get_type_hints(function, include_extras=True)
    for name, hint in hints.items():
        if name == "return":
            continue
        target = typing.get_args(hint)[0] if typing.get_origin(hint) is Annotated else hint
        if inspect.isclass(target) and issubclass(target, BaseModel):
            return True
    return False


class _ResolverPool:
    """Lambda serves one request at a time per process, and Powertools' resolver keeps the request
    in its own attributes. The local cloud serves many at once in one process: each concurrent
    request gets its own resolver, as each concurrent Lambda invocation gets its own environment."""

    def __init__(self, build: Callable[[], Any]):
        self._build, self._lock = build, threading.Lock()
        self._idle: list[Any] = []

    @contextmanager
    def instance(self) -> Iterator[Any]:
        with self._lock:
            app = self._idle.pop() if self._idle else None
        app = app or self._build()
        try:
            yield app
        finally:
            with self._lock:
                self._idle.append(app)


def serve(*routes: Routes) -> LambdaHandler:
    """The Lambda handler of an API function serving these routes."""
    from loyalty.core.api_conventions import build_resolver

    pool = _ResolverPool(lambda: build_resolver(routes))

    @lambda_entry
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        with pool.instance() as app:
            result: dict[str, Any] = app.resolve(event, context)
            return result

    handler.routes = routes  # type: ignore[attr-defined]  # read by the OpenAPI generator and the route tests
    return handler
