"""The outbox publishers' invocations per business operation, with the stream's event filter and without it.

Every table with an outbox (coupons, points, campaigns, scoring) has a NEW_IMAGE stream read by its
`<capability>-outbox` function, through an event source mapping whose Lambda event filter
(`infra.topology.OUTBOX_INSERTS`) keeps only the inserts of `OUTBOX#` items. The local cloud's stream
poller (`infra.local.streams.StreamPoller`) applies the same filter and counts what it read
(`batches_read`: non-empty batches read from the stream, i.e. the invocations there would be without
the filter), what the filter dropped (`records_filtered_out`) and the invocations it made (`batches`).

A local cloud (moto over HTTP, on free ports) runs with its stream pollers on; its queue pollers and
its scheduler are stopped, so that the events the publishers put on the bus wait in their queues
instead of making other capabilities write (scoring, points commands), and each phase's stream records
are its own operation's. The operations are the handlers invoked in process, as the flash_grab,
accrual and campaign_fanout sections do:

- a coupon claim: `coupons-claim` with the API event of a new customer (its own Idempotency-Key), from
  `CLAIM_THREADS` threads, on an active template created through `coupons-admin`;
- a points accrual: `points-accrual` with SQS records (batches of 10, the queue's size) whose bodies are
  `CardTransactionPosted` envelopes, each earning points under a rule created through `points-admin`;
- a campaign grant: a manual campaign (its audience a list of ids, no control group) saved, submitted
  and approved through the campaigns service, fired through `campaigns-admin`; the page request its
  outbox puts on the bus is taken from the `campaign-fanout` queue and handed to `campaigns-fanout`, and
  the work items to `campaigns-worker`, by the local event source mapping's own code
  (`QueuePoller.poll_once`, called here), until the run is complete.

Each phase starts and ends with the stream pollers drained: every shard read up to its end (a
`GetRecords` after the poller's checkpoint finds nothing) and the counters still. The operator's
set-up (template, rule, campaign) is a phase of its own.

Then, in fresh interpreters, the import cost of PynamoDB against boto3's (the cold start's share).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from dataclasses import astuple, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bench import child
from bench.cloud import local_cloud
from bench.process_state import forget_engine_state
from bench.sections.overhead import api_event
from bench.stats import median
from bench.table import Column, Table
from infra.topology import DEFAULT_BANK_TIME_ZONE, OUTBOX_INSERTS, TOPOLOGY

# Each phase takes a few seconds on the emulator (a claim ~30 ms, an accrual ~25 ms, a grant ~40 ms, serialized).
CLAIMS = int(os.environ.get("OUTBOX_FILTER_CLAIMS", 60))
ACCRUALS = int(os.environ.get("OUTBOX_FILTER_ACCRUALS", 60))
GRANTS = int(os.environ.get("OUTBOX_FILTER_GRANTS", 40))
CLAIM_THREADS = 4
ACCRUAL_BATCH = 10  # the points-accrual queue's batch size
DRAIN_TIMEOUT_S = 60.0
QUIET_S = 1.0  # the counters must stay still this long once every shard is read to its end
IMPORT_RUNS = 5  # fresh interpreters per import row, after one discarded run each
OPERATOR, MAKER, CHECKER = "bench-operator", "bench-maker", "bench-checker"
OUTBOX_TABLES = {f.stream.table: f.name for f in TOPOLOGY.functions if f.stream is not None}


# ---- counting what the stream pollers hand over --------------------------------------------------


class Delivered:
    """Stands in for the registry the stream pollers invoke: counts the records each publisher received."""

    def __init__(self, registry: Any) -> None:
        self.registry = registry
        self.records: Counter[str] = Counter()
        self._lock = threading.Lock()

    def invoke(self, function: Any, event: dict[str, Any]) -> Any:
        with self._lock:
            self.records[function.name] += len(event.get("Records", []))
        return self.registry.invoke(function, event)


class Reads:
    """Stands in for a stream poller's DynamoDB Streams client: counts the records its GetRecords return and
    keeps the newest sequence number read (moto: one shard per stream, dense sequence numbers)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.records = 0
        self.newest: int | None = None

    def get_records(self, **request: Any) -> Any:
        page = self.client.get_records(**request)
        records = page.get("Records", [])
        if records:
            self.records += len(records)
            newest = int(records[-1]["dynamodb"]["SequenceNumber"])
            self.newest = newest if self.newest is None else max(self.newest, newest)
        return page

    def __getattr__(self, name: str) -> Any:
        return getattr(self.client, name)


@dataclass(frozen=True)
class Counts:
    """One stream poller's counters at a moment (or their change over a phase)."""

    records_read: int = 0  # records its GetRecords returned
    batches_read: int = 0  # non-empty batches read: the invocations without the filter
    invocations: int = 0  # with the filter
    filtered_out: int = 0
    delivered: int = 0  # records handed to the publisher
    failed: int = 0  # invocations that failed (must stay 0)

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(astuple(self), astuple(other), strict=True)))

    def __sub__(self, other: Counts) -> Counts:
        return Counts(*(a - b for a, b in zip(astuple(self), astuple(other), strict=True)))


class Streams:
    """The local cloud's stream pollers, by table, and a way to wait until they have read everything."""

    def __init__(self, cloud: Any) -> None:
        self.cloud = cloud
        self.pollers = {p.source.table: p for p in cloud.stream_pollers}
        self.delivered = Delivered(cloud.registry)
        self.reads = {table: Reads(p.streams) for table, p in self.pollers.items()}
        for table, poller in self.pollers.items():
            poller.registry, poller.streams = self.delivered, self.reads[table]

    def counts(self) -> dict[str, Counts]:
        return {table: Counts(self.reads[table].records, p.batches_read, p.batches, p.records_filtered_out,
                              self.delivered.records[p.function.name], p.failed_batches)
                for table, p in self.pollers.items()}

    def _read_to_the_end(self, table: str) -> bool:
        """True if the stream holds no record after the newest its poller read. (Not the poller's checkpoint:
        after a delivered batch that is the last record delivered, and records filtered out after it stay behind it.)"""
        poller, newest = self.pollers[table], self.reads[table].newest
        if not poller.shards:
            return False  # not even discovered yet
        streams = self.cloud.clients.dynamodbstreams
        for shard in list(poller.shards.values()):
            request: dict[str, Any] = {"StreamArn": poller.stream_arn, "ShardId": shard.shard_id}
            if newest is None:
                request["ShardIteratorType"] = "TRIM_HORIZON"
            else:
                request |= {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "SequenceNumber": str(newest)}
            iterator = streams.get_shard_iterator(**request)["ShardIterator"]
            if streams.get_records(ShardIterator=iterator, Limit=1).get("Records"):
                return False
        return True

    def drain(self) -> float:
        """Waits until every stream is read to its end and the counters have stopped moving; the seconds waited."""
        started = time.monotonic()
        deadline = started + DRAIN_TIMEOUT_S
        last, still_since = self.counts(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = self.counts()
            if now != last:
                last, still_since = now, time.monotonic()
                continue
            if time.monotonic() - still_since >= QUIET_S and all(self._read_to_the_end(t) for t in self.pollers):
                return time.monotonic() - started
        behind = [table for table in self.pollers if not self._read_to_the_end(table)]
        raise RuntimeError(f"the stream pollers did not drain in {DRAIN_TIMEOUT_S:.0f} s (behind: {behind}): {self.counts()}")


@dataclass
class Phase:
    operation: str
    table: str  # whose publisher this row counts
    operations: int | None  # None: a set-up phase, no per-operation ratios
    counts: Counts = field(default_factory=Counts)
    others: dict[str, Counts] = field(default_factory=dict)  # other streams that moved meanwhile
    wall_s: float = 0.0
    drain_s: float = 0.0
    note: str = ""


def measured(streams: Streams, operation: str, table: str, work: Any) -> Phase:
    """Runs `work()` (which returns the operations done, or None for a set-up) between two drains."""
    before = streams.counts()
    started = time.perf_counter()
    operations = work()
    wall = time.perf_counter() - started
    drain = streams.drain()
    after = streams.counts()
    change = {t: after[t] - before[t] for t in after}
    others = {t: c for t, c in change.items() if t != table and c != Counts()}
    return Phase(operation, table, operations, change.get(table, Counts()), others, wall, drain)


# ---- the operations ------------------------------------------------------------------------------


def claims(cloud: Any, template_id: str) -> tuple[int, Counter[str]]:
    """CLAIMS claims of the template by distinct customers, from CLAIM_THREADS threads."""
    from bench.sections.flash_grab import _answer

    function = TOPOLOGY.function("coupons-claim")
    route = function.routes[0]
    prefix = f"of-{uuid.uuid4().hex[:6]}"
    events = [api_event(route, {}, f"{prefix}-c{i:04d}", [], {"templateId": template_id}) for i in range(CLAIMS)]
    answers: Counter[str] = Counter()
    lock = threading.Lock()

    def claimer(mine: list[dict[str, Any]]) -> None:
        for event in mine:
            answer, _ = _answer(cloud.registry.invoke(function, event))
            with lock:
                answers[answer] += 1

    threads = [threading.Thread(target=claimer, args=(events[i::CLAIM_THREADS],), daemon=True) for i in range(CLAIM_THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers["201"], answers


def accruals(cloud: Any, merchant: str) -> tuple[int, int]:
    """ACCRUALS card transactions of 100 yuan (10 points each), one per customer, in SQS batches of 10;
    (events delivered, records reported failed)."""
    from bench.sections.accrual import Tx, chunks, envelope, sqs_record

    function = TOPOLOGY.function("points-accrual")
    arn = cloud.provisioned.queue_arns[function.queue or ""]
    zone = ZoneInfo(os.environ.get("BANK_TIME_ZONE", DEFAULT_BANK_TIME_ZONE))
    posted = datetime.now(zone) - timedelta(hours=1)
    prefix = f"of-{uuid.uuid4().hex[:6]}"
    txs = [Tx(f"{prefix}-c{i:04d}", f"{prefix}-tx{i:04d}", 10_000, posted.date(), posted.isoformat()) for i in range(ACCRUALS)]
    failed = 0
    for batch in chunks([sqs_record(envelope(tx, merchant), arn) for tx in txs], ACCRUAL_BATCH):
        failed += len((cloud.registry.invoke(function, batch) or {}).get("batchItemFailures", []))
    return len(txs), failed


def campaign(campaign_id: str, customers: list[str], now: datetime) -> Any:
    from loyalty.campaigns.model import CampaignDefinition

    return CampaignDefinition.model_validate({
        "campaignId": campaign_id,
        "name": "Bench: points to a list of customers",
        "window": {"startsAt": (now - timedelta(days=1)).isoformat(), "endsAt": (now + timedelta(days=1)).isoformat()},
        "trigger": {"type": "manual"},
        "audience": {"customerIds": customers},
        "variants": [{"variantId": "main", "weightPercent": 100,
                      "actions": [{"type": "award_points", "points": 100, "costCentre": "cc-marketing"}]}],
        "controlPercent": 0,
        "budget": {"unit": "rewards", "total": 2 * len(customers)},  # half spent: no burn warning
        "frequencyCaps": {"lifetime": 1},
        "fundingCostCentre": "cc-marketing",
    })


def fire_and_grant(cloud: Any, campaign_id: str) -> tuple[int, dict[str, Any], int]:
    """Fires the campaign through campaigns-admin, then feeds its page request to campaigns-fanout and its
    work items to campaigns-worker until the run is complete; (grants, the run's view, failed records)."""
    from infra.local.pollers import QueuePoller
    from loyalty.campaigns import runs, service

    admin = TOPOLOGY.function("campaigns-admin")
    route = next(r for r in admin.routes if r.method == "POST" and r.path.endswith("/fire"))
    result = cloud.registry.invoke(admin, api_event(route, {"campaignId": campaign_id}, OPERATOR, ["operators"], {}))
    if int(result["statusCode"]) != 202:
        raise RuntimeError(f"fire answered {result['statusCode']}: {result.get('body')}")
    run_id = json.loads(result["body"])["runId"]
    mappings = []
    for name in ("campaigns-fanout", "campaigns-worker"):  # never started: polled on this thread
        function = TOPOLOGY.function(name)
        queue = TOPOLOGY.queue(function.queue or "")
        mappings.append(QueuePoller(queue, cloud.provisioned.queue_urls[queue.name], cloud.provisioned.queue_arns[queue.name],
                                    function, cloud.registry, cloud.clients.sqs))
    store = service.default_store()
    deadline = time.monotonic() + DRAIN_TIMEOUT_S
    view = runs.get(store, campaign_id, run_id)
    while view["status"] != "completed":
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run_id} not complete after {DRAIN_TIMEOUT_S:.0f} s: {view}")
        if not sum(m.poll_once() for m in mappings):
            time.sleep(0.1)  # the page request is still on its way: stream, publisher, bus, queue
        view = runs.get(store, campaign_id, run_id)
    return int(view.get("granted", 0)), view, sum(m.failures for m in mappings)


# ---- the section ---------------------------------------------------------------------------------


def measure(cloud: Any) -> tuple[list[Phase], list[str]]:
    from bench.sections.accrual import _admin as points_admin
    from bench.sections.accrual import rule_body
    from bench.sections.campaign_fanout import launch
    from bench.sections.flash_grab import _admin as coupons_admin
    from bench.sections.flash_grab import template_body
    from loyalty.campaigns import service

    problems: list[str] = []
    streams = Streams(cloud)
    # Only the stream pollers run: no consumer of the bus's queues, no schedule.
    if cloud.scheduler:
        cloud.scheduler.stop()
    for poller in cloud.pollers:
        poller.signal_stop()
    for poller in cloud.pollers:
        poller.join()
    streams.drain()
    run_id = uuid.uuid4().hex[:6]
    template_id, merchant, rule_id, campaign_id = f"of-tpl-{run_id}", f"of-m-{run_id}", f"of-rule-{run_id}", f"of-cmp-{run_id}"
    customers = [f"of-g-{run_id}-{i:04d}" for i in range(GRANTS)]
    for name in ("coupons-claim", "points-accrual", "campaigns-admin", "campaigns-fanout", "campaigns-worker"):
        cloud.registry.get(TOPOLOGY.function(name))  # imported before the phases

    def set_up() -> None:
        base = "/v1/admin/coupon-templates"
        body = {**template_body(template_id, 1), "totalStock": CLAIMS, "name": "Outbox filter bench"}
        coupons_admin(cloud, "POST", base, {}, body)
        coupons_admin(cloud, "PUT", base + "/{templateId}/status", {"templateId": template_id}, {"status": "active"})
        points_admin(cloud, rule_body(rule_id, merchant))
        launch(service.default_store(), campaign(campaign_id, customers, datetime.now(UTC)), datetime.now(UTC))

    phases = [measured(streams, "set-up: template created and activated, earn rule, campaign approved", "", set_up)]

    def claim() -> int:
        issued, answers = claims(cloud, template_id)
        if issued != CLAIMS:
            problems.append(f"claims: {issued} of {CLAIMS} answered 201 ({dict(answers)})")
        return issued

    def accrue() -> int:
        events, failed = accruals(cloud, merchant)
        if failed:
            problems.append(f"accrual: {failed} records reported failed")
        return events

    def grant() -> int:
        granted, view, failed = fire_and_grant(cloud, campaign_id)
        if granted != GRANTS or failed:
            problems.append(f"campaign: {granted} of {GRANTS} granted, {failed} records failed; run {view}")
        return granted

    phases.append(measured(streams, "coupon claim (201)", "coupons", claim))
    phases.append(measured(streams, "points accrual (card transaction earning points)", "points", accrue))
    phases.append(measured(streams, "campaign grant (a fire: run, page, work items, grants)", "campaigns", grant))
    return phases, problems


def run() -> Table:

    saved_environment = dict(os.environ)
    cloud = local_cloud()
    try:
        forget_engine_state()  # another section's local cloud may have left them on its (stopped) emulator
        phases, problems = measure(cloud)
    finally:
        cloud.stop()
        os.environ.clear()
        os.environ.update(saved_environment)
        forget_engine_state()
    imports = import_costs()  # after the local cloud: its threads would slow the fresh interpreters
    return build_table(phases, problems, imports)


def _per(count: int, operations: int | None) -> float | None:
    return count / operations if operations else None


def build_table(phases: list[Phase], problems: list[str], imports: ImportCosts) -> Table:
    table = Tables(
        f"Outbox publisher invocations per operation, with the stream filter (OUTBOX_INSERTS) and without it "
        f"({CLAIMS} claims, {ACCRUALS} accruals, {GRANTS} grants)",
        [
            Column("operation"),
            Column("publisher"),
            Column("operations"),
            Column("stream records read"),
            Column("filtered out"),
            Column("delivered"),
            Column("invocations with filter"),
            Column("invocations without filter"),
            Column("records / op", fmt=".2f"),
            Column("delivered / op", fmt=".2f"),
            Column("invocations / op with", fmt=".3f"),
            Column("invocations / op without", fmt=".3f"),
            Column("invocations saved", "%", ".0f"),
        ],
    )
    for phase in phases:
        c, ops = phase.counts, phase.operations
        if not phase.table:  # the set-up: every outbox stream together
            total = Counts()
            for counts in phase.others.values():
                total += counts
            c, publisher = total, "all (" + ", ".join(sorted(OUTBOX_TABLES[t] for t in phase.others)) + ")"
        else:
            publisher = OUTBOX_TABLES[phase.table]
        saved = 100 * (1 - c.invocations / c.batches_read) if c.batches_read else None
        table.add(phase.operation, publisher, ops, c.records_read, c.filtered_out, c.delivered, c.invocations, c.batches_read,
                  _per(c.records_read, ops), _per(c.delivered, ops), _per(c.invocations, ops), _per(c.batches_read, ops), saved)
    for phase in phases:
        if phase.table and phase.others:
            table.notes.append(f"{phase.operation}: other streams moved too: "
                               + ", ".join(f"{t} {c.records_read} records, {c.invocations} invocations" for t, c in phase.others.items()))
        for table_name, c in ([(phase.table, phase.counts)] if phase.table else []) + list(phase.others.items()):
            if c.records_read != c.delivered + c.filtered_out:
                table.notes.append(f"{phase.operation}: {table_name} records read {c.records_read} != delivered {c.delivered} + "
                                   f"filtered out {c.filtered_out} (a batch read again after a failure)")
        failed = phase.counts.failed + sum(c.failed for c in phase.others.values())
        if failed:
            table.notes.append(f"{phase.operation}: {failed} publisher invocations failed (must be 0)")
    table.notes += [f"problem: {p}" for p in problems]
    table.notes.append("phases (operations, then the wait for the pollers to drain): "
                       + "; ".join(f"{p.operation.split(' (')[0].split(':')[0]} {p.wall_s:.1f} s + {p.drain_s:.1f} s" for p in phases))
    table.notes += [
        "a local cloud with its stream pollers running (queue pollers and scheduler stopped: the published events wait in their "
        "queues, so no other capability writes during a phase); each phase starts and ends with every stream read to its end",
        f"the filter (infra.topology.OUTBOX_INSERTS): {json.dumps(OUTBOX_INSERTS, separators=(',', ':'))}, applied by "
        "infra.local.streams.StreamPoller as Lambda applies it; invocations without filter = the non-empty batches it read "
        "(batches_read), which Lambda would have delivered whole; with filter = the batches left non-empty (batches)",
        "records read: what the poller's GetRecords returned (= delivered + filtered out, checked); a claim writes stock, limit counter, coupon and outbox items, an "
        "accrual balance, lot, cap, ledger entry and outbox items, a grant the grant, budget, frequency, stats, targeted and "
        "command items and two outbox items (RewardGranted, AwardPoints); the fire adds the run, its page request (outbox) and "
        "one RUNITEM marker and a progress update per work item of 10 customers",
        "invocations depend on how records group into batches (up to 100, read as fast as the poller gets to them): a batch "
        "holding one outbox insert invokes the publisher whatever else it holds, so under steady traffic the filter saves "
        "records delivered more than invocations; it saves invocations on batches of no event at all (set-up, counters, "
        "TTL deletions, sweeps, nightly checkpoints)",
    ]
    table.extra.append(import_table(imports))
    return table


# ---- PynamoDB's import cost ----------------------------------------------------------------------

# label -> (statements run one after another in a fresh interpreter, the one whose time the row shows)
IMPORTS: dict[str, tuple[list[str], int]] = {
    "boto3": (["import boto3"], 0),
    "pynamodb.models, alone": (["import pynamodb.models"], 0),
    "pynamodb.models, after boto3": (["import boto3", "import pynamodb.models"], 1),
    "loyalty.core.tables + transactions, after boto3": (["import boto3", "import loyalty.core.tables, loyalty.core.transactions"], 1),
}
PROBE = """
import json, sys, time
took = []
for statement in json.loads(sys.argv[1]):
    started = time.perf_counter()
    exec(statement)
    took.append((time.perf_counter() - started) * 1000)
print(json.dumps(took))
"""


@dataclass
class ImportCosts:
    ms: dict[str, list[float]] = field(default_factory=dict)
    pynamodb_after_boto3_ms: float | None = None  # -X importtime: pynamodb's cumulative once boto3 is loaded
    modules_added: int | None = None  # modules pynamodb.models brings after boto3
    error: str = ""


def _probe(statements: list[str], *options: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, *options, "-c", PROBE, json.dumps(statements)], env=child.environment(), cwd=child.ROOT,
                          capture_output=True, text=True, timeout=60, check=True)


def import_costs() -> ImportCosts:
    costs = ImportCosts({label: [] for label in IMPORTS})
    try:
        for statements, _ in IMPORTS.values():
            _probe(statements)  # discarded: the first run reads the files from disk
        for _ in range(IMPORT_RUNS):  # interleaved, so a busy moment touches every row alike
            for label, (statements, shown) in IMPORTS.items():
                costs.ms[label].append(float(json.loads(_probe(statements).stdout)[shown]))
        traced = _probe(IMPORTS["pynamodb.models, after boto3"][0], "-X", "importtime")
        # top-level entries (no indentation) after boto3's: pynamodb and what it brings that boto3 had not
        lines = [line.split("|") for line in traced.stderr.splitlines() if line.startswith("import time:") and "cumulative" not in line]
        names = [parts[2][1:].rstrip() for parts in lines]  # nested imports are indented by two spaces a level
        after = next(i for i, name in enumerate(names) if name == "boto3") + 1
        costs.pynamodb_after_boto3_ms = sum(int(p[1]) for p, n in zip(lines[after:], names[after:], strict=True) if not n.startswith(" ")) / 1000
        costs.modules_added = len(names) - after
    except (subprocess.SubprocessError, ValueError, StopIteration) as error:
        costs.error = f"{type(error).__name__}: {str(error)[:200]}"
    return costs


def import_table(costs: ImportCosts) -> Table:
    table = Table(
        f"PynamoDB's import cost: fresh interpreters, the import of each row's last module timed ({IMPORT_RUNS} runs each, "
        "after one discarded)",
        [Column("import"), Column("median", "ms", ".0f"), Column("min", "ms", ".0f"), Column("max", "ms", ".0f"),
         Column("of boto3's median", "%", ".0f")],
    )
    base = median(costs.ms["boto3"]) if costs.ms.get("boto3") else None
    for label, ms in costs.ms.items():
        if ms:
            table.add(label, median(ms), min(ms), max(ms), 100 * median(ms) / base if base and label != "boto3" else None)
    if costs.pynamodb_after_boto3_ms is not None:
        table.notes.append(f"-X importtime of `import boto3; import pynamodb.models` (one run): the imports after boto3's take "
                           f"{costs.pynamodb_after_boto3_ms:.0f} ms cumulative, {costs.modules_added} modules (pynamodb and what it "
                           "needs that boto3 had not loaded: botocore is shared)")
    if costs.error:
        table.notes.append(f"not measured: {costs.error}")
    table.notes += [
        "each row's time is its last statement's alone (time.perf_counter around it in the child, after interpreter start-up "
        "and the rows' earlier imports); PYTHONPATH holds the repository and the library layer, as in the other sections",
        "a handler pays PynamoDB when it imports its capability's items (loyalty.core.tables at module level) and boto3 on "
        "its first AWS call (loyalty.core.aws imports it lazily), or before if pynamodb.models came first (it imports botocore); "
        "the coldstart section measures the whole cold start per function",
    ]
    return table


@dataclass
class Tables(Table):
    """A table followed by others, printed as one section."""

    extra: list[Table] = field(default_factory=list)

    def render(self) -> str:
        return "\n\n".join([super().render(), *(t.render() for t in self.extra)])
