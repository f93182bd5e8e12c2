"""Points accrual on the emulator: card transactions in, points booked once, and the books checked.

A local cloud (moto over HTTP, on free ports) serves DynamoDB. An operator creates one earn rule
through the points-admin handler: 1 point per 10 yuan of card spend (rounded down), a daily cap per
customer, lots valid to the end of the month `MONTHS_LATER` months after the earning month. Then
`EVENTS` CardTransactionPosted events for `CUSTOMERS` customers go through the points-accrual
handler, invoked in process with the SQS records the event source mapping would hand it (each body
the EventBridge envelope the `points-bank-events` rule delivers) in batches of 10 (the queue's batch
size); in the same run, on another set of customers, the same events of the first 1/`SINGLE_SHARE`
of the customers (same amounts, days and order) one message per invocation. The two modes take
turns every `ROUND` events, so neither meets a bigger table than the other.

botocore event hooks on the library's own DynamoDB client (`loyalty.core.aws.dynamodb()`) count and
time every call, per event (the bench wraps `loyalty.points.service.accrue` to mark where each event
starts). Afterwards the `points` table is the judge: for every customer, read with the local cloud's
own client (one consistent Scan), the balance, the lots and the ledger entries must agree with each
other and with what the rule awards, worked out here independently of the library.

Before them, untimed while the table is small: a redelivery run (the same events delivered three
times: the same envelopes again, then re-published under new envelope ids), and a pass per mode
through the handler in a process of its own (its max RSS and tracemalloc peak, free of the
emulator's allocations).
"""

from __future__ import annotations

import calendar
import json
import os
import random
import resource
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

from bench import child
from bench.cloud import local_cloud
from bench.process_state import forget_engine_state
from bench.sections.overhead import api_event
from bench.stats import median, percentile
from bench.table import Column, Table
from infra.topology import BANK_SOURCE, DEFAULT_BANK_TIME_ZONE, TOPOLOGY

# An event costs a Query and a TransactWriteItems (~7 and ~15 ms on the emulator, whose base-table
# queries read one partition: infra/local/emulator_patches.py). 2,000 events take about a minute and a
# half; ACCRUAL_EVENTS=10000 runs the full 10,000 (several minutes). Four events per customer
# over DAYS days, unless ACCRUAL_CUSTOMERS says otherwise.
EVENTS = int(os.environ.get("ACCRUAL_EVENTS", 2000))
CUSTOMERS = int(os.environ.get("ACCRUAL_CUSTOMERS", max(1, EVENTS // 4)))
SINGLE_SHARE = 4  # one message at a time: the events of the first 1/4 of the customers, the same ones
BATCH_SIZE = 10  # the points-accrual queue's batch size (infra/topology.py)
ROUND = 100  # events of the plan per round; the two modes take turns every round
DAYS = 3  # transactions are posted on the DAYS business days before today (bank time)
DAILY_CAP = 500  # points per customer per business day
PER_AMOUNT_MINOR = 1_000  # 1 point per 10 yuan
MONTHS_LATER = 12  # lots valid to the end of the month 12 months after the earning month
WARMUP_EVENTS = 20  # per mode, before the clock starts: the handler's first invocation, the rules cache
MEMORY_EVENTS = 50  # per mode, through the handler in a process of its own, under tracemalloc (untimed)
REDELIVERED = 200  # events delivered DELIVERIES times, in batches of 10
REDELIVERY_CUSTOMERS = 50
DELIVERIES = 3
SEED = 20_251_123
OPERATOR = "bench-operator"
COST_CENTRE = "cc-cards"
FUNCTION = "points-accrual"
WRITES = ("TransactWriteItems", "PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem")
BATCHED, SINGLE = "batches of 10", "one at a time"


# ---- the workload ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Tx:
    customer: str
    transaction_id: str
    amount_minor: int
    day: date  # the business date it was posted on, in the bank's time zone
    posted_at: str

    def detail(self, merchant: str) -> dict[str, Any]:
        return {
            "transactionId": self.transaction_id,
            "customerId": self.customer,
            "amountMinor": self.amount_minor,
            "currency": "CNY",
            "merchantId": merchant,
            "mcc": "5812",
            "channel": "pos",
            "postedAt": self.posted_at,
        }


@dataclass(frozen=True)
class Draw:
    """One transaction of the plan, before it is given a set of customers."""

    customer: int
    amount_minor: int
    days_ago: int
    minute: int


def plan(events: int, customers: int, seed: int) -> list[Draw]:
    """Mostly everyday spend (5-800 yuan), some large (800-8,000 yuan): under 10 yuan earns nothing,
    and a few large ones in a day meet the daily cap."""
    rng = random.Random(seed)
    draws = []
    for _ in range(events):
        amount = rng.randint(500, 80_000) if rng.random() < 0.85 else rng.randint(80_000, 800_000)
        draws.append(Draw(rng.randrange(customers), amount, 1 + rng.randrange(DAYS), rng.randrange(12 * 60)))
    return draws


def materialize(draws: list[Draw], prefix: str, zone: ZoneInfo) -> list[Tx]:
    today = datetime.now(zone).date()
    txs = []
    for i, d in enumerate(draws):
        day = today - timedelta(days=d.days_ago)
        posted = datetime.combine(day, clock_time(9, 0), tzinfo=zone) + timedelta(minutes=d.minute)
        txs.append(Tx(f"{prefix}-c{d.customer:05d}", f"{prefix}-tx{i:06d}", d.amount_minor, day, posted.isoformat()))
    return txs


def envelope(tx: Tx, merchant: str, event_id: str | None = None) -> str:
    """The body of an SQS message from the points-bank-events rule: the whole EventBridge event."""
    return json.dumps(
        {
            "version": "0",
            "id": event_id or str(uuid.uuid4()),
            "source": BANK_SOURCE,
            "detail-type": "CardTransactionPosted",
            "account": "000000000000",
            "time": tx.posted_at,
            "region": "us-east-1",
            "resources": [],
            "detail": tx.detail(merchant),
        }
    )


def sqs_record(body: str, queue_arn: str) -> dict[str, Any]:
    message_id = str(uuid.uuid4())
    return {
        "messageId": message_id,
        "receiptHandle": f"bench-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": queue_arn,
        "awsRegion": "us-east-1",
    }


def chunks(records: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    return [{"Records": records[i : i + size]} for i in range(0, len(records), size)]


def rule_body(rule_id: str, merchant: str) -> dict[str, Any]:
    return {
        "ruleId": rule_id,
        "name": "Bench: 1 point per 10 yuan of card spend",
        "eventType": "CardTransactionPosted",
        "conditions": {"merchantIds": [merchant], "currency": "CNY"},
        "award": {"mode": "per_amount", "points": 1, "perAmountMinor": PER_AMOUNT_MINOR, "rounding": "down"},
        "caps": {"perCustomerDaily": DAILY_CAP},
        "validity": {"type": "end_of_month", "monthsLater": MONTHS_LATER},
        "category": "transaction",
        "costCentre": COST_CENTRE,
    }


# ---- what the rule must award, worked out here -----------------------------------------------------


def end_of_month_after(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, calendar.monthrange(year, month)[1])


@dataclass
class Expected:
    """Per customer: entries (id -> points), lots (expiry -> remaining), daily cap counters (day -> used)."""

    rule_id: str
    entries: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(dict))
    lots: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    caps: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(lambda: defaultdict(int)))
    customers: set[str] = field(default_factory=set)
    events: int = 0
    below_one_point: int = 0  # under 10 yuan
    cut_by_cap: int = 0  # earned less than the rule's rate because of the daily cap (0 included)
    nothing_left: int = 0  # the day's cap was already used up

    def book(self, txs: list[Tx]) -> None:
        """In delivery order: the cap leaves each transaction what the earlier ones of its day did not use."""
        for tx in txs:
            self.events += 1
            self.customers.add(tx.customer)
            base = tx.amount_minor // PER_AMOUNT_MINOR
            used = self.caps[tx.customer][tx.day.isoformat()]
            points = max(0, min(base, DAILY_CAP - used))
            self.below_one_point += base == 0
            self.cut_by_cap += points < base
            self.nothing_left += base > 0 and points == 0
            if points == 0:
                continue
            entry_id = f"earn:CardTransactionPosted:{tx.transaction_id}:{self.rule_id}"
            self.entries[tx.customer][entry_id] = points
            self.lots[tx.customer][end_of_month_after(tx.day, MONTHS_LATER).isoformat()] += points
            self.caps[tx.customer][tx.day.isoformat()] += points

    @property
    def points(self) -> int:
        return sum(sum(e.values()) for e in self.entries.values())

    @property
    def entry_count(self) -> int:
        return sum(len(e) for e in self.entries.values())

    @property
    def lot_count(self) -> int:
        return sum(len(lots) for lots in self.lots.values())

    @property
    def capped_days(self) -> int:
        return sum(1 for days in self.caps.values() for used in days.values() if used == DAILY_CAP)


# ---- metering ------------------------------------------------------------------------------------


@dataclass
class Usage:
    """AWS calls of one mode's measured invocations."""

    calls: Counter[str] = field(default_factory=Counter)  # "Query ACCT#", "Query RULES", "TransactWriteItems", ...
    outcomes: Counter[str] = field(default_factory=Counter)  # TransactWriteItems ok / cancelled: reasons
    sends: int = 0  # HTTP attempts (botocore retries would add some)
    aws_s: float = 0.0
    op_s: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # seconds in AWS calls, by the labels of `calls`
    transact_items: int = 0
    writes_per_event: Counter[int] = field(default_factory=Counter)  # writes -> events
    reads_per_event: Counter[int] = field(default_factory=Counter)
    events: int = 0

    @property
    def api_calls(self) -> int:
        return sum(self.calls.values())

    def writes(self) -> int:
        return sum(n for op, n in self.calls.items() if op.split(" ", 1)[0] in WRITES)

    def reads(self) -> int:
        return self.api_calls - self.writes()


def _label(operation: str, params: dict[str, Any]) -> str:
    """Queries by partition: ACCT# (the account read), RULES (the rules cache), LEDGER#, ..."""
    if operation != "Query":
        return operation
    values: dict[str, dict[str, Any]] = params.get("ExpressionAttributeValues") or {}
    value = str(next(iter(values.values()), {}).get("S", ""))
    return f"Query {value.split('#', 1)[0] + '#' if '#' in value else value}"


class Meter:
    """Counts and times the calls of the client it is attached to while `usage` is set (one thread)."""

    def __init__(self) -> None:
        self.usage: Usage | None = None
        self._event: Counter[str] | None = None  # the current event's writes and reads

    def attach(self, client: Any) -> None:
        for event, hook in self._hooks():
            client.meta.events.register(event, hook)

    def detach(self, client: Any) -> None:
        for event, hook in self._hooks():
            client.meta.events.unregister(event, hook)

    def _hooks(self) -> list[tuple[str, Any]]:
        return [
            ("provide-client-params.dynamodb.*", self._started),
            ("before-send.dynamodb.*", self._send),
            ("after-call.dynamodb.*", self._finished),
            ("after-call-error.dynamodb.*", self._finished),
        ]

    @contextmanager
    def measuring(self, usage: Usage) -> Iterator[None]:
        self.usage = usage
        try:
            yield
        finally:
            self.end_event()
            self.usage = None

    def begin_event(self) -> None:
        self.end_event()
        if self.usage is not None:
            self._event = Counter()

    def end_event(self) -> None:
        if self._event is not None and self.usage is not None:
            self.usage.events += 1
            self.usage.writes_per_event[self._event["write"]] += 1
            self.usage.reads_per_event[self._event["read"]] += 1
        self._event = None

    def _started(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        if self.usage is None:
            return
        context["bench_started"] = time.perf_counter()
        context["bench_label"] = _label(model.name, params)
        self.usage.calls[context["bench_label"]] += 1
        if self._event is not None:
            self._event["write" if model.name in WRITES else "read"] += 1
        if model.name == "TransactWriteItems":
            items = params.get("TransactItems", [])
            self.usage.transact_items += len(items)
            context["bench_kinds"] = [_kind(item) for item in items]

    def _send(self, **_: Any) -> None:
        if self.usage is not None:
            self.usage.sends += 1

    def _finished(self, model: Any, context: dict[str, Any], parsed: dict[str, Any] | None = None, **_: Any) -> None:
        started = context.pop("bench_started", None)
        if self.usage is None or started is None:
            return
        elapsed = time.perf_counter() - started
        self.usage.aws_s += elapsed
        self.usage.op_s[context.get("bench_label", model.name)] += elapsed
        if model.name != "TransactWriteItems":
            return
        error = (parsed or {}).get("Error", {}).get("Code")
        if not error:
            self.usage.outcomes["ok"] += 1
            return
        kinds = context.get("bench_kinds") or []
        reasons = [
            f"{kinds[i] if i < len(kinds) else '?'} {r.get('Code')}"
            for i, r in enumerate((parsed or {}).get("CancellationReasons") or [])
            if r.get("Code") not in (None, "None")
        ]
        self.usage.outcomes[f"cancelled: {', '.join(reasons) or error}"] += 1


def _kind(item: dict[str, Any]) -> str:
    action = next(iter(item.values()))
    key = action.get("Key") or action.get("Item") or {}
    pk, sk = key.get("pk", {}).get("S", ""), key.get("sk", {}).get("S", "")
    if pk.startswith("LEDGER#"):
        return "entry"
    if pk.startswith("OUTBOX#"):
        return "outbox"
    return sk.split("#", 1)[0].lower() or "?"


# ---- delivering ----------------------------------------------------------------------------------


@dataclass
class Run:
    """One mode's measured deliveries."""

    name: str
    batch_size: int
    events: int = 0
    invocations: int = 0
    handler_s: float = 0.0
    per_invocation_ms: list[float] = field(default_factory=list)
    failed: int = 0
    problems: list[str] = field(default_factory=list)
    emulator_requests: int = 0
    usage: Usage = field(default_factory=Usage)

    @property
    def events_per_s(self) -> float:
        return self.events / self.handler_s if self.handler_s else 0.0

    def per_event_ms(self, seconds: float) -> float:
        return seconds * 1000 / max(1, self.events)


class Deliverer:
    def __init__(self, cloud: Any, meter: Meter, merchant: str):
        self.cloud = cloud
        self.meter = meter
        self.merchant = merchant
        self.function = TOPOLOGY.function(FUNCTION)
        self.queue_arn = cloud.provisioned.queue_arns[self.function.queue]

    def batches(self, txs: list[Tx], size: int) -> list[dict[str, Any]]:
        return chunks([sqs_record(envelope(tx, self.merchant), self.queue_arn) for tx in txs], size)

    def invoke(self, event: dict[str, Any]) -> list[str]:
        """The ids of the records the handler reported as failed."""
        result = self.cloud.registry.invoke(self.function, event)
        return [f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])]

    def measured(self, run: Run, batches: list[dict[str, Any]]) -> None:
        with self.meter.measuring(run.usage):
            for batch in batches:
                requests_before = self.cloud.emulator.app.requests
                started = time.perf_counter()
                failed = self.invoke(batch)
                elapsed = time.perf_counter() - started
                run.emulator_requests += self.cloud.emulator.app.requests - requests_before
                run.handler_s += elapsed
                run.per_invocation_ms.append(elapsed * 1000)
                run.invocations += 1
                run.events += len(batch["Records"])
                run.failed += len(failed)
                if failed and len(run.problems) < 3:
                    run.problems.append(f"{run.name}: {len(failed)} of {len(batch['Records'])} records failed: {failed[:3]}")

    def untimed(self, batches: list[dict[str, Any]], problems: list[str], what: str) -> int:
        failed = 0
        for batch in batches:
            ids = self.invoke(batch)
            failed += len(ids)
            if ids and len(problems) < 6:
                problems.append(f"{what}: {len(ids)} of {len(batch['Records'])} records failed")
        return failed


@contextmanager
def marking_events(meter: Meter) -> Iterator[None]:
    """Wraps `service.accrue` (the handler looks it up on each call) so the meter knows where each event starts."""
    from loyalty.points import service

    original = service.accrue

    def accrue(*args: Any, **kwargs: Any) -> Any:
        meter.begin_event()
        return original(*args, **kwargs)

    service.accrue = accrue  # type: ignore[assignment]
    try:
        yield
    finally:
        service.accrue = original  # type: ignore[assignment]


@dataclass
class Memory:
    """The accrual handler alone, in a process of its own (as in Lambda), talking to this process's emulator."""

    events: int = 0
    maxrss_mb: float = 0.0  # the handler process's peak RSS: what Lambda reports as Max Memory Used
    maxrss_warm_mb: float = 0.0  # the same after its imports and first invocation
    peak_kb: float = 0.0  # tracemalloc peak above the traced memory after the first invocation
    transient_kb: float = 0.0  # the largest (peak during one invocation - traced before it)
    retained_kb: float = 0.0  # traced after the last invocation - after the first
    failed: int = 0
    error: str = ""


# Appended to bench.child's preamble: the batches come on stdin, the first one untraced (the cold start:
# imports, clients, the rules cache), then each of the others under tracemalloc.
HANDLER_PROCESS = """
batches = json.load(sys.stdin)
handler = load_handler()
failed = len(handler(batches[0], context())["batchItemFailures"])
warm_kb = peak_rss_kb()
tracemalloc.start()
start, _ = tracemalloc.get_traced_memory()
peak_all = transient = 0
for batch in batches[1:]:
    before, _ = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    failed += len(handler(batch, context())["batchItemFailures"])
    current, peak = tracemalloc.get_traced_memory()
    transient, peak_all = max(transient, peak - before), max(peak_all, peak - start)
retained = tracemalloc.get_traced_memory()[0] - start
tracemalloc.stop()
print(json.dumps({"maxrss_kb": peak_rss_kb(), "warm_kb": warm_kb, "peak": peak_all,
                  "transient": transient, "retained": retained, "failed": failed}))
"""


def memory_pass(batches: list[dict[str, Any]]) -> Memory:
    """The batches through the accrual handler in a child process (so the emulator's allocations, in this
    process, are not counted); the first batch is its cold start, not measured."""
    function = TOPOLOGY.function(FUNCTION)
    memory = Memory(events=sum(len(b["Records"]) for b in batches[1:]))
    result = child.run(function, HANDLER_PROCESS, input=json.dumps(batches))
    try:
        out = json.loads(result.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        memory.error = f"the handler process failed (exit {result.returncode}): {result.stderr.strip()[-300:]}"
        return memory
    memory.maxrss_mb, memory.maxrss_warm_mb = out["maxrss_kb"] / 1024, out["warm_kb"] / 1024
    memory.peak_kb, memory.transient_kb, memory.retained_kb = out["peak"] / 1024, out["transient"] / 1024, out["retained"] / 1024
    memory.failed = out["failed"]
    return memory


# ---- the books -----------------------------------------------------------------------------------


@dataclass
class Books:
    """What the table holds for a set of customers, against what the rule must have awarded."""

    customers: int = 0
    disagreeing: int = 0  # customers with any problem below
    available: int = 0
    lots_remaining: int = 0
    entries_points: int = 0
    entries: int = 0
    lots: int = 0
    debt: int = 0
    unbalanced: int = 0  # available != sum of lots, or available - debt != sum of entries, or a debt
    off_expected: int = 0  # balance, entries, lots, cap counters or version other than the rule's
    problems: list[str] = field(default_factory=list)


def scan_points(client: Any, prefix: str = "") -> dict[str, list[dict[str, Any]]]:
    """The `points` table's items by partition key (ConsistentRead), those of `prefix`'s customers if given.

    One scan rather than two Queries per customer: moto's Query sorts every item of the table, so a
    thousand customers' Queries on a table this size would take minutes."""
    from loyalty.core.dynamo import from_item

    by_pk: dict[str, list[dict[str, Any]]] = defaultdict(list)
    request: dict[str, Any] = {"TableName": "points", "ConsistentRead": True}
    if prefix:
        request["FilterExpression"] = "begins_with(pk, :a) OR begins_with(pk, :l)"
        request["ExpressionAttributeValues"] = {":a": {"S": f"ACCT#{prefix}"}, ":l": {"S": f"LEDGER#{prefix}"}}
    while True:
        page = client.scan(**request)
        for item in page.get("Items", []):
            plain = from_item(item)
            by_pk[plain["pk"]].append(plain)
        if "LastEvaluatedKey" not in page:
            return by_pk
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def check_books(by_pk: dict[str, list[dict[str, Any]]], expected: Expected) -> Books:
    books = Books()
    for customer in sorted(expected.customers):
        account = by_pk.get(f"ACCT#{customer}", [])
        entries = by_pk.get(f"LEDGER#{customer}", [])
        balance = next((i for i in account if i["sk"] == "BALANCE"), {})
        lots = [i for i in account if i["sk"].startswith("LOT#")]
        caps = {i["sk"].removeprefix(f"CAP#{expected.rule_id}#D#"): int(i["count"]) for i in account if i["sk"].startswith("CAP#")}
        available, debt = int(balance.get("available", 0)), int(balance.get("debt", 0))
        remaining = sum(int(lot["remaining"]) for lot in lots)
        entry_points = {e["entryId"]: int(e["points"]) for e in entries}
        books.customers += 1
        books.available += available
        books.debt += debt
        books.lots_remaining += remaining
        books.entries_points += sum(entry_points.values())
        books.entries += len(entries)
        books.lots += len(lots)
        problems = []
        if available != remaining or available - debt != sum(entry_points.values()) or debt:
            books.unbalanced += 1
            problems.append(f"available {available}, debt {debt}, lots {remaining}, entries {sum(entry_points.values())}")
        want_entries = expected.entries.get(customer, {})
        want_lots = dict(expected.lots.get(customer, {}))
        want_caps = {d: p for d, p in expected.caps.get(customer, {}).items() if p}
        got_lots = {lot["expiresOn"]: int(lot["remaining"]) for lot in lots}
        off = []
        if available != sum(want_entries.values()):
            off.append(f"available {available} != {sum(want_entries.values())} expected")
        if entry_points != want_entries:
            extra = sorted(set(entry_points) - set(want_entries))[:2]
            missing = sorted(set(want_entries) - set(entry_points))[:2]
            wrong = sorted(k for k in set(entry_points) & set(want_entries) if entry_points[k] != want_entries[k])[:2]
            off.append(f"entries: extra {extra}, missing {missing}, wrong points {[(k, entry_points[k], want_entries[k]) for k in wrong]}")
        if got_lots != want_lots:
            off.append(f"lots {got_lots} != {want_lots}")
        if caps != want_caps:
            off.append(f"daily cap counters {caps} != {want_caps}")
        if int(balance.get("version", 0)) != len(want_entries):
            off.append(f"version {balance.get('version')} != {len(want_entries)} transactions")
        if off:
            books.off_expected += 1
            problems += off
        if problems:
            books.disagreeing += 1
            if len(books.problems) < 3:
                books.problems.append(f"{customer}: {'; '.join(problems)}")
    return books


def earned_events_by_prefix(by_pk: dict[str, list[dict[str, Any]]], prefixes: list[str]) -> Counter[str]:
    """PointsEarned outbox items per customer prefix."""
    found: Counter[str] = Counter()
    for pk, items in by_pk.items():
        if not pk.startswith("OUTBOX#"):
            continue
        for item in items:
            if item.get("detailType") == "PointsEarned":
                customer = json.loads(item["detail"]).get("customerId", "")
                found.update(p for p in prefixes if customer.startswith(p))
    return found


# ---- redelivery ------------------------------------------------------------------------------------


@dataclass
class Redelivery:
    events: int = 0
    entries: list[int] = field(default_factory=list)  # after each delivery
    available: list[int] = field(default_factory=list)
    failed: int = 0
    usage: Usage = field(default_factory=Usage)  # deliveries 2 and 3


def redeliver(deliverer: Deliverer, meter: Meter, client: Any, txs: list[Tx], prefix: str, problems: list[str]) -> Redelivery:
    result = Redelivery(events=len(txs))
    first = deliverer.batches(txs, BATCH_SIZE)
    republished = deliverer.batches(txs, BATCH_SIZE)  # the same transactions under new envelope ids

    def totals() -> None:
        by_pk = scan_points(client, prefix)
        result.entries.append(sum(len(items) for pk, items in by_pk.items() if pk.startswith("LEDGER#")))
        result.available.append(sum(int(i.get("available", 0)) for pk, items in by_pk.items() for i in items if i["sk"] == "BALANCE"))

    result.failed += deliverer.untimed(first, problems, "redelivery 1")
    totals()
    with meter.measuring(result.usage):
        result.failed += deliverer.untimed(first, problems, "redelivery 2 (same envelopes)")
    totals()
    with meter.measuring(result.usage):
        result.failed += deliverer.untimed(republished, problems, "redelivery 3 (new envelope ids)")
    totals()
    return result


# ---- the section ---------------------------------------------------------------------------------


def _admin(cloud: Any, body: dict[str, Any]) -> None:
    function = TOPOLOGY.function("points-admin")
    route = next(r for r in function.routes if r.method == "POST" and r.path == "/v1/admin/point-rules")
    result = cloud.registry.invoke(function, api_event(route, {}, OPERATOR, ["operators"], body))
    if int(result["statusCode"]) != 201:
        raise RuntimeError(f"POST {route.path} answered {result['statusCode']}: {result.get('body')}")


@dataclass
class Results:
    runs: dict[str, Run]
    expected: dict[str, Expected]
    books: dict[str, Books]
    others: dict[str, Books]  # warm-up, memory pass (and redelivery, batched) customers
    outbox: dict[str, tuple[int, int]]  # mode -> (PointsEarned outbox items, entries they must match)
    memory: dict[str, Memory]
    redelivery: Redelivery
    redelivery_expected: Expected
    rules_in_table: int
    maxrss_mb: tuple[float, float]  # before the section, after it
    check_s: float
    problems: list[str]


def run() -> Table:

    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    saved_environment = dict(os.environ)
    cloud = local_cloud()
    client = None
    meter = Meter()
    try:
        forget_engine_state()  # another section's local cloud may have left them on its (stopped) emulator
        from loyalty.core import aws
        from loyalty.points import service

        # Only the accrual may talk to the emulator while it runs: stop the local cloud's background work
        # (the queue pollers, the outbox stream pollers, the schedules).
        cloud.stop_background_work()

        run_id = uuid.uuid4().hex[:6]
        merchant, rule_id = f"bench-m-{run_id}", f"bench-card-{run_id}"
        _admin(cloud, rule_body(rule_id, merchant))
        rules_in_table = len(service.default_store().rules())
        client = aws.dynamodb()
        meter.attach(client)
        deliverer = Deliverer(cloud, meter, merchant)
        zone = ZoneInfo(os.environ.get("BANK_TIME_ZONE", DEFAULT_BANK_TIME_ZONE))
        problems: list[str] = []
        with marking_events(meter):
            results = measure_all(cloud, deliverer, meter, zone, rule_id, run_id, problems)
        results.rules_in_table = rules_in_table
        results.maxrss_mb = (maxrss_before, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    finally:
        if client is not None:
            meter.detach(client)
        cloud.stop()
        os.environ.clear()
        os.environ.update(saved_environment)
        forget_engine_state()
    return build_table(results)


def measure_all(cloud: Any, deliverer: Deliverer, meter: Meter, zone: ZoneInfo, rule_id: str, run_id: str, problems: list[str]) -> Results:
    modes = {BATCHED: BATCH_SIZE, SINGLE: 1}
    prefixes = {BATCHED: f"acc-b-{run_id}", SINGLE: f"acc-s-{run_id}"}
    draws = plan(EVENTS, CUSTOMERS, SEED)
    # One message at a time takes the events of the first customers, with the same amounts, days and order.
    single_customers = max(1, CUSTOMERS // SINGLE_SHARE)
    keep = {BATCHED: [True] * len(draws), SINGLE: [d.customer < single_customers for d in draws]}
    main = {m: materialize(draws, prefixes[m], zone) for m in modes}
    expected = {m: Expected(rule_id) for m in modes}
    others = {m: Expected(rule_id) for m in modes}
    for m in modes:
        expected[m].book([tx for tx, kept in zip(main[m], keep[m], strict=True) if kept])

    # Warm-up, before the clock: the handler's import and first invocation, the rules cache, the client.
    cloud.registry.get(deliverer.function)
    for m, size in modes.items():
        warm = materialize(plan(WARMUP_EVENTS, 5, SEED + 1), f"{prefixes[m]}w", zone)
        others[m].book(warm)
        deliverer.untimed(deliverer.batches(warm, size), problems, f"warm-up, {m}")

    # Untimed, while the table is still small (moto's Query sorts all of it): the redelivery run, then
    # the handler in a process of its own for its memory.
    redelivery_prefix = f"{prefixes[BATCHED]}r"
    redelivered = materialize(plan(REDELIVERED, REDELIVERY_CUSTOMERS, SEED + 3), redelivery_prefix, zone)
    redelivery_expected = Expected(rule_id)
    redelivery_expected.book(redelivered)
    others[BATCHED].book(redelivered)
    redelivery = redeliver(deliverer, meter, cloud.clients.dynamodb, redelivered, redelivery_prefix, problems)

    memory = {}
    for m, size in modes.items():
        txs = materialize(plan(size + MEMORY_EVENTS, 20, SEED + 2), f"{prefixes[m]}m", zone)
        others[m].book(txs)
        memory[m] = memory_pass(deliverer.batches(txs, size))
        if memory[m].error:
            problems.append(f"memory pass, {m}: {memory[m].error}")

    # The measured runs, taking turns every ROUND events of the plan (so both meet the same table size:
    # moto's Query sorts the whole table); the envelopes of a turn are built before its clock starts.
    runs = {m: Run(m, size) for m, size in modes.items()}
    for index, start in enumerate(range(0, EVENTS, ROUND)):
        for m in list(modes) if index % 2 == 0 else list(reversed(modes)):
            turn = [tx for tx, kept in zip(main[m][start : start + ROUND], keep[m][start : start + ROUND], strict=True) if kept]
            deliverer.measured(runs[m], deliverer.batches(turn, modes[m]))

    checked = time.perf_counter()
    by_pk = scan_points(cloud.clients.dynamodb)
    books = {m: check_books(by_pk, expected[m]) for m in modes}
    other_books = {m: check_books(by_pk, others[m]) for m in modes}
    earned = earned_events_by_prefix(by_pk, list(prefixes.values()))
    outbox = {m: (earned[prefixes[m]], books[m].entries + other_books[m].entries) for m in modes}
    check_s = time.perf_counter() - checked
    return Results(runs, expected, books, other_books, outbox, memory, redelivery, redelivery_expected, 0, (0.0, 0.0), check_s, problems)


def _per(count: float, events: int) -> str:
    per = count / max(1, events)
    return str(round(per)) if abs(per - round(per)) < 1e-9 else f"{per:.3f}"


def _calls(usage: Usage, events: int) -> str:
    return ", ".join(f"{op} {_per(n, events)}" for op, n in sorted(usage.calls.items())) or "none"


def _spread(counts: Counter[int]) -> str:
    """`n events: k requests`, most common first."""
    return ", ".join(f"{k}: {n}" for k, n in sorted(counts.items())) or "-"


def build_table(r: Results) -> Table:
    b, s = r.runs[BATCHED], r.runs[SINGLE]
    table = Table(
        f"Points accrual on the emulator: {b.events:,} CardTransactionPosted events for {CUSTOMERS:,} customers in batches "
        f"of {BATCH_SIZE}, {s.events:,} of them (the first {max(1, CUSTOMERS // SINGLE_SHARE)} customers') one at a time; "
        f"1 rule (1 point per 10 yuan, daily cap {DAILY_CAP}, end of month +{MONTHS_LATER})",
        [Column("measure"), Column(BATCHED), Column(SINGLE), Column("must be")],
    )

    def row(name: str, must: str, batched: Any, single: Any) -> None:
        table.add(name, str(batched), str(single), must)

    def both(name: str, must: str, value: Callable[[Run], Any]) -> None:
        row(name, must, value(b), value(s))

    e = r.expected
    both("events delivered (SQS records)", "", lambda x: x.events)
    both("handler invocations", "", lambda x: x.invocations)
    both("failed records (batchItemFailures)", "0", lambda x: x.failed)
    row("events earning points / nothing (< 10 yuan, cap used up)", "", *(
        f"{e[m].entry_count} / {e[m].below_one_point + e[m].nothing_left} ({e[m].below_one_point}, {e[m].nothing_left})" for m in (BATCHED, SINGLE)))
    both("time in the handler (s)", "", lambda x: f"{x.handler_s:.1f}")
    both("events/s (emulator-bound)", "", lambda x: f"{x.events_per_s:.1f}")
    row("events/s: batches of 10 / one at a time", "", f"{b.events_per_s / s.events_per_s:.2f}x" if s.events_per_s else "-", "")
    both("ms per event: total", "", lambda x: f"{x.per_event_ms(x.handler_s):.2f}")
    both("  in AWS calls (emulator)", "", lambda x: f"{x.per_event_ms(x.usage.aws_s):.2f}")
    both("  own (total - AWS)", "", lambda x: f"{x.per_event_ms(x.handler_s - x.usage.aws_s):.2f}")
    row("own ms per event: one at a time / batches of 10", "",
        f"{(s.handler_s - s.usage.aws_s) / s.events / ((b.handler_s - b.usage.aws_s) / b.events):.2f}x" if b.events and s.events else "-", "")
    both("  ms per AWS call, by operation", "", lambda x: ", ".join(
        f"{op} {x.usage.op_s[op] * 1000 / n:.1f}" for op, n in sorted(x.usage.calls.items())))
    both("ms per invocation: median / p95", "", lambda x: f"{median(x.per_invocation_ms):.1f} / {percentile(x.per_invocation_ms, 95):.1f}")
    both("AWS calls per event, by operation", "", lambda x: _calls(x.usage, x.events))
    both("write requests per event: mean / max", "≤ 2 (1 TransactWriteItems)",
         lambda x: f"{_per(x.usage.writes(), x.events)} / {max(x.usage.writes_per_event, default=0)}")
    row("write requests per earning event", "1", *(
        _per(r.runs[m].usage.writes(), e[m].entry_count) for m in (BATCHED, SINGLE)))
    both("  events by write requests", "", lambda x: _spread(x.usage.writes_per_event))
    both("read requests per event: mean / max", "1 Query (+ rules, 30 s cache)",
         lambda x: f"{_per(x.usage.reads(), x.events)} / {max(x.usage.reads_per_event, default=0)}")
    both("TransactWriteItems: ok / cancelled", "earning events / 0",
         lambda x: f"{x.usage.outcomes['ok']} / {sum(n for o, n in x.usage.outcomes.items() if o != 'ok')}")
    both("items per TransactWriteItems (mean)", "", lambda x: f"{x.usage.transact_items / max(1, x.usage.calls['TransactWriteItems']):.2f}")
    both("HTTP sends per API call", "1 (no retries)", lambda x: f"{x.usage.sends / max(1, x.usage.api_calls):.3f}")
    both("emulator requests - HTTP sends", "0", lambda x: x.emulator_requests - x.usage.sends)
    bk = r.books
    row("customers checked (their BALANCE, LOT#, CAP#, ENTRY# items)", "", bk[BATCHED].customers, bk[SINGLE].customers)
    row("customers whose books disagree", "0", bk[BATCHED].disagreeing, bk[SINGLE].disagreeing)
    row("  available != Σ lots or Σ entries, or a debt", "0", bk[BATCHED].unbalanced, bk[SINGLE].unbalanced)
    row("  balance, entries, lots, caps, version != the rule's", "0", bk[BATCHED].off_expected, bk[SINGLE].off_expected)
    both("points the rule must award (worked out here)", "", lambda x: e[x.name].points)
    row("Σ available / Σ lots remaining / Σ entries' points", "all = the rule's", *(
        f"{bk[m].available} / {bk[m].lots_remaining} / {bk[m].entries_points}" for m in (BATCHED, SINGLE)))
    row("ledger entries / lots (the rule's)", "= the rule's", *(
        f"{bk[m].entries} / {bk[m].lots} ({e[m].entry_count} / {e[m].lot_count})" for m in (BATCHED, SINGLE)))
    row("customer-days at the daily cap", "", e[BATCHED].capped_days, e[SINGLE].capped_days)
    row("PointsEarned outbox items / entries (all runs)", "equal", *(f"{r.outbox[m][0]} / {r.outbox[m][1]}" for m in (BATCHED, SINGLE)))
    row("warm-up, memory, redelivery customers: disagreeing", "0", *(f"{r.others[m].disagreeing} of {r.others[m].customers}" for m in (BATCHED, SINGLE)))
    mem = r.memory
    row(f"handler process, {MEMORY_EVENTS} events: max RSS (MB)", f"< {TOPOLOGY.function(FUNCTION).memory_mb} (Lambda)",
        *(f"{mem[m].maxrss_mb:.1f}" for m in (BATCHED, SINGLE)))
    row("  max RSS after its cold start (MB)", "", *(f"{mem[m].maxrss_warm_mb:.1f}" for m in (BATCHED, SINGLE)))
    row("  tracemalloc peak above the warm start (KB)", "", *(f"{mem[m].peak_kb:,.0f}" for m in (BATCHED, SINGLE)))
    row("  largest rise within one invocation (KB)", "", *(f"{mem[m].transient_kb:,.0f}" for m in (BATCHED, SINGLE)))
    row("  retained after the pass (KB)", "", *(f"{mem[m].retained_kb:,.0f}" for m in (BATCHED, SINGLE)))
    row("  failed records", "0", mem[BATCHED].failed, mem[SINGLE].failed)
    row("bench process max RSS before / after (MB)", "", f"{r.maxrss_mb[0]:,.0f} / {r.maxrss_mb[1]:,.0f}", "(emulator inside)")
    rd = r.redelivery
    row(f"redelivery: {rd.events} events x {DELIVERIES}, entries after each", f"{r.redelivery_expected.entry_count} each time",
        " / ".join(map(str, rd.entries)), "-")
    row("  Σ available after each", f"{r.redelivery_expected.points} each time", " / ".join(map(str, rd.available)), "-")
    row("  failed records", "0", rd.failed, "-")
    row("  AWS calls per redelivered event (2nd, 3rd)", "", _calls(rd.usage, 2 * rd.events), "-")
    row("  TransactWriteItems ok / cancelled (2nd, 3rd)", "0 / -",
        f"{rd.usage.outcomes['ok']} / {sum(n for o, n in rd.usage.outcomes.items() if o != 'ok')}", "-")

    outcomes = b.usage.outcomes + s.usage.outcomes
    table.notes += [
        f"each mode: the points-accrual handler invoked in process (no SQS poller, no Lambda) with SQS records whose body "
        f"is the EventBridge envelope of a CardTransactionPosted; {EVENTS:,} events over {CUSTOMERS} customers and the "
        f"{DAYS} business days before today in batches of {BATCH_SIZE}; one at a time, on other customers, the same events "
        f"of the first 1/{SINGLE_SHARE} of them (same amounts, days and order per customer); the two take turns every "
        f"{ROUND} events of the plan; {WARMUP_EVENTS} warm-up events each first. ACCRUAL_EVENTS=10000 runs the issue's full "
        "10,000 (several minutes); ACCRUAL_CUSTOMERS sets the customers (default: events / 4)",
        "the emulator (moto) serializes every request (~5-30 ms each on an idle machine); events/s and ms are the "
        "emulator's, not DynamoDB's or Lambda's: compare the ratio and the request counts",
        "the accrual handles the records of a batch one after another, each with one Query of the account and, if it "
        "earns, one TransactWriteItems: the same requests per event in both modes. Batching saves Lambda invocations "
        f"({b.invocations} against {s.invocations * b.events // max(1, s.events)} for the same events) and the "
        "per-invocation wrapper (Powertools context, logging, metrics): "
        f"{(s.handler_s - s.usage.aws_s) / max(1, s.events) * 1000 - (b.handler_s - b.usage.aws_s) / max(1, b.events) * 1000:.2f} ms "
        "of our own time per event here, next to the emulator's requests, so events/s moves by a few percent at most. "
        "Fewer requests would need a batch's events of one customer folded into one read and one transaction (rare with "
        "10 records over many customers); each customer's change is its own transaction",
        "AWS calls: botocore hooks on loyalty.core.aws.dynamodb(); an event starts where the handler calls "
        "loyalty.points.service.accrue (wrapped by the bench); Query ACCT# reads the account, balance, lots and cap "
        "counters in one request; Query RULES is the 30-s rules cache reloading; an event earning nothing "
        "(under 10 yuan, or the day's cap used up) makes no write",
        f"TransactWriteItems outcomes, both modes: {', '.join(f'{n} {o}' for o, n in outcomes.most_common()) or 'none'}; "
        "each writes the entry, the balance (version-conditioned), the lot, the daily cap counter and the PointsEarned outbox item",
        "checks: every customer's items read back with the local cloud's own client, in one consistent Scan (two Queries "
        "per customer would each sort the table); the expected "
        "points are worked out in the bench from the amounts, the daily cap (in delivery order) and end-of-month expiry, "
        "not by the library; the balance's version must equal the number of transactions",
        f"memory: before the timed runs, {MEMORY_EVENTS} more events per mode through {FUNCTION}'s handler in a Python "
        "process of its own (python -c, the function's environment, the same emulator), as a Lambda environment runs it: "
        "its max RSS (what Lambda reports as Max Memory Used) and tracemalloc after its first invocation (the cold start). "
        "Not in the bench process: the emulator lives there, and its HTTP server (werkzeug) allocates a 10 MB read buffer "
        f"after every request (serving.py drains the socket with rfile.read(10_000_000)). Lambda gives {FUNCTION} "
        f"{TOPOLOGY.function(FUNCTION).memory_mb} MB",
        f"redelivery: {REDELIVERED} new events for {REDELIVERY_CUSTOMERS} customers in batches of {BATCH_SIZE}, delivered "
        "again with the same envelopes, then re-published under new envelope ids; entries derive from the transaction id, "
        "so the 2nd and 3rd deliveries must add nothing. Each is decided again from a fresh read: if the rule still awards "
        "points it costs a TransactWriteItems cancelled on the entry's condition (outcomes: "
        f"{', '.join(f'{n} {o}' for o, n in r.redelivery.usage.outcomes.most_common()) or 'none'}); if the day's cap is "
        "used up by now (by later events of that day) it awards 0 and writes nothing",
        f"earn rules in the table: {r.rules_in_table}; checks took {r.check_s:.1f} s",
        *r.runs[BATCHED].problems, *r.runs[SINGLE].problems, *r.problems,
        *(f"{m}: {p}" for m in (BATCHED, SINGLE) for p in r.books[m].problems + r.others[m].problems),
    ]
    return table
