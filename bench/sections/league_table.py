"""The branch league table's costs (issue 18 part 6): the read for a unit with `BRANCHES` children, and
the `org-kpis` consumer's requests and transaction items per event.

A local cloud without background work (no pollers, no schedules). Through its API (as
`tests/support/org.py` does) a region under the head office and `BRANCHES` sub-branches under it,
each with a branch code. Customers get a profile (customers-ingest, in process) in one of the first
sub-branches: their path is head office > region > sub-branch (3 units).

- **consumer**: one `org-kpis` invocation per event, in process, each event kind `EVENTS` times (each
  time another customer, except the repeats): requests by operation and the items of each
  TransactWriteItems, counted by botocore hooks on the library's clients (`bench.sections.pool_grants.Meter`).
- **read**: `GET /v1/admin/org-units/{region}/kpis` through the local API (`READS` times: median wall
  time), and the same read in process (`kpi_service.league`), its requests counted.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from bench.cloud import local_cloud
from bench.process_state import forget_engine_state
from bench.sections.pool_grants import Meter
from bench.stats import median, percentile
from bench.table import Column, Table
from infra.topology import TOPOLOGY

BRANCHES = int(os.environ.get("LEAGUE_BRANCHES", 300))
EVENTS = int(os.environ.get("LEAGUE_EVENTS", 30))  # invocations measured per event kind
READS = int(os.environ.get("LEAGUE_READS", 10))
FUNCTION = "org-kpis"


def _envelope(detail_type: str, detail: dict[str, Any], source: str = "bank.core", event_id: str | None = None) -> str:
    return json.dumps({"version": "0", "id": event_id or str(uuid.uuid4()), "source": source, "detail-type": detail_type,
                       "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "detail": detail})


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _kinds(customer: str, again: str) -> dict[str, str]:
    """One body per event kind for `customer` (`again`: a body already consumed, delivered once more)."""
    coupon = {"eventId": uuid.uuid4().hex, "occurredAt": _now(), "couponId": uuid.uuid4().hex, "templateId": "t", "customerId": customer,
              "kind": "fixed_amount", "source": "claim", "cost": {}, "funding": {}}
    return {
        "CardTransactionPosted (first this month)": _envelope("CardTransactionPosted", {
            "transactionId": uuid.uuid4().hex, "customerId": customer, "amountMinor": 100, "currency": "CNY", "merchantId": "m",
            "mcc": "5812", "channel": "pos", "postedAt": _now()}),
        "LoginCompleted (active already)": _envelope("LoginCompleted", {"customerId": customer, "channel": "app", "loggedInAt": _now()}),
        "MonthlyAumComputed": _envelope("MonthlyAumComputed", {"customerId": customer, "month": _now()[:7], "averageAumMinor": 5_000,
                                                               "currency": "CNY"}),
        "RewardGranted": _envelope("RewardGranted", {"eventId": uuid.uuid4().hex, "occurredAt": _now(), "campaignId": "k",
                                                     "customerId": customer, "arm": "a", "trigger": "t", "cost": 800,
                                                     "budgetUnit": "minor"}, source="loyalty.campaigns"),
        "CouponIssued": _envelope("CouponIssued", coupon, source="loyalty.coupons"),
        "RewardGranted redelivered": again,
    }


def run() -> Table:
    from loyalty.core import aws
    from loyalty.core.auth import Caller
    from loyalty.org import kpi_service, kpi_store, kpis, service
    from tests.support import org
    from tests.support.api import Api

    saved_environment = dict(os.environ)
    cloud = local_cloud()
    meter = Meter()
    rows: list[list[Any]] = []
    try:
        forget_engine_state()
        cloud.stop_background_work()
        api = Api(cloud.api_url)
        org.ensure_head_office(api)
        region = org.create(api, org.unique("bench-region"), "branch", org.HEAD_OFFICE)["unitId"]
        codes: list[str] = []
        started = time.perf_counter()
        for i in range(BRANCHES):
            code = org.unique(f"bc{i}")
            org.create(api, org.unique(f"bench-sb{i}"), "sub_branch", region, branchCode=code)
            codes.append(code)
        built_s = time.perf_counter() - started
        for client in (aws.dynamodb(), aws.sqs(), aws.events()):
            meter.attach(client)
        function = TOPOLOGY.function(FUNCTION)
        queue_arn = cloud.provisioned.queue_arns[function.queue or ""]

        def invoke(name: str, body: str) -> dict[str, Any]:
            record = {"messageId": uuid.uuid4().hex, "body": body, "eventSourceARN": queue_arn, "attributes": {}}
            return dict(cloud.registry.invoke(cloud.topology.function(name), {"Records": [record]}) or {})

        per_kind: dict[str, list[tuple[int, list[int], dict[str, int], float]]] = {}
        granted = ""
        for n in range(EVENTS + 2):  # 2 warm-up rounds
            customer = f"lt-{uuid.uuid4().hex[:10]}"
            profile = _envelope("CustomerProfileChanged", {"customerId": customer, "changedAt": _now(), "branchId": codes[n % 10],
                                                           "openedAt": _now()})
            assert invoke("customers-ingest", profile) == {"batchItemFailures": []}
            bodies = {"CustomerProfileChanged (new customer)": profile, **_kinds(customer, granted)}
            for kind, body in bodies.items():
                if not body:
                    continue
                meter.reset()
                meter.on = True
                began = time.perf_counter()
                result = invoke(FUNCTION, body)
                elapsed = time.perf_counter() - began
                meter.on = False
                if result.get("batchItemFailures"):
                    raise RuntimeError(f"{kind}: {result}")
                if kind == "RewardGranted":
                    granted = body
                if n >= 2:
                    per_kind.setdefault(kind, []).append((sum(meter.calls.values()), list(meter.sizes), dict(meter.calls), elapsed * 1000))
        for kind, runs in per_kind.items():
            ops: dict[str, int] = {}
            for _, _, calls, _ in runs:
                for op, c in calls.items():
                    ops[op] = ops.get(op, 0) + c
            sizes = sorted({"+".join(map(str, s)) or "none" for _, s, _, _ in runs})
            rows.append([f"consume: {kind}", len(runs), ", ".join(f"{op} {round(c / len(runs), 2):g}" for op, c in sorted(ops.items())),
                         sum(r[0] for r in runs) / len(runs), " | ".join(sizes), median([r[3] for r in runs]),
                         percentile([r[3] for r in runs], 95)])

        # the read, through the API
        month = kpis.month_of(datetime.now(UTC).date())
        times: list[float] = []
        for _ in range(READS + 1):
            began = time.perf_counter()
            response = api.call("GET", f"{org.ROOT}/{region}/kpis?period={month}", **org.HQ)
            times.append((time.perf_counter() - began) * 1000)
            if response.status_code != 200 or len(response.json()["units"]) != BRANCHES:
                raise RuntimeError(f"the read: {response.status_code} {response.text[:300]}")
        table_body = response.json()
        rows.append([f"read via API: {BRANCHES} children", READS, "(server side: next row)", None, "-", median(times[1:]),
                     percentile(times[1:], 95)])
        meter.reset()
        meter.on = True
        began = time.perf_counter()
        kpi_service.league(service.default_store(), kpi_store.default_store(), Caller("op-hq", frozenset({"operators"}), org.HEAD_OFFICE),
                           region, month, "activeCustomers")
        elapsed = (time.perf_counter() - began) * 1000
        meter.on = False
        rows.append([f"read in process: {BRANCHES} children", 1, ", ".join(f"{op} {c}" for op, c in sorted(meter.calls.items())),
                     sum(meter.calls.values()), "-", elapsed, elapsed])
    finally:
        cloud.stop()
        os.environ.clear()
        os.environ.update(saved_environment)
        forget_engine_state()

    table = Table(
        f"league_table: the org-kpis consumer's cost per event, and the league table's read for {BRANCHES} children (in process; moto)",
        [Column("what"), Column("n"), Column("AWS requests by operation (per event / per read)"), Column("requests", "", ".1f"),
         Column("TWI items by transaction"), Column("median", "ms", ".1f"), Column("p95", "ms", ".1f")],
    )
    for row in rows:
        table.add(*row)
    active = table_body["total"]["activeCustomers"]
    table.notes += [
        f"tree: head office > region > {BRANCHES} sub-branches (built through the API in {built_s:.0f} s); customers in the first 10 "
        f"sub-branches, so each event's path is 3 units; {EVENTS} events measured per kind (2 warm-up rounds not measured)",
        "consume: one org-kpis invocation of one SQS record; requests: the library's calls during it (the profile GetItem, the "
        "markers' BatchGetItem, one TransactWriteItems); TWI items: markers + 3 units x 2 periods (AUM: 1 period); a repeat "
        "(LoginCompleted after a card transaction of the month, a redelivered RewardGranted) stops after the markers' read",
        "CustomerProfileChanged reads no profile (the event's own branchId); its fractional BatchGetItem/GetItem are the tree's "
        "branch code and unit reads, kept in memory for ORG_CACHE_SECONDS (each customer here is in one of 10 branch codes)",
        "read: GetItem of the caller's and the asked unit (scope), a Query of the children (gsi2), then (children + 1) x 2 "
        "counter items for a month (the month, and the month before for AUM growth; x 3 for a quarter) in BatchGetItems of 100 keys; times are moto's over "
        f"HTTP, not DynamoDB's. The region's total after the run: {active} active customers",
    ]
    return table
