"""e2e: `make run` seeds a demo bank through the public API and the bus (`--demo seed`), so every
console screen has data on first open; seeding again duplicates nothing; without the flag (as every
other suite starts the system) nothing is seeded."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

import pytest

from infra.local.demo import SUMMARY_PREFIX
from tests.e2e.conftest import RunningSystem, running_system
from tests.support.api import eventually

CUSTOMERS = 12  # a smaller bank than `make run`'s, to keep the suite quick: the same seeding
SCORING_DONE = "demo bank: scoring catches up"
OPERATOR: dict[str, Any] = {"as_": "op-alice", "groups": ["operators"]}


@pytest.fixture(scope="module")
def seeded() -> Iterator[RunningSystem]:
    # Given the system started as `make run` starts it, with the demo bank seeding in the background
    with running_system(args=["--demo", "seed"], env={"LOCAL_DEMO_CUSTOMERS": str(CUSTOMERS)}) as system:
        # When the seed prints its one-line summary, and then that scoring has caught up too
        eventually(lambda: SCORING_DONE in system.output() or "seeding failed" in system.output(), timeout_s=420, interval_s=1)
        assert "seeding failed" not in system.output(), system.output()[-3000:]
        yield system


def get(system: RunningSystem, path: str, **caller: Any) -> Any:
    response = system.api.call("GET", path, **(caller or OPERATOR))
    assert response.status_code == 200, response.text
    return response.json()


def summary_line(system: RunningSystem) -> str:
    return next(line for line in system.output().splitlines() if line.startswith(SUMMARY_PREFIX))


def test_every_capability_has_data_once_the_seed_reports(seeded: RunningSystem) -> None:
    # Then the summary counts what it seeded, and how long it took
    line = summary_line(seeded)
    assert f"{CUSTOMERS} customers in 5 branches" in line and " s: " in line
    # And customers have profiles across branches, with their relationship manager
    profiles = [get(seeded, f"/v1/customers/c-{i:03d}") for i in range(1, CUSTOMERS + 1)]
    assert len({p["branchId"] for p in profiles}) == 5 and all(p["relationshipManagerId"].startswith("rm-") for p in profiles)
    # And points were earned from the bank events: some customers have a balance, and member levels differ
    balances = [get(seeded, f"/v1/customers/c-{i:03d}/points") for i in range(1, CUSTOMERS + 1)]
    assert sum(1 for b in balances if b["available"] > 0) >= CUSTOMERS // 2
    assert len({b.get("tier") for b in balances}) >= 2
    assert get(seeded, "/v1/admin/points/liability")["outstanding"] > 0
    # And the earn rules, the member-level ladder and the mall catalogue are set
    assert len([r for r in get(seeded, "/v1/admin/point-rules")["items"] if r["ruleId"].startswith("demo-")]) >= 5
    assert len(get(seeded, "/v1/admin/point-tiers")["tiers"]) == 5
    assert len([i for i in get(seeded, "/v1/admin/points/catalogue")["items"] if i["itemId"].startswith("demo-mall-")]) >= 5
    # And coupon templates of several kinds are listed, active, with stock
    templates = [t for t in get(seeded, "/v1/admin/coupon-templates?limit=100")["items"] if t["templateId"].startswith("demo-")]
    assert len({t["benefit"]["kind"] for t in templates}) >= 6
    assert all(t["status"] == "active" for t in templates)
    assert all(get(seeded, f"/v1/admin/coupon-templates/{t['templateId']}")["stockLeft"] > 0 for t in templates)
    # And one campaign waits for a second person's approval, while the others are active
    pending = get(seeded, "/v1/admin/campaigns?status=pending_approval")["items"]
    assert [c["campaignId"] for c in pending] == ["demo-spring-red-packet"]
    active = [c["campaignId"] for c in get(seeded, "/v1/admin/campaigns?status=active")["items"]]
    assert len([c for c in active if c.startswith("demo-")]) == 8
    # And the campaigns granted rewards from the bank events (reports with grants)
    granted = {c: sum(a["granted"] for a in get(seeded, f"/v1/admin/campaigns/{c}/report")["arms"]) for c in active if c.startswith("demo-")}
    assert sum(1 for n in granted.values() if n > 0) >= 3, granted
    # And segments have members
    segments = [s["segmentId"] for s in get(seeded, "/v1/admin/segments")["items"] if s["segmentId"].startswith("demo-")]
    members = {s: len(get(seeded, f"/v1/admin/segments/{s}/members?limit=100")["items"]) for s in segments}
    assert len(segments) >= 5 and sum(1 for n in members.values() if n > 0) >= 3, members
    # And relationship managers have books, and customers have coupons in their wallets
    assert get(seeded, "/v1/admin/relationship-managers")["items"]
    assert any(get(seeded, f"/v1/customers/c-{i:03d}/coupons")["items"] for i in range(1, 11))
    # And the MOT rules are set, and the large inflows gave relationship managers tasks
    mot = get(seeded, "/v1/admin/mot-rules")["items"]
    inflow = next(r for r in mot if r["trigger"].get("eventType") == "LargeBalanceMovement")
    assert len(mot) >= 2 and get(seeded, f"/v1/admin/mot-rules/{inflow['ruleId']}/report")["rows"][0]["created"] >= 1


def snapshot(system: RunningSystem) -> dict[str, Any]:
    """What a duplicate seed would change: counts of configuration, money and history."""
    return {
        "templates": len(get(system, "/v1/admin/coupon-templates?limit=100")["items"]),
        "rules": len(get(system, "/v1/admin/point-rules")["items"]),
        "campaigns": sorted((c["campaignId"], c["status"]) for c in get(system, "/v1/admin/campaigns")["items"]),
        "segments": len(get(system, "/v1/admin/segments")["items"]),
        "history": [len(get(system, f"/v1/customers/c-{i:03d}/points/history?limit=100")["items"]) for i in range(1, 13)],
        "wallets": [len(get(system, f"/v1/customers/c-{i:03d}/coupons?limit=100")["items"]) for i in range(1, 13)],
        "liability": get(system, "/v1/admin/points/liability")["outstanding"],
    }


def test_seeding_again_duplicates_nothing(seeded: RunningSystem) -> None:
    # Given the seeded system, as it stands
    before = snapshot(seeded)
    # When the demo bank is seeded into it again (`python -m infra.local demo seed`)
    api, aws = urlparse(seeded.api.base_url), urlparse(seeded.aws_endpoint)
    env = {**os.environ, "LOCAL_API_PORT": str(api.port), "LOCAL_EMULATOR_PORT": str(aws.port), "LOCAL_DEMO_CUSTOMERS": str(CUSTOMERS)}
    again = subprocess.run([sys.executable, "-m", "infra.local", "demo", "seed"], env=env, capture_output=True, text=True, timeout=300)
    # Then it succeeds, finding everything there already
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert f"0 profiles published ({CUSTOMERS} there already), 0 account openings" in again.stdout
    assert "three weeks of bank activity go on the bus: 0 events for 0 customers" in again.stdout
    # And nothing was added twice: configuration, campaigns, points and coupons are as they were
    assert snapshot(seeded) == before


def test_without_the_flag_nothing_is_seeded(system: RunningSystem) -> None:
    # Given the system as the other suites start it (`python -m infra.local run`, no --demo)
    # Then the demo bank is not there, and the output never mentions seeding it
    assert system.api.call("GET", "/v1/admin/coupon-templates/demo-coffee-5", **OPERATOR).status_code == 404
    assert "demo bank:" not in system.output()
