"""Who gets what, pure: event patterns and conditions, trigger keys, audiences, arms, periods, quiet
hours and schedule slots."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from loyalty.campaigns.model import Audience, CampaignDefinition, EventTrigger, QuietHours
from loyalty.campaigns.targeting import (
    arm_of,
    deliver_at,
    due_slot,
    event_matches,
    in_audience,
    matches_pattern,
    period_keys,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = date(2026, 6, 15)


# ---- patterns ------------------------------------------------------------------------------------


def test_a_list_of_values_matches_any_of_them() -> None:
    pattern = {"channel": ["pos", "online"]}
    assert matches_pattern(pattern, {"channel": "pos"})
    assert matches_pattern(pattern, {"channel": "online"})
    assert not matches_pattern(pattern, {"channel": "atm"})
    assert not matches_pattern(pattern, {})  # a value needs the field


def test_values_match_exactly_by_type() -> None:
    assert matches_pattern({"mcc": ["5812"]}, {"mcc": "5812"})
    assert not matches_pattern({"mcc": ["5812"]}, {"mcc": 5812})
    assert matches_pattern({"product": [None]}, {"product": None})
    assert not matches_pattern({"product": [None]}, {})  # null matches a present null, not a missing field


def test_a_list_in_the_event_matches_if_any_element_does() -> None:
    pattern = {"tags": ["payroll"]}
    assert matches_pattern(pattern, {"tags": ["vip", "payroll"]})
    assert not matches_pattern(pattern, {"tags": ["vip"]})
    assert not matches_pattern(pattern, {"tags": []})


def test_every_field_of_the_pattern_must_match() -> None:
    pattern = {"channel": ["pos"], "currency": ["CNY"]}
    assert matches_pattern(pattern, {"channel": "pos", "currency": "CNY", "other": 1})
    assert not matches_pattern(pattern, {"channel": "pos", "currency": "USD"})
    assert matches_pattern({}, {"anything": 1})  # the empty pattern matches every event


def test_prefix() -> None:
    pattern = {"merchantId": [{"prefix": "m-jd-"}]}
    assert matches_pattern(pattern, {"merchantId": "m-jd-001"})
    assert matches_pattern(pattern, {"merchantId": "m-jd-"})
    assert not matches_pattern(pattern, {"merchantId": "M-JD-001"})  # case matters
    assert not matches_pattern(pattern, {"merchantId": 5})
    assert not matches_pattern(pattern, {})


@pytest.mark.parametrize(
    ("amount", "matches"),
    [(99_999, False), (100_000, True), (250_000, True), (499_999.99, True), (500_000, False), ("200000", False), (True, False), (None, False)],
)
def test_a_numeric_range(amount: Any, matches: bool) -> None:
    # Given at least 1,000 yuan and under 5,000 yuan
    pattern = {"amountMinor": [{"numeric": [">=", 100_000, "<", 500_000]}]}
    # Then only numbers in [100000, 500000) match: not text, not booleans, not nulls
    assert matches_pattern(pattern, {"amountMinor": amount}) is matches


@pytest.mark.parametrize(("op", "below", "at", "above"), [("<", True, False, False), ("<=", True, True, False), ("=", False, True, False),
                                                          (">", False, False, True), (">=", False, True, True)])
def test_each_numeric_operator(op: str, below: bool, at: bool, above: bool) -> None:
    pattern = {"n": [{"numeric": [op, 10]}]}
    assert [matches_pattern(pattern, {"n": n}) for n in (9.5, 10, 11)] == [below, at, above]


def test_exists() -> None:
    assert matches_pattern({"reversalOf": [{"exists": True}]}, {"reversalOf": "tx-1"})
    assert matches_pattern({"reversalOf": [{"exists": True}]}, {"reversalOf": None})  # present, even if null
    assert not matches_pattern({"reversalOf": [{"exists": True}]}, {})
    assert matches_pattern({"reversalOf": [{"exists": False}]}, {})
    assert not matches_pattern({"reversalOf": [{"exists": False}]}, {"reversalOf": "tx-1"})


def test_matchers_of_one_field_are_alternatives() -> None:
    pattern = {"channel": ["pos", {"prefix": "app-"}]}
    assert matches_pattern(pattern, {"channel": "pos"})
    assert matches_pattern(pattern, {"channel": "app-ios"})
    assert not matches_pattern(pattern, {"channel": "atm"})


def test_nested_objects() -> None:
    pattern = {"card": {"product": ["platinum"], "limitMinor": [{"numeric": [">", 0]}]}}
    assert matches_pattern(pattern, {"card": {"product": "platinum", "limitMinor": 1, "bin": "622588"}})
    assert not matches_pattern(pattern, {"card": {"product": "classic", "limitMinor": 1}})
    assert not matches_pattern(pattern, {"card": "platinum"})  # not an object
    assert not matches_pattern(pattern, {})
    # And deeper
    assert matches_pattern({"a": {"b": {"c": [{"exists": False}]}}}, {"a": {"b": {}}})


# ---- event conditions ----------------------------------------------------------------------------


def trigger(**fields: Any) -> EventTrigger:
    return EventTrigger.model_validate({"type": "event", "eventType": "CardTransactionPosted", **fields})


def spend(amount: int, mcc: str = "5812", **extra: Any) -> dict[str, Any]:
    return {"transactionId": "tx-1", "customerId": "c-1", "amountMinor": amount, "currency": "CNY", "mcc": mcc, **extra}


def test_min_amount() -> None:
    rule = trigger(minAmountMinor=100_000)
    assert event_matches(rule, spend(100_000))
    assert event_matches(rule, spend(100_001))
    assert not event_matches(rule, spend(99_999))
    assert not event_matches(rule, {"customerId": "c-1"})  # no amount at all


def test_min_amount_reads_a_balance_delta_when_there_is_no_amount() -> None:
    rule = EventTrigger.model_validate({"type": "event", "eventType": "LargeBalanceMovement", "minAmountMinor": 5_000_000})
    assert event_matches(rule, {"customerId": "c-1", "deltaMinor": 5_000_000, "currency": "CNY"})
    assert not event_matches(rule, {"customerId": "c-1", "deltaMinor": 4_999_999, "currency": "CNY"})


def test_an_amount_in_another_currency_never_meets_the_threshold() -> None:
    # Given a threshold of 1,000 yuan, and one of 100 US dollars
    in_yuan, in_dollars = trigger(minAmountMinor=100_000), trigger(minAmountMinor=10_000, currency="USD")
    # Then 5,000 dollars does not meet the yuan threshold (cents are not fen), nor 5,000 yuan the dollar one
    assert not event_matches(in_yuan, spend(500_000, currency="USD"))
    assert not event_matches(in_dollars, spend(500_000))
    assert event_matches(in_dollars, spend(10_000, currency="USD"))
    # And a trigger with no threshold, or a threshold of 0, takes any currency
    assert event_matches(trigger(), spend(1, currency="USD"))
    assert event_matches(trigger(minAmountMinor=0), spend(1, currency="USD"))


def test_merchant_categories() -> None:
    rule = trigger(mccs=["5812", "5411"])
    assert event_matches(rule, spend(1, mcc="5411"))
    assert not event_matches(rule, spend(1, mcc="4111"))
    assert not event_matches(rule, {"customerId": "c-1", "amountMinor": 1})
    # No categories means any category
    assert event_matches(trigger(), spend(1, mcc="4111"))


def test_conditions_and_the_pattern_all_apply() -> None:
    rule = trigger(minAmountMinor=100_000, mccs=["5812"], pattern={"channel": ["pos"]})
    assert event_matches(rule, spend(150_000, channel="pos"))
    assert not event_matches(rule, spend(150_000, channel="online"))
    assert not event_matches(rule, spend(50_000, channel="pos"))
    assert not event_matches(rule, spend(150_000, mcc="4111", channel="pos"))


# ---- audiences -----------------------------------------------------------------------------------


def audience(**rule: Any) -> Audience:
    return Audience.model_validate(rule)


PROFILE: dict[str, Any] = {"customerId": "c-1", "tags": ["payroll", "young"], "operatorTags": ["vip"], "tier": "gold",
                           "segments": ["active"], "scores": {"rfm": 4.0, "churn": 0.2}, "branchId": "br-sh-01", "birthday": "1990-06-15"}


def member(rule: Audience, profile: dict[str, Any] | None = PROFILE, customer_id: str = "c-1", today: date = TODAY) -> bool:
    return in_audience(rule, customer_id, profile, today)


def test_the_empty_rule_takes_every_customer_with_a_profile() -> None:
    assert member(audience())
    assert member(audience(), {"customerId": "c-1"})


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"tagsAny": ["payroll", "student"]}, True),
        ({"tagsAny": ["vip"]}, True),  # the engine's own (operator) tags count too
        ({"tagsAny": ["student"]}, False),
        ({"tagsAll": ["payroll", "vip"]}, True),
        ({"tagsAll": ["payroll", "student"]}, False),
        ({"tiers": ["gold", "platinum"]}, True),
        ({"tiers": ["silver"]}, False),
        ({"segments": ["active", "dormant"]}, True),
        ({"segments": ["dormant"]}, False),
        ({"branchIds": ["br-sh-01"]}, True),
        ({"branchIds": ["br-bj-01"]}, False),
        ({"birthdayToday": True}, True),
        ({"tagsAny": ["payroll"], "tiers": ["gold"], "segments": ["active"], "branchIds": ["br-sh-01"]}, True),
        ({"tagsAny": ["payroll"], "tiers": ["silver"]}, False),  # every condition must hold
    ],
)
def test_each_condition_of_a_rule(rule: dict[str, Any], expected: bool) -> None:
    assert member(audience(**rule)) is expected


def test_a_condition_on_a_field_the_profile_lacks_does_not_hold() -> None:
    bare = {"customerId": "c-1"}
    for rule in ({"tagsAny": ["payroll"]}, {"tagsAll": ["payroll"]}, {"tiers": ["gold"]}, {"segments": ["active"]},
                 {"branchIds": ["br-sh-01"]}, {"birthdayToday": True}, {"scores": {"rfm": {"min": 0}}}):
        assert not member(audience(**rule), bare), rule
    assert not member(audience(tagsAny=["payroll"]), {"customerId": "c-1", "tags": None, "operatorTags": None})


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        ({"min": 4.0}, True),  # inclusive
        ({"min": 4.01}, False),
        ({"max": 4.0}, True),  # inclusive
        ({"max": 3.99}, False),
        ({"min": 3, "max": 5}, True),
        ({"min": 4.5, "max": 5}, False),
        ({}, True),  # no bounds: the score only has to exist
    ],
)
def test_score_ranges(bounds: dict[str, float], expected: bool) -> None:
    assert member(audience(scores={"rfm": bounds})) is expected


def test_every_score_range_must_hold_and_a_missing_score_fails() -> None:
    assert member(audience(scores={"rfm": {"min": 3}, "churn": {"max": 0.5}}))
    assert not member(audience(scores={"rfm": {"min": 3}, "churn": {"max": 0.1}}))
    assert not member(audience(scores={"clv": {"min": 0}}))


@pytest.mark.parametrize(
    ("birthday", "today", "expected"),
    [
        ("1990-06-15", date(2026, 6, 15), True),  # another year, same day
        ("1990-06-15", date(2027, 6, 15), True),
        ("1990-06-15", date(2026, 6, 14), False),
        ("1990-06-15", date(2026, 6, 16), False),
        ("1990-12-31", date(2026, 12, 31), True),  # the last day of the year
        ("1991-01-01", date(2027, 1, 1), True),  # the first day of the next year
        ("1990-12-31", date(2027, 1, 1), False),
        ("1990-01-15", date(2026, 6, 15), False),  # the same day of another month
        ("2000-02-29", date(2028, 2, 29), True),  # a leap day, in a leap year
        ("2000-02-29", date(2026, 2, 28), True),  # and on 28 February otherwise: once every year
        ("2000-02-29", date(2026, 3, 1), False),
        ("2000-02-29", date(2028, 2, 28), False),  # not twice in a leap year
        ("1990-02-28", date(2026, 2, 28), True),
        (None, date(2026, 6, 15), False),
    ],
)
def test_birthday_today_across_years(birthday: str | None, today: date, expected: bool) -> None:
    assert member(audience(birthdayToday=True), {**PROFILE, "birthday": birthday}, today=today) is expected


def test_a_list_of_customer_ids_is_the_audience() -> None:
    listed = audience(customerIds=["c-1", "c-2"], tiers=["platinum"])
    # Then a listed customer is in, with or without a profile, whatever the rule says
    assert member(listed)
    assert member(listed, None, "c-2")
    # And anyone else is out
    assert not member(listed, PROFILE, "c-3")
    assert not listed.needs_profile


def test_customers_without_a_profile_are_out_unless_the_audience_does_not_require_one() -> None:
    assert not member(audience(), None)
    assert member(audience(requireProfile=False), None)
    assert not audience(requireProfile=False).needs_profile
    assert audience().needs_profile


def test_without_a_profile_a_rule_cannot_hold_even_if_no_profile_is_required() -> None:
    # Given an audience of payroll customers that does not require a profile
    rule = audience(tagsAll=["payroll"], requireProfile=False)
    # Then the profile is loaded for it, and a customer without one is not a payroll customer
    assert rule.needs_profile
    assert not member(rule, None)
    assert not member(audience(birthdayToday=True, requireProfile=False), None)
    assert not member(audience(scores={"rfm": {"min": 0}}, requireProfile=False), None)


# ---- arms ----------------------------------------------------------------------------------------

COUPON = {"type": "issue_coupon", "templateId": "tpl-50"}


def campaign(control: int, weights: dict[str, int] | None = None, campaign_id: str = "camp-ab") -> CampaignDefinition:
    variants = [{"variantId": v, "weightPercent": w, "actions": [COUPON]} for v, w in (weights or {"main": 100}).items()]
    return CampaignDefinition.model_validate({
        "campaignId": campaign_id, "name": "A/B", "window": {"startsAt": "2026-06-01T00:00:00Z", "endsAt": "2026-07-01T00:00:00Z"},
        "trigger": {"type": "manual"}, "variants": variants, "controlPercent": control, "budget": {"unit": "rewards", "total": 10},
        "fundingCostCentre": "cc-marketing",
    })


IDS = [f"c-{n:06d}" for n in range(20_000)]


def shares(definition: CampaignDefinition) -> dict[str, float]:
    counts = Counter(arm_of(definition, c) for c in IDS)
    return {arm: n / len(IDS) for arm, n in counts.items()}


def test_the_arm_is_deterministic() -> None:
    definition = campaign(30, {"a": 50, "b": 50})
    first = [arm_of(definition, c) for c in IDS[:500]]
    # Then the same customer lands in the same arm every time, also from an equal definition
    assert first == [arm_of(campaign(30, {"a": 50, "b": 50}), c) for c in IDS[:500]]
    # And another campaign assigns independently
    other = [arm_of(campaign(30, {"a": 50, "b": 50}, "camp-other"), c) for c in IDS[:500]]
    assert other != first


@pytest.mark.parametrize("control", [5, 10, 50])
def test_the_control_share_is_the_control_percent(control: int) -> None:
    # Given 20,000 customers: the binomial standard deviation of the share is at most 0.36 percentage points
    found = shares(campaign(control)).get("control", 0.0)
    # Then the control share is within 1.5 points of the percentage
    assert abs(found - control / 100) < 0.015, found


def test_the_variants_split_the_treated_customers_by_weight() -> None:
    # Given 20% control and three variants weighted 50/30/20
    found = shares(campaign(20, {"a": 50, "b": 30, "c": 20}))
    # Then control is ~20%, and the other 80% splits ~50/30/20 between the variants
    assert abs(found["control"] - 0.20) < 0.015
    treated = 1 - found["control"]
    for arm, weight in (("a", 0.5), ("b", 0.3), ("c", 0.2)):
        assert abs(found[arm] / treated - weight) < 0.02, (arm, found)


def test_no_control_and_all_control() -> None:
    assert set(shares(campaign(0))) == {"main"}
    assert set(shares(campaign(100))) == {"control"}
    assert set(shares(campaign(0, {"a": 99, "b": 1}))) == {"a", "b"}


# ---- periods -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "week"),
    [
        (date(2024, 12, 29), "W#2024-52"),  # a Sunday: still the last week of 2024
        (date(2024, 12, 30), "W#2025-01"),  # a Monday in December: week 1 of the next ISO year
        (date(2025, 12, 31), "W#2026-01"),
        (date(2026, 1, 1), "W#2026-01"),
        (date(2026, 12, 31), "W#2026-53"),  # 2026 has 53 ISO weeks
        (date(2027, 1, 3), "W#2026-53"),  # a Sunday in January: the last week of the year before
        (date(2027, 1, 4), "W#2027-01"),
        (date(2021, 1, 3), "W#2020-53"),
        (date(2026, 3, 9), "W#2026-11"),
    ],
)
def test_iso_weeks_at_the_year_boundaries(day: date, week: str) -> None:
    assert period_keys(day)["weekly"] == week


def test_the_period_keys_of_a_day() -> None:
    assert period_keys(date(2026, 1, 1)) == {"total": "TOTAL", "lifetime": "LIFETIME", "daily": "D#2026-01-01", "weekly": "W#2026-01",
                                             "monthly": "M#2026-01", "yearly": "Y#2026"}
    # The month is the calendar month, even where the ISO week belongs to the next year
    assert period_keys(date(2024, 12, 30))["monthly"] == "M#2024-12"


# ---- quiet hours ---------------------------------------------------------------------------------

NIGHT = QuietHours(start=time(22, 0), end=time(8, 0))
LUNCH = QuietHours(start=time(12, 0), end=time(14, 0))


def local(hour: int, minute: int = 0, day: int = 15) -> datetime:
    return datetime(2026, 6, day, hour, minute, tzinfo=SHANGHAI)


def test_no_quiet_hours_delivers_at_once() -> None:
    assert deliver_at(None, local(3)) is None


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (local(21, 59), None),
        (local(22, 0), local(8, day=16)),  # from the start: the end is the next morning
        (local(23, 30), local(8, day=16)),
        (local(0, 0), local(8)),  # past midnight: the end is later the same day
        (local(7, 59), local(8)),
        (local(8, 0), None),  # the end itself is outside
        (local(12, 0), None),
    ],
)
def test_quiet_hours_wrapping_midnight(now: datetime, expected: datetime | None) -> None:
    assert deliver_at(NIGHT, now) == expected


@pytest.mark.parametrize(("now", "expected"), [(local(11, 59), None), (local(12, 0), local(14)), (local(13, 30), local(14)),
                                               (local(14, 0), None), (local(23, 0), None)])
def test_quiet_hours_within_a_day(now: datetime, expected: datetime | None) -> None:
    assert deliver_at(LUNCH, now) == expected


def test_quiet_hours_keep_the_time_zone_and_roll_over_month_ends() -> None:
    later = deliver_at(NIGHT, datetime(2026, 6, 30, 23, 0, tzinfo=SHANGHAI))
    assert later == datetime(2026, 7, 1, 8, 0, tzinfo=SHANGHAI) and later.tzinfo is SHANGHAI
    assert later.astimezone(UTC) == datetime(2026, 7, 1, 0, 0, tzinfo=UTC)


def test_empty_quiet_hours_never_hold_back() -> None:
    assert deliver_at(QuietHours(start=time(9, 0), end=time(9, 0)), local(9)) is None


# ---- schedule slots ------------------------------------------------------------------------------

DAILY_NINE = "cron(0 9 * * ? *)"


def utc(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, second, tzinfo=UTC)


def test_a_cron_slot_is_in_the_campaign_time_zone() -> None:
    # Given daily at 09:00 in Shanghai (01:00 UTC)
    # When the scheduler runs 30 s after 09:00 Shanghai
    slot = due_slot(DAILY_NINE, "Asia/Shanghai", None, utc(15, 1, 0, 30))
    # Then the slot is 09:00 Shanghai
    assert slot == datetime(2026, 6, 15, 9, 0, tzinfo=SHANGHAI)
    # And it is not due before then, nor at 09:00 UTC
    assert due_slot(DAILY_NINE, "Asia/Shanghai", None, utc(15, 0, 59, 59)) is None
    assert due_slot(DAILY_NINE, "Asia/Shanghai", slot, utc(15, 9, 0, 30)) is None
    # While a campaign in London fires at 09:00 London time (08:00 UTC in summer)
    assert due_slot(DAILY_NINE, "Europe/London", None, utc(15, 8, 0, 30)) == datetime(2026, 6, 15, 9, 0, tzinfo=ZoneInfo("Europe/London"))


def test_a_slot_fires_once() -> None:
    slot = due_slot(DAILY_NINE, "Asia/Shanghai", None, utc(15, 1, 0, 10))
    assert slot is not None
    # When the scheduler runs again within the minute, and later that day, with the slot claimed
    for now in (utc(15, 1, 0, 50), utc(15, 12), utc(16, 0, 59)):
        assert due_slot(DAILY_NINE, "Asia/Shanghai", slot, now) is None
    # Then the next slot is the next day's
    assert due_slot(DAILY_NINE, "Asia/Shanghai", slot, utc(16, 1, 0, 5)) == datetime(2026, 6, 16, 9, 0, tzinfo=SHANGHAI)


def test_missed_minutes_fire_only_the_latest_slot_once() -> None:
    # Given every 5 minutes, last fired at 10:00 Shanghai, and a scheduler that was down until 10:17
    last = datetime(2026, 6, 15, 10, 0, tzinfo=SHANGHAI)
    now = datetime(2026, 6, 15, 10, 17, 20, tzinfo=SHANGHAI)
    # Then only 10:15 fires (not 10:05 and 10:10 as well)
    slot = due_slot("cron(0/5 * * * ? *)", "Asia/Shanghai", last, now)
    assert slot == datetime(2026, 6, 15, 10, 15, tzinfo=SHANGHAI)
    # And nothing more until 10:20
    assert due_slot("cron(0/5 * * * ? *)", "Asia/Shanghai", slot, now + timedelta(seconds=30)) is None
    assert due_slot("cron(0/5 * * * ? *)", "Asia/Shanghai", slot, now + timedelta(minutes=3)) == datetime(2026, 6, 15, 10, 20, tzinfo=SHANGHAI)


def test_a_newly_scheduled_campaign_does_not_fire_a_slot_of_the_past() -> None:
    # Given no slot fired yet, and 09:00 two minutes ago: only the last minute counts as due
    assert due_slot(DAILY_NINE, "Asia/Shanghai", None, utc(15, 1, 2)) is None


def test_slots_older_than_a_day_are_not_caught_up() -> None:
    # Given daily at 09:00, last fired five days ago
    last = datetime(2026, 6, 10, 9, 0, tzinfo=SHANGHAI)
    # When the scheduler comes back at 10:00 on the 15th
    now = datetime(2026, 6, 15, 10, 0, tzinfo=SHANGHAI)
    # Then only today's 09:00 fires, once
    slot = due_slot(DAILY_NINE, "Asia/Shanghai", last, now)
    assert slot == datetime(2026, 6, 15, 9, 0, tzinfo=SHANGHAI)
    assert due_slot(DAILY_NINE, "Asia/Shanghai", slot, now) is None
    # And coming back at 08:00 instead, the slot within the last day (yesterday's) fires, none older
    early = datetime(2026, 6, 15, 8, 0, tzinfo=SHANGHAI)
    assert due_slot(DAILY_NINE, "Asia/Shanghai", last, early) == datetime(2026, 6, 14, 9, 0, tzinfo=SHANGHAI)
    # A monthly slot missed by more than a day does not fire at all
    monthly = due_slot("cron(30 1 1 * ? *)", "Asia/Shanghai", datetime(2026, 5, 1, 1, 30, tzinfo=SHANGHAI),
                       datetime(2026, 6, 3, 12, 0, tzinfo=SHANGHAI))
    assert monthly is None


def test_a_one_shot_fires_once_and_never_before() -> None:
    at = "at(2026-06-18T09:00)"
    when = datetime(2026, 6, 18, 9, 0, tzinfo=SHANGHAI)
    # Before its time, nothing; a minute before, nothing
    assert due_slot(at, "Asia/Shanghai", None, datetime(2026, 6, 18, 8, 59, 59, tzinfo=SHANGHAI)) is None
    assert due_slot(at, "Asia/Shanghai", None, utc(18, 0, 59)) is None
    # At its time (09:00 Shanghai, 01:00 UTC), and later if missed, it is due
    assert due_slot(at, "Asia/Shanghai", None, when) == when
    assert due_slot(at, "Asia/Shanghai", None, utc(18, 1, 0, 30)) == when
    assert due_slot(at, "Asia/Shanghai", None, utc(19, 5)) == when
    # Once fired, never again
    assert due_slot(at, "Asia/Shanghai", when, when + timedelta(minutes=1)) is None
    assert due_slot(at, "Asia/Shanghai", when, when + timedelta(days=400)) is None
