"""MOT's caps and dedupe under real concurrency on the emulator (docs/mot.md): a burst of moments,
each delivered twice, from eight threads calling the real service against the local cloud. The
issue's done-when: "under 1,000 moments for 50 customers of one RM, the caps and dedupe hold".

The service is called in process with one `now` for every moment: the RM's capacity counter is per
business day of `now`, and the handler's own clock could cross the bank's midnight mid-burst. `now`
is the real time, taken once, so the tasks are not yet due when `mot-sweep` (every five minutes, on
the real clock) looks."""

from __future__ import annotations

import random
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from loyalty.core.clock import iso_utc, utc_now
from loyalty.core.config import get_settings
from loyalty.core.occurrence import occurrence_key
from loyalty.mot import service
from loyalty.mot.adapters import ProfileCustomers
from loyalty.mot.store import DynamoMotStore
from tests.integration.test_customer_profiles import envelope as ingest_envelope
from tests.integration.test_customer_profiles import invoke_ingest
from tests.support.api import Api
from tests.support.mot import OPERATORS, create_rule, new_rm, rm_tasks

CUSTOMERS, OCCURRENCES, DELIVERIES, RULES, THREADS = 50, 10, 2, 3, 8
MOMENT = "LargeBalanceMovement"


def customers_of(cloud: LocalCloud, rm: str, n: int) -> list[str]:
    """`n` customers whose profile names `rm` as their manager and no branch (the head office's)."""
    customers = [f"c-{uuid.uuid4().hex[:10]}" for _ in range(n)]
    answer = invoke_ingest(cloud, *(ingest_envelope(c, "2026-12-01T00:00:00Z", aumMinor=50_000_000, currency="CNY",
                                                    relationshipManagerId=rm) for c in customers))
    assert answer == {"batchItemFailures": []}, answer
    return customers


def burst(account: str, customers: list[str], at: datetime) -> list[tuple[dict[str, Any], str]]:
    """Each customer's `OCCURRENCES` outflows, each delivered `DELIVERIES` times (a new envelope id
    each time: the same occurrence), shuffled. The customers share the account, so each outflow
    has an instant of its own: an account and an instant are one occurrence."""
    moments = []
    for i, customer in enumerate(customers):
        for j in range(OCCURRENCES):
            moved_at = iso_utc(at - timedelta(minutes=i * OCCURRENCES + j + 1))
            detail = {"customerId": customer, "accountId": account, "deltaMinor": -2_000_000, "currency": "CNY", "movedAt": moved_at}
            moments += [(detail, occurrence_key(MOMENT, detail, str(uuid.uuid4()))) for _ in range(DELIVERIES)]
    random.Random(20261207).shuffle(moments)
    return moments


@pytest.mark.slow
def test_a_thousand_moments_for_fifty_customers_of_one_rm_keep_the_caps_and_dedupe(cloud: LocalCloud, api: Api) -> None:
    settings = get_settings()
    weekly, capacity = settings.mot_tasks_per_customer_weekly, settings.rm_daily_capacity
    assert (weekly, capacity) == (2, 20), "the expectations below are worked out for the default caps"
    # Given three rules on large outflows from this test's account, none holding customers out
    account, rm = f"a-{uuid.uuid4().hex[:10]}", new_rm()
    trigger = {"eventType": MOMENT, "pattern": {"accountId": [account], "deltaMinor": [{"numeric": ["<", 0]}]}}
    rules = [create_rule(api, trigger=trigger, holdoutPercent=0)["ruleId"] for _ in range(RULES)]
    # And fifty customers whose profile names one RM (and no branch: the head office's queue)
    customers = customers_of(cloud, rm, CUSTOMERS)
    # When 1,000 moments come at once from eight threads: ten outflows per customer, each delivered twice
    now = utc_now()
    moments = burst(account, customers, now)
    assert len(moments) == 1_000 and len({occurrence for _, occurrence in moments}) == 500

    def handle(moment: tuple[dict[str, Any], str]) -> dict[str, int]:
        detail, occurrence = moment
        return service.on_moment(DynamoMotStore(), ProfileCustomers(), MOMENT, detail, occurrence, now)

    with ThreadPoolExecutor(THREADS) as pool:
        answers = list(pool.map(handle, moments))
    # Then every moment met every rule, and each (moment, rule) made a task or was refused by a cap or dedupe
    outcomes: Counter[str] = Counter()
    for answer in answers:
        outcomes.update(answer)
    assert sum(outcomes.values()) == len(moments) * RULES, outcomes
    assert set(outcomes) <= {"created", "duplicate", "already_open", "customer_capped"}, outcomes
    assert outcomes["created"] == CUSTOMERS * weekly, outcomes
    # And the RM holds exactly a day's capacity; the rest wait in the head office's queue, over capacity
    held = rm_tasks(api, rm)
    queue = api.call("GET", "/v1/admin/org-units/hq/mot-tasks", as_="op-mot", groups=OPERATORS)
    assert queue.status_code == 200, queue.text
    queued = [t for t in queue.json()["items"] if t["customerId"] in set(customers)]
    assert len(held) == capacity and {t["assignee"] for t in held} == {rm} and {t["why"] for t in held} == {None}
    assert len(queued) == CUSTOMERS * weekly - capacity
    assert {(t["assignee"], t["why"], t["state"]) for t in queued} == {("branch:hq", "RM_AT_CAPACITY", "open")}
    # And every customer has exactly the week's two tasks, never two of one rule, each from its own moment
    tasks = held + queued
    assert {t["ruleId"] for t in tasks} <= set(rules)
    assert Counter(t["customerId"] for t in tasks) == dict.fromkeys(customers, weekly)
    assert len({(t["ruleId"], t["customerId"]) for t in tasks}) == len(tasks)
    assert len({t["taskId"] for t in tasks}) == len(tasks)
    # And the rules' reports count what was created: 100 in all, 20 for the RM and 80 for the queue
    rows = []
    for rule in rules:
        report = api.call("GET", f"/v1/admin/mot-rules/{rule}/report", as_="op-mot", groups=OPERATORS)
        assert report.status_code == 200, report.text
        assert report.json()["heldOut"] == 0
        rows += report.json()["rows"]
    created: Counter[tuple[str, str]] = Counter()
    for row in rows:
        created[(row["scope"], row["id"])] += row["created"]
    assert created[("rule", "all")] == CUSTOMERS * weekly, created
    assert created[("relationship_manager", rm)] == capacity, created
    assert created[("relationship_manager", "branch:hq")] == CUSTOMERS * weekly - capacity, created
    assert created[("org_unit", "hq")] == CUSTOMERS * weekly, created
