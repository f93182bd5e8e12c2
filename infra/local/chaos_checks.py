"""What `make chaos` checks once the faults stop: quiescence, the day's reconciliation, the DLQs, and
the workload's own books as the public API shows them."""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from infra.local.demo import OPERATOR, Client, customer
from infra.local.streams import matches
from infra.topology import BANK_SOURCE, DEFAULT_BANK_TIME_ZONE

if TYPE_CHECKING:
    from infra.local.chaos_workload import Plan, Setup, Tally
    from infra.local.cloud import LocalCloud

QUEUE_DEPTHS = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"]


# ---- quiescence ------------------------------------------------------------------------------------


def backlog(cloud: LocalCloud) -> int:
    """Messages waiting, in flight or delayed on every work queue (not the DLQs)."""
    urls = [cloud.provisioned.queue_urls[q.name] for q in cloud.topology.queues]
    found = [cloud.clients.sqs.get_queue_attributes(QueueUrl=u, AttributeNames=QUEUE_DEPTHS)["Attributes"] for u in urls]
    return sum(int(a.get(n, 0)) for a in found for n in QUEUE_DEPTHS)


def wait_for_quiescence(cloud: LocalCloud, timeout_s: float) -> bool:
    """Until every queue is empty (nothing in flight either), no stream batch waits for a retry, and
    a whole round of every poller, begun after that was seen, found nothing: work in flight would
    have shown as a batch handled."""
    pollers = [*cloud.pollers, *cloud.stream_pollers]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        handled = [p.batches for p in cloud.pollers] + [p.batches_read for p in cloud.stream_pollers]
        polls = [p.polls for p in pollers]
        if backlog(cloud) == 0 and not any(p.retrying for p in cloud.stream_pollers):
            while any(p.polls < n + 2 for p, n in zip(pollers, polls, strict=True)) and time.monotonic() < deadline:
                time.sleep(0.1)
            again = [p.batches for p in cloud.pollers] + [p.batches_read for p in cloud.stream_pollers]
            if again == handled and backlog(cloud) == 0 and not any(p.retrying for p in cloud.stream_pollers):
                return True
        time.sleep(0.5)
    return False


# ---- reconciliation ----------------------------------------------------------------------------------


@dataclass
class Reconciliation:
    business_date: str
    status: str = ""
    discrepancies: int | None = None
    checks: list[dict[str, Any]] = field(default_factory=list)

    @property
    def in_flight(self) -> int:
        """Sagas, commands or redemptions still moving: after the drain there must be none (a lost
        answer leaves one stuck; the chaos cloud judges them at once: RECONCILIATION_SETTLE_MINUTES=0)."""
        return sum(int(check.get("inFlight", 0)) for check in self.checks)

    @property
    def ok(self) -> bool:
        return self.status == "done" and self.discrepancies == 0 and self.in_flight == 0


def bank_date() -> str:
    return datetime.now(ZoneInfo(os.environ.get("BANK_TIME_ZONE", DEFAULT_BANK_TIME_ZONE))).date().isoformat()


def reconcile(client: Client, timeout_s: float = 300) -> Reconciliation:
    """The day's reconciliation through the operator API: started (202), then read until done."""
    day = bank_date()
    path = f"/v1/admin/reconciliation/{day}"
    started = client.call("POST", path, OPERATOR, {}, key=f"chaos-reconciliation-{day}", accept=(202,))
    deadline = time.monotonic() + timeout_s
    report: dict[str, Any] = started.body or {}
    while report.get("status") != "done" and time.monotonic() < deadline:
        time.sleep(1.0)
        report = client.get(path, accept=(200, 404)).body or {}
    return Reconciliation(day, status=str(report.get("status", "")), discrepancies=report.get("discrepancies"),
                          checks=list(report.get("checks", [])))


# ---- the DLQs ------------------------------------------------------------------------------------------


@dataclass
class DeadLetters:
    queue: str
    expected: set[str]  # poison transaction ids that must be here
    poison: Counter[str] = field(default_factory=Counter)  # poison found, by transaction id: copies
    others: list[str] = field(default_factory=list)  # anything else, described

    @property
    def ok(self) -> bool:
        return set(self.poison) == self.expected and not self.others


def poison_destinations(cloud: LocalCloud, poison: list[tuple[str, dict[str, Any]]]) -> dict[str, set[str]]:
    """The DLQ each poison event must reach: those of the queues the bus routes it to (the topology's rules)."""
    expected: dict[str, set[str]] = {}
    for detail_type, detail in poison:
        envelope = {"source": BANK_SOURCE, "detail-type": detail_type, "detail": detail}
        for rule in cloud.topology.rules:
            if matches(rule.event_pattern, envelope):
                expected.setdefault(cloud.topology.queue(rule.queue).dlq_name, set()).add(detail["transactionId"])
    return expected


def read_dead_letters(cloud: LocalCloud, poison: list[tuple[str, dict[str, Any]]]) -> list[DeadLetters]:
    """Every DLQ and stream failure queue, read whole (each message once: received and left hidden)."""
    expected = poison_destinations(cloud, poison)
    ids = {d["transactionId"] for _, d in poison}
    names = [q.dlq_name for q in cloud.topology.queues] + sorted({f.stream.failure_queue for f in cloud.topology.functions if f.stream})
    found = []
    for name in names:
        letters = DeadLetters(name, expected.get(name, set()))
        url = cloud.provisioned.queue_urls[name]
        while messages := cloud.clients.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=600,
                                                            MessageAttributeNames=["All"]).get("Messages", []):
            for message in messages:
                transaction = _transaction_id(message["Body"])
                if transaction is not None and transaction in ids:
                    letters.poison[transaction] += 1
                else:
                    letters.others.append(_describe(message))
        found.append(letters)
    return found


def _transaction_id(body: str) -> str | None:
    try:
        detail = json.loads(body).get("detail", {})
        return str(detail.get("transactionId")) if isinstance(detail, dict) else None
    except (ValueError, AttributeError):
        return None


def _describe(message: dict[str, Any]) -> str:
    attributes = {k: v.get("StringValue") for k, v in message.get("MessageAttributes", {}).items()}
    try:
        body = json.loads(message["Body"])
        what = body.get("detail-type") or body.get("requestContext", {}).get("condition") or "?"
        detail = body.get("detail", {}) if isinstance(body.get("detail"), dict) else {}
        subject = detail.get("customerId") or detail.get("commandId") or ""
    except (ValueError, AttributeError):
        what, subject = "not JSON", ""
    return f"{what} {subject} {attributes.get('errorCode', '')}".strip()


# ---- the workload's own books ----------------------------------------------------------------------------


def books(client: Client, plan: Plan, setup: Setup, tally: Tally) -> tuple[dict[str, int], list[str]]:
    """What the API shows after the run, and what disagrees with the workload: a grab that issued more
    than its stock, grants whose state is not the one their customer's limit implies, points that do
    not add up to what was earned, awarded, spent and given back."""
    from infra.local.chaos_workload import CAMPAIGN_POINTS, CARD_AMOUNT_MINOR, ITEM_POINTS, PAYMENTS_PER_CUSTOMER

    problems = []
    template = client.get(f"/v1/admin/coupon-templates/{setup.grab_template}").body
    won = tally.counts["grab: won"]
    if won + int(template["stockLeft"]) != plan.grab_stock or won > plan.grab_stock:
        problems.append(f"grab: {won} coupons won and {template['stockLeft']} left of a stock of {plan.grab_stock}")
    arm = next(a for a in client.get(f"/v1/admin/campaigns/{setup.campaign_id}/report").body["arms"] if a["arm"] == "main")
    undone = arm["compensated"] + arm["cancelled"]
    if (arm["granted"], undone, arm["compensating"], arm["partlyDelivered"]) != (plan.size - len(plan.at_limit), len(plan.at_limit), 0, 0):
        problems.append(f"campaign: {arm['granted']} granted, {undone} undone, {arm['compensating']} compensating, "
                        f"{arm['partlyDelivered']} partly delivered; expected {plan.size - len(plan.at_limit)} granted and "
                        f"{len(plan.at_limit)} undone (the customers at the coupon's limit)")
    statuses = Counter(client.get(f"/v1/points/redemptions/{rid}", customer(cid)).body["status"] for cid, rid in tally.redemptions)
    if set(statuses) - {"completed"}:
        problems.append(f"points redemptions: {dict(statuses)} (all must be completed)")
    balances = [client.get(f"/v1/customers/{c}/points", customer(c)).body for c in plan.customers]
    earned = plan.size * PAYMENTS_PER_CUSTOMER * (CARD_AMOUNT_MINOR // 1000)
    expected = earned + CAMPAIGN_POINTS * arm["granted"] - ITEM_POINTS * statuses["completed"]
    available, debt, held = (sum(int(b[k]) for b in balances) for k in ("available", "debt", "held"))
    if (available, debt, held) != (expected, 0, 0):
        problems.append(f"points: {available} available, {debt} debt, {held} held; expected {expected}, 0, 0 "
                        f"({earned} earned + {CAMPAIGN_POINTS} x {arm['granted']} awarded - {ITEM_POINTS} x {statuses['completed']} spent)")
    shown = {"grab won": won, "grab stock left": int(template["stockLeft"]), "grants standing": arm["granted"],
             "grants compensated": arm["compensated"], "grants cancelled": arm["cancelled"],
             "points redemptions completed": statuses["completed"], "points available": available}
    return shown, problems
