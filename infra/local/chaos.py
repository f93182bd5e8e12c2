"""`make chaos` (`python -m infra.local chaos [--size N] [--seed S] [--poison P] [--intensity X]`): the local cloud in a fault mode.

A whole local cloud starts in this process, on free ports. The workload (`chaos_workload`) is set up,
then runs while seeded faults (`chaos_faults`) strike: throttling, timeouts, functions killed
mid-batch, partial `PutEvents` failures. Then the faults stop, the run waits for every queue and
stream to drain, and checks (`chaos_checks`): the day's reconciliation must find 0 discrepancies,
every DLQ must hold exactly the poison the workload sent on purpose, and the workload's books must
add up. The summary names what was sent, what was injected, and what was found; the exit status is
1 when anything is wrong. docs/chaos.md explains each fault and how to read the summary.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from infra.local import chaos_checks as checks
from infra.local import chaos_workload as workload
from infra.local.chaos_checks import DeadLetters, Reconciliation
from infra.local.chaos_faults import Faults, Rates
from infra.local.cloud import LocalCloud, Ports
from infra.local.demo import Seeder
from infra.topology import TOPOLOGY, Topology
from loyalty.core.config import get_settings
from tests.support.api import free_port

DEFAULT_SIZE = 60
DEFAULT_SEED = 20261208
DEFAULT_POISON = 3
# Queues give failed messages back after this many seconds (AWS: the queue's own, a minute or two),
# so that a run's retries happen within it; still far longer than a batch takes here.
VISIBILITY_TIMEOUT_S = 5
QUIESCENCE_TIMEOUT_S = 300


@dataclass
class ChaosResult:
    size: int
    seed: int
    workload: dict[str, Any] = field(default_factory=dict)
    faults: dict[str, int] = field(default_factory=dict)
    redeliveries: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    quiet: bool = False
    reconciliation: Reconciliation | None = None
    dead_letters: list[DeadLetters] = field(default_factory=list)
    books: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def injected(self) -> int:
        """Faults, not counting refused entries twice (their requests are counted)."""
        return sum(v for k, v in self.faults.items() if k != "PutEvents entries refused")


class Steps:
    """Times each step of the run and says when it ends."""

    def __init__(self, result: ChaosResult, say: Callable[[str], None]):
        self.result, self.say = result, say
        self.started = self.last = time.monotonic()

    def done(self, name: str) -> None:
        now = time.monotonic()
        self.result.seconds[name] = now - self.last
        self.last = now
        self.say(f"chaos: {name} ({self.result.seconds[name]:.1f} s)")

    def total(self) -> None:
        self.result.seconds["total"] = time.monotonic() - self.started


SETTLE_ENV = "RECONCILIATION_SETTLE_MINUTES"


def chaos_topology() -> Topology:
    queues = tuple(dataclasses.replace(q, visibility_timeout_s=min(q.visibility_timeout_s, VISIBILITY_TIMEOUT_S)) for q in TOPOLOGY.queues)
    return dataclasses.replace(TOPOLOGY, queues=queues)


def run(size: int = DEFAULT_SIZE, seed: int = DEFAULT_SEED, poison: int = DEFAULT_POISON, rates: Rates | None = None,
        say: Callable[[str], None] = print) -> ChaosResult:
    from loyalty.core.observability import logger

    # Each injected fault logs, at ERROR often; the summary is what to read (LOG_LEVEL=WARNING shows them).
    level = logger.log_level
    logger.setLevel(os.environ.get("LOG_LEVEL") or "CRITICAL")
    result = ChaosResult(size, seed)
    # Reconciled after the drain, nothing may still be moving: every saga, command and redemption is
    # judged at once (a lost answer shows as stuck, not as in flight).
    settle = os.environ.get(SETTLE_ENV)
    os.environ[SETTLE_ENV] = "0"
    get_settings.cache_clear()
    cloud = LocalCloud(chaos_topology(), Ports(emulator=free_port(), api=free_port())).start()
    cloud.ready = True
    seeder = Seeder(cloud.api_url, cloud.clients.events, sqs_client=cloud.clients.sqs)
    faults = Faults(seed, rates or Rates())
    faults.install(cloud)
    try:
        steps = Steps(result, say)
        plan = workload.Plan(size, poison)
        setup = workload.set_up(plan, cloud.api_url, seeder)
        steps.done("set-up, without faults")
        faults.start()
        tally = workload.run_workload(plan, setup, seeder)
        steps.done("workload, with faults")
        faults.stop()
        result.quiet = checks.wait_for_quiescence(cloud, QUIESCENCE_TIMEOUT_S)
        steps.done("faults stopped; queues and streams drained" if result.quiet else "faults stopped; NOT drained")
        result.reconciliation = checks.reconcile(seeder.client)
        steps.done("reconciliation")
        result.dead_letters = checks.read_dead_letters(cloud, workload.poison_events(poison))
        result.books, book_problems = checks.books(seeder.client, plan, setup, tally)
        steps.done("DLQs and books read")
        steps.total()
        result.workload = workload_size(plan, tally)
        result.faults = dict(faults.counts)
        result.redeliveries = {"queue messages": sum(p.redelivered for p in cloud.pollers),
                               "stream records": sum(p.redelivered for p in cloud.stream_pollers)}
        result.problems = judge(result, tally.unexpected, book_problems)
    finally:
        faults.stop()
        seeder.close()
        cloud.stop()
        logger.setLevel(level)
        if settle is None:
            os.environ.pop(SETTLE_ENV, None)
        else:
            os.environ[SETTLE_ENV] = settle
        get_settings.cache_clear()
    return result


def workload_size(plan: workload.Plan, tally: workload.Tally) -> dict[str, Any]:
    counts = tally.counts
    won, lost = counts["grab: won"], counts["grab: out of stock"]
    return {
        "customers": plan.size,
        f"flash grab claims ({workload.GRAB_THREADS} threads, stock {plan.grab_stock})": f"{won + lost} ({won} won, {lost} out of stock)",
        "coupon redemptions (grab winners)": counts["coupon redemptions"],
        "card payments on the bus (accrual + trigger)": counts["card payments"],
        "campaign grants (coupon + points)": f"{plan.size} ({len(plan.at_limit)} at the coupon's limit: compensated)",
        "points redemptions (catalogue coupon)": counts["points redemptions"],
        "poison events sent on purpose": counts["poison events"],
    }


def judge(result: ChaosResult, unexpected: list[str], book_problems: list[str]) -> list[str]:
    problems = [f"unexpected answer: {u}" for u in unexpected] + book_problems
    if result.injected == 0:
        problems.append("no fault was injected: the run proves nothing")
    if not result.quiet:
        problems.append(f"queues and streams not drained within {QUIESCENCE_TIMEOUT_S} s")
    rec = result.reconciliation
    if rec is None:
        problems.append("the reconciliation did not run")
    elif not rec.ok:
        problems.append(f"reconciliation of {rec.business_date}: status {rec.status!r}, {rec.discrepancies} discrepancies, "
                        f"{rec.in_flight} still in flight after the drain")
    for letters in result.dead_letters:
        if not letters.ok:
            missing = sorted(letters.expected - set(letters.poison))
            problems.append(f"{letters.queue}: {len(letters.others)} unexpected message(s) {letters.others[:5]}"
                            + (f", poison missing {missing}" if missing else ""))
    return problems


# ---- the summary ------------------------------------------------------------------------------------


def summary(result: ChaosResult) -> str:
    lines = [f"chaos run: size {result.size}, seed {result.seed}, {result.seconds.get('total', 0):.0f} s"]

    def section(title: str, rows: dict[str, Any]) -> None:
        lines.append(title)
        width = max((len(k) for k in rows), default=0)
        lines.extend(f"  {k.ljust(width)}  {v}" for k, v in rows.items())

    section("workload", result.workload)
    section(f"faults injected ({result.injected} in all, seed {result.seed})", result.faults)
    section("redeliveries (handed to a function again after a failed attempt)", result.redeliveries)
    section("time (s)", {k: f"{v:.1f}" for k, v in result.seconds.items()})
    rec = result.reconciliation
    if rec is None:
        lines.append("reconciliation: not reached")
    else:
        lines.append(f"reconciliation of {rec.business_date}: {rec.status}, {rec.discrepancies} discrepancies, {rec.in_flight} in flight")
        for check in rec.checks:
            found = check.get("findings", [])
            lines.append(f"  {check.get('name')}: {check.get('discrepancies')} discrepancies, counts {check.get('counts')}"
                         + (f"; first {found[:3]}" if found else ""))
    section("DLQs (poison sent on purpose / copies / anything else)", {
        d.queue: f"{len(d.poison)} of {len(d.expected)} poison, {sum(d.poison.values())} copies, {len(d.others)} other"
        + (f" {d.others[:3]}" if d.others else "") for d in result.dead_letters})
    section("books through the API", result.books)
    lines.append("result: OK" if result.ok else "result: FAILED\n" + "\n".join(f"  - {p}" for p in result.problems))
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.local chaos", description="the local cloud under seeded faults (docs/chaos.md)")
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE, help=f"customers in the workload (default {DEFAULT_SIZE})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="seeds the faults' draws")
    parser.add_argument("--poison", type=int, default=DEFAULT_POISON, help="poison events sent on purpose")
    parser.add_argument("--intensity", type=float, default=1.0,
                        help="multiplies every fault's share (above 1, a message may exhaust its receives by chance: docs/chaos.md)")
    args = parser.parse_args(argv)
    result = run(args.size, args.seed, args.poison, Rates().scaled(args.intensity))
    print(summary(result), flush=True)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
