"""A flash grab against DynamoDB's per-partition limits: a discrete-time simulation, no emulator.

The emulator has no throughput limits (and moto is slow), so it cannot say how many claims per
second AWS would take. This models the one limit a flash grab runs into first: a partition key
takes ~1,000 write units per second, and a transactional write costs twice a standard one, so one
stock shard takes ~500 claims/s. Requests arrive at a fixed rate; each walks its shards in the
order the claim code uses (`loyalty.coupons.logic.shard_order`, seeded by the coupon id, itself
derived as the claim derives it) and, as `ClaimExecutor` does, moves to the next shard when one is
throttled or empty, answering out of stock after the last. Stock starts as `split` spreads it. The
stock condition is enforced per shard exactly, so over-issue must be 0.

Deterministic (seeded) and fast: requests that arrive once every shard is saturated for the time
slice are counted in bulk, since their fate does not depend on their shard order.
"""

from __future__ import annotations

import math
import random
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bench.table import Column, Table

STOCK = 100_000
RATE = 20_000  # claim requests per second
SECONDS = 10  # simulated, or until the stock is gone
SHARD_COUNTS = (1, 4, 16, 64)
GOAL = 20_000  # claims per second at the largest shard count
CEILING_RATE = 50_000  # offered load for the ceiling runs: above 64 shards' capacity
CEILING_SECONDS = 2
SLICE_S = 0.1  # the capacity of a key is enforced per slice
SEED = 20_241_111
TEMPLATE_ID = "flash-grab"

# AWS numbers (DynamoDB developer guide: partitions, throughput, transactions)
WCU_PER_KEY = 1_000  # write units per second a partition (so a partition key) takes
RCU_PER_KEY = 3_000  # read units per second
TRANSACTION_FACTOR = 2  # a transactional write costs 2 write units per KB instead of 1
STOCK_ITEM_WCU = 1  # a stock shard item is well under 1 KB
CLAIMS_PER_SHARD_S = WCU_PER_KEY // (TRANSACTION_FACTOR * STOCK_ITEM_WCU)  # 500
TABLE_QUOTA_WCU = 40_000  # default table-level throughput quota (on-demand), adjustable
NEW_TABLE_WARM_WRU = 4_000  # warm throughput of a new on-demand table


@dataclass
class Outcome:
    shards: int
    rate: int
    requests: int = 0
    issued: int = 0
    throttled: int = 0  # attempts cancelled with ThrottlingError
    empty: int = 0  # attempts cancelled on an empty shard (ConditionalCheckFailed)
    false_out_of_stock: int = 0  # 409 COUPON_OUT_OF_STOCK answered while stock was left (must be 0)
    busy: int = 0  # claims answered 429 CLAIMS_THROTTLED: every shard they tried was throttled or empty
    sold_out_at: float | None = None  # seconds
    elapsed_s: float = 0.0
    per_second: list[int] = field(default_factory=list)
    left: list[int] = field(default_factory=list)

    @property
    def capacity(self) -> int:
        return self.shards * CLAIMS_PER_SHARD_S

    @property
    def steady(self) -> float:
        """Claims per second over the whole seconds before the stock ran out (or of the run)."""
        whole = int(self.sold_out_at) if self.sold_out_at is not None else len(self.per_second)
        if whole == 0:
            return self.issued / self.elapsed_s
        return statistics.median(self.per_second[:whole])


def simulate(shards: int, rate: int, seconds: int, stock: int, seed: int = SEED) -> Outcome:
    from loyalty.coupons.logic import claim_coupon_id, shard_order, split

    rng = random.Random(seed)
    out = Outcome(shards, rate, per_second=[0] * seconds)
    left = split(stock, shards)
    stock_left = stock
    capacity = round(CLAIMS_PER_SHARD_S * SLICE_S)  # attempts one shard takes per slice
    arrivals = round(rate * SLICE_S)
    slices_per_second = round(1 / SLICE_S)
    number = 0
    for tick in range(seconds * slices_per_second):
        used = [0] * shards
        open_shards = shards
        for k in range(arrivals):
            if open_shards == 0:  # every shard is saturated: the rest of this slice is throttled everywhere
                rest = arrivals - k
                out.requests += rest
                out.throttled += rest * shards
                out.busy += rest
                number += rest
                break
            number += 1
            out.requests += 1
            coupon_id = claim_coupon_id(f"c-{number:09d}", f"{rng.getrandbits(64):016x}")
            throttled = False
            for shard in shard_order(shards, f"{coupon_id}#{TEMPLATE_ID}"):  # as ClaimExecutor seeds it
                if used[shard] >= capacity:
                    out.throttled += 1
                    throttled = True
                    continue
                used[shard] += 1  # a cancelled write is assumed to use the capacity as a successful one
                if used[shard] == capacity:
                    open_shards -= 1
                if left[shard] > 0:
                    left[shard] -= 1
                    stock_left -= 1
                    out.issued += 1
                    out.per_second[tick // slices_per_second] += 1
                    break
                out.empty += 1
            else:
                # A throttled attempt says nothing about stock: ClaimExecutor answers 429 (retry), never
                # out of stock; only shards seen empty (and a consistent read of the rest) give a 409.
                if throttled:
                    out.busy += 1
                else:
                    out.false_out_of_stock += 1
            if stock_left == 0:
                out.sold_out_at = (tick + (k + 1) / arrivals) * SLICE_S
                out.elapsed_s = out.sold_out_at
                out.left = left
                return out
    out.elapsed_s = float(seconds)
    out.left = left
    return out


# ---- what a claim writes, for the table-level notes ------------------------------------------------


def item_size(item: dict[str, Any]) -> int:
    """DynamoDB's item size, approximately: names plus values (numbers ~1 byte per 2 digits, +1)."""

    def value(v: dict[str, Any]) -> int:
        kind, inner = next(iter(v.items()))
        if kind == "S":
            return len(inner.encode())
        if kind == "N":
            return (len(inner.lstrip("-").replace(".", "")) + 1) // 2 + 1
        if kind in ("BOOL", "NULL"):
            return 1
        if kind == "M":
            return 3 + sum(len(k.encode()) + value(x) + 1 for k, x in inner.items())
        if kind == "L":
            return 3 + sum(value(x) + 1 for x in inner)
        return len(str(inner))

    return sum(len(name.encode()) + value(v) for name, v in item.items())


def claim_items() -> dict[str, int]:
    """The size in bytes of each item one claim writes, built by the library's own code."""
    from loyalty.core.dynamo import to_item
    from loyalty.core.outbox import PendingEvent, outbox_put
    from loyalty.coupons import logic, records
    from loyalty.coupons.model import Template, TemplateCreate

    definition = TemplateCreate.model_validate(
        {
            "templateId": TEMPLATE_ID,
            "name": "Double 11 flash grab: 10 off 100",
            "benefit": {"kind": "threshold", "thresholdMinor": 10_000, "amountMinor": 1_000, "currency": "CNY"},
            "totalStock": STOCK,
            "shards": 64,
            "validity": {"type": "days_after_claim", "days": 30},
            "limits": {"perCustomerLifetime": 1},
            "funding": {"costCentre": "cc-cards-marketing", "unitCostMinor": 1_000, "currency": "CNY"},
        }
    )
    now = datetime(2024, 11, 11, 0, 0, 1, tzinfo=UTC)
    template = Template(definition=definition, status="active", version=2, stockAdded=STOCK, createdAt="", createdBy="", updatedAt="")
    customer = "c-000012345678"
    coupon_id = logic.claim_coupon_id(customer, "0b5e6f1c-4d2a-4c55-9a51-6f3d2b8e7a90")
    coupon = logic.new_coupon(
        template, coupon_id=coupon_id, customer_id=customer, now=now, source="claim", fingerprint=logic.request_fingerprint("claim", "{}")
    )
    event = PendingEvent(logic.SOURCE, "CouponIssued", logic.event_detail(coupon, validUntil=coupon.valid_until))  # as a claim's
    return {
        "stock shard": item_size(to_item({**records.shard_key(TEMPLATE_ID, 63), "left": 1_562, "active": True})),
        "limit counter": item_size(to_item({**records.limit_key(TEMPLATE_ID, customer, "LIFE"), "count": 1})),
        "coupon": item_size(to_item(records.coupon_item(coupon))),
        "outbox event": item_size(outbox_put("coupons", event)["Put"]["Item"]),
    }


def write_units() -> tuple[dict[str, int], int, int]:
    """Item sizes, the table's write units per claim (transactional), and each GSI's (the coupon, ALL projected)."""
    sizes = claim_items()
    table = sum(TRANSACTION_FACTOR * math.ceil(size / 1024) for size in sizes.values())
    return sizes, table, math.ceil(sizes["coupon"] / 1024)


def run() -> Table:
    table = Table(
        f"Partitions: a flash grab of {STOCK:,} coupons at {RATE:,} claim requests/s for up to {SECONDS} s, simulated "
        f"against DynamoDB's per-key write limit ({CLAIMS_PER_SHARD_S} transactional claims/s per stock shard)",
        [
            Column("shards"),
            Column("capacity", "claims/s"),
            Column("served", "claims/s"),
            Column("issued"),
            Column("sold out at", "s"),
            Column("throttled attempts"),
            Column("empty-shard attempts"),
            Column("429 retry later"),
            Column("false 409 out of stock"),
            Column("over-issue"),
            Column(f"ceiling at {CEILING_RATE // 1000}k req/s", "claims/s"),
            Column(f"> {GOAL:,} claims/s"),
        ],
    )
    problems: list[str] = []
    per_second = ""
    for shards in SHARD_COUNTS:
        grab = simulate(shards, RATE, SECONDS, STOCK)
        ceiling = simulate(shards, CEILING_RATE, CEILING_SECONDS, 10**9)
        over_issue = grab.issued - (STOCK - sum(grab.left))
        if over_issue or any(n < 0 for n in grab.left) or grab.issued > STOCK:
            problems.append(f"{shards} shards: the simulation over-issued ({grab.issued} issued, shards left {grab.left})")
        table.add(
            shards,
            grab.capacity,
            round(grab.steady),
            grab.issued,
            round(grab.sold_out_at, 2) if grab.sold_out_at is not None else f"no ({STOCK - grab.issued:,} left)",
            grab.throttled,
            grab.empty,
            grab.busy,
            grab.false_out_of_stock,
            max(0, grab.issued - STOCK),
            round(ceiling.steady),
            ceiling.steady > GOAL,
        )
        per_second = f"{shards} shards, claims issued in each second: {', '.join(f'{n:,}' for n in grab.per_second)}"

    sizes, table_wcu, gsi_wcu = write_units()
    needed = RATE * table_wcu
    table.notes += [
        f"model: time in {SLICE_S * 1000:.0f} ms slices; {RATE:,} requests/s arrive evenly, one claim each for a new customer "
        f"(seed {SEED}); each stock shard is its own partition key taking {WCU_PER_KEY:,} WCU/s ({RCU_PER_KEY:,} RCU/s for reads), "
        f"i.e. {CLAIMS_PER_SHARD_S * SLICE_S:.0f} transactional claims per slice (a transactional write costs {TRANSACTION_FACTOR} WCU "
        "per KB; the shard item is under 1 KB). No burst credit, no warm-up",
        "a claim tries its shards in shard_order(shards, '<coupon id>#<template>') order; an attempt on a shard past its "
        "capacity is cancelled with ThrottlingError, one on an empty shard with ConditionalCheckFailed (both assumed to "
        "use the shard's capacity only when not throttled); either way the claim moves to the next shard, as ClaimExecutor "
        "does; a claim that met only throttled or empty shards is answered 429 CLAIMS_THROTTLED (the client retries), "
        "because a throttled attempt says nothing about stock; 409 COUPON_OUT_OF_STOCK only when every shard is empty "
        "(a 'false 409' would be one while stock is left: must be 0)",
        "served = median claims issued per whole second before the sell-out; ceiling = the same with "
        f"{CEILING_RATE:,} requests/s offered for {CEILING_SECONDS} s and unlimited stock",
        f"{per_second}; near the sell-out, shards empty unevenly, claims spend capacity on empty shards and the last "
        "shards saturate: the throttled attempts and 429s of the largest shard count are almost all there",
        "not the bottleneck (not modelled): each claim's limit counter (LIMIT#<template>#<customer>), coupon "
        "(CPN#<id>) and outbox event (OUTBOX#<uuid>) are keys of their own, so at most a few writes/s per key; the "
        "template GetItem is cached 5 s per Lambda environment (eventually consistent, 0.5 RCU)",
        f"table level (not modelled): one claim writes items of about {', '.join(f'{k} {v} B' for k, v in sizes.items())}: "
        f"{table_wcu} WCU on the table (transactional) plus {gsi_wcu} on each of gsi1 and gsi2 (the coupon, ALL projected). "
        f"{RATE:,} claims/s would take ~{needed:,} WCU/s: above the default {TABLE_QUOTA_WCU:,} table-level quota and a new "
        f"on-demand table's warm throughput ({NEW_TABLE_WARM_WRU:,} WRU/s); a grab needs the quota raised and the table "
        "and its indexes pre-warmed",
        f"gsi2 (not modelled): a coupon's gsi2pk is EXP#<validUntil date>#<0-15>, so a day's coupons spread over 16 index "
        f"keys of {WCU_PER_KEY:,} WCU/s each (~{16 * WCU_PER_KEY // max(1, gsi_wcu):,} coupons/s before the index "
        "throttles the table)",
        *problems,
    ]
    return table
