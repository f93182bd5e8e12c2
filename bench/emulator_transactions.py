"""Cost of one single-item TransactWriteItems in the local emulator, by table size.

moto's own method deep-copies the touched table as its rollback backup, so its cost grows with the
table; the item-level backup of infra.local.emulator_patches should stay flat. Backends are driven
directly (no HTTP), so the figures are the emulator's own cost, not the network's.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from typing import Any

from moto.dynamodb.models import DynamoDBBackend

from infra.local.emulator_patches import install_item_level_transaction_backup

SIZES = (0, 2_000, 20_000)


def _transact_method(patched: bool) -> Callable[[DynamoDBBackend, list[dict[str, Any]]], None]:
    install_item_level_transaction_backup()  # idempotent; the emulator installs it too
    method = DynamoDBBackend.transact_write_items
    return method if patched else method.__wrapped__  # type: ignore[attr-defined]


def _backend_with(items_in_table: int) -> DynamoDBBackend:
    backend = DynamoDBBackend(region_name="us-east-1", account_id="123456789012")
    backend.create_table(
        "bench",
        schema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        throughput=None,
        attr=[{"AttributeName": "pk", "AttributeType": "S"}],
        global_indexes=None,
        indexes=None,
        streams=None,
        billing_mode="PAY_PER_REQUEST",
        sse_specification=None,
        tags=[],
        deletion_protection_enabled=False,
        warm_throughput=None,
    )
    for i in range(items_in_table):
        backend.put_item("bench", {"pk": {"S": f"c-{i}"}, "points": {"N": str(i)}, "tier": {"S": "gold"}})
    return backend


def measure_transaction_cost(items_in_table: int, *, patched: bool = True, repeat: int = 5) -> float:
    """Median milliseconds of a one-item conditional Update transaction on a table of that size."""
    backend, transact = _backend_with(items_in_table), _transact_method(patched)
    update = {
        "Update": {
            "TableName": "bench",
            "Key": {"pk": {"S": "c-0"}},
            "UpdateExpression": "ADD points :one",
            "ConditionExpression": "attribute_not_exists(blocked)",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
    }
    timings = []
    for _ in range(repeat):
        start = time.perf_counter()
        transact(backend, [update])
        timings.append((time.perf_counter() - start) * 1000)
    return statistics.median(timings)


def rows(sizes: tuple[int, ...] = SIZES) -> list[dict[str, Any]]:
    """One row per table size: moto's original cost and the patched cost, in ms per transaction."""
    return [
        {
            "items": n,
            "original_ms": round(measure_transaction_cost(n, patched=False), 2),
            "patched_ms": round(measure_transaction_cost(n, patched=True), 2),
        }
        for n in sizes
    ]
