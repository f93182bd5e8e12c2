"""Checkout's quote (issue 19): the engine's `best` over a wallet of `WALLET` coupons, and the AWS
requests one quote makes.

- **engine**: `loyalty.checkout.best` alone (pure: no AWS) over `RUNS` seeded wallets of `WALLET`
  payment coupons of four kinds in four groups that all combine, at most 3 on an order, on a 3-line
  order: wall time per search (p50, p99) and the combinations it visited.
- **session**: in the same cloud, `SESSIONS` sessions opened with `best` and 500 points and each
  confirmed, in process: the requests of an open and of a confirm, and the items of their one
  transaction.
- **quote**: a local cloud without background work; a customer whose wallet holds `WALLET` claimed
  coupons and some points, under an approved policy; `service.quote` in process with `best` and
  `points: max`, its requests counted by botocore hooks (`bench.sections.pool_grants.Meter`), and the
  same quote through the local API (median wall time).
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

from bench.cloud import local_cloud
from bench.process_state import forget_engine_state
from bench.sections.pool_grants import Meter
from bench.stats import median, percentile
from bench.table import Column, Table

WALLET = int(os.environ.get("CHECKOUT_WALLET", 30))
RUNS = int(os.environ.get("CHECKOUT_RUNS", 300))
QUOTES = int(os.environ.get("CHECKOUT_QUOTES", 20))
SESSIONS = int(os.environ.get("CHECKOUT_SESSIONS", 8))  # each takes up to 3 of the wallet's coupons for good
GROUPS = ("default", "bank-card", "merchant", "campaign")


def _wallet(rng: random.Random, size: int) -> list[Any]:
    from loyalty.checkout.pricing import Candidate

    found = []
    for i in range(size):
        kind = ("threshold", "fixed_amount", "percentage", "random_amount")[i % 4]
        benefit: dict[str, Any] = {"currency": "CNY"}
        if kind == "threshold":
            benefit.update(thresholdMinor=rng.randrange(5_000, 30_000), amountMinor=rng.randrange(500, 3_000))
        elif kind == "percentage":
            benefit.update(percentOff=rng.randrange(5, 30), maxDiscountMinor=rng.randrange(1_000, 5_000))
        else:
            benefit.update(amountMinor=rng.randrange(100, 2_000))
        found.append(Candidate(f"c{i:02d}", f"t{i}", kind, benefit, "2027-01-01T00:00:00Z", f"2027-0{2 + i % 8}-01T00:00:00Z",
                               "available", amount_minor=rng.randrange(100, 2_000) if kind == "random_amount" else None))
    return found


def _policy(template_ids: list[str]) -> Any:
    from loyalty.checkout.policy import GroupRule, StackingPolicy

    return StackingPolicy(groups={g: GroupRule(maxPerOrder=2, combinesWith=["*"]) for g in GROUPS},
                          templateGroups={t: GROUPS[i % 4] for i, t in enumerate(template_ids)}, maxCoupons=3)


def _engine(rows: list[list[Any]]) -> None:
    from loyalty.checkout.best import best
    from loyalty.checkout.pricing import Line, Order

    rng = random.Random(20261207)
    order = Order("m-1", "app", "CNY", (Line("l1", "beans", "food", 8_900, 2), Line("l2", "mug", "gift", 4_500, 1),
                                        Line("l3", "latte", "drink", 1_250, 3)))
    times, nodes, exact = [], [], 0
    for _ in range(RUNS):
        wallet = _wallet(rng, WALLET)
        policy = _policy([c.template_id for c in wallet])
        began = time.perf_counter()
        found = best(order, wallet, policy)
        times.append((time.perf_counter() - began) * 1000)
        nodes.append(found.nodes)
        exact += found.exact
    rows.append([f"engine: best over {WALLET} coupons", RUNS, "none (pure)", 0, median(times), percentile(times, 99),
                 f"nodes p50 {median(nodes):.0f}, p99 {percentile(nodes, 99):.0f}; proven best {exact}/{RUNS}"])


def _per_call(calls: list[dict[str, int]]) -> tuple[str, float]:
    """The requests of the calls measured, by operation, and in all, per call."""
    ops: dict[str, int] = {}
    for counted in calls:
        for op, c in counted.items():
            ops[op] = ops.get(op, 0) + c
    return ", ".join(f"{op} {c / len(calls):g}" for op, c in sorted(ops.items())), sum(ops.values()) / len(calls)


def _quote(rows: list[list[Any]]) -> None:
    from loyalty.checkout import service
    from loyalty.checkout.pricing import Line, Order
    from loyalty.checkout.store import default_store
    from loyalty.core import aws
    from loyalty.core.clock import utc_now
    from tests.support import coupons as cpn
    from tests.support import points as pts
    from tests.support.api import Api

    saved_environment = dict(os.environ)
    cloud = local_cloud()
    try:
        forget_engine_state()
        cloud.stop_background_work()
        api = Api(cloud.api_url)
        rng = random.Random(7)
        templates = [cpn.active_template(api, benefit=benefit, stock=10) for benefit in
                     (cpn.threshold(rng.randrange(5_000, 30_000), rng.randrange(500, 3_000)) if i % 3 == 0 else
                      cpn.percentage(rng.randrange(5, 30), rng.randrange(1_000, 5_000)) if i % 3 == 1 else
                      cpn.fixed_amount(rng.randrange(100, 2_000)) for i in range(WALLET))]
        maker: dict[str, Any] = {"as_": "op-bench-maker", "groups": ["operators"], "org": "hq"}
        checker: dict[str, Any] = {"as_": "op-bench-checker", "groups": ["operators", "approvers"], "org": "hq"}
        policy = _policy(templates).model_dump(mode="json")
        version = api.call("PUT", "/v1/admin/stacking-policy", body={"policy": policy}, **maker).json()["version"]
        assert api.call("POST", f"/v1/admin/stacking-policy/versions/{version}/approve", **checker).status_code == 200
        customer = pts.known_customer(cloud)
        for template in templates:
            cpn.claimed(api, customer, template)
        assert api.call("POST", f"/v1/admin/customers/{customer}/points/adjustments",
                        body={"points": 50_000, "reason": "bench", "costCentre": "cc"}, **pts.OPERATOR).status_code == 201
        order = Order("m-1", "app", "CNY", (Line("l1", "beans", "food", 8_900, 2), Line("l2", "mug", "gift", 4_500, 1),
                                            Line("l3", "latte", "drink", 1_250, 3)))
        meter = Meter()
        meter.attach(aws.dynamodb())
        calls: list[dict[str, int]] = []
        times: list[float] = []
        for n in range(QUOTES + 1):  # the first warms the policy's cache
            meter.reset()
            meter.on = True
            began = time.perf_counter()
            found, _ = service.quote(default_store(), customer, order, utc_now(), coupon_ids=[], best=True, points="max")
            elapsed = (time.perf_counter() - began) * 1000
            meter.on = False
            if n:
                calls.append(dict(meter.calls))
                times.append(elapsed)
        by_operation, per_quote = _per_call(calls)
        rows.append([f"quote in process: best of {WALLET} + points max", QUOTES, by_operation, per_quote, median(times),
                     percentile(times, 99), f"discount {found.discount}, {len(found.applied)} coupons, points {found.points.points}"])
        body: dict[str, Any] = {"order": {"merchantId": "m-1", "channel": "app", "currency": "CNY", "lines": [
            {"lineId": line.line_id, "sku": line.sku, "category": line.category, "unitPriceMinor": line.unit_price_minor,
             "quantity": line.quantity} for line in order.lines]}, "best": True, "points": "max"}
        api_times = []
        for _ in range(QUOTES):
            began = time.perf_counter()
            response = api.call("POST", "/v1/checkout/quote", as_=customer, body=body, idempotency_key=None)
            api_times.append((time.perf_counter() - began) * 1000)
            assert response.status_code == 200, response.text
        rows.append(["quote via the local API", QUOTES, "(as above)", None, median(api_times), percentile(api_times, 99), "-"])
        _sessions(rows, meter, customer, body["order"], order)
    finally:
        cloud.stop()
        os.environ.clear()
        os.environ.update(saved_environment)
        forget_engine_state()


def _sessions(rows: list[list[Any]], meter: Meter, customer: str, order_body: dict[str, Any], order: Any) -> None:
    """`SESSIONS` sessions in process, each the best of what is left of the wallet and 500 points,
    then confirmed: the requests of an open and of a confirm, and the items of their one transaction."""
    import uuid

    from loyalty.checkout import session_service
    from loyalty.checkout.session_store import default_store as sessions
    from loyalty.checkout.store import default_store
    from loyalty.core.clock import utc_now

    measured: dict[str, tuple[list[dict[str, int]], list[float], list[int]]] = {"open": ([], [], []), "confirm": ([], [], [])}

    def metered(step: str, call: Any) -> Any:
        meter.reset()
        meter.on = True
        began = time.perf_counter()
        result = call()
        elapsed = (time.perf_counter() - began) * 1000
        meter.on = False
        calls, times, sizes = measured[step]
        calls.append(dict(meter.calls))
        times.append(elapsed)
        sizes.extend(meter.sizes)
        return result

    for _ in range(SESSIONS):
        opened, _ = metered("open", lambda: session_service.open_session(
            sessions(), default_store(), customer, order_body, order, uuid.uuid4().hex, utc_now(), coupon_ids=[], best=True, points=500,
            ttl_minutes=15))
        sid = opened.sessionId
        metered("confirm", lambda sid=sid: session_service.confirm(sessions(), customer, sid, f"pay-{sid}", utc_now()))
    for step, (calls, times, sizes) in measured.items():
        by_operation, per_call = _per_call(calls)
        rows.append([f"session {step} (best + 500 points)", len(calls), by_operation, per_call, median(times), percentile(times, 99),
                     f"one transaction of {min(sizes)}-{max(sizes)} items" if sizes else "-"])


def run() -> Table:
    rows: list[list[Any]] = []
    _engine(rows)
    _quote(rows)
    table = Table(
        f"checkout: best over {WALLET} wallet coupons, and the requests of a quote, a session and its confirmation (moto)",
        [Column("what"), Column("n"), Column("AWS requests by operation (per quote)"), Column("requests", "", ".1f"),
         Column("p50", "ms", ".2f"), Column("p99", "ms", ".2f"), Column("result")],
    )
    for row in rows:
        table.add(*row)
    table.notes += [
        "engine: 4 kinds (threshold, fixed, percentage, drawn amount) in 4 groups that all combine, 2 per group, 3 per order; "
        "the goal is p99 <= 5 ms",
        "quote: the wallet's Query (one page of the wallet index) and the balance's Query (the account and its lots); the policy "
        "comes from memory (RULES_CACHE_SECONDS); the goal is <= 2 requests",
        "session open: the quote's reads, a consistent read of each coupon chosen and of the account, then one TransactWriteItems "
        "(the session, each coupon and its event, the points' record, entry, balance, lots and event); confirm: the session, "
        "each coupon, the hold's record and the account read, then one TransactWriteItems; the goal is one transaction each",
    ]
    return table
