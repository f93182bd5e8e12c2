"""Our own overhead per request: a handler's time minus the time spent inside its AWS calls.

A local cloud (moto over HTTP, on free ports) serves the AWS calls; each handler is invoked in
process through `cloud.registry.invoke`, with the event API Gateway (or the SQS event source
mapping) would hand it, built before the clock starts. botocore event hooks on the domain
library's own clients (`loyalty.core.aws`) time and count every AWS call: from
`provide-client-params` (the first event of a call, before parameter validation and
serialization) to `after-call` / `after-call-error` (after the response is parsed). So "own" is
everything else: Powertools, request parsing and validation, auth, idempotency logic, models, JSON.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.cloud import local_cloud
from bench.stats import median, percentile
from bench.table import Column, Table
from infra.topology import BANK_SOURCE, TOPOLOGY, Function, Route

REQUESTS = 200  # measured invocations per API route
WARMUP = 10  # invocations per route before measuring (the first one is a cold start)
INGEST_BATCHES = 20  # measured batches for each consumer
BATCH_SIZE = 10
OPERATOR = "bench-operator"


@dataclass(frozen=True)
class Recipe:
    """How to call one route: who calls, with which body. Path parameters come from `path_values`."""

    as_operator: bool = False
    body: Any = None


# Add one per new route; a route without a recipe shows up in the table as not measured.
RECIPES: dict[str, Recipe] = {
    "GET /v1/customers/{customerId}": Recipe(),
    "PUT /v1/admin/customers/{customerId}/tags": Recipe(as_operator=True, body={"tags": ["bench", "vip"]}),
    "GET /v1/customers/{customerId}/coupons": Recipe(),
    "GET /v1/admin/coupon-templates": Recipe(as_operator=True),
    "GET /v1/customers/{customerId}/points": Recipe(),
    "GET /v1/customers/{customerId}/points/history": Recipe(),
    "POST /v1/points/quote": Recipe(
        body={
            "eventType": "CardTransactionPosted",
            "detail": {"transactionId": "bench-tx", "amountMinor": 128800, "currency": "CNY", "merchantId": "m-bench",
                       "mcc": "5812", "channel": "pos", "postedAt": "2026-11-23T04:12:00Z"},
        }
    ),
    "GET /v1/admin/point-rules": Recipe(as_operator=True),
    "POST /v1/admin/customers/{customerId}/points/adjustments": Recipe(
        as_operator=True, body={"points": 1, "reason": "bench", "costCentre": "cc-bench"}
    ),
}
# Consumers measured here with profile events; the others have sections of their own (accrual, flash_grab).
CONSUMERS = ("customers-ingest",)


class AwsCallMeter:
    """Times and counts the calls of the clients it is attached to (one thread at a time)."""

    def __init__(self) -> None:
        self.elapsed_s = 0.0
        self.calls: Counter[str] = Counter()

    def attach(self, client: Any) -> None:
        client.meta.events.register("provide-client-params.*.*", self._started)
        client.meta.events.register("after-call.*.*", self._finished)
        client.meta.events.register("after-call-error.*.*", self._finished)

    def reset(self) -> None:
        self.elapsed_s = 0.0
        self.calls = Counter()

    def _started(self, context: dict[str, Any], **_: Any) -> None:
        context["bench_started"] = time.perf_counter()

    def _finished(self, context: dict[str, Any], event_name: str, **_: Any) -> None:
        started = context.pop("bench_started", None)
        if started is not None:
            self.elapsed_s += time.perf_counter() - started
            self.calls[event_name.rsplit(".", 1)[-1]] += 1


@dataclass
class Samples:
    total_ms: list[float] = field(default_factory=list)
    aws_ms: list[float] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    operations: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def own_ms(self) -> list[float]:
        return [t - a for t, a in zip(self.total_ms, self.aws_ms, strict=True)]


def measure(meter: AwsCallMeter, invoke: Callable[[], Any], per: int = 1) -> tuple[float, float, Counter[str], Any]:
    """One invocation: total and AWS milliseconds divided by `per`, the calls made, and the result."""
    meter.reset()
    started = time.perf_counter()
    result = invoke()
    total = time.perf_counter() - started
    return total * 1000 / per, meter.elapsed_s * 1000 / per, meter.calls, result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def api_event(route: Route, path_values: dict[str, str], subject: str, groups: list[str], body: Any) -> dict[str, Any]:
    """The REST proxy event the local API Gateway would build, with the claims its authorizer passes."""
    from werkzeug.test import EnvironBuilder
    from werkzeug.wrappers import Request

    from infra.local import tokens
    from infra.local.gateway import proxy_event

    path = route.path.format(**path_values)
    params = {name: value for name, value in path_values.items() if "{" + name + "}" in route.path}
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {tokens.issue(subject, groups)}"}
    if route.method in ("POST", "PUT", "PATCH", "DELETE"):
        headers["Idempotency-Key"] = str(uuid.uuid4())
    data = json.dumps(body) if body is not None else None
    request = Request(EnvironBuilder(path=path, method=route.method, headers=list(headers.items()), data=data).get_environ())
    claims = tokens.authorizer_claims(tokens.verify(headers["Authorization"].split(" ", 1)[1]))
    return proxy_event(request, route.path, params, claims)


def profile_detail(customer_id: str, changed_at: str) -> dict[str, Any]:
    """A CustomerProfileChanged detail shaped like the demo bank's (infra/local/seed.py)."""
    return {
        "customerId": customer_id,
        "changedAt": changed_at,
        "birthday": "1990-03-14",
        "branchId": "sh-pudong",
        "tags": ["payroll"],
        "aumMinor": 52_000_000,
        "currency": "CNY",
        "riskLevel": "R3",
        "channels": ["app", "wechat"],
    }


def sqs_record(body: dict[str, Any]) -> dict[str, Any]:
    message_id = str(uuid.uuid4())
    return {
        "messageId": message_id,
        "receiptHandle": f"bench-{message_id}",
        "body": json.dumps(body),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:000000000000:customer-profile-events",
        "awsRegion": "us-east-1",
    }


def bus_envelope(customer_id: str) -> dict[str, Any]:
    changed_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {
        "id": str(uuid.uuid4()),
        "source": BANK_SOURCE,
        "detail-type": "CustomerProfileChanged",
        "time": changed_at,
        "detail": profile_detail(customer_id, changed_at),
    }


def publish_bench_customer(cloud: Any, customer_id: str, timeout_s: float = 20.0) -> None:
    """Publish the bench customer on the bus, as core banking would, and wait for the consumer to store it."""
    changed_at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    cloud.clients.events.put_events(
        Entries=[
            {
                "EventBusName": cloud.topology.bus_name,
                "Source": BANK_SOURCE,
                "DetailType": "CustomerProfileChanged",
                "Detail": json.dumps(profile_detail(customer_id, changed_at)),
            }
        ]
    )
    deadline = time.monotonic() + timeout_s
    key = {"customerId": {"S": customer_id}}
    while not cloud.clients.dynamodb.get_item(TableName="customers", Key=key, ConsistentRead=True).get("Item"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the bench customer {customer_id} was not stored within {timeout_s}s")
        time.sleep(0.05)


def bench_route(cloud: Any, meter: AwsCallMeter, route: Route, function: Function, recipe: Recipe, customer: str) -> Samples:
    subject, groups = (OPERATOR, ["operators"]) if recipe.as_operator else (customer, [])
    samples = Samples()
    for i in range(WARMUP + REQUESTS):
        event = api_event(route, {"customerId": customer}, subject, groups, recipe.body)
        total, aws, calls, result = measure(meter, lambda event=event: cloud.registry.invoke(function, event))  # type: ignore[misc]
        status = int(result.get("statusCode", 0))
        if not 200 <= status < 300 and len(samples.problems) < 3:
            samples.problems.append(f"{route.method} {route.path} answered {status}: {result.get('body', '')[:200]}")
        if i >= WARMUP:
            samples.total_ms.append(total)
            samples.aws_ms.append(aws)
            samples.calls.update(calls)
            samples.operations += 1
    return samples


def bench_consumer(cloud: Any, meter: AwsCallMeter, function: Function) -> Samples:
    samples = Samples()
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    for batch in range(2 + INGEST_BATCHES):  # 2 warm-up batches
        records = [sqs_record(bus_envelope(f"{prefix}-{batch}-{i}")) for i in range(BATCH_SIZE)]
        event = {"Records": records}
        total, aws, calls, result = measure(meter, lambda event=event: cloud.registry.invoke(function, event), per=BATCH_SIZE)  # type: ignore[misc]
        failures = (result or {}).get("batchItemFailures") or []
        if failures and len(samples.problems) < 3:
            samples.problems.append(f"{function.name}: {len(failures)} of {BATCH_SIZE} records failed in batch {batch}")
        if batch >= 2:
            samples.total_ms.append(total)
            samples.aws_ms.append(aws)
            samples.calls.update(calls)
            samples.operations += BATCH_SIZE
    return samples


def calls_per_operation(samples: Samples) -> str:
    def amount(count: int) -> str:
        per = count / samples.operations
        return str(round(per)) if abs(per - round(per)) < 1e-9 else f"{per:.2f}"

    return ", ".join(f"{name} {amount(count)}" for name, count in sorted(samples.calls.items())) or "none"


def run() -> Table:

    table = Table(
        f"Overhead: in-process handler time minus AWS call time ({REQUESTS} requests per route, "
        f"{INGEST_BATCHES} batches of {BATCH_SIZE} per consumer)",
        [
            Column("function"),
            Column("operation"),
            Column("n"),
            Column("total median", "ms", ".2f"),
            Column("total p95", "ms", ".2f"),
            Column("AWS median", "ms", ".2f"),
            Column("own median", "ms", ".2f"),
            Column("own p95", "ms", ".2f"),
            Column("AWS requests per operation"),
        ],
    )
    saved_environment = dict(os.environ)
    cloud = local_cloud()
    try:
        from loyalty.core import aws

        customer = f"bench-{uuid.uuid4().hex[:10]}"
        publish_bench_customer(cloud, customer)
        # The background pollers share the library's clients: stopped, they cannot add their calls.
        cloud.stop_background_work()
        meter = AwsCallMeter()
        for client in (aws.dynamodb(), aws.sqs(), aws.events()):
            meter.attach(client)

        problems: list[str] = []
        unmeasured: list[str] = []
        for route, function in TOPOLOGY.routes():
            recipe = RECIPES.get(f"{route.method} {route.path}")
            if recipe is None:
                unmeasured.append(f"{route.method} {route.path}")
                continue
            samples = bench_route(cloud, meter, route, function, recipe, customer)
            add_row(table, function.name, f"{route.method} {route.path}", samples)
            problems += samples.problems
        for function in TOPOLOGY.functions:
            if function.queue is not None and function.name in CONSUMERS:
                samples = bench_consumer(cloud, meter, function)
                add_row(table, function.name, f"SQS {function.queue}, per message", samples)
                problems += samples.problems
    finally:
        cloud.stop()
        os.environ.clear()
        os.environ.update(saved_environment)

    table.notes += [
        "total = handler invocation, in process (no HTTP, no API Gateway, no token check); own = total - AWS, per request",
        "AWS = from botocore's first event of a call to its parsed response: serialization, signing, HTTP to the "
        "in-process moto emulator and its work, parsing; so AWS times are the emulator's, not DynamoDB's",
        "consumer rows: each batch's times divided by its records; medians and p95 over batches",
        "local environment: Powertools tracing and metrics disabled, LOG_LEVEL from the shell (default WARNING)",
        "claims and accrual have sections of their own (flash_grab, accrual); routes that need set-up state per call "
        f"are not measured here: {', '.join(unmeasured) or 'none'}",
        *problems,
    ]
    return table


def add_row(table: Table, function: str, operation: str, samples: Samples) -> None:
    table.add(
        function,
        operation,
        samples.operations,
        median(samples.total_ms),
        percentile(samples.total_ms, 95),
        median(samples.aws_ms),
        median(samples.own_ms),
        percentile(samples.own_ms, 95),
        calls_per_operation(samples),
    )
