"""The README's "Try it" sequences, run as a newcomer would paste them, against `make run`.

Each `<!-- sequence: name -->` block runs after the `setup` block, in bash with `set -euo
pipefail`: every curl fails on an error answer, so a stale sequence fails here. Each runs twice:
the second time is a replay of the same Idempotency-Keys on the same system, as the README says.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.e2e.conftest import RunningSystem

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"<!-- sequence: (\w+) -->\n```bash\n(.*?)```", re.S)
# What each sequence must show besides succeeding: its result, read back.
SHOWS = {
    "customers": ['"operatorTags":["wealth-prospect"]'],
    "coupons": ['"status":"redeemed"', '"discountMinor":2000'],
    "points": ['"status":"held"', '"kind":"redeem"'],
    "campaigns": ['"status":"active"', '"arm":"points-200"'],
    "checkout": ['"state":"confirmed"', '"state":"partly_refunded"', '"refundedMinor":8900'],
    "scoring": ['"segmentId":"readme-payroll"', '"estimatedMembers"'],
    "reconciliation": ['"status":"done"', '"name":"points_ledger"'],
    "privacy": ["exported c-004", '"resource":"customers/c-004"', '"route":"POST /v1/admin/customers/{customerId}/export"'],
}


def sequences() -> dict[str, str]:
    return dict(BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8")))


def test_the_readme_has_a_sequence_per_capability() -> None:
    assert set(sequences()) == {"setup", *SHOWS}


@pytest.mark.parametrize("name", sorted(SHOWS))
def test_a_readme_sequence_works_on_make_run_and_again(system: RunningSystem, name: str) -> None:
    assert shutil.which("curl"), "the README's sequences use curl"
    blocks = sequences()
    script = "set -euo pipefail\n" + blocks["setup"] + blocks[name]
    port = system.api.base_url.rsplit(":", 1)[1]
    env = {**os.environ, "LOCAL_API_PORT": port}
    for attempt in ("first", "replayed"):
        # Given the sequence as the README shows it; when a newcomer pastes it
        run = subprocess.run(["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=180, check=False)
        # Then every call succeeds and the result is there
        assert run.returncode == 0, f"{name} ({attempt}) failed:\n{run.stdout[-3000:]}\n{run.stderr[-3000:]}"
        for shown in SHOWS[name]:
            assert shown in run.stdout, f"{name} ({attempt}) does not show {shown}:\n{run.stdout[-3000:]}"
