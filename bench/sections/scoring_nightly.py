"""The nightly re-scoring end to end on the emulator: parallel scan, cut points, vectorised scoring,
transactional batch writes to the scoring table and the profiles, with checkpoints.

A local cloud (moto over HTTP, on free ports) is seeded, untimed, with `CUSTOMERS` profiles and
feature states (card spend on random days of the last year, a product opened, logins; a third tagged
`payroll`) and 3 segments. Then two runs of `loyalty.scoring.nightly` with the library's own client,
as the scoring-nightly function runs it: the first night (nobody scored before: every score and
membership is new and announced), and the next night (as of the day after: recencies grow by a day;
only band crossings are written as events). botocore hooks count the calls of each run.
"""

from __future__ import annotations

import json
import os
import random
import resource
import time
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from bench.cloud import local_cloud
from bench.process_state import forget_engine_state
from bench.table import Column, Table
from infra.topology import TOPOLOGY

# 100,000 would take over an hour on the emulator here (about 25 customers a second: docs/scoring.md); the default keeps
# `make bench` short. SCORING_NIGHTLY_CUSTOMERS=100000 runs the figure.
CUSTOMERS = int(os.environ.get("SCORING_NIGHTLY_CUSTOMERS", 2_000))
# 1 runs the first night only (the one that writes everyone): half the time of a 100,000 run.
NIGHTS = int(os.environ.get("SCORING_NIGHTLY_NIGHTS", 2))
SEED = 20_261_123
SEGMENTS = [
    {"segmentId": "bench-active", "name": "active", "rule": {"lifecycleStages": ["active", "high_value"]}},
    {"segmentId": "bench-payroll", "name": "payroll", "rule": {"tagsAny": ["payroll"]}},
    {"segmentId": "bench-top-rfm", "name": "top RFM", "rule": {"scores": {"rfmMonetary": {"min": 5}, "rfmFrequency": {"min": 4}}}},
]


def feature_state(rng: random.Random, today: date) -> str:
    days: dict[str, dict[str, dict[str, int]]] = {}
    for _ in range(rng.choice((0, 1, 2, 4, 8, 16, 32))):
        day = (today - timedelta(days=rng.randrange(365))).isoformat()
        bucket = days.setdefault(day, {})
        tally = bucket.setdefault("card_spend", {"count": 0, "amountMinor": 0})
        tally["count"] += 1
        tally["amountMinor"] += rng.randrange(1_000, 500_000)
    for _ in range(rng.randrange(4)):
        days.setdefault((today - timedelta(days=rng.randrange(30))).isoformat(), {})["login"] = {"count": 1, "amountMinor": 0}
    onboarded = (today - timedelta(days=rng.randrange(1, 2000))).isoformat()
    state = {"latestDay": max(days) if days else None, "days": dict(sorted(days.items())), "aumByMonth": {},
             "products": ["debit-card"], "onboardedOn": onboarded, "recentEventIds": []}
    return json.dumps(state, separators=(",", ":"))


def seed(client: Any, today: date) -> None:
    from loyalty.core.dynamo import to_item
    from loyalty.scoring.store import state_bucket

    rng = random.Random(SEED)
    for start in range(0, CUSTOMERS, 25):
        profiles, states = [], []
        for n in range(start, min(start + 25, CUSTOMERS)):
            customer = f"bn-{n:07d}"
            tags = ["payroll"] if n % 3 == 0 else []
            profiles.append({"PutRequest": {"Item": to_item({"customerId": customer, "changedAt": "2026-01-01T00:00:00.000000Z",
                                                             "sourceEventId": "seed", "tags": tags or None})}})
            states.append({"PutRequest": {"Item": to_item({"pk": f"CUST#{customer}", "sk": "STATE", "customerId": customer, "version": 1,
                                                           "features": feature_state(rng, today),
                                                           "gsi2pk": f"CUSTOMERS#{state_bucket(customer)}", "gsi2sk": customer})}})
        client.batch_write_item(RequestItems={"customers": profiles, "scoring": states})


class Calls:
    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self.items: Counter[str] = Counter()
        self.seconds: Counter[str] = Counter()

    def done(self, context: dict[str, Any], **_: Any) -> None:
        # `after-call-error` (a timeout, a refused connection) passes no `model`: the hook kept the name
        if "bench_started" in context:
            self.seconds[context.pop("bench_operation")] += time.perf_counter() - context.pop("bench_started")

    def hook(self, model: Any, params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        self.counts[model.name] += 1
        context["bench_started"], context["bench_operation"] = time.perf_counter(), model.name
        for item in params.get("TransactItems", []):
            operation, body = next(iter(item.items()))
            key = body.get("Item") or body.get("Key") or {}
            pk = key.get("pk", {}).get("S", "") or "profile"
            self.items[f"{operation} {pk.split('#', 1)[0]}"] += 1


def timed_run(client: Any, run_date: date) -> tuple[dict[str, Any], float, Calls]:
    from loyalty.scoring import nightly, service

    calls = Calls()
    client.meta.events.register("provide-client-params.dynamodb.*", calls.hook)
    client.meta.events.register("after-call.dynamodb.*", calls.done)
    client.meta.events.register("after-call-error.dynamodb.*", calls.done)
    started = time.perf_counter()
    try:
        result = nightly.start_or_resume(service.default_store(), run_date, datetime.now(UTC), lambda: float("inf"))
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.*", calls.hook)
        client.meta.events.unregister("after-call.dynamodb.*", calls.done)
        client.meta.events.unregister("after-call-error.dynamodb.*", calls.done)
    return result, time.perf_counter() - started, calls


REALTIME_EVENTS = int(os.environ.get("SCORING_REALTIME_EVENTS", 500))


def realtime(client: Any) -> tuple[float, Calls]:
    """REALTIME_EVENTS card transactions of seeded customers through the scoring-ingest handler, in
    SQS batches of 10 (the queue's batch size); the seconds and the calls."""
    import uuid

    from functions.scoring.ingest import handler
    from infra.local.gateway import LambdaContext

    context = LambdaContext(TOPOLOGY.function("scoring-ingest"))

    rng = random.Random(SEED + 1)
    bodies = []
    for _ in range(REALTIME_EVENTS):
        detail = {"transactionId": uuid.uuid4().hex, "customerId": f"bn-{rng.randrange(CUSTOMERS):07d}", "amountMinor": rng.randrange(100, 100_000),
                  "currency": "CNY", "merchantId": "m", "mcc": "5812", "channel": "pos", "postedAt": datetime.now(UTC).isoformat()}
        bodies.append(json.dumps({"id": str(uuid.uuid4()), "source": "bank.core", "detail-type": "CardTransactionPosted", "detail": detail}))
    calls = Calls()
    client.meta.events.register("provide-client-params.dynamodb.*", calls.hook)
    client.meta.events.register("after-call.dynamodb.*", calls.done)
    started = time.perf_counter()
    try:
        for start in range(0, len(bodies), 10):
            records = [{"messageId": str(i), "body": b} for i, b in enumerate(bodies[start : start + 10])]
            assert handler({"Records": records}, context) == {"batchItemFailures": []}
    finally:
        client.meta.events.unregister("provide-client-params.dynamodb.*", calls.hook)
        client.meta.events.unregister("after-call.dynamodb.*", calls.done)
    return time.perf_counter() - started, calls


def run() -> Table:

    saved_environment = dict(os.environ)
    cloud = local_cloud()
    try:
        forget_engine_state()
        cloud.stop_background_work()  # only the run talks to the emulator: no pollers, no schedules
        from loyalty.core import aws
        from loyalty.scoring import admin, service
        from loyalty.scoring.segments import SegmentDefinition

        today = service.bank_today(datetime.now(UTC))
        started = time.perf_counter()
        seed(cloud.clients.dynamodb, today)
        for segment in SEGMENTS:
            admin.save_segment(service.default_store(), SegmentDefinition.model_validate(segment), "bench", "2026-01-01T00:00:00Z", create=True)
        seed_s = time.perf_counter() - started
        client = aws.dynamodb()
        first = timed_run(client, today)
        second = timed_run(client, today + timedelta(days=1)) if NIGHTS > 1 else None
        live = realtime(client)
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        cloud.stop()
        os.environ.clear()
        os.environ.update(saved_environment)
        forget_engine_state()
    return build_table(first, second, live, seed_s, rss_mb)


Run = tuple[dict[str, Any], float, Calls]


def build_table(first: Run, second: Run | None, live: tuple[float, Calls], seed_s: float, rss_mb: float) -> Table:
    table = Table(
        f"scoring: nightly re-scoring end to end on the emulator, {CUSTOMERS:,} customers",
        [Column("measure"), Column("first night"), *([Column("next night")] if second else [])],
    )
    runs = [first, *([second] if second else [])]
    pad = [""] * (len(runs) - 1)
    table.add("status", *[r[0]["status"] for r in runs])
    table.add("customers scanned", *[f"{r[0]['processed']:,}" for r in runs])
    table.add("  written / unchanged / skipped", *[f"{r[0]['written']:,} / {r[0]['unchanged']:,} / {r[0]['skipped']:,}" for r in runs])
    table.add("wall time (s)", *[f"{r[1]:.1f}" for r in runs])
    table.add("customers per second", *[f"{r[0]['processed'] / r[1]:,.0f}" for r in runs])
    table.add("AWS requests per customer", *[f"{sum(r[2].counts.values()) / max(1, r[0]['processed']):.3f}" for r in runs])
    for operation in sorted({op for r in runs for op in r[2].counts}):
        table.add(f"  {operation}: calls, s in them", *[f"{r[2].counts[operation]:,}, {r[2].seconds[operation]:.1f}" for r in runs])
    for kind in sorted({kind for r in runs for kind in r[2].items}):
        table.add(f"  items: {kind}", *[f"{r[2].items[kind]:,}" for r in runs])
    table.add("RFM cut points recomputed (version)", *[str(r[0]["rfmVersion"]) for r in runs])
    seconds, calls = live
    table.add(f"real time: {REALTIME_EVENTS:,} card transactions, events per second", f"{REALTIME_EVENTS / seconds:,.0f}", *pad)
    table.add("  AWS requests per event", f"{sum(calls.counts.values()) / REALTIME_EVENTS:.2f}", *pad)
    for operation in sorted(calls.counts):
        table.add(f"  {operation}: calls, s in them", f"{calls.counts[operation]:,}, {calls.seconds[operation]:.1f}", *pad)
    table.notes += [
        f"seeding {CUSTOMERS:,} profiles and feature states (BatchWriteItem, untimed) took {seed_s:.1f} s; "
        f"SCORING_NIGHTLY_CUSTOMERS sets the count",
        "a run is two passes over the customers, 4 segments in parallel, each reading its share of the 16 buckets of the STATE "
        "index (gsi2, Query pages of up to 1,000): the cut points, then the re-scoring, written in TransactWriteItems of whole "
        "customers (≤ 100 items), each conditioned on the state version it read",
        "the emulator serializes every request (infra/local), so the 4 threads add no parallelism here; on DynamoDB they do",
        "items: OUTBOX = events announced (ScoreChanged per summary band crossed, SegmentEntered/Left); the first night every "
        "customer is new, the next night (as of a day later) only crossings are",
        "real time: the scoring-ingest handler in process, SQS batches of 10, after the two nights (the table as they left it); "
        "each event reads the state and the profile and writes one transaction (marker, state, profile, memberships, events)",
        f"peak RSS of the whole process (emulator, seed data and the runs together): {rss_mb:,.0f} MB",
    ]
    return table
