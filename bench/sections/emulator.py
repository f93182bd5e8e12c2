"""The local emulator's cost for one DynamoDB transaction, moto's own against our patched version.

The figures come from `bench/emulator_transactions.py` (`rows()`); if that module is missing or
fails, the table says so instead of failing the whole bench.
"""

from __future__ import annotations

import importlib
from typing import Any

from bench.table import Column, Table


def run() -> Table:
    table = Table(
        "Emulator: one single-item TransactWriteItems, by table size (moto backend driven directly, no HTTP)",
        [
            Column("items in table", fmt=","),
            Column("moto original", "ms", ".2f"),
            Column("patched", "ms", ".2f"),
            Column("speed-up", "x", ".1f"),
        ],
    )
    try:
        rows: list[dict[str, Any]] = importlib.import_module("bench.emulator_transactions").rows()
    except Exception as error:  # a missing or broken module is reported, not raised
        table.notes.append(f"skipped: bench.emulator_transactions is unavailable ({type(error).__name__}: {error})")
        return table
    for row in rows:
        original, patched = float(row["original_ms"]), float(row["patched_ms"])
        table.add(int(row["items"]), original, patched, original / patched if patched > 0 else None)
    table.notes += [
        "as measured by bench/emulator_transactions.py; moto's original deep-copies the whole table as its rollback backup",
        "speed-up = original / patched",
    ]
    return table
