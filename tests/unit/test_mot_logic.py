"""MOT's pure decisions (docs/mot.md): which rules can fire, whom a moment is for, the task it makes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from loyalty.mot import logic
from loyalty.mot.model import MotAudience, MotRuleDefinition, Rule, TaskRecord, never_matching

NOW = datetime(2026, 12, 7, 4, 0, tzinfo=UTC)


def definition(**changes: Any) -> MotRuleDefinition:
    body: dict[str, Any] = {
        "name": "outflow",
        "trigger": {"eventType": "LargeBalanceMovement", "pattern": {"deltaMinor": [{"numeric": ["<", 0]}]}},
        "task": {"priority": 2, "slaHours": 24, "talkingPoints": "{customerId} moved {deltaMinor}; {unknown} stays",
                 "message": {"content": "hello {customerId}"}},
    }
    return MotRuleDefinition.model_validate({**body, **changes})


def rule(**changes: Any) -> Rule:
    return Rule(ruleId="mot-1", version=3, definition=definition(**changes), createdAt="x", updatedAt="x", updatedBy="op")


@pytest.mark.parametrize(
    ("event_type", "pattern", "why"),
    [
        ("LargeBalanceMovement", {"amountMinor": [1]}, "no field"),
        ("LargeBalanceMovement", {"accountId": [{"numeric": [">", 0]}]}, "could match"),
        ("LargeBalanceMovement", {"deltaMinor": ["100"]}, "could match"),
        ("DepositMaturing", {"autoRenew": ["yes"]}, "could match"),
        ("LargeBalanceMovement", {"currency": [{"prefix": 1}]}, None),  # refused by the pattern's own syntax check
    ],
)
def test_a_pattern_that_could_never_match_is_refused(event_type: str, pattern: dict[str, Any], why: str | None) -> None:
    # Given a pattern testing a field the event lacks, or with a value of another kind
    # When a rule is written with it, then it is refused, saying why
    with pytest.raises(ValidationError) as refused:
        definition(trigger={"eventType": event_type, "pattern": pattern})
    assert why is None or why in str(refused.value)


def test_patterns_that_can_match_are_accepted() -> None:
    assert never_matching("LargeBalanceMovement", {"deltaMinor": [{"numeric": ["<=", -5]}], "currency": ["CNY"]}) is None
    assert never_matching("DepositMaturing", {"autoRenew": [False], "productCode": [{"prefix": "TD-"}], "accountId": [{"exists": True}]}) is None
    assert never_matching("ApplicationAbandoned", {"step": ["kyc", 3]}) is None  # one matcher of the right kind is enough


def test_an_unknown_event_type_is_refused() -> None:
    with pytest.raises(ValidationError):
        definition(trigger={"eventType": "MoonLanded", "pattern": {}})


def test_the_audience_needs_every_condition() -> None:
    audience = MotAudience(tiers=["gold"], segments=["payroll", "vip"], minAumMinor=1_000)
    assert logic.in_audience(audience, "gold", ["vip"], 1_000)
    assert not logic.in_audience(audience, "silver", ["vip"], 1_000)
    assert not logic.in_audience(audience, "gold", ["other"], 1_000)
    assert not logic.in_audience(audience, "gold", ["vip"], 999)
    assert logic.in_audience(MotAudience(), None, [], None)


def test_the_holdout_is_the_same_customers_every_time_and_about_its_share() -> None:
    customers = [f"c-{i}" for i in range(2_000)]
    held = [c for c in customers if logic.in_holdout("mot-1", c, 10)]
    assert held == [c for c in customers if logic.in_holdout("mot-1", c, 10)]
    assert 150 < len(held) < 250
    assert not any(logic.in_holdout("mot-1", c, 0) for c in customers)


def test_a_moment_makes_one_task_id_per_rule_customer_and_occurrence() -> None:
    moment = "LargeBalanceMovement:a-1:2026-12-07T03:00:00Z"
    assert logic.task_id("mot-1", "c-1", moment) == logic.task_id("mot-1", "c-1", moment)
    assert len({logic.task_id("mot-1", "c-1", "m"), logic.task_id("mot-2", "c-1", "m"), logic.task_id("mot-1", "c-2", "m")}) == 3


def test_a_birthday_falls_on_its_month_and_day_and_29_february_on_the_28th_in_other_years() -> None:
    assert logic.birthday_on("1990-12-10", date(2026, 12, 10)) and not logic.birthday_on("1990-12-10", date(2026, 12, 11))
    assert logic.birthday_on("2000-02-29", date(2027, 2, 28)) and not logic.birthday_on("2000-02-29", date(2028, 2, 28))
    assert logic.birthday_on("2000-02-29", date(2028, 2, 29))
    assert not logic.birthday_on(None, date(2026, 12, 10)) and not logic.birthday_on("", date(2026, 12, 10))


def test_the_new_task_is_due_by_its_sla_with_its_words_filled_in() -> None:
    # When a moment makes a task for the customer's RM
    task = logic.new_task(rule(), customer_id="c-1", occurrence="m-1", assignee="rm-1", why=None, org_unit="sh", value_minor=5,
                          variables={"customerId": "c-1", "deltaMinor": -300}, now=NOW, expiry_days=7)
    # Then it is the rule's version's, due in its SLA, its variables filled and an unknown one left as written
    assert (task.ruleVersion, task.priority, task.state, task.assignee) == (3, 2, "open", "rm-1")
    assert task.dueAt == "2026-12-08T04:00:00.000000Z" and task.expiresAt == "2026-12-15T04:00:00.000000Z"
    assert task.talkingPoints == "c-1 moved -300; {unknown} stays"
    assert task.message is not None and task.message.content == "hello c-1"


def test_without_a_manager_the_branch_queue_takes_it() -> None:
    assert logic.assignee_for("rm-1", "sh") == ("rm-1", None)
    assert logic.assignee_for(None, "sh") == ("branch:sh", "NO_RELATIONSHIP_MANAGER")
    assert logic.assignee_for(None, None) == ("branch:hq", "NO_RELATIONSHIP_MANAGER")


def test_tasks_rank_by_priority_then_value_then_due() -> None:
    def task(task_id: str, priority: int, value: int, due: str) -> TaskRecord:
        return TaskRecord(taskId=task_id, ruleId="r", ruleVersion=1, customerId="c", assignee="rm", state="open", priority=priority,
                          customerValueMinor=value, talkingPoints="", moment="m", createdAt="t", dueAt=due, expiresAt="z")

    ranked = logic.ranked([task("low", 3, 9_999, "1"), task("rich", 1, 500, "2"), task("poor", 1, 100, "1"), task("soon", 1, 500, "1")])
    assert [t.taskId for t in ranked] == ["soon", "rich", "poor", "low"]


def test_a_conversion_counts_within_the_window_after_the_contact() -> None:
    contact = "2026-12-07T04:00:00.000000Z"
    assert logic.converts(contact, 14, datetime(2026, 12, 21, 4, 0, tzinfo=UTC))
    assert not logic.converts(contact, 14, datetime(2026, 12, 21, 4, 1, tzinfo=UTC))
    assert not logic.converts(contact, 14, datetime(2026, 12, 7, 3, 59, tzinfo=UTC))  # before the contact


def test_uplift_compares_the_contacted_with_the_held_out() -> None:
    assert logic.uplift(100, 30, 50, 10) == 0.1
    assert logic.uplift(0, 0, 50, 10) is None and logic.uplift(10, 1, 0, 0) is None


def test_the_iso_week_names_the_customers_cap_period() -> None:
    assert logic.iso_week(datetime(2026, 12, 31, tzinfo=UTC).date()) == "2026-W53"
    assert logic.iso_week(datetime(2027, 1, 4, tzinfo=UTC).date()) == "2027-W01"


def test_the_consumers_models_require_what_the_bank_contract_requires() -> None:
    # Given the contract's schemas of the bank's moments
    import json
    from pathlib import Path

    from loyalty.mot.model import REQUIRED, moment_models

    inbound = Path(__file__).resolve().parents[2] / "events" / "schemas" / "inbound"
    models = moment_models()
    for event_type in REQUIRED:
        schema = json.loads((inbound / f"{event_type}.json").read_text())
        # Then the model MOT reads the moment with requires the same fields, and the sample parses
        required = {name for name, field in models[event_type].model_fields.items() if field.is_required()}
        assert required == set(schema["required"]), event_type
        sample = Path(__file__).resolve().parents[2] / "events" / "samples" / f"{event_type}.json"
        if sample.exists():
            models[event_type].model_validate_json(json.loads(sample.read_text())[0]["Detail"])
