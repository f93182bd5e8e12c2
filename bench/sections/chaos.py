"""A small `make chaos` run in this process (infra/local/chaos.py): the workload's size by kind, the
faults injected by kind, the redeliveries they caused, the day's reconciliation and the DLQs."""

from __future__ import annotations

import os

from bench.process_state import forget_engine_state
from bench.table import Column, Table

SIZE = int(os.environ.get("CHAOS_SIZE", 16))
SEED = int(os.environ.get("CHAOS_SEED", 20261208))


def run() -> Table:
    from infra.local.chaos import run as chaos

    forget_engine_state()  # another section's local cloud may have left them on its (stopped) emulator
    try:
        result = chaos(SIZE, SEED, say=lambda _line: None)
    finally:
        forget_engine_state()
    table = Table(f"Chaos: a small run under seeded faults (size {SIZE}, seed {SEED})", [Column("kind"), Column("what"), Column("count")])
    for name, value in result.workload.items():
        table.add("workload", name, value)
    for name, count in result.faults.items():
        table.add("fault injected", name, count)
    for name, count in result.redeliveries.items():
        table.add("redelivered", name, count)
    rec = result.reconciliation
    if rec is None:
        table.add("reconciliation", "not reached", "-")
    else:
        table.add("reconciliation", f"{rec.business_date}, {rec.status}, discrepancies", rec.discrepancies)
        table.add("reconciliation", "still in flight after the drain", rec.in_flight)
        for check in rec.checks:
            table.add("reconciliation", f"{check.get('name')}: examined / discrepancies", f"{check.get('examined')} / {check.get('discrepancies')}")
    poison = sum(len(d.poison) for d in result.dead_letters)
    table.add("DLQs", "poison sent on purpose, found (distinct per DLQ)", poison)
    table.add("DLQs", "anything else", sum(len(d.others) for d in result.dead_letters))
    table.add("time", "whole run (s)", round(result.seconds.get("total", 0.0), 1))
    table.notes.append("OK: reconciliation found nothing, the DLQs hold only the poison, the books add up" if result.ok
                       else "FAILED: " + "; ".join(result.problems[:5]))
    table.notes.append("CHAOS_SIZE / CHAOS_SEED change the run; `make chaos` runs a bigger one (docs/chaos.md)")
    return table
