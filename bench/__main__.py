"""`python -m bench [section ...]`: run the benchmark sections and print one table per section.

A section is a module with `run() -> bench.table.Table`; add one by writing the module and
listing it in `SECTIONS`. Sections are imported only when run, so a slow import (moto, say) costs
nothing to the others.
"""

from __future__ import annotations

import argparse
import importlib
import os
import platform
import sys
import time
import traceback
from datetime import UTC, datetime

from bench.table import Table

# name -> module; run in this order
SECTIONS: dict[str, str] = {
    "coldstart": "bench.sections.coldstart",
    "overhead": "bench.sections.overhead",
    "emulator": "bench.sections.emulator",
    "flash_grab": "bench.sections.flash_grab",
    "partitions": "bench.sections.partitions",
    "accrual": "bench.sections.accrual",
    "outbox_filter": "bench.sections.outbox_filter",
    "scoring": "bench.sections.scoring",
    "scoring_nightly": "bench.sections.scoring_nightly",
    "campaign_fanout": "bench.sections.campaign_fanout",
    "pool_grants": "bench.sections.pool_grants",
    "league_table": "bench.sections.league_table",
    "checkout": "bench.sections.checkout",
    "notifications": "bench.sections.notifications",
    "mot": "bench.sections.mot",
    "reconciliation": "bench.sections.reconciliation",
    "console": "bench.sections.console",
    "chaos": "bench.sections.chaos",
}


def header() -> str:
    now = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    return (
        f"loyalty-engine bench — {now} — machine {platform.machine()}, {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()} ({platform.python_implementation()}) on {platform.system()}"
    )


def run_section(name: str) -> Table:
    module = importlib.import_module(SECTIONS[name])
    table: Table = module.run()
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description="Print the benchmark tables (not a test).")
    parser.add_argument("sections", nargs="*", metavar="section", help=f"run only these, of: {', '.join(SECTIONS)}")
    args = parser.parse_args(argv)
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {', '.join(unknown)}; choose from {', '.join(SECTIONS)}")
    chosen = [s for s in SECTIONS if not args.sections or s in args.sections]

    print(header(), flush=True)
    failed = []
    for name in chosen:
        started = time.perf_counter()
        try:
            table = run_section(name)
        except Exception:
            failed.append(name)
            print(f"\n[{name}] failed:\n{traceback.format_exc()}", file=sys.stderr, flush=True)
            continue
        print(f"\n{table.render()}\n  ({name}: {time.perf_counter() - started:.1f} s)", flush=True)
    if failed:
        print(f"\nfailed sections: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
