"""Campaign definitions, validated before anything is stored: windows, budgets, control and variants,
schedules, event patterns, and the ready-made templates."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from loyalty.campaigns import templates
from loyalty.campaigns.model import CampaignDefinition, EventTrigger, FromTemplate, ScheduleTrigger
from loyalty.core.errors import InvalidInput, NotFound

WINDOW = {"startsAt": "2026-06-01T00:00:00Z", "endsAt": "2026-07-01T00:00:00Z"}
COUPON = {"type": "issue_coupon", "templateId": "tpl-50", "costMinor": 5_000}


def body(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "campaignId": "camp-1",
        "name": "Spend 1000 get 50",
        "window": dict(WINDOW),
        "trigger": {"type": "event", "eventType": "CardTransactionPosted", "minAmountMinor": 100_000},
        "variants": [{"variantId": "main", "weightPercent": 100, "actions": [COUPON]}],
        "budget": {"unit": "rewards", "total": 100},
        "fundingCostCentre": "cc-marketing",
    }
    data.update(overrides)
    return data


def refused(data: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        CampaignDefinition.model_validate(data)


def test_a_complete_definition_is_accepted_with_its_defaults() -> None:
    # Given the smallest valid campaign
    definition = CampaignDefinition.model_validate(body())
    # Then the defaults are no control group, no caps, no quiet hours and card spend as the metric
    assert definition.controlPercent == 0 and definition.frequencyCaps.limits() == {}
    assert definition.quietHours is None and definition.metric == "card_spend"
    assert definition.budget.limits() == {"total": 100}


def test_unknown_fields_are_refused() -> None:
    refused(body(colour="red"), "Extra inputs are not permitted")


# ---- the window ----------------------------------------------------------------------------------


@pytest.mark.parametrize("ends_at", ["2026-05-31T23:59:59Z", "2026-06-01T00:00:00Z", "2026-06-01T08:00:00+08:00"])
def test_a_window_that_does_not_end_after_it_starts_is_refused(ends_at: str) -> None:
    # Given a window ending before its start, or at the same instant (also in another offset)
    # Then it is refused
    refused(body(window={"startsAt": WINDOW["startsAt"], "endsAt": ends_at}), "the window must end after it starts")


def test_a_window_needs_time_zones() -> None:
    refused(body(window={"startsAt": "2026-06-01T00:00:00", "endsAt": "2026-07-01T00:00:00"}), "timezone")


# ---- the budget ----------------------------------------------------------------------------------


@pytest.mark.parametrize("period", ["total", "daily", "weekly", "monthly"])
def test_a_budget_below_zero_is_refused(period: str) -> None:
    budget = {"unit": "rewards", "total": 10, period: -1}
    refused(body(budget=budget), "greater than or equal to 0")


def test_a_budget_of_zero_and_per_period_limits_are_kept() -> None:
    definition = CampaignDefinition.model_validate(body(budget={"unit": "rewards", "total": 0, "daily": 5, "monthly": 50}))
    assert definition.budget.limits() == {"total": 0, "daily": 5, "monthly": 50}


@pytest.mark.parametrize(
    ("budget", "problem"),
    [
        ({"unit": "minor", "total": 10_000}, "names its currency"),  # money without a currency
        ({"unit": "rewards", "currency": "CNY", "total": 10}, "names its currency"),  # rewards are not money
        ({"unit": "minor", "currency": "XYZ", "total": 10_000}, "unknown currency"),
        ({"unit": "minor", "currency": "CNY", "total": 100.5}, "valid integer"),  # minor units are whole
        ({"unit": "minor", "currency": "CNY", "total": "100"}, "valid integer"),
        ({"unit": "points", "total": 10}, "'minor' or 'rewards'"),
    ],
)
def test_the_currency_rules_of_budgets(budget: dict[str, Any], problem: str) -> None:
    refused(body(budget=budget), problem)


def test_a_budget_in_minor_units_of_a_known_currency_is_accepted() -> None:
    definition = CampaignDefinition.model_validate(body(budget={"unit": "minor", "currency": "CNY", "total": 1_000_000}))
    assert definition.budget.currency == "CNY"


def test_a_budget_in_minor_units_needs_every_variant_to_cost_something() -> None:
    # Given a minor-unit budget and a variant whose coupon costs nothing
    money = {"unit": "minor", "currency": "CNY", "total": 1_000_000}
    costless = [{"variantId": "a", "weightPercent": 50, "actions": [COUPON]},
                {"variantId": "b", "weightPercent": 50, "actions": [{**COUPON, "costMinor": 0}]}]
    # Then it is refused, naming the variant
    refused(body(budget=money, variants=costless), "variant b has no cost")
    # And a variant that only notifies costs nothing either
    notify_only = [{"variantId": "main", "weightPercent": 100, "actions": [{"type": "notify", "channel": "sms", "templateId": "n-1"}]}]
    refused(body(budget=money, variants=notify_only), "variant main has no cost")
    # But in reward units, a costless variant is fine (each grant is one reward)
    CampaignDefinition.model_validate(body(variants=costless))


def test_points_cost_in_minor_units_counts_toward_a_money_budget() -> None:
    points = {"type": "award_points", "points": 500, "costCentre": "cc-cards", "costMinor": 250}
    money = {"unit": "minor", "currency": "CNY", "total": 1_000_000}
    definition = CampaignDefinition.model_validate(body(budget=money, variants=[{"variantId": "main", "weightPercent": 100, "actions": [points]}]))
    assert definition.variants[0].actions[0].type == "award_points"


# ---- control group and variants ------------------------------------------------------------------


@pytest.mark.parametrize(("percent", "problem"), [(-1, "greater than or equal to 0"), (101, "less than or equal to 100"),
                                                  (12.5, "valid integer")])
def test_a_control_percentage_outside_0_to_100_is_refused(percent: Any, problem: str) -> None:
    refused(body(controlPercent=percent), problem)


@pytest.mark.parametrize("percent", [0, 100])
def test_control_percentages_at_the_edges_are_accepted(percent: int) -> None:
    assert CampaignDefinition.model_validate(body(controlPercent=percent)).controlPercent == percent


@pytest.mark.parametrize("weights", [(50, 40), (60, 50), (99,)])
def test_variant_weights_must_add_up_to_100(weights: tuple[int, ...]) -> None:
    variants = [{"variantId": f"v{i}", "weightPercent": w, "actions": [COUPON]} for i, w in enumerate(weights)]
    refused(body(variants=variants), "variant weights must add up to 100")


def test_variant_weights_adding_up_to_100_are_accepted() -> None:
    variants = [{"variantId": v, "weightPercent": w, "actions": [COUPON]} for v, w in (("a", 20), ("b", 30), ("c", 50))]
    assert [v.variantId for v in CampaignDefinition.model_validate(body(variants=variants)).variants] == ["a", "b", "c"]


def test_a_variant_weight_of_zero_is_refused() -> None:
    variants = [{"variantId": "a", "weightPercent": 100, "actions": [COUPON]}, {"variantId": "b", "weightPercent": 0, "actions": [COUPON]}]
    refused(body(variants=variants), "greater than or equal to 1")


def test_control_is_reserved_and_variant_ids_are_unique() -> None:
    # Given a variant called 'control': the name of the arm that gets nothing
    refused(body(variants=[{"variantId": "control", "weightPercent": 100, "actions": [COUPON]}]), "'control' is reserved")
    # And two variants of the same id
    twice = [{"variantId": "a", "weightPercent": 50, "actions": [COUPON]}, {"variantId": "a", "weightPercent": 50, "actions": [COUPON]}]
    refused(body(variants=twice), "variant ids must be unique")


def test_a_variant_needs_an_action_and_a_campaign_a_variant() -> None:
    refused(body(variants=[{"variantId": "a", "weightPercent": 100, "actions": []}]), "at least 1 item")
    refused(body(variants=[]), "at least 1 item")


# ---- schedules -----------------------------------------------------------------------------------


def schedule(expression: str, timezone: str = "Asia/Shanghai") -> ScheduleTrigger:
    return ScheduleTrigger.model_validate({"type": "schedule", "expression": expression, "timezone": timezone})


@pytest.mark.parametrize("expression", ["cron(0 9 * * ? *)", "cron(30 1 1 * ? *)", "cron(0/15 8-20 ? * MON-FRI *)", "at(2026-06-18T09:00)",
                                        "  at(2026-06-18T09:00)  "])
def test_cron_and_one_shot_schedules_are_accepted(expression: str) -> None:
    assert schedule(expression).expression == expression


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("cron(0 9 * * *)", "six fields"),
        ("cron(0 9 * * * *)", "exactly one of day-of-month and day-of-week"),
        ("cron(0 9 ? * ? *)", "exactly one of day-of-month and day-of-week"),
        ("cron(60 9 * * ? *)", "outside 0-59"),
        ("cron(0 24 * * ? *)", "outside 0-23"),
        ("cron(0 9 L * ? *)", "not supported"),
        ("rate(5 minutes)", "not rate"),
        ("every day at nine", "expected cron"),
        ("at(2026-13-01T09:00)", "month must be in 1..12"),
        ("at(2026-02-30T09:00)", "day is out of range"),
        ("at(2026-06-18 09:00)", "expected cron"),
        ("at(2026-06-18)", "expected cron"),
        ("at()", "at least 6 characters"),
        ("cron()", "six fields"),
    ],
)
def test_invalid_schedules_are_refused(expression: str, problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        schedule(expression)


@pytest.mark.parametrize("timezone", ["Mars/Olympus_Mons", "CST+8", "../../etc/passwd", "Asia/Shanghai "])
def test_unknown_time_zones_are_refused(timezone: str) -> None:
    with pytest.raises(ValidationError, match="unknown time zone"):
        schedule("cron(0 9 * * ? *)", timezone)


def test_a_schedule_trigger_in_a_definition_is_validated_too() -> None:
    refused(body(trigger={"type": "schedule", "expression": "cron(0 9 * * ? *)", "timezone": "Nowhere/City"}), "unknown time zone")
    assert CampaignDefinition.model_validate(body(trigger={"type": "manual"})).trigger.type == "manual"


# ---- event patterns ------------------------------------------------------------------------------


def event(pattern: Any, **fields: Any) -> EventTrigger:
    return EventTrigger.model_validate({"type": "event", "eventType": "CardTransactionPosted", "pattern": pattern, **fields})


def test_a_pattern_of_every_supported_matcher_is_accepted() -> None:
    pattern = {
        "channel": ["pos", "online"],
        "merchantId": [{"prefix": "m-"}],
        "amountMinor": [{"numeric": [">=", 100, "<", 500_000.5]}],
        "reversal": [{"exists": False}],
        "card": {"product": ["platinum", None], "bin": [{"numeric": ["=", 622_588]}]},
        "flag": [True, 1],
    }
    assert event(pattern).pattern == pattern


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ({"amountMinor": [{"numeric": ["=>", 100]}]}, "invalid matcher"),  # not an operator
        ({"amountMinor": [{"numeric": [">", 100, "<"]}]}, "invalid matcher"),  # an operator without its number
        ({"amountMinor": [{"numeric": [">", "100"]}]}, "invalid matcher"),  # a number as text
        ({"amountMinor": [{"numeric": [">", True]}]}, "invalid matcher"),  # a boolean is not a number
        ({"amountMinor": [{"numeric": []}]}, "invalid matcher"),
        ({"channel": []}, "non-empty list"),
        ({"channel": "pos"}, "non-empty list"),  # a value, not a list
        ({"amountMinor": 100}, "non-empty list"),
        ({"card": {"product": "platinum"}}, r"pattern\.card\.product must be a non-empty list"),
        ({"merchantId": [{"prefix": 1}]}, "invalid matcher"),
        ({"reversal": [{"exists": "yes"}]}, "invalid matcher"),
        ({"channel": [{"anything-but": ["atm"]}]}, "invalid matcher"),  # not in the subset we match
        ({"channel": [{"prefix": "p", "exists": True}]}, "a matcher is a value or one of"),
        ({"channel": [["pos"]]}, "a matcher is a value or one of"),
    ],
)
def test_invalid_patterns_are_refused(pattern: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        event(pattern)


def test_a_pattern_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(ValidationError, match="valid dictionary"):
        event(["CardTransactionPosted"])


def test_shorthand_conditions_are_validated() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        event({}, minAmountMinor=-1)
    with pytest.raises(ValidationError, match="should match pattern"):
        event({}, mccs=["58"])
    with pytest.raises(ValidationError, match="Input should be"):
        EventTrigger.model_validate({"type": "event", "eventType": "PaydayLoanTaken"})


# ---- templates -----------------------------------------------------------------------------------

PARAMETERS: dict[str, dict[str, Any]] = {
    "spend_x_get_coupon": {"minAmountMinor": 100_000, "couponTemplateId": "tpl-50", "mccs": ["5812"], "couponCostMinor": 5_000},
    "first_salary_gift": {"couponTemplateId": "tpl-gift", "couponCostMinor": 2_000, "notifyTemplateId": "n-salary", "channel": "wecom"},
    "deposit_increase_gift": {"minIncreaseMinor": 5_000_000, "points": 1_000, "pointsCostCentre": "cc-deposits", "costMinor": 1_000},
    "birthday_gift": {"couponTemplateId": "tpl-birthday", "couponCostMinor": 3_000},
    "check_in_streak": {"days": 7, "points": 100, "pointsCostCentre": "cc-checkin", "costMinor": 100},
    "card_spend_task": {"minAmountMinor": 20_000, "count": 3, "couponTemplateId": "tpl-task", "couponCostMinor": 1_000},
    "mgm_referral": {"inviteeCouponTemplateId": "tpl-welcome", "inviteeCostMinor": 2_000, "inviterPoints": 500,
                     "pointsCostCentre": "cc-mgm", "inviterCostMinor": 500, "minAmountMinor": 10_000},
}
REQUIRED: dict[str, list[str]] = {
    "spend_x_get_coupon": ["minAmountMinor", "couponTemplateId"],
    "first_salary_gift": ["couponTemplateId"],
    "deposit_increase_gift": ["minIncreaseMinor", "points", "pointsCostCentre"],
    "birthday_gift": ["couponTemplateId"],
    "check_in_streak": ["days", "pointsCostCentre"],
    "card_spend_task": ["minAmountMinor", "count", "couponTemplateId"],
    "mgm_referral": ["inviteeCouponTemplateId", "inviterPoints", "pointsCostCentre"],
}


def from_template(parameters: dict[str, Any], **overrides: Any) -> FromTemplate:
    data: dict[str, Any] = {"campaignId": "camp-t", "name": "From a template", "window": WINDOW,
                            "budget": {"unit": "minor", "currency": "CNY", "total": 1_000_000}, "fundingCostCentre": "cc-marketing",
                            "controlPercent": 10, "parameters": parameters, **overrides}
    return FromTemplate.model_validate(data)


def test_every_template_is_covered_here_and_described() -> None:
    assert set(templates.TEMPLATES) == set(PARAMETERS) == set(REQUIRED)
    described = {t["template"]: t["description"] for t in templates.describe()}
    assert set(described) == set(PARAMETERS) and all(described.values())


@pytest.mark.parametrize("template", sorted(PARAMETERS))
def test_each_template_with_valid_parameters_builds_a_valid_definition(template: str) -> None:
    # Given an operator's request with the template's parameters
    request = from_template(PARAMETERS[template])
    # When the template builds it
    definition = templates.build(template, request)
    # Then it is a full definition carrying the request's own fields
    assert isinstance(definition, CampaignDefinition)
    assert (definition.campaignId, definition.controlPercent, definition.budget) == ("camp-t", 10, request.budget)
    assert sum(v.weightPercent for v in definition.variants) == 100
    # And it survives a round trip, as it is stored
    assert CampaignDefinition.model_validate_json(definition.model_dump_json()) == definition


def test_what_the_templates_write() -> None:
    spend = templates.build("spend_x_get_coupon", from_template(PARAMETERS["spend_x_get_coupon"]))
    assert spend.trigger.type == "event" and spend.trigger.eventType == "CardTransactionPosted"
    assert (spend.trigger.minAmountMinor, spend.trigger.mccs) == (100_000, ["5812"])
    assert spend.frequencyCaps.limits() == {"lifetime": 1}

    salary = templates.build("first_salary_gift", from_template(PARAMETERS["first_salary_gift"]))
    assert salary.trigger.type == "event" and salary.trigger.eventType == "SalaryCredited"
    assert [(a.type, getattr(a, "channel", None)) for a in salary.variants[0].actions] == [("issue_coupon", None), ("notify", "wecom")]

    deposit = templates.build("deposit_increase_gift", from_template(PARAMETERS["deposit_increase_gift"]))
    assert deposit.trigger.type == "event" and (deposit.trigger.minAmountMinor, deposit.trigger.currency) == (5_000_000, "CNY")
    assert deposit.frequencyCaps.limits() == {"monthly": 1}

    birthday = templates.build("birthday_gift", from_template(PARAMETERS["birthday_gift"]))
    assert birthday.trigger.type == "schedule" and birthday.trigger.expression == "cron(0 9 * * ? *)"
    assert birthday.trigger.timezone == "Asia/Shanghai" and birthday.audience.birthdayToday
    # A birthday comes once a year, so its cap is yearly, not lifetime
    assert birthday.frequencyCaps.limits() == {"yearly": 1}

    streak = templates.build("check_in_streak", from_template(PARAMETERS["check_in_streak"]))
    assert streak.trigger.type == "event" and (streak.trigger.eventType, streak.trigger.streakDays) == ("CheckInCompleted", 7)
    assert [a.type for a in streak.variants[0].actions] == ["award_points"] and streak.frequencyCaps.limits() == {"monthly": 4}

    task = templates.build("card_spend_task", from_template(PARAMETERS["card_spend_task"]))
    assert task.trigger.type == "event" and task.trigger.target is not None
    assert (task.trigger.target.count, task.trigger.target.withinDays, task.trigger.minAmountMinor) == (3, 30, 20_000)

    mgm = templates.build("mgm_referral", from_template(PARAMETERS["mgm_referral"]))
    assert mgm.trigger.type == "referral" and (mgm.trigger.minAmountMinor, mgm.trigger.withinDays) == (10_000, 30)
    assert [a.type for a in mgm.trigger.inviterActions] == ["award_points"] and mgm.variants[0].actions[0].type == "issue_coupon"


def test_a_referral_in_a_money_budget_needs_the_inviter_reward_to_cost_something() -> None:
    free_inviter = {"type": "referral", "inviterActions": [{"type": "award_points", "points": 100, "costCentre": "cc"}]}
    refused(body(trigger=free_inviter, budget={"unit": "minor", "currency": "CNY", "total": 1_000}), "inviter's reward has no cost")
    # In reward units, a free inviter reward is fine
    CampaignDefinition.model_validate(body(trigger=free_inviter))


@pytest.mark.parametrize(("template", "missing"), [(t, p) for t, names in sorted(REQUIRED.items()) for p in names])
def test_a_missing_template_parameter_is_a_validation_error(template: str, missing: str) -> None:
    # Given the template's parameters without one it needs
    parameters = {k: v for k, v in PARAMETERS[template].items() if k != missing}
    # Then building it is refused as invalid input, naming the parameter
    with pytest.raises(InvalidInput, match=missing) as refusal:
        templates.build(template, from_template(parameters))
    assert refusal.value.code == "VALIDATION_ERROR"


def test_template_parameters_that_make_an_invalid_definition_are_a_validation_error_with_details() -> None:
    # Given a money budget and a coupon that costs nothing (couponCostMinor defaults to 0)
    parameters = {"minAmountMinor": 100_000, "couponTemplateId": "tpl-50"}
    with pytest.raises(InvalidInput) as refusal:
        templates.build("spend_x_get_coupon", from_template(parameters))
    assert refusal.value.code == "VALIDATION_ERROR" and refusal.value.details
    # And a parameter of the wrong type is refused the same way
    with pytest.raises(InvalidInput) as wrong_type:
        templates.build("spend_x_get_coupon", from_template({**PARAMETERS["spend_x_get_coupon"], "minAmountMinor": "lots"}))
    assert wrong_type.value.code == "VALIDATION_ERROR"


def test_an_unknown_template_is_not_found() -> None:
    with pytest.raises(NotFound) as refusal:
        templates.build("check_in_streak_deluxe", from_template({}))
    assert refusal.value.code == "CAMPAIGN_TEMPLATE_NOT_FOUND"


def test_a_template_request_is_itself_validated() -> None:
    with pytest.raises(ValidationError, match="greater than or equal to 0"):
        from_template(PARAMETERS["birthday_gift"], budget={"unit": "rewards", "total": -5})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        from_template(PARAMETERS["birthday_gift"], trigger={"type": "manual"})


# ---- per-attribute budgets -----------------------------------------------------------------------


def test_a_budget_per_attribute_value_with_overrides() -> None:
    # Given a budget of 100 rewards per branch, 300 for the flagship branch
    definition = CampaignDefinition.model_validate(body(budget={"unit": "rewards", "total": 1_000, "byAttribute": [
        {"attribute": "branchId", "limit": 100, "overrides": {"br-flagship": 300}}]}))
    (by_branch,) = definition.budget.byAttribute
    # Then each branch has its limit
    assert (by_branch.limit_of("br-flagship"), by_branch.limit_of("br-007")) == (300, 100)


@pytest.mark.parametrize(
    ("by_attribute", "problem"),
    [
        ([{"attribute": "branchId", "limit": -1}], "greater than or equal to 0"),
        ([{"attribute": "branchId", "limit": 1}, {"attribute": "branchId", "limit": 2}], "one budget per attribute"),
        ([{"attribute": "branch id", "limit": 1}], "should match pattern"),
        ([{"attribute": "branchId", "limit": 1, "overrides": {"br-1": -5}}], "greater than or equal to 0"),
    ],
)
def test_invalid_per_attribute_budgets_are_refused(by_attribute: list[dict[str, Any]], problem: str) -> None:
    refused(body(budget={"unit": "rewards", "total": 10, "byAttribute": by_attribute}), problem)
