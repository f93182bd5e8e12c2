"""Delivery throughput per provider (issue 20): `MESSAGES` messages to as many consenting customers
through each adapter against the providers' simulator, which fails `FAIL_RATE` of the calls (5xx,
WeCom's busy code), in process, first one at a time and then from `THREADS` threads. Per run: messages
a second, the wall time of one delivery (p50, p99), DynamoDB requests and provider calls per message,
and the goal's two counts: duplicates (a message the simulator received twice) and lost (a message
neither delivered nor failed). The clock is noon in the bank's time zone (no quiet hours)."""

from __future__ import annotations

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.cloud import local_cloud
from bench.process_state import forget_engine_state
from bench.sections.pool_grants import Meter
from bench.stats import median, percentile
from bench.table import Column, Table

MESSAGES = int(os.environ.get("NOTIFICATIONS_MESSAGES", 300))
THREADS = int(os.environ.get("NOTIFICATIONS_THREADS", 8))
FAIL_RATE = float(os.environ.get("NOTIFICATIONS_FAIL_RATE", 0.01))
NOON = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


def _run(cloud: Any, channel: str, threads: int, meter: Meter) -> list[Any]:
    from loyalty.customers.consents import Consent
    from loyalty.customers.ports import consents
    from loyalty.customers.store import DynamoCustomerStore
    from loyalty.notifications import service
    from loyalty.notifications.model import DeliveryRequest
    from loyalty.notifications.providers import provider
    from loyalty.notifications.store import DynamoDeliveryStore

    store, customers = DynamoCustomerStore(), [f"bench-n-{uuid.uuid4().hex[:10]}" for _ in range(MESSAGES)]
    for customer in customers:
        store.apply_consents(customer, [Consent(channel, True, "2026-12-01T00:00:00.000000Z", "customer", "bench")])  # type: ignore[arg-type]
    cloud.simulator.reset()
    cloud.simulator.behave(channel, fail_rate=FAIL_RATE)
    requests = [DeliveryRequest.model_validate({"notificationId": f"bench-{uuid.uuid4().hex}", "customerId": c, "channel": channel,
                                                "templateId": "tpl-bench", "variables": {"n": "1"}}) for c in customers]
    times: list[float] = []

    def one(request: DeliveryRequest) -> str:
        began, at = time.perf_counter(), NOON
        state = service.deliver(DynamoDeliveryStore(), consents(), provider, request, at, sleep=lambda _: None)
        while state == "sending":  # what the sweep does once the next attempt is due
            at += timedelta(hours=1)
            state = service.deliver(DynamoDeliveryStore(), consents(), provider, request, at, sleep=lambda _: None)
        times.append((time.perf_counter() - began) * 1000)
        return state

    meter.reset()
    meter.on = threads == 1  # the meter counts one thread at a time
    began = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        states = list(pool.map(one, requests))
    elapsed = time.perf_counter() - began
    meter.on = False
    stats = cloud.simulator.stats(channel)
    # Each message goes to its own customer: one the simulator recorded twice (WeCom takes no
    # idempotency key) or answered twice under one key is a duplicate.
    recipients = [m.get("to") or m.get("userId") or (m.get("external_userid") or [None])[0] for m in cloud.simulator.received(channel)]
    delivered = states.count("delivered")
    duplicates = stats["duplicates"] + (len(recipients) - len(set(recipients)))
    lost = MESSAGES - delivered - states.count("failed")
    dynamodb = sum(meter.calls.values()) / MESSAGES if threads == 1 else None
    return [channel, threads, MESSAGES, MESSAGES / elapsed, median(times), percentile(times, 99), dynamodb,
            stats["calls"] / MESSAGES, f"delivered {delivered}, failed {states.count('failed')}", duplicates, lost]


def run() -> Table:
    from loyalty.core import aws

    saved_environment = dict(os.environ)
    cloud = local_cloud()
    rows: list[list[Any]] = []
    try:
        forget_engine_state()
        cloud.stop_background_work()
        meter = Meter()
        meter.attach(aws.dynamodb())
        for channel in ("sms", "push", "wecom"):
            for threads in (1, THREADS):
                rows.append(_run(cloud, channel, threads, meter))
    finally:
        cloud.stop()
        os.environ.clear()
        os.environ.update(saved_environment)
        forget_engine_state()
    table = Table(
        f"notifications: {MESSAGES} messages per provider through the simulator failing {FAIL_RATE:.0%} of calls (moto)",
        [Column("channel"), Column("threads"), Column("n"), Column("msgs/s", "", ".1f"), Column("p50", "ms", ".1f"),
         Column("p99", "ms", ".1f"), Column("DynamoDB req/msg", "", ".1f"), Column("provider calls/msg", "", ".3f"), Column("result"),
         Column("duplicates"), Column("lost")],
    )
    for row in rows:
        table.add(*row)
    table.notes += [
        "a delivery: the consent's read, the delivery's read, the claim (one transaction with the day's and week's counters), "
        "an attempt counted, the provider's call, the receipt (one transaction with the outbox); a failed call is tried again",
        "DynamoDB requests are counted on the one-thread run only; the goal is 0 duplicates and 0 lost",
    ]
    return table
