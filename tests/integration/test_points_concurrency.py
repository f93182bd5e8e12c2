"""The ledger's invariant under real concurrency on the emulator (the issue's bar):

for one customer, accruals, adjustments both ways, refunds and an expiry run race each other in
threads; afterwards the balance's `available` is the sum of the lots' `remaining`, `available - debt`
is the sum of every ledger entry's `points`, and no lot is below zero.

The emulator serializes requests but not our read-decide-write cycles, so every race between a
read and its conditional transaction still happens here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from infra.local.cloud import LocalCloud
from loyalty.core.errors import Conflict
from tests.support.api import Api
from tests.support.points import (
    OPERATOR,
    accrue,
    adjust,
    bank_today,
    card_refund,
    card_transaction,
    create_rule,
    envelope,
    error_code,
    invoke_accrual,
    known_customer,
    new_customer,
    posted,
    rule_body,
    run_expiry,
    stored,
    unique,
    yesterday,
)

ACCEPTABLE_REFUSALS = {(409, "ACCOUNT_CONTENDED"), (422, "INSUFFICIENT_POINTS")}


@dataclass
class Outcomes:
    lock: threading.Lock = field(default_factory=threading.Lock)
    booked_entry_ids: list[str] = field(default_factory=list)  # entries that must exist
    refused_entry_ids: list[str] = field(default_factory=list)  # entries that must not
    redeliver: list[str] = field(default_factory=list)  # SQS bodies the accrual reported failed
    statuses: list[tuple[int, str]] = field(default_factory=list)

    def add(self, attribute: str, value: Any) -> None:
        with self.lock:
            getattr(self, attribute).append(value)


def test_concurrent_ledger_changes_keep_balance_lots_and_entries_consistent(cloud: LocalCloud, api: Api) -> None:
    # Given a customer with 400 points in a lot valid a year, and 1500 in a lot whose date has passed
    # (more than the adjustments can take: they consume lots in expiry order, the lapsed one first, so
    # the expiry always has something left to expire; once it has, refunds run into debt)
    customer, keep, lapse = known_customer(cloud), unique("m"), unique("m")
    keep_rule, lapse_rule = unique("r"), unique("r")
    create_rule(api, rule_body(keep_rule, keep))
    create_rule(api, rule_body(lapse_rule, lapse, validity={"type": "fixed_date", "date": yesterday()}, cost_centre="cc-lapsed"))
    seeded = [card_transaction(customer, keep, 100_000) for _ in range(4)]
    accrue(cloud, *(posted(t) for t in seeded), *(posted(card_transaction(customer, lapse, 750_000)) for _ in range(2)))
    assert stored(cloud.clients.dynamodb, customer).available == 1900

    outcomes = Outcomes()
    workers: list[Callable[[], None]] = []

    def accruals(merchants: tuple[str, ...]) -> Callable[[], None]:
        def run() -> None:
            for i in range(6):
                merchant = merchants[i % len(merchants)]
                tx = card_transaction(customer, merchant, 10_000 * (i + 1))
                body = envelope("CardTransactionPosted", tx)
                entry_id = f"earn:CardTransactionPosted:{tx['transactionId']}:{keep_rule if merchant == keep else lapse_rule}"
                if invoke_accrual(cloud, body)["batchItemFailures"]:
                    outcomes.add("redeliver", body)
                else:
                    outcomes.add("booked_entry_ids", entry_id)

        return run

    def adjustments(points: int, count: int) -> Callable[[], None]:
        def run() -> None:
            for _ in range(count):
                key = unique("k")
                response = adjust(api, customer, points, key=key)
                entry_id = f"adjust:{OPERATOR['as_']}:{key}"
                if response.status_code == 201:
                    outcomes.add("booked_entry_ids", entry_id)
                else:
                    outcomes.add("statuses", (response.status_code, error_code(response)))
                    outcomes.add("refused_entry_ids", entry_id)

        return run

    def refunds() -> None:
        for tx in seeded:
            for amount in (60_000, 40_000):  # each transaction refunded in full
                body = envelope("CardTransactionRefunded", card_refund(customer, tx["transactionId"], amount))
                if invoke_accrual(cloud, body)["batchItemFailures"]:
                    outcomes.add("redeliver", body)

    def expiry() -> None:
        for _ in range(2):
            try:
                run_expiry(cloud)
            except Conflict:  # the account stayed busy: the run fails, and the scheduler retries it
                outcomes.add("statuses", (409, "ACCOUNT_CONTENDED"))

    workers += [accruals((keep, lapse)), accruals((keep,)), adjustments(-90, 6), adjustments(-80, 6), adjustments(25, 5), refunds, expiry]
    start = threading.Barrier(len(workers))

    def after_barrier(work: Callable[[], None]) -> None:
        start.wait()
        work()

    # When they all run at once, in threads
    with ThreadPoolExecutor(max_workers=len(workers)) as pool:
        for future in [pool.submit(after_barrier, w) for w in workers]:
            future.result()
    # (and what the accrual reported failed is delivered again, as SQS would)
    for body in outcomes.redeliver:
        assert invoke_accrual(cloud, body) == {"batchItemFailures": []}

    # Then the invariants hold
    dynamodb = cloud.clients.dynamodb
    after = stored(dynamodb, customer)
    after.check_invariants()
    # And refusals were only the expected ones, each leaving no entry; every accepted change has one
    assert set(outcomes.statuses) <= ACCEPTABLE_REFUSALS, outcomes.statuses
    entry_ids = {e["entryId"] for e in after.entries}
    assert set(outcomes.booked_entry_ids) <= entry_ids
    assert not set(outcomes.refused_entry_ids) & entry_ids
    # And every committed transaction (one version each) wrote exactly one entry here, and no more
    assert int(after.balance["version"]) == len(after.entries)

    # And a last expiry run leaves no lapsed lot, with the invariants still true
    run_expiry(cloud)
    final = stored(dynamodb, customer)
    final.check_invariants()
    assert all(lot["expiresOn"] >= bank_today().isoformat() for lot in final.lots), final.lots
    kinds = {e["kind"] for e in final.entries}
    assert kinds == {"earn", "adjust", "reverse", "expire"}, kinds
    print(
        f"entries {len(final.entries)}, available {final.available}, debt {final.debt}, "
        f"refused {len(outcomes.statuses)}, redelivered {len(outcomes.redeliver)}"
    )


def test_the_same_event_delivered_in_parallel_earns_once(cloud: LocalCloud, api: Api) -> None:
    # Given a rule, and one transaction delivered to eight consumers at once (SQS is at least once)
    customer, merchant = new_customer(), unique("m")
    create_rule(api, rule_body(unique("r"), merchant))
    body = envelope("CardTransactionPosted", card_transaction(customer, merchant, 50_000))
    start = threading.Barrier(8)

    def deliver() -> dict[str, Any]:
        start.wait()
        return invoke_accrual(cloud, body)

    # When they all handle it
    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: deliver(), range(8)))
    # Then every delivery is accepted, and it was booked once
    assert all(r == {"batchItemFailures": []} for r in results), results
    after = stored(cloud.clients.dynamodb, customer)
    assert after.available == 50 and len(after.entries) == 1
    after.check_invariants()


def test_the_same_adjustment_sent_in_parallel_is_booked_once(cloud: LocalCloud, api: Api) -> None:
    # Given one adjustment request, sent eight times at once with the same Idempotency-Key
    customer, key = known_customer(cloud), unique("k")
    start = threading.Barrier(8)

    def send() -> tuple[int, str]:
        start.wait()
        response = adjust(api, customer, 30, key=key)
        return response.status_code, "" if response.status_code == 201 else error_code(response)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: send(), range(8)))
    # Then the ones not answered with the first response were told it is in progress, and it was booked once
    assert (201, "") in statuses
    assert set(statuses) <= {(201, ""), (409, "IDEMPOTENCY_IN_PROGRESS")}, statuses
    after = stored(cloud.clients.dynamodb, customer)
    assert after.available == 30 and [e["entryId"] for e in after.entries] == [f"adjust:{OPERATOR['as_']}:{key}"]
