"""Cold start: each API function's import plus first request in a fresh interpreter, against boto3.

A local cloud (moto over HTTP, on free ports) serves AWS; a bench customer is published on its bus
and stored by `customers-ingest`, then its pollers and scheduler stop. Each sample is a new
`python -c` process with the environment the function gets on the local cloud (its
`function_environment`, the function's Powertools variables, Lambda's runtime variables; tracing off).
Before the clock: interpreter start-up, `json`, the proxy event read from stdin (built by the bench,
with a fresh Idempotency-Key) and a Lambda context object. On the clock (`time.perf_counter`): the
import of the handler module, then the handler's first invocation, to its return. The baseline is
the same for `import boto3`, `boto3.client("dynamodb")` on the emulator and one `GetItem` of the bench
customer. Runs are interleaved, so drift in the machine's speed affects every row alike, and one
discarded run per row first warms the page cache and writes the bytecode caches.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.cloud import local_cloud
from bench.sections.overhead import OPERATOR, RECIPES, Recipe, api_event, publish_bench_customer
from bench.stats import median
from bench.table import Column, Table
from infra.topology import LAMBDA_PYTHON_VERSION, TOPOLOGY, Function, Route

RUNS = 5
GOAL_RATIO = 1.5
ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 120
RESULT = "bench-result "  # prefix of the child's result line: the function's logs share its stdout
MARKER = "bench: first call"  # on stderr between the import and the call, to split -X importtime output
XRAY_DAEMON = "127.0.0.1:2000"  # nothing listens: the SDK's UDP datagrams are dropped, as they cost the same
UNKNOWN = "bench-unknown"  # ids of things that do not exist: the first request reads, finds nothing, answers 404


@dataclass(frozen=True)
class FirstRequest:
    """One function's first request: a route (a GET that reads DynamoDB where it has one) and its answer."""

    route: str  # "METHOD path", as in infra.topology
    expect: int
    recipe: Recipe | None = None  # None: overhead's recipe for the route, else the route's audience with no body


# The last resort for a function missing here is its first GET, else its first route.
FIRST_REQUESTS: dict[str, FirstRequest] = {
    "customers-api": FirstRequest("GET /v1/customers/{customerId}", 200),
    "customers-admin": FirstRequest("PUT /v1/admin/customers/{customerId}/tags", 200),
    "coupons-admin": FirstRequest("GET /v1/admin/coupon-templates", 200),
    "coupons-claim": FirstRequest("POST /v1/coupons/claims", 404, Recipe(body={"templateId": UNKNOWN, "channel": "mobile-app"})),
    "coupons-wallet": FirstRequest("GET /v1/customers/{customerId}/coupons", 200),
    "coupons-redemption": FirstRequest(
        "POST /v1/coupons/{couponId}/quote",
        404,
        Recipe(body={"orderAmountMinor": 68800, "currency": "CNY", "merchantId": "m-coffee-001", "channel": "mobile-app"}),
    ),
    "points-api": FirstRequest("GET /v1/customers/{customerId}/points", 200),
    "points-redemption": FirstRequest("GET /v1/points/redemptions/{redemptionId}", 404),
    "points-admin": FirstRequest("GET /v1/admin/point-rules", 200),
    "campaigns-admin": FirstRequest("GET /v1/admin/campaigns", 200),
    "campaigns-api": FirstRequest("GET /v1/customers/{customerId}/tasks", 200),
    "privacy-admin": FirstRequest("POST /v1/admin/customers/{customerId}/export", 200),
    "audit-api": FirstRequest("GET /v1/admin/audit", 200),
    "scoring-admin": FirstRequest("GET /v1/admin/segments", 200),
}

# What the child runs: the prelude, then a body that sets `started`, `imported`, `called`, `returned`
# and `status`, then the report. Only json, sys and time are imported before the clock.
PRELUDE = """
import json, sys, time
argv = sys.argv[1:]
stdin = json.loads(sys.stdin.read())
"""
HANDLER_BODY = """
import_path, name, memory_mb, request_id = argv

class Context:
    def __init__(self):
        self.function_name, self.function_version, self.memory_limit_in_mb = name, "$LATEST", int(memory_mb)
        self.invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:" + name
        self.aws_request_id, self.log_group_name, self.log_stream_name = request_id, "/aws/lambda/" + name, "bench"
    def get_remaining_time_in_millis(self):
        return 30000

context = Context()
started = time.perf_counter()
module = __import__(import_path, fromlist=["handler"])
imported = time.perf_counter()
print(MARKER, file=sys.stderr, flush=True)
called = time.perf_counter()
answer = module.handler(stdin, context)
returned = time.perf_counter()
status, body = answer.get("statusCode"), answer.get("body") or ""
"""
BASELINE_BODY = """
endpoint, region = argv
started = time.perf_counter()
import boto3
imported = time.perf_counter()
print(MARKER, file=sys.stderr, flush=True)
called = time.perf_counter()
item = boto3.client("dynamodb", endpoint_url=endpoint, region_name=region).get_item(**stdin)
returned = time.perf_counter()
status, body = item["ResponseMetadata"]["HTTPStatusCode"], "" if "Item" in item else '{"error": {"code": "ITEM_NOT_FOUND"}}'
"""
REPORT = """
print(RESULT + json.dumps({"import_ms": (imported - started) * 1000, "call_ms": (returned - called) * 1000, "status": status,
                           "body": body[:300], "xray": "aws_xray_sdk" in sys.modules}))
"""


def script(body: str) -> str:
    return f"MARKER, RESULT = {MARKER!r}, {RESULT!r}\n" + PRELUDE + body + REPORT


@dataclass
class Probe:
    label: str
    request: str
    body: str  # HANDLER_BODY or BASELINE_BODY
    argv: list[str]
    env: dict[str, str]
    stdin: Callable[[], Any]  # a fresh input per run (a new Idempotency-Key, request id)
    goal: bool
    expect: int
    import_ms: list[float] = field(default_factory=list)
    call_ms: list[float] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    xray: set[bool] = field(default_factory=set)

    @property
    def total_ms(self) -> list[float]:
        return [i + c for i, c in zip(self.import_ms, self.call_ms, strict=True)]

    def command(self, *options: str) -> list[str]:
        return [sys.executable, *options, "-c", script(self.body), *self.argv]


def runtime_environment() -> dict[str, str]:
    """What Lambda's runtime sets whatever the function (LAMBDA_TASK_ROOT: Powertools' tracer checks it)."""
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "LANG": "C.UTF-8",
        "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'layers' / 'loyalty' / 'python'}",
        "LAMBDA_TASK_ROOT": str(ROOT),
        "AWS_EXECUTION_ENV": f"AWS_Lambda_python{LAMBDA_PYTHON_VERSION}",
    }


def function_env(cloud_env: dict[str, str], function: Function, tracing: bool) -> dict[str, str]:
    env = {
        **runtime_environment(),
        **cloud_env,
        "AWS_REGION": cloud_env["AWS_DEFAULT_REGION"],
        "AWS_LAMBDA_FUNCTION_NAME": function.name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
        "_HANDLER": function.handler,
        "POWERTOOLS_SERVICE_NAME": function.capability,
    }
    if tracing:  # as Lambda with active tracing: the daemon's address, and the invocation's sampled trace header
        env.pop("POWERTOOLS_TRACE_DISABLED", None)
        env["AWS_XRAY_DAEMON_ADDRESS"] = XRAY_DAEMON
        env["_X_AMZN_TRACE_ID"] = f"Root=1-{uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=1"
    else:
        env["POWERTOOLS_TRACE_DISABLED"] = "true"
        env.pop("AWS_XRAY_DAEMON_ADDRESS", None)
    return env


def first_request(function: Function) -> tuple[Route, FirstRequest]:
    routes = {f"{r.method} {r.path}": r for r in function.routes}
    chosen = FIRST_REQUESTS.get(function.name)
    if chosen is None or chosen.route not in routes:
        route = next((r for r in function.routes if r.method == "GET"), function.routes[0])
        chosen = FirstRequest(f"{route.method} {route.path}", 200)
    return routes[chosen.route], chosen


def function_probe(function: Function, cloud_env: dict[str, str], customer: str, tracing: bool = False) -> Probe:
    route, chosen = first_request(function)
    recipe = chosen.recipe or RECIPES.get(chosen.route) or Recipe(as_operator=route.audience == "operator")
    subject, groups = (OPERATOR, ["operators"]) if recipe.as_operator else (customer, [])
    path_values = {"customerId": customer, **{name: UNKNOWN for name in ("couponId", "redemptionId", "templateId", "ruleId")}}
    return Probe(
        label=f"{function.name} (tracing on)" if tracing else function.name,
        request=chosen.route,
        body=HANDLER_BODY,
        argv=[function.import_path, function.name, str(function.memory_mb), str(uuid.uuid4())],
        env=function_env(cloud_env, function, tracing),
        stdin=lambda: api_event(route, path_values, subject, groups, recipe.body),
        goal=not tracing,
        expect=chosen.expect,
    )


def baseline_probe(cloud_env: dict[str, str], customer: str) -> Probe:
    env = {**runtime_environment(), **cloud_env, "AWS_REGION": cloud_env["AWS_DEFAULT_REGION"]}
    key = {"TableName": "customers", "Key": {"customerId": {"S": customer}}}
    return Probe(
        label="baseline: boto3 + client + GetItem",
        request="GetItem customers",
        body=BASELINE_BODY,
        argv=[cloud_env["AWS_ENDPOINT_URL"], cloud_env["AWS_DEFAULT_REGION"]],
        env=env,
        stdin=lambda: key,
        goal=False,
        expect=200,
    )


def answer_of(result: dict[str, Any]) -> str:
    """The status, and the error code of an error body."""
    try:
        code = json.loads(result["body"])["error"]["code"]
    except (ValueError, KeyError, TypeError):
        code = ""
    return f"{result['status']} {code}".strip()


def measure_once(probe: Probe, keep: bool) -> None:
    try:
        done = subprocess.run(probe.command(), input=json.dumps(probe.stdin()), env=probe.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        probe.answers["timeout"] += keep
        return
    line = next((x for x in reversed(done.stdout.splitlines()) if x.startswith(RESULT)), None)
    if done.returncode != 0 or line is None:
        last = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        probe.answers["crashed"] += keep
        if len(probe.problems) < 1:
            probe.problems.append(f"{probe.label}: the process failed: {last[:300]}")
        return
    result = json.loads(line.removeprefix(RESULT))
    answer = answer_of(result)
    if result["status"] != probe.expect and len(probe.problems) < 1:
        probe.problems.append(f"{probe.label}: {probe.request} answered {answer}, not {probe.expect}: {result['body'][:200]}")
    if keep:
        probe.import_ms.append(result["import_ms"])
        probe.call_ms.append(result["call_ms"])
        probe.answers[answer] += 1
        probe.xray.add(result["xray"])


def heaviest_packages(probe: Probe, top: int = 6) -> tuple[str, str]:
    """Where the time goes: `-X importtime` self times per top-level package, in the import and in the first call."""
    done = subprocess.run(probe.command("-X", "importtime"), input=json.dumps(probe.stdin()), env=probe.env, cwd=ROOT,
                          capture_output=True, text=True, timeout=TIMEOUT_S, check=False)
    parts: list[dict[str, int]] = [{}, {}]
    part = 0
    for line in done.stderr.splitlines():
        if line == MARKER:
            part = 1
        cells = line.removeprefix("import time:").split("|")
        if not line.startswith("import time:") or len(cells) != 3 or not cells[0].strip().isdigit():
            continue
        package = cells[2].strip().split(".")[0]
        parts[part][package] = parts[part].get(package, 0) + int(cells[0])

    def heaviest(by_package: dict[str, int]) -> str:
        ranked = sorted(by_package.items(), key=lambda item: -item[1])[:top]
        total = sum(by_package.values()) / 1000
        return f"{total:.0f} ms in all: " + (", ".join(f"{name} {us / 1000:.0f}" for name, us in ranked) or "nothing")

    return heaviest(parts[0]), heaviest(parts[1])


def run() -> Table:
    from infra.local.cloud import function_environment

    saved_environment = dict(os.environ)
    cloud = local_cloud()
    try:
        customer = f"bench-{uuid.uuid4().hex[:10]}"
        seeding: list[str] = []
        try:
            publish_bench_customer(cloud, customer)
        except Exception as error:  # the rows still run: their first requests find no customer
            seeding.append(f"the bench customer was not stored ({error}): first requests about them may answer 404")
        cloud.stop_background_work()  # the pollers would compete for the CPU with the children
        cloud_env = function_environment(TOPOLOGY, cloud.emulator.url, cloud.provisioned)
        api_functions = [f for f in TOPOLOGY.functions if f.routes]
        baseline = baseline_probe(cloud_env, customer)
        probes = [baseline, *(function_probe(f, cloud_env, customer) for f in api_functions)]
        if api_functions:
            probes.append(function_probe(api_functions[0], cloud_env, customer, tracing=True))
        for probe in probes:  # warm-up: page cache and .pyc files; not counted
            measure_once(probe, keep=False)
        for _ in range(RUNS):
            for probe in probes:
                measure_once(probe, keep=True)
        packages = (*heaviest_packages(probes[1]), heaviest_packages(probes[-1])[1]) if api_functions else None
    finally:
        cloud.stop()
        os.environ.clear()
        os.environ.update(saved_environment)
    table = table_of(probes, baseline, packages)
    table.notes += seeding
    return table


def table_of(probes: list[Probe], baseline: Probe, packages: tuple[str, str, str] | None) -> Table:
    table = Table(
        f"Cold start: import + first request in a fresh interpreter, against the local cloud, median of {RUNS} runs",
        [
            Column("function"),
            Column("first request"),
            Column("answer"),
            Column("total median", "ms", ".0f"),
            Column("min", "ms", ".0f"),
            Column("max", "ms", ".0f"),
            Column("import median", "ms", ".0f"),
            Column("first call median", "ms", ".0f"),
            Column("ratio to baseline", "x", ".2f"),
            Column(f"goal ≤ {GOAL_RATIO}x met"),
            Column("X-Ray SDK loaded"),
        ],
    )
    baseline_ms = median(baseline.total_ms) if baseline.total_ms else None
    for probe in probes:
        answer = ", ".join(f"{a}" if n == RUNS else f"{a} ×{n}" for a, n in probe.answers.most_common())
        total = probe.total_ms
        if not total:
            table.add(probe.label, probe.request, answer or "-", None, None, None, None, None, None, "n/a", None)
            continue
        ratio = median(total) / baseline_ms if baseline_ms else None
        goal: str | bool = "n/a" if not probe.goal or ratio is None else ratio <= GOAL_RATIO
        xray: str | bool = any(probe.xray) if len(probe.xray) == 1 else "sometimes"
        table.add(probe.label, probe.request, answer, median(total), min(total), max(total), median(probe.import_ms),
                  median(probe.call_ms), ratio, goal, xray)
    table.notes += [
        "each run a new `python -c`: the clock starts before the handler module's import and stops when the handler's "
        "first invocation returns; interpreter start-up, json, reading the proxy event and the context object come before it",
        "import and first call are medians of their own: they need not add up to the total median",
        "first request: a GET that reads DynamoDB where the function has one, else a mutating route that reaches it "
        f"(an unknown id: 404 after the read); as the bench customer (published on the bus), or as {OPERATOR} on admin routes",
        "environment: the local cloud's function_environment (AWS_ENDPOINT_URL, tables, queues, LOG_LEVEL from the shell, "
        "default WARNING, metrics disabled), the function's Powertools service name, Lambda's AWS_LAMBDA_* and "
        "LAMBDA_TASK_ROOT; tracing off (POWERTOOLS_TRACE_DISABLED=true, no AWS_XRAY_DAEMON_ADDRESS)",
        "baseline: import boto3, boto3.client('dynamodb') on the emulator, one GetItem of the bench customer; import = "
        "import boto3, first call = the client and the GetItem",
        "the tracing row: the same function with tracing on as Lambda's active tracing makes it (AWS_XRAY_DAEMON_ADDRESS="
        f"{XRAY_DAEMON}, a sampled _X_AMZN_TRACE_ID, no POWERTOOLS_TRACE_DISABLED): the cost of tracing; no goal",
        "X-Ray SDK loaded: aws_xray_sdk in sys.modules after the first call (tracing is imported only when it is on)",
        "AWS here is moto in the bench process, over HTTP on this machine: its time is in the first call, as DynamoDB's is in AWS",
        f"this machine runs Python {sys.version.split()[0]}; Lambda runs Python {LAMBDA_PYTHON_VERSION} on arm64",
    ]
    traced = probes[-1] if probes[-1].label.endswith("(tracing on)") else None
    if traced is not None and traced.total_ms and probes[1].total_ms:
        extra = median(traced.total_ms) - median(probes[1].total_ms)
        table.notes.append(f"tracing on costs {probes[1].label} {extra:+.0f} ms of median cold start in this run")
    if packages is not None:
        first = probes[1]
        table.notes += [
            f"heaviest packages under {first.label}, self import time per top-level package in ms (one -X importtime run, "
            f"stdlib included): the import, {packages[0]}",
            f"  ... imported during its first call, {packages[1]}",
            f"  ... and during its first call with tracing on, {packages[2]}",
        ]
    table.notes += [p for probe in probes for p in probe.problems]
    return table
