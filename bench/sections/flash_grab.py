"""A flash grab on the emulator: many customers claim one template at once; nothing may be over-issued.

A local cloud (moto over HTTP, on free ports) serves DynamoDB. An operator creates and activates a
template with `STOCK` coupons and a lifetime limit of one per customer (through the coupons-admin
handler); then `CLIENTS` threads invoke the coupons-claim handler in process, `CLAIMS` times, each
claim for a distinct customer with its own Idempotency-Key, with the REST proxy events API Gateway
would hand it (built before the clock starts). Once with 1 stock shard, once with `SHARDED`.

Afterwards the table itself is the judge (read with the local cloud's own client, consistently):
the coupon items of the template, their owners, the customers' limit counters, the CouponIssued
outbox items and the shards' stock left must all agree with the answers and with the stock.

botocore event hooks on the library's own DynamoDB client (`loyalty.core.aws.dynamodb()`) count
every call made on a claim thread: `before-call` per API call, `before-send` per HTTP attempt (so
botocore's own retries show), and the outcome of each TransactWriteItems, with the cancellation
reason of each item. The emulator's request counter is read around the claims, with the local
cloud's pollers and scheduler stopped first so that it counts nothing but the claims.
"""

from __future__ import annotations

import json
import math
import os
import queue
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bench.cloud import local_cloud
from bench.process_state import forget_engine_state
from bench.sections.overhead import api_event
from bench.table import Column, Table
from infra.topology import TOPOLOGY

# moto takes ~20-30 ms per claim transaction, one at a time, so the default grab is small (~40 s on 2 cores);
# FLASH_GRAB_STOCK=1000 FLASH_GRAB_CLAIMS=1500 runs a bigger one (~3 minutes).
STOCK = int(os.environ.get("FLASH_GRAB_STOCK", 300))
CLAIMS = int(os.environ.get("FLASH_GRAB_CLAIMS", STOCK * 13 // 10))  # more claimants than stock: the rest must hear "out of stock"
CLIENTS = 32  # concurrent claimers (threads)
SHARDED = 8
OPERATOR = "bench-operator"
ITEM_KINDS = ("STOCK", "LIMIT", "CPN", "OUTBOX")  # what a claim's transaction writes, by key prefix
OUT_OF_STOCK = "409 COUPON_OUT_OF_STOCK"


def template_body(template_id: str, shards: int) -> dict[str, Any]:
    return {
        "templateId": template_id,
        "name": f"Flash grab bench, {shards} shard(s)",
        "benefit": {"kind": "fixed_amount", "amountMinor": 1_000, "currency": "CNY"},
        "totalStock": STOCK,
        "shards": shards,
        "validity": {"type": "days_after_claim", "days": 30},
        "limits": {"perCustomerLifetime": 1},
        "funding": {"costCentre": "cc-bench", "unitCostMinor": 1_000, "currency": "CNY"},
    }


class ClaimMeter:
    """Counts the DynamoDB calls of the threads marked as claimers, per claim (other threads are ignored)."""

    def __init__(self) -> None:
        self._local = threading.local()

    def start_claim(self) -> None:
        self._local.calls = Counter()  # API calls by operation, and TransactWriteItems outcomes
        self._local.sends = 0  # HTTP attempts (botocore retries would add some)

    def end_claim(self) -> tuple[Counter[str], int]:
        calls, sends = self._local.calls, self._local.sends
        del self._local.calls
        return calls, sends

    def attach(self, client: Any) -> None:
        for event, hook in self._hooks():
            client.meta.events.register(event, hook)

    def detach(self, client: Any) -> None:
        for event, hook in self._hooks():
            client.meta.events.unregister(event, hook)

    def _hooks(self) -> list[tuple[str, Any]]:
        return [
            ("before-parameter-build.dynamodb.*", self._call),
            ("before-send.dynamodb.*", self._send),
            ("after-call.dynamodb.TransactWriteItems", self._transaction),
        ]

    def _calls(self) -> Counter[str] | None:
        calls: Counter[str] | None = getattr(self._local, "calls", None)
        return calls

    def _call(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        calls = self._calls()
        if calls is None:
            return
        calls[model.name] += 1
        if model.name == "TransactWriteItems":  # remember what each item is, to read the reasons
            context["bench_kinds"] = [_kind(item) for item in params.get("TransactItems", [])]

    def _send(self, **_: Any) -> None:
        if self._calls() is not None:
            self._local.sends += 1

    def _transaction(self, parsed: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        calls = self._calls()
        if calls is None:
            return
        error = parsed.get("Error", {}).get("Code")
        if not error:
            outcome = "ok"
        elif error == "TransactionCanceledException":
            kinds = context.get("bench_kinds") or []
            reasons = [
                f"{kinds[i] if i < len(kinds) else '?'} {r.get('Code')}"
                for i, r in enumerate(parsed.get("CancellationReasons") or [])
                if r.get("Code") not in (None, "None")
            ]
            outcome = "cancelled: " + (", ".join(reasons) or "no reason")
        else:
            outcome = error
        calls[f"TransactWriteItems {outcome}"] += 1


def _kind(item: dict[str, Any]) -> str:
    action = next(iter(item.values()))
    key = action.get("Key") or action.get("Item") or {}
    pk = key.get("pk", {}).get("S", "")
    return next((k for k in ITEM_KINDS if pk.startswith(k + "#")), pk.split("#", 1)[0] or "?")


@dataclass
class Run:
    shards: int
    template_id: str
    claims: int = 0
    wall_s: float = 0.0
    setup_s: float = 0.0  # template, events, threads
    check_s: float = 0.0  # reading the table afterwards
    answers: Counter[str] = field(default_factory=Counter)  # "201" or "<status> <code>"
    answered_ids: list[str] = field(default_factory=list)  # couponId of every 201
    unexpected: list[str] = field(default_factory=list)  # the first few answers other than 201 and 409 out of stock
    calls: dict[str, Counter[str]] = field(default_factory=dict)  # answer -> API calls (and TWI outcomes) of those claims
    most_writes: Counter[str] = field(default_factory=Counter)  # answer -> the most TransactWriteItems one claim made
    retried_201: int = 0  # 201 answers that took more than one TransactWriteItems
    reads_per_thread: list[int] = field(default_factory=list)  # template GetItems of each claimer thread
    sends: int = 0
    emulator_requests: int = 0
    idle_emulator_requests: int = 0
    # what the table holds afterwards
    coupons: int = 0
    coupon_ids: set[str] = field(default_factory=set)
    owners: Counter[str] = field(default_factory=Counter)
    limit_counted: int = 0
    limit_over_one: int = 0
    events: int = 0
    stock_left: int = 0
    shard_left: list[int] = field(default_factory=list)

    @property
    def issued(self) -> int:
        return self.answers["201"]

    @property
    def out_of_stock(self) -> int:
        return self.answers[OUT_OF_STOCK]

    @property
    def others(self) -> int:
        return self.claims - self.issued - self.out_of_stock

    @property
    def customers_with_more(self) -> int:
        return sum(1 for n in self.owners.values() if n > 1)

    @property
    def duplicate_answers(self) -> int:
        return len(self.answered_ids) - len(set(self.answered_ids))

    def total(self, operation: str) -> int:
        return sum(c[operation] for c in self.calls.values())

    def api_calls(self) -> int:
        return sum(n for c in self.calls.values() for op, n in c.items() if " " not in op)

    def mean(self, answer: str, operation: str) -> str:
        count = self.answers[answer]
        return f"{self.calls.get(answer, Counter())[operation] / count:.3f}" if count else "-"


def _admin(cloud: Any, method: str, path: str, values: dict[str, str], body: Any) -> dict[str, Any]:
    function = TOPOLOGY.function("coupons-admin")
    route = next(r for r in function.routes if r.method == method and r.path == path)
    result: dict[str, Any] = cloud.registry.invoke(function, api_event(route, values, OPERATOR, ["operators"], body))
    if not 200 <= int(result["statusCode"]) < 300:
        raise RuntimeError(f"{method} {path} answered {result['statusCode']}: {result.get('body')}")
    return result


def _answer(result: dict[str, Any]) -> tuple[str, str | None]:
    """("201", couponId) or ("<status> <error code>", None)."""
    status = int(result.get("statusCode", 0))
    try:
        body = json.loads(result.get("body") or "{}")
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return f"{status} ?", None
    if status == 201:
        return "201", str(body.get("couponId"))
    return f"{status} {(body.get('error') or {}).get('code', '?')}", None


def grab(cloud: Any, meter: ClaimMeter, shards: int) -> Run:
    set_up = time.perf_counter()
    template_id = f"bench-grab-{shards}-{uuid.uuid4().hex[:8]}"
    base = "/v1/admin/coupon-templates"
    _admin(cloud, "POST", base, {}, template_body(template_id, shards))
    _admin(cloud, "PUT", base + "/{templateId}/status", {"templateId": template_id}, {"status": "active"})

    function = TOPOLOGY.function("coupons-claim")
    route = function.routes[0]
    prefix = f"grab{shards}-{uuid.uuid4().hex[:6]}"
    work: queue.SimpleQueue[dict[str, Any]] = queue.SimpleQueue()
    for i in range(CLAIMS):
        work.put(api_event(route, {}, f"{prefix}-c{i:05d}", [], {"templateId": template_id}))
    cloud.registry.get(function)  # import the handler before the clock starts

    run = Run(shards, template_id, claims=CLAIMS)
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS + 1)

    def claimer() -> None:
        reads = 0
        start.wait()
        while True:
            try:
                event = work.get_nowait()
            except queue.Empty:
                break
            meter.start_claim()
            result = cloud.registry.invoke(function, event)
            calls, sends = meter.end_claim()
            answer, coupon_id = _answer(result)
            reads += calls["GetItem"]
            with lock:
                run.answers[answer] += 1
                run.calls.setdefault(answer, Counter()).update(calls)
                run.most_writes[answer] = max(run.most_writes[answer], calls["TransactWriteItems"])
                run.sends += sends
                if coupon_id is not None:
                    run.answered_ids.append(coupon_id)
                    run.retried_201 += calls["TransactWriteItems"] > 1
                elif answer != OUT_OF_STOCK and len(run.unexpected) < 3:
                    run.unexpected.append(f"{answer}: {str(result.get('body'))[:200]}")
        with lock:
            run.reads_per_thread.append(reads)

    threads = [threading.Thread(target=claimer, name=f"claimer-{i}", daemon=True) for i in range(CLIENTS)]
    for thread in threads:
        thread.start()
    idle_from = cloud.emulator.app.requests
    time.sleep(0.2)  # nothing else may be talking to the emulator now
    requests_before = cloud.emulator.app.requests
    run.idle_emulator_requests = requests_before - idle_from
    start.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    run.wall_s = time.perf_counter() - started
    run.emulator_requests = cloud.emulator.app.requests - requests_before
    checked = time.perf_counter()
    inspect_table(cloud, run)
    run.check_s = time.perf_counter() - checked
    run.setup_s = started - set_up
    return run


def _scan(client: Any, **request: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = client.scan(TableName="coupons", ConsistentRead=True, **request)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def inspect_table(cloud: Any, run: Run) -> None:
    """Counts what the claims left in the table, with the local cloud's own client."""
    client = cloud.clients.dynamodb
    coupons = _scan(
        client,
        FilterExpression="begins_with(pk, :cpn) AND template_id = :t",
        ExpressionAttributeValues={":cpn": {"S": "CPN#"}, ":t": {"S": run.template_id}},
    )
    run.coupons = len(coupons)
    run.coupon_ids = {c["coupon_id"]["S"] for c in coupons}
    run.owners = Counter(c["customer_id"]["S"] for c in coupons)
    limits = _scan(
        client,
        FilterExpression="begins_with(pk, :p)",
        ExpressionAttributeValues={":p": {"S": f"LIMIT#{run.template_id}#"}},
    )
    counts = [int(i["count"]["N"]) for i in limits]
    run.limit_counted = sum(counts)
    run.limit_over_one = sum(1 for n in counts if n > 1)
    events = _scan(
        client,
        FilterExpression="begins_with(pk, :o) AND detailType = :d AND contains(detail, :t)",
        ExpressionAttributeValues={
            ":o": {"S": "OUTBOX#"},
            ":d": {"S": "CouponIssued"},
            ":t": {"S": f'"templateId":"{run.template_id}"'},
        },
    )
    run.events = len(events)
    for shard in range(run.shards):
        key = {"pk": {"S": f"STOCK#{run.template_id}#{shard}"}, "sk": {"S": "STOCK"}}
        item = client.get_item(TableName="coupons", Key=key, ConsistentRead=True).get("Item", {})
        run.shard_left.append(int(item.get("left", {}).get("N", "0")))
    run.stock_left = sum(run.shard_left)


def run() -> Table:

    saved_environment = dict(os.environ)
    cloud = local_cloud()
    runs: list[Run] = []
    client = None
    meter = ClaimMeter()
    try:
        forget_engine_state()  # another section's local cloud may have left them on its (stopped) emulator
        from loyalty.core import aws
        from loyalty.core.config import get_settings

        client = aws.dynamodb()
        meter.attach(client)
        cache_s = get_settings().template_cache_seconds
        # Only the claims may talk to the emulator while they run: stop the local cloud's background work.
        cloud.stop_background_work()
        for shards in (1, SHARDED):
            runs.append(grab(cloud, meter, shards))
    finally:
        if client is not None:
            meter.detach(client)
        cloud.stop()
        os.environ.clear()
        os.environ.update(saved_environment)
        forget_engine_state()
    return build_table(runs, cache_s)


def build_table(runs: list[Run], cache_s: float) -> Table:
    table = Table(
        f"Flash grab on the emulator: {CLAIMS:,} claims by distinct customers from {CLIENTS} threads "
        f"for a stock of {STOCK:,} (limit 1 per customer)",
        [Column("measure"), *(Column(f"{r.shards} shard{'s' if r.shards > 1 else ''}") for r in runs), Column("must be")],
    )

    def row(name: str, must: str, *cells: Any) -> None:
        table.add(name, *[str(c) for c in cells], must)

    twi = "TransactWriteItems"
    row("claims attempted", "", *(r.claims for r in runs))
    row("answered 201 (coupons issued)", f"{STOCK}", *(r.issued for r in runs))
    row(f"answered {OUT_OF_STOCK}", f"{CLAIMS - STOCK}", *(r.out_of_stock for r in runs))
    row("other answers", "0", *(r.others for r in runs))
    row("coupon items in the table", f"{STOCK}", *(r.coupons for r in runs))
    row("over-issue (coupon items - stock)", "0", *(r.coupons - STOCK for r in runs))
    row("stock left (sum of shards)", "0", *(r.stock_left for r in runs))
    row("customers holding > 1 coupon", "0", *(r.customers_with_more for r in runs))
    row("coupon ids answered twice", "0", *(r.duplicate_answers for r in runs))
    row("201 ids not in the table", "0", *(len(set(r.answered_ids) - r.coupon_ids) for r in runs))
    row("limit counters: sum / above 1", f"{STOCK} / 0", *(f"{r.limit_counted} / {r.limit_over_one}" for r in runs))
    row("CouponIssued outbox items", f"{STOCK}", *(r.events for r in runs))
    row("wall time (s)", "", *(f"{r.wall_s:.1f}" for r in runs))
    row("claims/s (wall, emulator-bound)", "", *(f"{r.claims / r.wall_s:.0f}" for r in runs))
    row(f"{twi} per 201 (mean / max)", "1 (+ empty shards)", *(f"{r.mean('201', twi)} / {r.most_writes['201']}" for r in runs))
    row("  201s that met an empty shard first", "", *(r.retried_201 for r in runs))
    row(f"{twi} per 409 out of stock (mean / max)", "shards", *(f"{r.mean(OUT_OF_STOCK, twi)} / {r.most_writes[OUT_OF_STOCK]}" for r in runs))
    row(f"{twi} per coupon issued (all claims)", "", *(f"{r.total(twi) / max(1, r.issued):.3f}" for r in runs))
    row("GetItem (template) per coupon issued", "", *(f"{r.total('GetItem') / max(1, r.issued):.3f}" for r in runs))
    row("  GetItem in the run / per thread (max)", f"1 per thread per {cache_s:g} s", *(f"{r.total('GetItem')} / {max(r.reads_per_thread)}" for r in runs))
    row(f"  {cache_s:g}-s windows in the run", "", *(math.ceil(r.wall_s / cache_s) for r in runs))
    row("other API calls", "0", *(r.api_calls() - r.total(twi) - r.total("GetItem") for r in runs))
    row("HTTP sends per API call", "1 (no retries)", *(f"{r.sends / max(1, r.api_calls()):.3f}" for r in runs))
    row("emulator requests per claim", "", *(f"{r.emulator_requests / r.claims:.3f}" for r in runs))
    row("emulator requests - HTTP sends", "0", *(r.emulator_requests - r.sends for r in runs))
    for r in runs:
        outcomes = Counter({op.removeprefix(f"{twi} "): n for c in r.calls.values() for op, n in c.items() if op.startswith(f"{twi} ")})
        table.notes.append(
            f"{r.shards} shard(s): {twi} outcomes: {', '.join(f'{n} {o}' for o, n in outcomes.most_common())}; "
            f"stock left per shard {r.shard_left}"
        )
        table.notes.append(
            f"{r.shards} shard(s): answers {', '.join(f'{n}x {a}' for a, n in r.answers.most_common())}; "
            f"emulator requests in 0.2 s idle before the run: {r.idle_emulator_requests}; "
            f"set-up {r.setup_s:.1f} s, checks {r.check_s:.1f} s"
        )
        table.notes += [f"{r.shards} shard(s): unexpected answer {u}" for u in r.unexpected]
    table.notes += [
        "each claim: the coupons-claim handler invoked in process (no HTTP, no API Gateway) with a REST proxy event for a "
        "new customer and Idempotency-Key; the template created and activated through coupons-admin just before",
        "API calls: botocore hooks on loyalty.core.aws.dynamodb(), per claim, claim threads only (before-parameter-build "
        "per call, before-send per HTTP attempt, after-call for each transaction's cancellation reasons)",
        f"GetItem: the template, cached {cache_s:g} s per process. The {CLIENTS} threads share one cache, so when it is "
        "empty (the first claims, each expiry) they all miss at once while the emulator queues their reads; each thread "
        "misses about once per window, as a Lambda environment (one request at a time, its own cache) would",
        "a claim that meets an empty shard is cancelled (STOCK ConditionalCheckFailed) and tried on the next: a few extra "
        f"{twi} near the end of the stock, and one per shard for every claim after it (the 409s)",
        "the emulator (moto) serializes every request and its conditions are exact: concurrency here tests our logic, not "
        "DynamoDB's throughput, and claims/s is moto's speed (see the partitions section for AWS). The local cloud's "
        "pollers and scheduler are stopped during the runs, so the emulator counts only the claims' requests",
    ]
    return table
