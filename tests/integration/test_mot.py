"""MOT against the local cloud (docs/mot.md): rules, tasks from moments exactly once, the RM's work,
offers within the RM's budget, messages only with consent, conversions and the report."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from loyalty.mot import service
from loyalty.mot.store import DynamoMotStore
from tests.support.api import Api
from tests.support.coupons import active_template, error_code, fixed_amount, wallet_items
from tests.support.mot import (
    OPERATORS,
    account,
    create_rule,
    customer_of,
    deliver_moments,
    envelope,
    new_rm,
    outflow,
    outflow_rule,
    profile,
    rm_call,
    rm_tasks,
    rule_body,
)


def test_an_outflow_published_three_times_makes_one_task_for_the_customers_rm(cloud: LocalCloud, api: Api) -> None:
    # Given a rule on large outflows, and a customer whose profile names their manager
    acct, rm = account(), new_rm()
    rule = outflow_rule(api, acct)
    customer = customer_of(cloud, rm)
    # When core banking publishes the same outflow three times, under three envelope ids
    for _ in range(3):
        assert deliver_moments(cloud, outflow(customer, account=acct)) == {"batchItemFailures": []}
    # Then the RM has exactly one task, with the talking points filled in
    (task,) = rm_tasks(api, rm)
    assert task["ruleId"] == rule["ruleId"] and task["customerId"] == customer and task["state"] == "open"
    assert task["talkingPoints"] == f"{customer} moved -2000000 out of {acct}"
    # And another RM sees nothing of it
    assert rm_tasks(api, new_rm()) == []
    assert rm_call(api, "POST", f"/v1/rm/tasks/{task['taskId']}/start", new_rm()).status_code == 404


def test_a_customer_without_a_manager_goes_to_the_branch_queue(cloud: LocalCloud, api: Api) -> None:
    # Given a rule, and a customer with no relationship manager
    acct = account()
    outflow_rule(api, acct)
    customer = customer_of(cloud, None)
    # When the moment comes
    deliver_moments(cloud, outflow(customer, account=acct))
    # Then the task waits in the head office's queue, saying why
    queue = api.call("GET", "/v1/admin/org-units/hq/mot-tasks", as_="op-mot", groups=OPERATORS).json()["items"]
    (task,) = [t for t in queue if t["customerId"] == customer]
    assert task["assignee"] == "branch:hq" and task["why"] == "NO_RELATIONSHIP_MANAGER"


@pytest.mark.parametrize(
    ("trigger", "problem"),
    [
        ({"eventType": "MoonLanded", "pattern": {}}, "an unknown event type"),
        ({"eventType": "LargeBalanceMovement", "pattern": {"amountMinor": [{"numeric": [">", 0]}]}}, "a field the event lacks"),
        ({"eventType": "LargeBalanceMovement", "pattern": {"accountId": [{"numeric": [">", 0]}]}}, "a number test on a text"),
        ({"eventType": "DepositMaturing", "pattern": {"autoRenew": ["yes"]}}, "a text on a true/false"),
    ],
)
def test_a_rule_that_could_never_fire_is_refused(api: Api, trigger: dict[str, Any], problem: str) -> None:
    # Given the rules as they are
    before = api.call("GET", "/v1/admin/mot-rules", as_="op-mot", groups=OPERATORS).json()["items"]
    # When an operator writes a rule whose trigger names {problem}
    response = api.call("POST", "/v1/admin/mot-rules", as_="op-mot", groups=OPERATORS, body=rule_body(trigger=trigger))
    # Then it is refused with a clear code, and nothing is stored
    assert response.status_code == 400, problem
    assert error_code(response) == "VALIDATION_ERROR"
    assert api.call("GET", "/v1/admin/mot-rules", as_="op-mot", groups=OPERATORS).json()["items"] == before


def test_a_rule_changes_by_version_and_a_stale_version_is_refused(api: Api) -> None:
    rule = outflow_rule(api, account())
    body = {key: rule[key] for key in rule_body()} | {"orgUnitId": rule["orgUnitId"]}
    changed = api.call("PUT", f"/v1/admin/mot-rules/{rule['ruleId']}", as_="op-mot", groups=OPERATORS,
                       body={**body, "status": "paused", "version": 1})
    assert changed.status_code == 200 and changed.json()["version"] == 2 and changed.json()["status"] == "paused"
    stale = api.call("PUT", f"/v1/admin/mot-rules/{rule['ruleId']}", as_="op-mot", groups=OPERATORS, body={**body, "version": 1})
    assert stale.status_code == 409 and error_code(stale) == "RULE_VERSION_CONFLICT"


def test_the_rm_works_the_task_and_a_goal_moment_counts_as_a_conversion(cloud: LocalCloud, api: Api) -> None:
    # Given a task from an outflow
    acct, rm = account(), new_rm()
    rule = outflow_rule(api, acct)
    customer = customer_of(cloud, rm)
    deliver_moments(cloud, outflow(customer, account=acct))
    (task,) = rm_tasks(api, rm)
    path = f"/v1/rm/tasks/{task['taskId']}"
    # When the RM starts it, refuses an outcome not in the list, then completes it as contacted
    assert rm_call(api, "POST", f"{path}/start", rm).json()["state"] == "in_progress"
    bad = rm_call(api, "POST", f"{path}/complete", rm, body={"outcome": "maybe"})
    assert bad.status_code == 400 and rm_tasks(api, rm)[0]["state"] == "in_progress"
    assert rm_call(api, "POST", f"{path}/complete", new_rm(), body={"outcome": "contacted"}).status_code == 404
    done = rm_call(api, "POST", f"{path}/complete", rm, body={"outcome": "interested", "note": "wants a term deposit"})
    assert done.status_code == 200 and done.json()["state"] == "done" and done.json()["contactedAt"]
    # And money comes back in within the window (the goal moment)
    deliver_moments(cloud, outflow(customer, delta_minor=3_000_000, moved_at="2026-12-08T03:00:00Z", account=acct))
    # Then the report counts the task, its outcome within SLA, and the conversion, per rule and per RM
    report = api.call("GET", f"/v1/admin/mot-rules/{rule['ruleId']}/report", as_="op-mot", groups=OPERATORS).json()
    rows = {(r["scope"], r["id"]): r for r in report["rows"]}
    assert rows[("rule", "all")]["created"] == 1 and rows[("rule", "all")]["doneWithinSla"] == 1
    assert rows[("rule", "all")]["conversions"] == 1 and rows[("relationship_manager", rm)]["outcomes"]["interested"] == 1
    assert report["contactedConversionRate"] == 1.0
    # And the RM's book shows the customer, contacted
    book = rm_call(api, "GET", "/v1/rm/customers", rm).json()["items"]
    assert [(c["customerId"], bool(c["lastContactAt"]), c["openTasks"]) for c in book] == [(customer, True, 0)]


def test_an_offer_beyond_the_rms_budget_is_refused_and_issues_nothing(cloud: LocalCloud, api: Api) -> None:
    # Given a rule whose offer is worth 600 yuan, against a month's budget of 1,000 (the default)
    acct, rm = account(), new_rm()
    template = active_template(api, benefit=fixed_amount(60_000))
    outflow_rule(api, acct, task={"priority": 1, "slaHours": 24, "talkingPoints": "call", "offer": {"templateId": template}})
    first, second = customer_of(cloud, rm), customer_of(cloud, rm)
    deliver_moments(cloud, outflow(first, account=acct), outflow(second, account=acct, moved_at="2026-12-07T03:01:00Z"))
    tasks = {t["customerId"]: t for t in rm_tasks(api, rm)}
    # When the RM sends the first offer (twice: a retry), then the second
    sent = rm_call(api, "POST", f"/v1/rm/tasks/{tasks[first]['taskId']}/offer", rm)
    again = rm_call(api, "POST", f"/v1/rm/tasks/{tasks[first]['taskId']}/offer", rm)
    refused = rm_call(api, "POST", f"/v1/rm/tasks/{tasks[second]['taskId']}/offer", rm)
    # Then the first customer holds one coupon, and the second none: 422 RM_BUDGET_EXCEEDED
    assert sent.status_code == 200 and again.json()["offerCouponId"] == sent.json()["offerCouponId"]
    assert [c["templateId"] for c in wallet_items(api, first)] == [template]
    assert refused.status_code == 422 and error_code(refused) == "RM_BUDGET_EXCEEDED"
    assert wallet_items(api, second) == []
    assert {t["customerId"]: t for t in rm_tasks(api, rm)}[second]["offerCouponId"] is None


def test_a_message_without_consent_is_refused_and_with_it_goes_to_delivery(cloud: LocalCloud, api: Api) -> None:
    # Given two customers' tasks with a WeCom message; only one consents to WeCom marketing
    acct, rm = account(), new_rm()
    outflow_rule(api, acct)
    silent, willing = customer_of(cloud, rm), customer_of(cloud, rm)
    assert api.call("PUT", f"/v1/customers/{willing}/consents", as_=willing, body={"wecom": True}).status_code == 200
    deliver_moments(cloud, outflow(silent, account=acct), outflow(willing, account=acct, moved_at="2026-12-07T03:01:00Z"))
    tasks = {t["customerId"]: t for t in rm_tasks(api, rm)}
    # When the RM sends each the message
    refused = rm_call(api, "POST", f"/v1/rm/tasks/{tasks[silent]['taskId']}/message", rm)
    sent = rm_call(api, "POST", f"/v1/rm/tasks/{tasks[willing]['taskId']}/message", rm)
    # Then the one without consent is 422 NO_CONSENT and unmarked; the other is handed to delivery once
    assert refused.status_code == 422 and error_code(refused) == "NO_CONSENT"
    assert {t["customerId"]: t for t in rm_tasks(api, rm)}[silent]["messageId"] is None
    assert sent.status_code == 200 and sent.json()["messageId"] == f"mot-{tasks[willing]['taskId']}"
    assert rm_call(api, "POST", f"/v1/rm/tasks/{tasks[willing]['taskId']}/message", rm).json()["messageId"] == sent.json()["messageId"]


def test_a_customer_gets_at_most_the_weeks_tasks_across_rules(cloud: LocalCloud, api: Api) -> None:
    # Given three rules on the same moment, and a week's cap of two tasks a customer
    acct, rm = account(), new_rm()
    for _ in range(3):
        outflow_rule(api, acct)
    customer = customer_of(cloud, rm)
    # When the moment comes
    deliver_moments(cloud, outflow(customer, account=acct))
    # Then the customer has two tasks, not three
    assert len(rm_tasks(api, rm)) == 2


def test_the_task_follows_the_customer_to_their_new_manager(cloud: LocalCloud, api: Api) -> None:
    acct, before, after = account(), new_rm(), new_rm()
    outflow_rule(api, acct)
    customer = customer_of(cloud, before)
    deliver_moments(cloud, outflow(customer, account=acct))
    # When core banking moves the customer to another manager
    deliver_moments(cloud, profile(customer, "2026-12-02T00:00:00Z", relationshipManagerId=after))
    # Then the open task and the book moved with them; older news moves nothing back
    deliver_moments(cloud, profile(customer, "2026-11-30T00:00:00Z", relationshipManagerId=before))
    assert rm_tasks(api, before) == [] and [t["state"] for t in rm_tasks(api, after)] == ["reassigned"]
    assert [c["customerId"] for c in rm_call(api, "GET", "/v1/rm/customers", after).json()["items"]] == [customer]
    assert rm_call(api, "GET", "/v1/rm/customers", before).json()["items"] == []


def test_an_overdue_task_escalates_to_the_branch_queue_and_later_expires(cloud: LocalCloud, api: Api) -> None:
    acct, rm = account(), new_rm()
    outflow_rule(api, acct)
    customer = customer_of(cloud, rm)
    deliver_moments(cloud, outflow(customer, account=acct))
    (task,) = rm_tasks(api, rm)
    due = datetime.fromisoformat(task["dueAt"].replace("Z", "+00:00"))
    # When the sweep runs past the SLA, then past the task's life
    service.sweep(DynamoMotStore(), due + timedelta(minutes=1), limit=1000)
    escalated = DynamoMotStore().task(task["taskId"])
    service.sweep(DynamoMotStore(), due + timedelta(days=8), limit=1000)
    expired = DynamoMotStore().task(task["taskId"])
    # Then it went to the head office's queue as overdue, then expired, freeing the rule for the customer
    assert escalated is not None and escalated[0].assignee == "branch:hq" and escalated[0].why == "OVERDUE"
    assert expired is not None and expired[0].state == "expired" and rm_tasks(api, rm) == []
    deliver_moments(cloud, outflow(customer, account=acct, moved_at="2026-12-09T03:00:00Z"))
    assert len(rm_tasks(api, rm)) == 1


def test_a_bad_moment_goes_to_the_dlq_without_blocking_its_batch(cloud: LocalCloud, api: Api) -> None:
    acct, rm = account(), new_rm()
    outflow_rule(api, acct)
    customer = customer_of(cloud, rm)
    bad = envelope("LargeBalanceMovement", {"accountId": acct})  # no customer
    result = deliver_moments(cloud, bad, outflow(customer, account=acct))
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    assert len(rm_tasks(api, rm)) == 1


def test_the_holdout_gets_no_task_but_counts_in_the_report(cloud: LocalCloud, api: Api) -> None:
    acct = account()
    rule = outflow_rule(api, acct, holdoutPercent=50)
    rms = {c: rm for c, rm in ((customer_of(cloud, rm), rm) for rm in (new_rm() for _ in range(12)))}
    deliver_moments(cloud, *(outflow(c, account=acct, moved_at=f"2026-12-07T03:{i:02d}:00Z") for i, c in enumerate(rms)))
    tasked = sum(len(rm_tasks(api, rm)) for rm in rms.values())
    report = api.call("GET", f"/v1/admin/mot-rules/{rule['ruleId']}/report", as_="op-mot", groups=OPERATORS).json()
    assert tasked + report["heldOut"] == 12 and report["heldOut"] > 0
    assert {r["created"] for r in report["rows"] if r["scope"] == "rule"} == {tasked}




def test_the_customers_mot_data_is_in_their_export_and_their_erasure_empties_it(cloud: LocalCloud, api: Api) -> None:
    # Given a customer with a task their RM wrote a note on, and another still open
    acct, rm = account(), new_rm()
    outflow_rule(api, acct)
    second = outflow_rule(api, acct)
    customer = customer_of(cloud, rm)
    deliver_moments(cloud, outflow(customer, account=acct))
    first, other = sorted(rm_tasks(api, rm), key=lambda t: t["ruleId"] == second["ruleId"])
    done = rm_call(api, "POST", f"/v1/rm/tasks/{first['taskId']}/complete", rm, body={"outcome": "declined", "note": "moving abroad"})
    assert done.status_code == 200, done.text
    # When the bank exports what the engine holds on them
    exported = api.call("POST", f"/v1/admin/customers/{customer}/export", as_="op-mot", groups=OPERATORS, idempotency_key=None)
    assert exported.status_code == 200, exported.text
    # Then their tasks are in it, with the RM's note, and their manager
    section = exported.json()["mot"]
    assert {t["taskId"]: t.get("note") for t in section["tasks"]} == {first["taskId"]: "moving abroad", other["taskId"]: None}
    assert [m["managerId"] for m in section["relationshipManager"]] == [rm]
    # When they are erased
    erased = api.call("POST", f"/v1/admin/customers/{customer}/erase", as_="op-mot", groups=OPERATORS)
    assert erased.status_code == 200, erased.text
    assert erased.json()["motItemsErased"] == 3  # two tasks, the manager
    # Then the tasks say nothing of them any more, the open one is closed, and the RM's book no longer lists them
    after = {t["taskId"]: t for t in rm_tasks(api, rm)}
    assert {t["talkingPoints"] for t in after.values()} == {"(erased)"} and all(t["note"] is None for t in after.values())
    assert (after[first["taskId"]]["state"], after[other["taskId"]]["state"]) == ("done", "expired")
    assert rm_call(api, "GET", "/v1/rm/customers", rm).json()["items"] == []
    # And a later moment makes no task for them
    deliver_moments(cloud, outflow(customer, account=acct, moved_at="2026-12-09T03:00:00Z"))
    assert len(rm_tasks(api, rm)) == 2


def test_a_birthday_in_three_days_makes_one_task_once_a_year(cloud: LocalCloud, api: Api) -> None:
    from datetime import UTC

    from loyalty.core.clock import business_date
    from loyalty.core.config import get_settings
    from loyalty.customers.ports import directory
    from loyalty.mot.adapters import customer_of as mot_customer
    from loyalty.mot.schedules import run_birthdays

    # Given a rule on birthdays three days ahead, for customers of a very high AUM (no other test's)
    now = datetime.now(UTC)
    on = business_date(now, get_settings().bank_zone) + timedelta(days=3)
    rich = 987_654_321_000
    rule = create_rule(api, trigger={"schedule": "birthday", "daysAhead": 3}, audience={"minAumMinor": rich},
                       task={"priority": 3, "slaHours": 48, "talkingPoints": "{customerId}'s birthday is on {on}"})
    rm = new_rm()
    celebrating = customer_of(cloud, rm, aum_minor=rich, birthday=f"1990-{on.isoformat()[5:]}")
    other_day = customer_of(cloud, rm, aum_minor=rich, birthday=f"1990-{(on + timedelta(days=1)).isoformat()[5:]}")
    # When today's schedule run reads the profiles (and runs again, as the next firing would)
    first = run_birthdays(DynamoMotStore(), directory(), mot_customer, now, lambda: float("inf"))
    again = run_birthdays(DynamoMotStore(), directory(), mot_customer, now, lambda: float("inf"))
    # Then the customer whose birthday it is has one task, saying when; the other none; the second run did nothing
    (task,) = rm_tasks(api, rm)
    assert (task["customerId"], task["ruleId"]) == (celebrating, rule["ruleId"]) and other_day != celebrating
    assert task["talkingPoints"] == f"{celebrating}'s birthday is on {on.isoformat()}"
    assert first["created"] >= 1 and first["profiles"] > 0 and again["profiles"] == 0


def test_a_move_that_stopped_halfway_is_finished_by_the_same_news_again(cloud: LocalCloud, api: Api) -> None:
    # Given a customer's open task, and a move to another manager that stopped after the book moved
    acct, before, after = account(), new_rm(), new_rm()
    outflow_rule(api, acct)
    customer = customer_of(cloud, before)
    deliver_moments(cloud, outflow(customer, account=acct))
    store = DynamoMotStore()
    assert store.change_manager(customer, store.manager(customer), after, "2026-12-02T00:00:00.000000Z")
    assert len(rm_tasks(api, before)) == 1
    # When the profile's event comes again (its retry)
    deliver_moments(cloud, profile(customer, "2026-12-02T00:00:00Z", relationshipManagerId=after))
    # Then the task follows the customer to the manager the book names
    assert rm_tasks(api, before) == [] and [t["state"] for t in rm_tasks(api, after)] == ["reassigned"]
