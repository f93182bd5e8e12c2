"""What drawing from an org unit's budget pool adds to a grant (issue 18: "the grant's added cost").

Three event-triggered campaigns, each of one `award_points` action (100 points; a budget in reward
units, once per customer, no control group), are launched through the local API (maker, then checker):

- **a** names no org unit: today's grant;
- **b** names a branch (`orgUnitId`) that head office gave part of its year pool (reward units), so every
  grant also draws from the branch's pool inside its own TransactWriteItems (`pools().draw`);
- **c** the same, at another branch whose pool carries a pacing plan (even, by week, 10% tolerance).

The tree, the head office's year pool and the two allocations are built through the local API, as
`tests/support/org.py` does. The pools are large enough that no grant is refused (the plan's running
allowance too), so every invocation is one grant. Then, timed: `GRANTS` customers per campaign, each with
a card transaction at the campaign's merchant, delivered to the `campaigns-triggers` handler in process
(`cloud.registry.invoke`) as the SQS record the bus rule would deliver: one record, one grant, one
invocation. The three campaigns take turns (round after round, their order rotating), so a slow spell of
the machine falls on all three alike; the first `WARMUP` rounds are not measured.

botocore event hooks on the domain library's clients (`loyalty.core.aws`, which PynamoDB shares) count
each call by operation and the items of each TransactWriteItems (from its parameters), and time the calls.
After the run, each campaign's books are read: its pool's `spent` must equal the grants' cost (the arm's
cost counter) and the campaign budget's spend.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.cloud import local_cloud
from bench.process_state import forget_engine_state
from bench.stats import median, percentile
from bench.table import Column, Table
from infra.topology import BANK_SOURCE, TOPOLOGY

GRANTS = int(os.environ.get("POOL_GRANTS_N", 200))  # measured grants per campaign
WARMUP = 5  # rounds before measuring (the first is the handler's cold start)
POINTS = 100
ALLOCATION = 1_000_000  # rewards given to each branch: far more than the grants, under any pacing allowance
PLAN = {"granularity": "week", "shape": "even", "tolerancePercent": 10}
FUNCTION = "campaigns-triggers"
VARIANTS = ("a", "b", "c")
LABELS = {"a": "a: no org unit", "b": "b: branch pool (year)", "c": "c: b + weekly plan"}


class Meter:
    """Calls by operation, TransactWriteItems items, and seconds inside calls, of the clients it is
    attached to, while `on` (one thread at a time)."""

    def __init__(self) -> None:
        self.on = False
        self.calls: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()  # calls answered with an error (a cancelled transaction, a failed condition)
        self.sizes: list[int] = []  # the items of each TransactWriteItems, in order
        self.seconds = 0.0

    def attach(self, client: Any) -> None:
        client.meta.events.register("provide-client-params.*.*", self._started)
        client.meta.events.register("after-call.*.*", self._finished)
        client.meta.events.register("after-call-error.*.*", self._finished)

    def reset(self) -> None:
        self.calls, self.refused, self.sizes, self.seconds = Counter(), Counter(), [], 0.0

    def _started(self, params: dict[str, Any], context: dict[str, Any], event_name: str, **_: Any) -> None:
        if not self.on:
            return
        context["bench_started"] = time.perf_counter()
        if event_name.endswith(".TransactWriteItems"):
            self.sizes.append(len(params.get("TransactItems", ())))

    def _finished(self, context: dict[str, Any], event_name: str, parsed: Any = None, **_: Any) -> None:
        started = context.pop("bench_started", None)
        if started is not None:
            self.seconds += time.perf_counter() - started
            operation = event_name.rsplit(".", 1)[-1]
            self.calls[operation] += 1
            if parsed is None or (isinstance(parsed, dict) and "Error" in parsed):
                self.refused[operation] += 1


@dataclass
class Variant:
    key: str
    campaign_id: str = ""
    unit_id: str | None = None
    total_ms: list[float] = field(default_factory=list)
    aws_ms: list[float] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    items: int = 0
    shapes: Counter[str] = field(default_factory=Counter)  # the invocation's TransactWriteItems sizes, e.g. "10+2"
    grants: int = 0  # measured invocations
    failed: int = 0
    # the books, after the run (warm-up grants included)
    granted: int = 0
    cost: int = 0
    budget_spent: int = 0
    pool_spent: int | None = None
    alerted: str = ""  # the pool's alertedAhead / alertedBehind marks

    @property
    def requests(self) -> int:
        return sum(self.calls.values())


def campaign_body(campaign_id: str, budget: int, unit_id: str | None) -> dict[str, Any]:
    now = datetime.now(UTC)
    iso = "%Y-%m-%dT%H:%M:%SZ"
    body: dict[str, Any] = {
        "campaignId": campaign_id,
        "name": "Bench: spend at the merchant, get points",
        "window": {"startsAt": (now - timedelta(minutes=5)).strftime(iso), "endsAt": (now + timedelta(days=20)).strftime(iso)},
        # only at the merchant named like the campaign: one transaction triggers one campaign
        "trigger": {"type": "event", "eventType": "CardTransactionPosted", "minAmountMinor": 10_000, "pattern": {"merchantId": [campaign_id]}},
        "audience": {"requireProfile": False},
        "variants": [{"variantId": "main", "weightPercent": 100,
                      "actions": [{"type": "award_points", "points": POINTS, "costCentre": "cc-marketing"}]}],
        "controlPercent": 0,
        "budget": {"unit": "rewards", "total": budget},
        "frequencyCaps": {"lifetime": 1},
        "fundingCostCentre": "cc-marketing",
    }
    if unit_id is not None:
        body["orgUnitId"] = unit_id
    return body


def set_up(api: Any, year: str, suffix: str) -> dict[str, Variant]:
    """The branches, the head office's year pool and its allocations, and the three campaigns, through the API."""
    from tests.support import campaigns as cmp
    from tests.support import org

    org.ensure_root_pool(api, year)
    variants = {key: Variant(key) for key in VARIANTS}
    for key, plan in (("b", None), ("c", PLAN)):
        unit = org.branch(api)
        fields: dict[str, Any] = {"plan": plan} if plan else {}
        response = org.allocate(api, org.HEAD_OFFICE, unit, year, ALLOCATION, **fields)
        if response.status_code != 200:
            raise RuntimeError(f"allocating to {unit}: {response.status_code} {response.text[:300]}")
        variants[key].unit_id = unit
    budget = (WARMUP + GRANTS) * 10
    for variant in variants.values():
        variant.campaign_id = cmp.launch(api, campaign_body(f"bench-pool-{variant.key}-{suffix}", budget, variant.unit_id))
    return variants


def trigger_event(campaign_id: str, customer_id: str, queue_arn: str) -> dict[str, Any]:
    """The SQS record the bus rule delivers to campaign-triggers: a card transaction at the campaign's merchant."""
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    detail = {"transactionId": f"tx-{uuid.uuid4().hex[:16]}", "customerId": customer_id, "amountMinor": 150_000, "currency": "CNY",
              "merchantId": campaign_id, "mcc": "5812", "channel": "pos", "postedAt": now}
    body = {"version": "0", "id": str(uuid.uuid4()), "source": BANK_SOURCE, "detail-type": "CardTransactionPosted",
            "account": "000000000000", "time": now, "region": "us-east-1", "resources": [], "detail": detail}
    message_id = str(uuid.uuid4())
    return {"Records": [{"messageId": message_id, "receiptHandle": f"bench-{message_id}", "body": json.dumps(body),
                         "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": str(int(time.time() * 1000))},
                         "messageAttributes": {}, "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": "us-east-1"}]}


def measure(cloud: Any, variants: dict[str, Variant], suffix: str) -> None:
    from loyalty.core import aws

    function = TOPOLOGY.function(FUNCTION)
    queue_arn = cloud.provisioned.queue_arns[function.queue or ""]
    meter = Meter()
    for client in (aws.dynamodb(), aws.sqs(), aws.events()):
        meter.attach(client)
    order = list(VARIANTS)
    for round_ in range(WARMUP + GRANTS):
        for key in order[round_ % 3:] + order[:round_ % 3]:
            variant = variants[key]
            event = trigger_event(variant.campaign_id, f"bp-{suffix}-{key}-{round_:05d}", queue_arn)
            meter.reset()
            meter.on = True
            started = time.perf_counter()
            try:
                result = cloud.registry.invoke(function, event) or {}
            finally:
                elapsed = time.perf_counter() - started
                meter.on = False
            failed = len(result.get("batchItemFailures") or [])
            if round_ < WARMUP:
                continue
            variant.failed += failed
            variant.grants += 1
            variant.total_ms.append(elapsed * 1000)
            variant.aws_ms.append(meter.seconds * 1000)
            variant.calls.update(meter.calls)
            variant.refused.update(meter.refused)
            variant.items += sum(meter.sizes)
            variant.shapes["+".join(map(str, meter.sizes)) or "none"] += 1


def read_books(variants: dict[str, Variant], year: str) -> None:
    from loyalty.campaigns import service
    from loyalty.org.items import PoolItem, pool_sk, unit_pk
    from loyalty.org.pools import DynamoPoolStore

    store = service.default_store()
    for variant in variants.values():
        for arm in store.arms(variant.campaign_id):
            if arm["sk"] == "ARM#main":
                variant.granted, variant.cost = int(arm.get("granted", 0)), int(arm.get("cost", 0))
        variant.budget_spent = int((store.budget(variant.campaign_id, "TOTAL") or {}).get("spent", 0))
        if variant.unit_id is not None:
            pool = DynamoPoolStore().pool(variant.unit_id, year, "rewards")
            variant.pool_spent = pool.spent if pool is not None else -1
            item = PoolItem.get(unit_pk(variant.unit_id), pool_sk(year, "rewards"), consistent_read=True)
            variant.alerted = f"ahead {item.alertedAhead or '-'}, behind {item.alertedBehind or '-'}"


def run() -> Table:
    from tests.support.api import Api
    from tests.support.points import bank_today

    saved_environment = dict(os.environ)
    cloud = local_cloud()
    try:
        forget_engine_state()  # another section's local cloud may have left them on its (stopped) emulator
        cloud.stop_background_work()  # no pollers, no schedules: only the measured handler talks to the emulator
        from loyalty.core.observability import logger

        level = logger.log_level
        logger.setLevel("ERROR")  # the pacing plan's one BudgetPacingAlert ("behind") logs a warning
        try:
            year, suffix = str(bank_today().year), uuid.uuid4().hex[:6]
            variants = set_up(Api(cloud.api_url), year, suffix)
            cloud.registry.get(TOPOLOGY.function(FUNCTION))
            measure(cloud, variants, suffix)
            read_books(variants, year)
        finally:
            logger.setLevel(level)
    finally:
        cloud.stop()
        os.environ.clear()
        os.environ.update(saved_environment)
        forget_engine_state()
    return build_table(variants)


def _per(count: float, n: int) -> str:
    value = count / max(1, n)
    return str(round(value)) if abs(value - round(value)) < 1e-9 else f"{value:.3f}"


def build_table(variants: dict[str, Variant]) -> Table:
    base = variants["a"]
    table = Table(
        f"pool_grants: a grant's cost without and with its org unit's budget pool ({GRANTS} grants per campaign, in process)",
        [
            Column("campaign"),
            Column("n"),
            Column("AWS requests per grant, by operation"),
            Column("requests/grant"),
            Column("TWI items/grant"),
            Column("TWI items by transaction"),
            Column("median", "ms", ".2f"),
            Column("p95", "ms", ".2f"),
            Column("AWS median", "ms", ".2f"),
            Column("x a: requests", "", ".2f"),
            Column("x a: items", "", ".2f"),
            Column("x a: median", "", ".2f"),
            Column("pool spent = cost = budget spent"),
        ],
    )
    problems: list[str] = []
    for key in VARIANTS:
        v = variants[key]
        by_op = ", ".join(f"{op} {_per(n, v.grants)}" + (f" ({_per(v.refused[op], v.grants)} refused)" if v.refused[op] else "")
                          for op, n in sorted(v.calls.items())) or "none"
        shape, count = v.shapes.most_common(1)[0] if v.shapes else ("none", 0)
        shapes = shape if count == v.grants else f"{shape} ({count} of {v.grants})"
        books = f"{v.pool_spent if v.pool_spent is not None else '-'} = {v.cost} = {v.budget_spent}"
        expected = WARMUP + GRANTS
        ok = v.granted == v.cost == v.budget_spent == expected and (v.pool_spent is None or v.pool_spent == v.cost)
        if not ok:
            problems.append(f"CHECK FAILED for {LABELS[key]}: granted {v.granted}, cost {v.cost}, budget spent {v.budget_spent}, "
                            f"pool spent {v.pool_spent}; expected {expected} each")
        if v.failed:
            problems.append(f"{LABELS[key]}: {v.failed} failed records")
        table.add(
            LABELS[key],
            v.grants,
            by_op,
            _per(v.requests, v.grants),
            _per(v.items, v.grants),
            shapes,
            median(v.total_ms),
            percentile(v.total_ms, 95),
            median(v.aws_ms),
            v.requests / max(1, base.requests) * base.grants / max(1, v.grants),
            v.items / max(1, base.items) * base.grants / max(1, v.grants),
            median(v.total_ms) / median(base.total_ms),
            books + (" ok" if ok else " MISMATCH"),
        )
    table.notes += [
        "one invocation of campaigns-triggers per grant (one SQS record, a card transaction at the campaign's merchant); the three "
        f"campaigns take turns, round after round, their order rotating; {WARMUP} warm-up rounds not measured",
        "requests: calls of the library's clients (DynamoDB, SQS, EventBridge) by operation, per grant, during the invocation; TWI "
        "items: the TransactItems of every TransactWriteItems the invocation made, per grant",
        "times: the handler's wall time, in process, and the part inside its AWS calls (moto over HTTP: the emulator's times, not "
        "DynamoDB's); 'x a' = this campaign's figure / campaign a's, in the same run: compare the ratios, not absolute times",
        "b and c draw from a year pool of reward units: the draw reads the unit's pool for the grant's quarter, then for the year "
        "(consistent GetItems: a unit holding a quarter pool reads one), and adds a conditioned Update of the pool to the grant's "
        "transaction; c's plan also reads the pool after each grant (eventually consistent) to compare spend with the plan and, "
        "while spend is behind it by more than POOL_PACING_ALERT_PERCENT (here: a large pool, barely touched), writes the "
        "BudgetPacingAlert transaction (the pool's mark and the event: 2 items) once a day: that read sees the day's mark and "
        "the grants after the first skip it",
        "a's baseline: the grant's TransactWriteItems, the 80% burn check (GetItem), and the card spend counted for the uplift "
        "(a Query of the customer's targeted campaigns and a TransactWriteItems of 2 items); a fractional Query is the "
        "triggers' campaign list, read again when its cache expires, in whichever campaign's turn that falls",
        f"books (warm-up grants included, {WARMUP + GRANTS} per campaign): the branch pool's spent, the arm's cost counter and the "
        "campaign budget's spend, read after the run; they must be equal. Pacing alerts marked on the pools: "
        + "; ".join(f"{k} {variants[k].alerted}" for k in ("b", "c")),
        *problems,
    ]
    return table
