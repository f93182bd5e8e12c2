"""A scheduled campaign's audience fan-out on the emulator over `CUSTOMERS` synthetic customers (the issue's
100,000 by default), and the workers' grants on a sample of its work items (`SAMPLE`, 2,000 by default).

A local cloud (moto over HTTP, on free ports; its pollers, stream pollers and scheduler stopped) is
seeded, untimed, with `CUSTOMERS` profiles in the `customers` table (BatchWriteItem, 25 a call, from a few
threads), all carrying the tag the audience asks for. One operator saves a scheduled campaign (daily at
09:00 bank time; audience `tagsAll: [TAG]`; 10% control; one variant awarding 100 points; a budget of one
reward per customer; once per customer for life), submits it, and another approves it. Then, timed:

1. the scheduler's tick (`loyalty.campaigns.runs.tick`) at the latest 09:00 slot claims it and starts a
   run (`runs.fire`);
2. the fan-out function (`campaigns-fanout`, i.e. `runs.page`) runs in a Python process of its own
   (`bench.child`), as a Lambda environment would, invoked once per page with the SQS record the
   `campaign-run-pages` rule delivers (the outbox's `CampaignRunPageRequested`, page n+1 requested by
   page n), until the audience scan ends: every customer goes to SQS in a work item. That process counts
   its own AWS requests and reports its peak RSS (VmHWM) and tracemalloc;
3. after each page, its work items are drained from the `campaign-grants` queue by the local event
   source mapping's own code (`infra.local.pollers.QueuePoller.poll_once`: ReceiveMessage, a handler,
   DeleteMessageBatch), called in a loop here instead of on its thread; then the next page is asked for.
   While fewer than `SAMPLE` customers have been drained, the handler is the `campaigns-worker` (the
   grants); after that it is a collector that only reads the work items, so that every work item of the
   audience is received, checked and deleted without granting it.

Why a sample: on the emulator a grant costs ~25 ms of the workers (moto serializes one TransactWriteItems of
8 items and a GetItem per customer), so 100,000 grants take three quarters of an hour or more; the fan-out
itself takes about five minutes.
The workers' rates are measured on the sample and extrapolated to `CUSTOMERS`.

Pages and drains alternate, instead of overlapping as in AWS: the emulator serializes every request
anyway, each phase is timed on its own, and the queue stays short. That matters on moto, whose
SendMessageBatch costs ~0.3 ms more for every message already in the queue (it computes the queue's
attributes, counting its messages, for each message sent: 39 ms into an empty queue, 1.6 s at 5,000);
SQS has no such cost, and 10,000 work items paged ahead of their consumers would mostly measure that.
Afterwards the judges are the work items (every customer exactly once), the run's progress, the arms'
counters, the budget and (for samples of up to `CHECK_LIMIT` customers) one consistent Scan of the
campaigns table: one grant per sampled customer and none for the others, the control share, one
`AwardPoints` outbox item per granted customer.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from bench import child
from bench.cloud import local_cloud
from bench.process_state import forget_engine_state
from bench.stats import median, percentile
from bench.table import Column, Table
from infra.topology import DEFAULT_BANK_TIME_ZONE, TOPOLOGY

ISSUE_CUSTOMERS = 100_000  # "a fan-out of a scheduled campaign over 100,000 synthetic customers"
CUSTOMERS = int(os.environ.get("CAMPAIGN_FANOUT_CUSTOMERS", ISSUE_CUSTOMERS))
# Customers whose work items the workers grant (whole pages: the first pages covering SAMPLE customers);
# CAMPAIGN_FANOUT_SAMPLE=100000 grants them all (about 45 minutes more on the emulator, 2 cores).
SAMPLE = min(CUSTOMERS, int(os.environ.get("CAMPAIGN_FANOUT_SAMPLE", 2_000)))
ISSUE_MEMORY_MB = 512  # "must stay within a 512 MB Lambda"
CONTROL_PERCENT = 10
POINTS = 100
SCHEDULE = "cron(0 9 * * ? *)"
CHECK_LIMIT = 5_000  # sampled customers: above this the full-table Scan of the checks would take longer than the run
SLICES = 5  # the workers' rate in consecutive fifths of the sampled work items
TRACE_EVERY = 20  # pages 1, 21, 41, ... of the fan-out run under tracemalloc (it slows what it traces)
SEED_BATCH, SEED_THREADS = 25, 4
FANOUT, WORKER = "campaigns-fanout", "campaigns-worker"
MAKER, CHECKER = "bench-maker", "bench-checker"


# ---- counting requests ---------------------------------------------------------------------------


def _label(event_name: str) -> str:
    _, service, operation = [*event_name.split("."), "", ""][:3]
    return f"{'DynamoDB' if service == 'dynamodb' else service.upper()} {operation}"


class Requests:
    """HTTP sends (retries included) of the clients it is attached to, by service and operation, and the
    seconds spent in their calls (from botocore's first event of a call to the parsed response)."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.seconds = 0.0
        self.op_seconds: Counter[str] = Counter()

    def hook(self, event_name: str = "", **_: Any) -> None:
        self.counts[_label(event_name)] += 1

    def started(self, context: dict[str, Any], event_name: str = "", **_: Any) -> None:
        context["bench_started"] = (time.perf_counter(), _label(event_name))

    def finished(self, context: dict[str, Any], **_: Any) -> None:
        began = context.pop("bench_started", None)
        if began is not None:
            elapsed = time.perf_counter() - began[0]
            self.seconds += elapsed
            self.op_seconds[began[1]] += elapsed

    def ms_per_call(self, service: str) -> str:
        return ", ".join(f"{op.split(' ', 1)[1]} {self.op_seconds[op] * 1000 / n:.1f}" for op, n in sorted(self.counts.items())
                         if op.startswith(service) and n) or "-"

    def _hooks(self) -> list[tuple[str, Any]]:
        return [("before-send", self.hook), ("provide-client-params", self.started), ("after-call", self.finished),
                ("after-call-error", self.finished)]

    def attach(self, *clients: Any) -> None:
        for client in clients:
            for event, hook in self._hooks():
                client.meta.events.register(event, hook)

    def detach(self, *clients: Any) -> None:
        for client in clients:
            for event, hook in self._hooks():
                client.meta.events.unregister(event, hook)



def of(counts: Counter[str], service: str) -> int:
    return sum(n for op, n in counts.items() if op.startswith(service))


def per(count: float, customers: int) -> str:
    return f"{count / max(1, customers):.3f}"


def by_operation(counts: Counter[str] | dict[str, int], customers: int, service: str) -> str:
    found = sorted((op.split(" ", 1)[1], n) for op, n in counts.items() if op.startswith(service))
    return ", ".join(f"{op} {per(n, customers)}" for op, n in found) or "none"


# ---- the fan-out function, in a process of its own -----------------------------------------------

# Appended to bench.child's preamble (argv: MARK, TRACE_EVERY). The first stdin line names the run; then
# each "go" line asks for the next page, and each page's outcome comes back as a line marked MARK on
# stdout (the function's own log lines may come in between). Page 0 is the cold start (imports, clients);
# pages 1, 1 + TRACE_EVERY, ... are also traced by tracemalloc (its bookkeeping slows what it traces:
# their times are reported apart). After the last page, page 0 is delivered again: a redelivered request
# must do nothing.
MARK = "@@campaign-fanout "
FANOUT_PROCESS = """
from collections import Counter

MARK, trace_every = argv[0], int(argv[1])

def say(message):
    print(MARK + json.dumps(message), flush=True)

run = json.loads(sys.stdin.readline())
requests, seconds, counting = Counter(), Counter(), [False]
def count(event_name="", **_):
    if counting[0]:
        requests[event_name] += 1
def call_started(context, event_name="", **_):
    context["bench_started"] = (time.perf_counter(), event_name.replace("provide-client-params.", "before-send."))
def call_finished(context, **_):
    began = context.pop("bench_started", None)
    if began is not None and counting[0]:
        seconds[began[1]] += time.perf_counter() - began[0]

from loyalty.campaigns import runs
from loyalty.core import aws
pages = []  # (customers in the audience page, last page?)
audience_page = runs._audience_page
def recording(*args, **kwargs):
    customers, cursor = audience_page(*args, **kwargs)
    pages.append((len(customers), cursor is None))
    return customers, cursor
runs._audience_page = recording
for client in (aws.dynamodb(), aws.sqs()):
    client.meta.events.register("before-send", count)
    client.meta.events.register("provide-client-params", call_started)
    client.meta.events.register("after-call", call_finished)
    client.meta.events.register("after-call-error", call_finished)

def record(page):
    detail = {"eventId": str(uuid.uuid4()), "campaignId": run["campaignId"], "runId": run["runId"], "page": page}
    body = {"version": "0", "id": str(uuid.uuid4()), "source": "loyalty.campaigns", "detail-type": "CampaignRunPageRequested",
            "account": "000000000000", "time": "2026-01-01T00:00:00Z", "region": "us-east-1", "resources": [], "detail": detail}
    return {"Records": [{"messageId": str(uuid.uuid4()), "receiptHandle": "bench", "body": json.dumps(body),
                         "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {}, "eventSource": "aws:sqs",
                         "eventSourceARN": run["queueArn"], "awsRegion": "us-east-1"}]}

out = {"untraced_ms": [], "traced_ms": [], "failed": 0, "transient": 0, "error": ""}
handler = None
page = -1
while sys.stdin.readline().strip() == "go":
    page += 1
    traced = page % trace_every == 1
    if traced:
        tracemalloc.start()
        before, _ = tracemalloc.get_traced_memory()
    counting[0] = True
    began = time.perf_counter()
    if handler is None:
        handler = load_handler()
    failed = len(handler(record(page), context(60000))["batchItemFailures"])
    elapsed = (time.perf_counter() - began) * 1000
    counting[0] = False
    if traced:
        current, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        out["transient"] = max(out["transient"], peak - before)
    out["failed"] += failed
    if page == 0:
        out["cold_ms"], out["warm_kb"] = elapsed, peak_rss_kb()
    else:
        out["traced_ms" if traced else "untraced_ms"].append(elapsed)
    if len(pages) != page + 1:
        out["error"] = f"page {page} did not read the audience (run not running, or handed over already)"
    last = bool(failed or out["error"] or pages[-1][1])
    say({"page": page, "last": last, "customers": pages[-1][0] if len(pages) == page + 1 else 0})
    if last:
        break
out["requests"], out["seconds"] = dict(requests), dict(seconds)
requests.clear()
counting[0] = True
out["failed_redelivery"] = len(handler(record(0), context(60000))["batchItemFailures"])
counting[0] = False
out["redelivery_requests"] = dict(requests)
out["pages"] = len(pages)
out["customers"] = sum(n for n, _ in pages)
out["maxrss_kb"] = peak_rss_kb()
say({"result": out})
"""


@dataclass
class Fanout:
    pages: int = 0
    customers: int = 0  # sent as work items
    process_s: float = 0.0  # the child process's life: its start, imports and every page (not the drains between)
    cold_ms: float = 0.0
    untraced_ms: list[float] = field(default_factory=list)
    traced_ms: list[float] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)
    aws_ms_per_call: str = ""
    aws_s: float = 0.0  # inside AWS calls, all pages
    redelivery_requests: Counter[str] = field(default_factory=Counter)
    failed: int = 0
    failed_redelivery: int = 0
    maxrss_mb: float = 0.0
    warm_mb: float = 0.0
    transient_kb: float = 0.0
    error: str = ""

    def take(self, out: dict[str, Any]) -> None:
        self.pages, self.customers, self.cold_ms = out["pages"], out["customers"], out.get("cold_ms", 0.0)
        self.untraced_ms, self.traced_ms = out["untraced_ms"], out["traced_ms"]
        self.requests = Counter({_label(k): v for k, v in out["requests"].items()})
        self.aws_ms_per_call = ", ".join(f"{_label(k).split(' ', 1)[1]} {v * 1000 / out['requests'][k]:.1f}"
                                         for k, v in sorted(out["seconds"].items()) if out["requests"].get(k))
        self.aws_s = sum(out["seconds"].values())
        self.redelivery_requests = Counter({_label(k): v for k, v in out["redelivery_requests"].items()})
        self.failed, self.failed_redelivery = out["failed"], out["failed_redelivery"]
        self.maxrss_mb, self.warm_mb, self.transient_kb = out["maxrss_kb"] / 1024, out.get("warm_kb", 0) / 1024, out["transient"] / 1024
        self.error = out["error"]


class FanoutProcess:
    """The campaigns-fanout function in a process of its own, one page at a time on request."""

    def __init__(self, campaign_id: str, run_id: str, queue_arn: str):
        self.stderr = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115  # closed in close()
        self.process = child.start(TOPOLOGY.function(FANOUT), FANOUT_PROCESS, MARK, str(TRACE_EVERY), stderr=self.stderr)
        self._send(json.dumps({"campaignId": campaign_id, "runId": run_id, "queueArn": queue_arn}))

    def _send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def next_page(self) -> dict[str, Any]:
        self._send("go")
        return self._read()

    def result(self) -> dict[str, Any]:
        return dict(self._read()["result"])

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith(MARK):
                return dict(json.loads(line[len(MARK):]))
        self.stderr.seek(0)
        raise RuntimeError(f"the fan-out process ended (exit {self.process.wait()}): {self.stderr.read().strip()[-400:]}")

    def close(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.stderr.close()


# ---- the workers and the collector ---------------------------------------------------------------


@dataclass
class Work:
    """The workers, on the sample: the work items of the first pages, until SAMPLE customers."""

    invocations: int = 0
    items: int = 0  # SQS messages handled: work items of up to 10 customers
    customers: int = 0  # in those work items
    failed: int = 0
    wall_s: float = 0.0
    slice_rates: list[float] = field(default_factory=list)  # work items/s in consecutive fifths
    invocation_ms: list[float] = field(default_factory=list)
    requests: Counter[str] = field(default_factory=Counter)  # the worker's own (DynamoDB)
    aws_s: float = 0.0  # the worker's time inside its AWS calls
    aws_ms_per_call: str = ""
    mapping_requests: Counter[str] = field(default_factory=Counter)  # the event source mapping's (SQS)
    first_event: dict[str, Any] | None = None


@dataclass
class Sent:
    """Every work item the fan-out sent, as the workers or the collector received it."""

    items: int = 0
    customers: Counter[str] = field(default_factory=Counter)  # customer -> work items naming them
    largest: int = 0  # customers in the largest work item
    sampled: list[str] = field(default_factory=list)  # the customers of the work items the workers handled
    item_ids: Counter[str] = field(default_factory=Counter)

    def add(self, event: dict[str, Any], sampled: bool) -> None:
        for record in event["Records"]:
            body = json.loads(record["body"])
            self.items += 1
            self.item_ids[body["itemId"]] += 1
            self.customers.update(body["customerIds"])
            self.largest = max(self.largest, len(body["customerIds"]))
            if sampled:
                self.sampled += body["customerIds"]


@dataclass
class Collected:
    """The collector, on the work items after the sample: received, read and deleted, not granted."""

    items: int = 0
    wall_s: float = 0.0
    requests: Counter[str] = field(default_factory=Counter)  # its SQS calls, the same as the event source mapping's


class Recording:
    """The registry the workers' poller invokes through: times each invocation, keeps the first event."""

    def __init__(self, registry: Any, work: Work, sent: Sent):
        self.registry, self.work, self.sent = registry, work, sent

    def invoke(self, function: Any, event: dict[str, Any]) -> Any:
        if self.work.first_event is None:
            self.work.first_event = event
        self.sent.add(event, sampled=True)
        started = time.perf_counter()
        try:
            return self.registry.invoke(function, event)
        finally:
            self.work.invocation_ms.append((time.perf_counter() - started) * 1000)


class Collecting:
    """The registry the collector's poller invokes through: reads the work items, grants nothing."""

    def __init__(self, sent: Sent):
        self.sent = sent

    def invoke(self, function: Any, event: dict[str, Any]) -> Any:
        self.sent.add(event, sampled=False)
        return {"batchItemFailures": []}


def _poll_until_empty(poller: Any, handled_so_far: int, seconds_so_far: float, polls: list[tuple[int, float]]) -> tuple[int, float]:
    """poll_once until the queue answers empty twice in a row; (messages handled, seconds)."""
    started, handled, empty = time.perf_counter(), 0, 0
    while empty < 2:  # an empty receive, then one more to be sure
        got = poller.poll_once()
        empty = 0 if got else empty + 1
        handled += got
        polls.append((handled_so_far + handled, seconds_so_far + time.perf_counter() - started))
    return handled, time.perf_counter() - started


class Drains:
    """The campaign-grants event source mapping, polled here after each page: by the campaigns-worker while
    the sample is not full, then by the collector. `after_page()` empties the queue."""

    def __init__(self, cloud: Any):
        from infra.local.pollers import QueuePoller
        from loyalty.core import aws

        self.work, self.collected, self.sent = Work(), Collected(), Sent()
        function = TOPOLOGY.function(WORKER)
        queue = TOPOLOGY.queue(function.queue or "")
        url, arn = cloud.provisioned.queue_urls[queue.name], cloud.provisioned.queue_arns[queue.name]
        # never started: polled here, on this thread
        self.workers = QueuePoller(queue, url, arn, function, Recording(cloud.registry, self.work, self.sent), cloud.clients.sqs)  # type: ignore[arg-type]
        self.collector = QueuePoller(queue, url, arn, function, Collecting(self.sent), cloud.clients.sqs)  # type: ignore[arg-type]
        self.worker_requests, self.mapping_requests, self.collector_requests = Requests(), Requests(), Requests()
        self.worker_clients, self.sqs = (aws.dynamodb(), aws.sqs()), cloud.clients.sqs
        self.polls: list[tuple[int, float]] = []  # (work items handled so far, seconds spent draining so far)
        self.sampled_customers = 0  # customers of the pages the workers drained

    @property
    def wall_s(self) -> float:
        return self.work.wall_s + self.collected.wall_s

    def after_page(self, customers: int) -> None:
        if self.sampled_customers < SAMPLE:
            self.sampled_customers += customers
            self.worker_requests.attach(*self.worker_clients)
            self.mapping_requests.attach(self.sqs)
            try:
                handled, seconds = _poll_until_empty(self.workers, self.work.items, self.work.wall_s, self.polls)
            finally:
                self.worker_requests.detach(*self.worker_clients)
                self.mapping_requests.detach(self.sqs)
            self.work.items, self.work.wall_s = self.work.items + handled, self.work.wall_s + seconds
        else:
            self.collector_requests.attach(self.sqs)
            try:
                handled, seconds = _poll_until_empty(self.collector, self.collected.items, self.collected.wall_s, [])
            finally:
                self.collector_requests.detach(self.sqs)
            self.collected.items, self.collected.wall_s = self.collected.items + handled, self.collected.wall_s + seconds

    def finish(self) -> tuple[Work, Collected, Sent]:
        work = self.work
        work.invocations, work.failed, work.customers = self.workers.batches, self.workers.failures, len(self.sent.sampled)
        work.requests, work.mapping_requests = self.worker_requests.counts, self.mapping_requests.counts
        work.aws_s, work.aws_ms_per_call = self.worker_requests.seconds, self.worker_requests.ms_per_call("DynamoDB")
        # work items per second of draining, in consecutive fifths of the items (cut at the polls that crossed each fifth)
        mark_items, mark_s = 0, 0.0
        for i in range(SLICES):
            edge = work.items * (i + 1) // SLICES
            crossed = next(((items, at) for items, at in self.polls if items >= edge and at > mark_s), None)
            if crossed is None:
                break
            work.slice_rates.append((crossed[0] - mark_items) / (crossed[1] - mark_s))
            mark_items, mark_s = crossed
        self.collected.requests = self.collector_requests.counts
        return work, self.collected, self.sent


def fan_out(cloud: Any, campaign_id: str, run_id: str) -> tuple[Fanout, Work, Collected, Sent]:
    """Page after page through the fan-out process; each page's work items drained before the next page is
    asked for (see the notes: moto's SendMessageBatch slows down with every message already queued).
    The fan-out's `process_s` excludes the drains."""
    fanout, drains = Fanout(), Drains(cloud)
    started = time.perf_counter()
    process = FanoutProcess(campaign_id, run_id, cloud.provisioned.queue_arns[TOPOLOGY.function(FANOUT).queue or ""])
    try:
        while True:
            page = process.next_page()
            drains.after_page(page["customers"])
            if page["last"]:
                break
        fanout.take(process.result())
    except RuntimeError as error:
        fanout.error = str(error)
    finally:
        process.close()
    fanout.process_s = time.perf_counter() - started - drains.wall_s
    return (fanout, *drains.finish())


# ---- setting up ----------------------------------------------------------------------------------


def seed(client: Any, prefix: str, tag: str, count: int) -> list[str]:
    """`count` profiles, all tagged, with BatchWriteItem (25 a call) from SEED_THREADS threads."""
    from loyalty.core.dynamo import to_item

    ids = [f"{prefix}-{n:07d}" for n in range(count)]

    def write(start: int) -> None:
        puts = [{"PutRequest": {"Item": to_item({"customerId": c, "changedAt": "2026-01-01T00:00:00.000000Z", "sourceEventId": "bench-seed",
                                                 "tags": [tag], "tier": "silver", "segments": ["active"]})}}
                for c in ids[start : start + SEED_BATCH]]
        request: dict[str, Any] = {"customers": puts}
        while request:
            request = client.batch_write_item(RequestItems=request).get("UnprocessedItems") or {}

    with ThreadPoolExecutor(SEED_THREADS) as pool:
        list(pool.map(write, range(0, count, SEED_BATCH)))
    return ids


def definition(campaign_id: str, tag: str, customers: int, now: datetime) -> Any:
    from loyalty.campaigns.model import CampaignDefinition

    return CampaignDefinition.model_validate({
        "campaignId": campaign_id,
        "name": "Bench: daily points to tagged customers",
        "window": {"startsAt": (now - timedelta(days=2)).isoformat(), "endsAt": (now + timedelta(days=1)).isoformat()},
        "trigger": {"type": "schedule", "expression": SCHEDULE, "timezone": os.environ.get("BANK_TIME_ZONE", DEFAULT_BANK_TIME_ZONE)},
        "audience": {"tagsAll": [tag]},
        "variants": [{"variantId": "main", "weightPercent": 100,
                      "actions": [{"type": "award_points", "points": POINTS, "costCentre": "cc-marketing"}]}],
        "controlPercent": CONTROL_PERCENT,
        "budget": {"unit": "rewards", "total": customers},
        "frequencyCaps": {"lifetime": 1},
        "fundingCostCentre": "cc-marketing",
    })


def launch(store: Any, campaign: Any, now: datetime) -> None:
    from loyalty.campaigns import service
    from loyalty.campaigns.model import Transition
    from loyalty.core.auth import Caller

    service.save(store, campaign, MAKER, now, create=True)
    service.transition(store, campaign.campaignId, "submit", Transition(), Caller(MAKER, frozenset({"operators"})), now)
    service.transition(store, campaign.campaignId, "approve", Transition(note="bench"),
                       Caller(CHECKER, frozenset({"operators", "approvers"})), now)


def latest_slot(now: datetime) -> datetime:
    """The latest 09:00 (bank time) at or before now: the slot the scheduler's tick is given."""
    zone = ZoneInfo(os.environ.get("BANK_TIME_ZONE", DEFAULT_BANK_TIME_ZONE))
    local = now.astimezone(zone)
    slot = datetime.combine(local.date(), clock_time(9, 0), tzinfo=zone)
    return slot if slot <= local else slot - timedelta(days=1)


# ---- checks --------------------------------------------------------------------------------------


@dataclass
class Books:
    run: dict[str, Any] = field(default_factory=dict)
    arms: dict[str, dict[str, int]] = field(default_factory=dict)
    budget_spent: int = 0
    expected_control: int = 0  # of the sampled customers, worked out with arm_of
    expected_control_all: int = 0  # of all the customers: what the whole run's control arm would hold
    # the work items, as received: against the seeded customers
    sent_customers: int = 0
    sent_distinct: int = 0
    sent_twice: int = 0  # customers in more than one work item
    sent_missing: int = 0  # seeded customers in no work item
    sent_unknown: int = 0  # customers in work items who were not seeded
    sent_largest: int = 0  # customers in the largest work item
    item_ids_twice: int = 0
    scanned: bool = False
    grants: Counter[str] = field(default_factory=Counter)  # status -> grant records
    customers_with_grants: int = 0
    customers_granted_twice: int = 0
    granted_outside_sample: int = 0  # customers with a grant record whose work item went to the collector
    outbox: Counter[str] = field(default_factory=Counter)  # detail-type -> items of this campaign
    queue_left: int = 0  # messages still in campaign-grants, visible or not
    check_s: float = 0.0


def check(cloud: Any, store: Any, campaign: Any, run_id: str, ids: list[str], sent: Sent) -> Books:
    from loyalty.campaigns import runs, targeting
    from loyalty.core.dynamo import from_item

    started = time.perf_counter()
    books = Books(run=runs.get(store, campaign.campaignId, run_id))
    for arm in store.arms(campaign.campaignId):
        books.arms[arm["sk"].removeprefix("ARM#")] = {k: int(arm.get(k, 0)) for k in ("targeted", "granted", "cost")}
    books.budget_spent = int((store.budget(campaign.campaignId, "TOTAL") or {}).get("spent", 0))
    books.expected_control = sum(targeting.arm_of(campaign, c) == "control" for c in sent.sampled)
    books.expected_control_all = sum(targeting.arm_of(campaign, c) == "control" for c in ids)
    seeded = set(ids)
    books.sent_customers, books.sent_distinct = sum(sent.customers.values()), len(sent.customers)
    books.sent_twice = sum(1 for n in sent.customers.values() if n > 1)
    books.sent_missing = len(seeded - sent.customers.keys())
    books.sent_unknown = len(sent.customers.keys() - seeded)
    books.item_ids_twice = sum(1 for n in sent.item_ids.values() if n > 1)
    books.sent_largest = sent.largest
    queue = TOPOLOGY.function(WORKER).queue or ""
    attributes = cloud.clients.sqs.get_queue_attributes(
        QueueUrl=cloud.provisioned.queue_urls[queue],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"])["Attributes"]
    books.queue_left = sum(int(v) for v in attributes.values())
    if len(sent.sampled) <= CHECK_LIMIT:
        books.scanned = True
        per_customer: Counter[str] = Counter()
        request: dict[str, Any] = {"TableName": "campaigns", "ConsistentRead": True}
        grant_prefix = f"GRANT#{campaign.campaignId}#"
        while True:
            page = cloud.clients.dynamodb.scan(**request)
            for raw in page.get("Items", []):
                item = from_item(raw)
                if item["pk"].startswith(grant_prefix):
                    books.grants[item["status"]] += 1
                    per_customer[item["customerId"]] += 1
                elif item["pk"].startswith("OUTBOX#") and json.loads(item["detail"]).get("campaignId") == campaign.campaignId:
                    books.outbox[item["detailType"]] += 1
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        books.customers_with_grants = len(per_customer)
        books.customers_granted_twice = sum(1 for n in per_customer.values() if n > 1)
        books.granted_outside_sample = len(per_customer.keys() - set(sent.sampled))
    books.check_s = time.perf_counter() - started
    return books


@dataclass
class Redelivered:
    messages: int = 0
    failed: int = 0
    requests: Counter[str] = field(default_factory=Counter)
    processed_before: int = 0
    processed_after: int = 0
    granted_before: int = 0
    granted_after: int = 0


def redeliver(cloud: Any, store: Any, campaign_id: str, run_id: str, event: dict[str, Any] | None) -> Redelivered:
    """The first batch of work items, delivered to the worker again: nothing may be granted or counted twice."""
    from loyalty.campaigns import runs
    from loyalty.core import aws

    result = Redelivered()
    if not event:
        return result
    before = runs.get(store, campaign_id, run_id)
    counter = Requests()
    counter.attach(aws.dynamodb())
    try:
        answer = cloud.registry.invoke(TOPOLOGY.function(WORKER), event) or {}
    finally:
        counter.detach(aws.dynamodb())
    after = runs.get(store, campaign_id, run_id)
    result.messages, result.failed, result.requests = len(event["Records"]), len(answer.get("batchItemFailures", [])), counter.counts
    result.processed_before, result.processed_after = int(before.get("processed", 0)), int(after.get("processed", 0))
    result.granted_before, result.granted_after = int(before.get("granted", 0)), int(after.get("granted", 0))
    return result


# ---- the section ---------------------------------------------------------------------------------


@dataclass
class Results:
    customers: int
    seed_s: float
    tick_s: float
    tick_requests: Counter[str]
    fanout: Fanout
    work: Work
    collected: Collected
    books: Books
    redelivered: Redelivered
    emulator_requests: int  # during the tick, the fan-out, the workers and the collector
    whole_s: float  # the tick to the last work item drained, drains included
    bench_maxrss_mb: float
    problems: list[str]


def run() -> Table:

    saved_environment = dict(os.environ)
    cloud = local_cloud()
    try:
        forget_engine_state()  # another section's local cloud may have left them on its (stopped) emulator
        cloud.stop_background_work()  # only the fan-out talks to the emulator: no pollers, no schedules
        from loyalty.core.observability import logger

        level = logger.log_level
        # The 80% burn warning and, in this process, Powertools' complaint that its metrics singleton (created
        # when infra.local was imported, before the local cloud set the namespace) has no namespace: one line
        # each, once. The table reports failures and checks the books instead.
        logger.setLevel("ERROR")
        try:
            results = measure(cloud)
        finally:
            logger.setLevel(level)
    finally:
        cloud.stop()
        os.environ.clear()
        os.environ.update(saved_environment)
        forget_engine_state()
    return build_table(results)


def measure(cloud: Any) -> Results:
    from loyalty.campaigns import runs, service
    from loyalty.core import aws

    problems: list[str] = []
    suffix = uuid.uuid4().hex[:6]
    tag, campaign_id = f"bench-fanout-{suffix}", f"bench-fanout-{suffix}"
    store = service.default_store()
    now = datetime.now(UTC)

    started = time.perf_counter()
    ids = seed(cloud.clients.dynamodb, f"cf-{suffix}", tag, CUSTOMERS)
    seed_s = time.perf_counter() - started
    campaign = definition(campaign_id, tag, CUSTOMERS, now)
    launch(store, campaign, now)
    cloud.registry.get(TOPOLOGY.function(WORKER))  # the worker's import: its cold start is not the fan-out's

    # The scheduler's tick, 30 s after the latest 09:00: it claims the slot and starts the run.
    emulator_before = cloud.emulator.app.requests
    tick_requests = Requests()
    tick_requests.attach(aws.dynamodb(), aws.sqs())
    started = time.perf_counter()
    try:
        service.forget_cached_campaigns()
        started_runs = runs.tick(store, latest_slot(now) + timedelta(seconds=30))
    finally:
        tick_requests.detach(aws.dynamodb(), aws.sqs())
    tick_s = time.perf_counter() - started
    if len(started_runs) != 1:
        raise RuntimeError(f"the scheduler's tick started {started_runs!r}, not one run")
    run_id = started_runs[0]

    fanout, work, collected, sent = fan_out(cloud, campaign_id, run_id)
    if fanout.error:
        problems.append(fanout.error)
    whole_s = time.perf_counter() - started
    emulator_requests = cloud.emulator.app.requests - emulator_before

    redelivered = redeliver(cloud, store, campaign_id, run_id, work.first_event)
    books = check(cloud, store, campaign, run_id, ids, sent)
    return Results(CUSTOMERS, seed_s, tick_s, tick_requests.counts, fanout, work, collected, books, redelivered, emulator_requests,
                   whole_s, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, problems)


def _fifths(values: list[float]) -> tuple[list[float], list[float]]:
    """The first and the last fifth of a list (at least one value each)."""
    cut = max(1, len(values) // SLICES)
    return values[:cut], values[-cut:]


def build_table(r: Results) -> Table:
    from math import ceil

    from loyalty.campaigns.granting import BURN_WARNING_SHARE
    from loyalty.campaigns.runs import CUSTOMERS_PER_ITEM, PAGE_SIZE, SQS_BATCH

    f, w, c, b, n = r.fanout, r.work, r.collected, r.books, r.customers
    s = w.customers  # the sample: customers of the work items the workers handled
    all_n, of_sample = f"all {n:,}", f"sample {s:,}"
    table = Table(
        f"campaign_fanout: a scheduled campaign's audience fan-out over {n:,} customers on the emulator; "
        f"grants by the workers on a sample of {s:,}"
        + (f" (below the issue's {ISSUE_CUSTOMERS:,}: CAMPAIGN_FANOUT_CUSTOMERS={ISSUE_CUSTOMERS})" if n < ISSUE_CUSTOMERS else ""),
        [Column("measure"), Column("over"), Column("value"), Column("must be")],
    )
    fanout_memory = TOPOLOGY.function(FANOUT).memory_mb
    granted = b.arms.get("main", {}).get("granted", 0)
    control = b.arms.get("control", {}).get("targeted", 0)
    untraced = f.untraced_ms or f.traced_ms
    fanout_s = r.tick_s + f.process_s  # the fan-out's wall time: the drains between pages excluded
    handler_s = (f.cold_ms + sum(f.untraced_ms) + sum(f.traced_ms)) / 1000
    receives = Counter(w.mapping_requests) + Counter(c.requests)  # the same calls, on the sample and on the rest
    counted = (sum(f.requests.values()) + sum(f.redelivery_requests.values()) + sum(w.requests.values()) + sum(w.mapping_requests.values())
               + sum(c.requests.values()) + sum(r.tick_requests.values()))
    workers_n_s = w.wall_s * n / max(1, s)
    burn_warnings = int(granted >= ceil(n * BURN_WARNING_SHARE))  # the budget is n rewards
    complete = s >= n

    def add(name: str, over: str, value: Any, must: str = "") -> None:
        table.add(name, over, str(value), must)

    add("customers seeded (BatchWriteItem, untimed) / s", all_n, f"{n:,} / {r.seed_s:.1f}")
    # the fan-out, over all the customers
    add("FAN-OUT wall time: tick + fan-out process (s)", all_n, f"{fanout_s:.1f}")
    add("  scheduler tick: claim the slot, start the run (s)", "-", f"{r.tick_s:.2f}")
    add("  fan-out process: start, imports, every page (s)", all_n, f"{f.process_s:.1f}")
    add("  of which in the handler, all pages (s)", all_n, f"{handler_s:.1f}")
    add("    in AWS calls / own code, cold start included (s)", all_n, f"{f.aws_s:.1f} / {handler_s - f.aws_s:.1f}")
    add("pages / customers sent as work items", all_n, f"{f.pages:,} / {f.customers:,}", f"{-(-n // PAGE_SIZE):,} / {n:,}")
    add("work items sent / customers in the largest", all_n, f"{c.items + w.items:,} / {b.sent_largest}",
        f"{-(-n // CUSTOMERS_PER_ITEM):,} / {CUSTOMERS_PER_ITEM}")
    add("work items/s, customers/s (fan-out wall time)", all_n, f"{(c.items + w.items) / max(fanout_s, 1e-9):,.1f}, {n / max(fanout_s, 1e-9):,.0f}")
    first, last = _fifths(untraced) if untraced else ([], [])
    add("ms per page after the first: median / p95 (untraced)", all_n,
        f"{median(untraced):,.0f} / {percentile(untraced, 95):,.0f}" if untraced else "-")
    add("  median of the first / the last fifth of the pages", all_n, f"{median(first):,.0f} / {median(last):,.0f}" if untraced else "-")
    add("  fan-out ms per AWS call (all pages)", all_n, f.aws_ms_per_call or "-")
    add("  first page, the cold start (imports, clients) (ms)", "-", f"{f.cold_ms:,.0f}")
    add("  traced pages (tracemalloc on): n, median (ms)", "-", f"{len(f.traced_ms)}, {median(f.traced_ms):,.0f}" if f.traced_ms else "-")
    add("SQS requests per customer: fan-out (sends)", all_n, by_operation(f.requests, n, "SQS"),
        f"SendMessageBatch {per(1, CUSTOMERS_PER_ITEM * SQS_BATCH)}")
    add("  consumers' receives and deletes (event source mapping)", all_n, by_operation(receives, n, "SQS"))
    add("DynamoDB requests per customer: fan-out", all_n, f"{per(of(f.requests, 'DynamoDB'), n)} ({by_operation(f.requests, n, 'DynamoDB')})")
    add("  scheduler tick (whole run, not per customer)", "-", ", ".join(f"{k.split(' ', 1)[1]} {v}" for k, v in sorted(r.tick_requests.items())))
    add("FAN-OUT process max RSS, VmHWM (MB)", all_n, f"{f.maxrss_mb:.1f}", f"< {ISSUE_MEMORY_MB} (issue); function set to {fanout_memory}")
    add("  max RSS after its cold start (MB)", "-", f"{f.warm_mb:.1f}")
    add("  tracemalloc: largest rise within one page (KB)", "-", f"{f.transient_kb:,.0f}")
    add("failed records: pages, work items (workers)", all_n, f"{f.failed}, {w.failed}", "0, 0")
    add("customers in work items: all / distinct / in more than one", all_n, f"{b.sent_customers:,} / {b.sent_distinct:,} / {b.sent_twice}",
        f"{n:,} / {n:,} / 0")
    add("  seeded but in no work item / in one but not seeded", all_n, f"{b.sent_missing} / {b.sent_unknown}", "0 / 0")
    add("  work item ids received twice / messages left in the queue", all_n, f"{b.item_ids_twice} / {b.queue_left}", "0 / 0")
    add("redelivered page request: requests, failed", "-",
        ", ".join(f"{k} {v}" for k, v in sorted(f.redelivery_requests.items())) + f"; {f.failed_redelivery}", "DynamoDB GetItem 1; 0")
    add("run status / progress (processed/total)", all_n, f"{b.run.get('status')} / {b.run.get('progress')}",
        f"completed / {n}/{n}" if complete else f"paged / {s}/{n} (only the sample is granted)")
    add("emulator requests - counted sends", all_n, r.emulator_requests - counted, "0")
    # the workers, over the sample
    add("WORKERS: work items / worker invocations", of_sample, f"{w.items:,} / {w.invocations:,}", f"{-(-s // CUSTOMERS_PER_ITEM):,} / -")
    add("  wall time, draining after each page (s)", of_sample, f"{w.wall_s:.1f}")
    add("  customers/s (grants and control), work items/s", of_sample, f"{s / max(w.wall_s, 1e-9):.1f}, {w.items / max(w.wall_s, 1e-9):.2f}")
    add("  work items/s by fifth of the sample", of_sample, ", ".join(f"{rate:.2f}" for rate in w.slice_rates))
    add("  ms per customer: total / in AWS calls / own", of_sample, " / ".join(
        f"{x * 1000 / max(1, s):.1f}" for x in (sum(w.invocation_ms) / 1000, w.aws_s, sum(w.invocation_ms) / 1000 - w.aws_s)))
    add("  worker ms per AWS call", of_sample, w.aws_ms_per_call)
    add("  ms per worker invocation (≤ 100 customers): median / p95", of_sample,
        f"{median(w.invocation_ms):.0f} / {percentile(w.invocation_ms, 95):.0f}" if w.invocation_ms else "-")
    add("DynamoDB requests per sampled customer: workers", of_sample,
        f"{per(of(w.requests, 'DynamoDB'), s)} ({by_operation(w.requests, s, 'DynamoDB')})",
        "TransactWriteItems 1.1, GetItem 0.1 + treated share")
    add("arms: control targeted / main granted", of_sample, f"{control:,} / {granted:,}",
        f"{b.expected_control:,} / {s - b.expected_control:,}")
    add("  control share (%)", of_sample, f"{100 * control / max(1, s):.2f}", f"≈ {CONTROL_PERCENT}")
    add("  control share if all were granted (arm_of, worked out) (%)", all_n, f"{100 * b.expected_control_all / max(1, n):.2f}", f"≈ {CONTROL_PERCENT}")
    add("budget spent (rewards) / total", of_sample, f"{b.budget_spent:,} / {n:,}", "= main granted")
    if b.scanned:
        add("grant records: granted / control", of_sample, f"{b.grants['granted']:,} / {b.grants['control']:,}", "= the arms")
        add("customers with a grant record / with more than one / outside the sample", of_sample,
            f"{b.customers_with_grants:,} / {b.customers_granted_twice} / {b.granted_outside_sample}", f"{s:,} / 0 / 0")
        add("outbox: AwardPoints / RewardGranted / BudgetBurnWarning", of_sample, " / ".join(
            f"{b.outbox[t]:,}" for t in ("AwardPoints", "RewardGranted", "BudgetBurnWarning")), f"{granted:,} / {granted:,} / {burn_warnings}")
        add("  CampaignRunPageRequested", all_n, f"{b.outbox['CampaignRunPageRequested']:,}", f"{f.pages:,} (the first by the tick)")
    rd = r.redelivered
    add(f"redelivered work items ({rd.messages}): granted, processed before → after", of_sample,
        f"{rd.granted_before:,} → {rd.granted_after:,}, {rd.processed_before:,} → {rd.processed_after:,}", "unchanged")
    add("  their DynamoDB requests", "-", ", ".join(f"{k.split(' ', 1)[1]} {v}" for k, v in sorted(rd.requests.items())) or "none")
    if not complete:
        add(f"EXTRAPOLATED: workers for all {n:,} at the sample's rate (s)", all_n, f"~{workers_n_s:,.0f} (~{workers_n_s / 60:.0f} min)")
        add("  fan-out + workers, one after the other (s)", all_n, f"~{fanout_s + workers_n_s:,.0f} (~{(fanout_s + workers_n_s) / 60:.0f} min)")
    add("collector (bench, not the product): work items / s", f"the other {n - s:,}", f"{c.items:,} / {c.wall_s:.1f}")
    add("bench process max RSS (MB)", "-", f"{r.bench_maxrss_mb:,.0f}", "(emulator inside)")

    table.notes += [
        f"one scheduled campaign ({SCHEDULE}, bank time zone), audience tagsAll [tag] matching all {n:,} seeded profiles, "
        f"{CONTROL_PERCENT}% control, one variant awarding {POINTS} points, a budget of {n:,} rewards, once per customer; "
        "launched by one operator and approved by another; the run started by runs.tick at the latest 09:00 slot",
        f"'over': all {n:,} = the figure is of the whole fan-out (every page, every work item); sample {s:,} = of the work "
        f"items the campaigns-worker granted (the first pages, CAMPAIGN_FANOUT_SAMPLE={SAMPLE:,} rounded up to whole pages); "
        f"the other {n - s:,} customers' work items were received and deleted by the bench's collector, not granted",
        "fan-out: the campaigns-fanout handler in a python process of its own (bench.child: the function's environment, the "
        "same emulator), one invocation per page with the SQS record of CampaignRunPageRequested, as the campaign-run-pages "
        f"rule delivers it; page n+1 is asked for only after page n and its drain. {PAGE_SIZE} customers a page (a Scan of "
        f"customers with Limit {PAGE_SIZE}, filtered by the rule), work items of {CUSTOMERS_PER_ITEM} customers, SendMessageBatch "
        f"of {SQS_BATCH}. Its wall time excludes the drains (in AWS the workers run beside it)",
        "memory: VmHWM of that process (what Lambda reports as Max Memory Used): interpreter, boto3, pydantic and the "
        f"library, plus the largest page. tracemalloc runs on pages 1, {1 + TRACE_EVERY}, {1 + 2 * TRACE_EVERY}, ... only (it "
        "slows what it traces), so their times are shown apart and the per-page median is of the others. The page size is "
        "fixed, so memory does not grow with the audience: compare 'after its cold start' with the peak",
        "drains: infra.local.pollers.QueuePoller.poll_once for campaign-grants (ReceiveMessage of 10, a handler, "
        "DeleteMessageBatch), called in a loop after each page until the queue is empty: with the campaigns-worker handler "
        "in process for the sample, then with a collector that only reads the work items (each customer must be in exactly "
        "one). In AWS pages do not wait for workers, but moto's SendMessageBatch slows by ~0.3 ms per message already "
        "queued, so paging ahead would measure moto's queue, not the fan-out",
        "requests: botocore before-send hooks (HTTP sends, retries included) on the fan-out process's clients, on the "
        "worker's (loyalty.core.aws), on the event source mapping's and the collector's (the same SQS calls, so their sum "
        "per customer is the consumers' cost); checked against the emulator's own request count. A grant is one "
        "TransactWriteItems (grant record, campaign-still-active check, budget, frequency counter, arm counters, targeted "
        "index, AwardPoints and RewardGranted outbox items) and, for a treated customer, one GetItem of the total budget "
        "(the 80% burn check, eventually consistent; a control customer's grant is the transaction alone); a work item adds "
        "a GetItem of the campaign and a TransactWriteItems of its marker and the run's progress",
        "the emulator (moto) serializes every request: rates are the emulator's, not DynamoDB's or Lambda's. moto's Scan "
        "with ExclusiveStartKey sorts the table and walks it from its start, and serializes each item slowly, so a page costs "
        "far more here than in DynamoDB and late pages more than early ones (first vs last fifth)",
        "extrapolation: the workers' time on the sample × customers / sample; the rates by fifth show whether they slow "
        "down as the campaigns table grows. Not measured by default: all the grants (CAMPAIGN_FANOUT_SAMPLE=100000)",
        "nothing downstream runs: the outbox (AwardPoints to points) is not published, the points ledger is not touched",
        *([] if b.scanned else [f"the full-table Scan check is skipped above {CHECK_LIMIT:,} sampled customers (moto walks the "
                                "table from the start for every page); the run's progress, arms and budget still are checked"]),
        f"checks took {b.check_s:.1f} s; tick to the last drain, drains included: {r.whole_s:.1f} s",
        *r.problems,
    ]
    return table
