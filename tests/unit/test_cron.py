"""`loyalty.core.cron`: EventBridge Scheduler expressions, parsed and evaluated in a time zone.

Expectations are computed by hand. Reference dates: 2026-11-23 is a Monday, 2026-11-29 a Sunday,
2026-11-28 a Saturday. Asia/Shanghai is UTC+8 all year (no daylight saving).
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from loyalty.core.cron import Cron, InvalidSchedule, Rate, next_fire, parse

SHANGHAI = ZoneInfo("Asia/Shanghai")


def cron(expression: str) -> Cron:
    parsed = parse(expression)
    assert isinstance(parsed, Cron)
    return parsed


def shanghai(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


# --- parsing: rate ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("rate(1 minute)", 60),
        ("rate(5 minutes)", 300),
        ("rate(1 hour)", 3600),
        ("rate(2 hours)", 7200),
        ("rate(1 day)", 86400),
        ("rate(7 days)", 604800),
        ("  rate(15 minutes)  ", 900),
    ],
)
def test_rate_expressions_parse_to_seconds(expression: str, seconds: int) -> None:
    # Given a rate expression
    # When it is parsed
    parsed = parse(expression)
    # Then it is a Rate of that many seconds
    assert parsed == Rate(seconds)


@pytest.mark.parametrize(
    "expression",
    ["rate(0 minutes)", "rate(5 weeks)", "rate(minutes)", "rate(-1 minutes)", "rate(1.5 hours)", "rate(5)", "rate()"],
)
def test_malformed_rate_expressions_are_refused(expression: str) -> None:
    # Given a rate with no positive integer value or an unknown unit
    # When it is parsed
    # Then it is refused
    with pytest.raises(InvalidSchedule):
        parse(expression)


@pytest.mark.parametrize("expression", ["", "0 9 * * ? *", "at(2026-11-23T09:00:00)", "cron 0 9 * * ? *", "CRON(0 9 * * ? *)"])
def test_expressions_that_are_neither_cron_nor_rate_are_refused(expression: str) -> None:
    # Given something that is not cron(...) or rate(...)
    # When it is parsed
    # Then it is refused
    with pytest.raises(InvalidSchedule, match=r"cron\(\.\.\.\) or rate"):
        parse(expression)


# --- parsing: cron ------------------------------------------------------------------------------


def test_a_daily_cron_parses_into_its_fields() -> None:
    # Given 09:00 every day
    # When it is parsed
    parsed = parse("cron(0 9 * * ? *)")
    # Then minutes and hours are pinned and every other field means "anything" (None)
    assert parsed == Cron(
        minutes=frozenset({0}), hours=frozenset({9}), days_of_month=None, months=None, days_of_week=None, years=None
    )


@pytest.mark.parametrize("expression", ["cron(0 9 * * ?)", "cron(0 9 * * ? * *)", "cron()", "cron(0)"])
def test_cron_needs_exactly_six_fields(expression: str) -> None:
    # Given a cron expression with the wrong number of fields
    # When it is parsed
    # Then it is refused, naming the six fields
    with pytest.raises(InvalidSchedule, match="six fields"):
        parse(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 9 ? * ? *)",  # both '?'
        "cron(0 9 * * * *)",  # neither '?'
        "cron(0 9 1 * MON *)",  # neither '?': both pinned
    ],
)
def test_exactly_one_of_day_of_month_and_day_of_week_must_be_a_question_mark(expression: str) -> None:
    # Given both or neither day fields as '?'
    # When it is parsed
    # Then it is refused
    with pytest.raises(InvalidSchedule, match="exactly one"):
        parse(expression)


@pytest.mark.parametrize(
    "expression",
    ["cron(0 9 L * ? *)", "cron(0 9 15W * ? *)", "cron(0 9 LW * ? *)", "cron(0 9 ? * 6L *)", "cron(0 9 ? * 2#1 *)"],
)
def test_the_l_w_and_hash_forms_are_refused(expression: str) -> None:
    # Given the last-day, nearest-weekday or nth-weekday forms
    # When parsed
    # Then they are refused rather than half-supported
    with pytest.raises(InvalidSchedule, match="not supported"):
        parse(expression)


@pytest.mark.parametrize(
    "expression",
    [
        "cron(60 9 * * ? *)",  # minute 60
        "cron(0 24 * * ? *)",  # hour 24
        "cron(0 9 0 * ? *)",  # day-of-month 0
        "cron(0 9 32 * ? *)",  # day-of-month 32
        "cron(0 9 1 13 ? *)",  # month 13
        "cron(0 9 1 0 ? *)",  # month 0
        "cron(0 9 ? * 0 *)",  # day-of-week 0 (EventBridge counts 1-7)
        "cron(0 9 ? * 8 *)",  # day-of-week 8
        "cron(0 9 * * ? 1969)",  # year before 1970
        "cron(0 9 * * ? 2200)",  # year after 2199
        "cron(0 10-5 * * ? *)",  # reversed range
        "cron(0 9 ? * FRI-MON *)",  # reversed named range
        "cron(0 9-25 * * ? *)",  # range end out of range
        "cron(MON 9 * * ? *)",  # a name where only numbers are allowed
        "cron(0 9 ? * FUNDAY *)",  # an unknown name
        "cron(0 9,,10 * * ? *)",  # an empty list item
        "cron(-1 9 * * ? *)",  # a negative number
    ],
)
def test_out_of_range_or_unknown_values_are_refused(expression: str) -> None:
    # Given a field value outside its range, or not a number or name
    # When parsed
    # Then it is refused
    with pytest.raises(InvalidSchedule):
        parse(expression)


@pytest.mark.parametrize(
    "expression", ["cron(*/0 9 * * ? *)", "cron(0/x 9 * * ? *)", "cron(*/-5 9 * * ? *)", "cron(0 */1.5 * * ? *)"]
)
def test_bad_steps_are_refused(expression: str) -> None:
    # Given a step that is zero, negative or not an integer
    # When parsed
    # Then it is refused as a bad step
    with pytest.raises(InvalidSchedule, match="bad step"):
        parse(expression)


@pytest.mark.parametrize(
    ("field_text", "expected"),
    [
        ("0/15", {0, 15, 30, 45}),  # start/step runs to the end of the range
        ("5/20", {5, 25, 45}),
        ("*/20", {0, 20, 40}),
        ("10-20/5", {10, 15, 20}),
        ("1,2,30", {1, 2, 30}),
        ("0-2,58-59", {0, 1, 2, 58, 59}),
        ("7", {7}),
    ],
)
def test_minute_steps_ranges_and_lists_expand_to_their_values(field_text: str, expected: set[int]) -> None:
    # Given a minutes field with a step, a range or a list
    # When parsed
    parsed = cron(f"cron({field_text} 9 * * ? *)")
    # Then it expands to exactly the hand-computed minutes
    assert parsed.minutes == frozenset(expected)


def test_month_and_day_names_are_case_insensitive_numbers() -> None:
    # Given names for months and days (EventBridge counts days from SUN=1)
    # When parsed
    parsed = cron("cron(0 9 ? JAN-MAR,dec MON-FRI *)")
    # Then the months are 1-3 and 12, and MON-FRI is 2-6
    assert parsed.months == frozenset({1, 2, 3, 12})
    assert parsed.days_of_week == frozenset({2, 3, 4, 5, 6})


@pytest.mark.parametrize(
    ("expression", "months", "days_of_week"),
    [
        ("cron(0 9 ? * WED *)", None, frozenset({4})),
        ("cron(0 9 1 JUL ? *)", frozenset({7}), None),
        ("cron(0 9 ? * MON,WED,FRI *)", None, frozenset({2, 4, 6})),
    ],
)
def test_the_names_wed_and_jul_are_accepted(
    expression: str, months: frozenset[int] | None, days_of_week: frozenset[int] | None
) -> None:
    # Given an expression naming Wednesday or July (valid EventBridge syntax)
    # When parsed
    parsed = cron(expression)
    # Then it parses like its numeric form (WED is 4, JUL is 7)
    assert (parsed.months, parsed.days_of_week) == (months, days_of_week)


def test_lower_case_wed_and_jul_already_parse() -> None:
    # Given the same names in lower case (the L/W/# check only sees upper case)
    # When parsed
    parsed = cron("cron(0 9 ? jul wed *)")
    # Then they are July and Wednesday: the refusal of upper-case WED/JUL is a letter-scan artefact
    assert (parsed.months, parsed.days_of_week) == (frozenset({7}), frozenset({4}))


# --- matching -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "weekday_name", "matches_sunday_only"),
    [
        (29, "Sunday", True),
        (23, "Monday", False),
        (28, "Saturday", False),
    ],
)
def test_day_of_week_1_is_sunday(day: int, weekday_name: str, matches_sunday_only: bool) -> None:
    # Given "09:00 on day-of-week 1", which EventBridge reads as Sunday
    expression = cron("cron(0 9 ? * 1 *)")
    # When a 09:00 in the week of 2026-11-23 is checked
    local = shanghai(2026, 11, day, 9, 0)
    assert local.strftime("%A") == weekday_name
    # Then only the Sunday matches
    assert expression.matches(local) is matches_sunday_only


def test_day_of_week_7_is_saturday_and_sun_is_1() -> None:
    # Given day-of-week 7 and the name SUN
    saturday_only = cron("cron(0 9 ? * 7 *)")
    sunday_by_name = cron("cron(0 9 ? * SUN *)")
    # When Saturday 2026-11-28 and Sunday 2026-11-29 are checked
    saturday, sunday = shanghai(2026, 11, 28, 9, 0), shanghai(2026, 11, 29, 9, 0)
    # Then 7 is Saturday and SUN is Sunday
    assert saturday_only.matches(saturday) and not saturday_only.matches(sunday)
    assert sunday_by_name.matches(sunday) and not sunday_by_name.matches(saturday)


def test_weekdays_by_name_match_monday_to_friday_only() -> None:
    # Given 09:30 MON-FRI
    expression = cron("cron(30 9 ? * MON-FRI *)")
    # When each day of the week starting Monday 2026-11-23 is checked at 09:30
    results = [expression.matches(shanghai(2026, 11, 23 + offset, 9, 30)) for offset in range(7)]
    # Then Monday to Friday match and the weekend does not
    assert results == [True, True, True, True, True, False, False]


def test_every_field_must_match() -> None:
    # Given 08:15 on the 1st of January 2027 only
    expression = cron("cron(15 8 1 JAN ? 2027)")
    # When the exact minute and near misses are checked
    # Then only the exact minute matches
    assert expression.matches(shanghai(2027, 1, 1, 8, 15))
    assert not expression.matches(shanghai(2027, 1, 1, 8, 16))
    assert not expression.matches(shanghai(2027, 1, 1, 9, 15))
    assert not expression.matches(shanghai(2027, 1, 2, 8, 15))
    assert not expression.matches(shanghai(2027, 2, 1, 8, 15))
    assert not expression.matches(shanghai(2028, 1, 1, 8, 15))


def test_steps_match_every_quarter_hour() -> None:
    # Given every 15 minutes during business hours 09-17
    expression = cron("cron(0/15 9-17 * * ? *)")
    # When minutes are checked
    # Then :00/:15/:30/:45 inside 09-17 match and nothing else
    assert [m for m in range(60) if expression.matches(shanghai(2026, 11, 23, 10, m))] == [0, 15, 30, 45]
    assert expression.matches(shanghai(2026, 11, 23, 17, 45))
    assert not expression.matches(shanghai(2026, 11, 23, 18, 0))
    assert not expression.matches(shanghai(2026, 11, 23, 8, 45))


# --- next_fire ----------------------------------------------------------------------------------


def test_daily_0900_shanghai_from_a_utc_instant_fires_the_same_shanghai_morning() -> None:
    # Given 09:00 daily in Shanghai, and the instant 2026-11-23T00:30Z (08:30 in Shanghai)
    expression = cron("cron(0 9 * * ? *)")
    after = datetime(2026, 11, 23, 0, 30, tzinfo=UTC).astimezone(SHANGHAI)
    # When the next fire is computed in Shanghai time
    fire = next_fire(expression, after)
    # Then it is 09:00 Shanghai that day, i.e. 01:00Z
    assert fire == shanghai(2026, 11, 23, 9, 0)
    assert fire is not None and fire.astimezone(UTC) == datetime(2026, 11, 23, 1, 0, tzinfo=UTC)


def test_daily_0900_shanghai_after_the_local_morning_fires_the_next_day() -> None:
    # Given 2026-11-23T02:00Z, which is 10:00 in Shanghai, already past 09:00
    expression = cron("cron(0 9 * * ? *)")
    after = datetime(2026, 11, 23, 2, 0, tzinfo=UTC).astimezone(SHANGHAI)
    # When the next fire is computed
    fire = next_fire(expression, after)
    # Then it is 09:00 on the 24th in Shanghai (2026-11-24T01:00Z)
    assert fire is not None and fire.astimezone(UTC) == datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def test_a_utc_evening_is_already_the_next_shanghai_day() -> None:
    # Given 2026-11-23T20:00Z, which is 04:00 on the 24th in Shanghai
    expression = cron("cron(0 9 * * ? *)")
    after = datetime(2026, 11, 23, 20, 0, tzinfo=UTC).astimezone(SHANGHAI)
    # When the next fire is computed
    fire = next_fire(expression, after)
    # Then it is five hours later: 09:00 on the 24th in Shanghai
    assert fire == shanghai(2026, 11, 24, 9, 0)


def test_next_fire_is_strictly_after_the_given_instant() -> None:
    # Given exactly 09:00:00 and 08:59:30 in Shanghai
    expression = cron("cron(0 9 * * ? *)")
    # When the next fire is computed
    # Then exactly 09:00 does not fire again, while 08:59:30 fires at 09:00:00
    assert next_fire(expression, shanghai(2026, 11, 23, 9, 0)) == shanghai(2026, 11, 24, 9, 0)
    assert next_fire(expression, datetime(2026, 11, 23, 8, 59, 30, tzinfo=SHANGHAI)) == shanghai(2026, 11, 23, 9, 0)


def test_daily_fire_crosses_a_month_end() -> None:
    # Given 09:00 daily and 10:00 on 30 November in Shanghai
    expression = cron("cron(0 9 * * ? *)")
    # When the next fire is computed
    fire = next_fire(expression, shanghai(2026, 11, 30, 10, 0))
    # Then it is 09:00 on 1 December
    assert fire == shanghai(2026, 12, 1, 9, 0)


def test_day_31_skips_months_that_are_too_short() -> None:
    # Given 09:00 on the 31st, and mid-April (April has 30 days)
    expression = cron("cron(0 9 31 * ? *)")
    # When the next fire is computed
    fire = next_fire(expression, shanghai(2026, 4, 15, 12, 0))
    # Then it is 31 May
    assert fire == shanghai(2026, 5, 31, 9, 0)


def test_yearly_fires_on_the_next_new_year() -> None:
    # Given midnight on 1 January, and mid-June 2026 in Shanghai
    expression = cron("cron(0 0 1 JAN ? *)")
    # When the next fire is computed
    fire = next_fire(expression, shanghai(2026, 6, 15, 12, 0))
    # Then it is 2027-01-01 00:00 Shanghai, which is 2026-12-31T16:00Z
    assert fire == shanghai(2027, 1, 1, 0, 0)
    assert fire is not None and fire.astimezone(UTC) == datetime(2026, 12, 31, 16, 0, tzinfo=UTC)


def test_29_february_waits_for_the_next_leap_year() -> None:
    # Given 09:00 on 29 February, and 1 March 2026
    expression = cron("cron(0 9 29 2 ? *)")
    # When the next fire is computed
    fire = next_fire(expression, shanghai(2026, 3, 1, 0, 0))
    # Then it is 2028-02-29 (2027 is not a leap year)
    assert fire == shanghai(2028, 2, 29, 9, 0)


def test_a_weekday_schedule_skips_the_weekend() -> None:
    # Given 09:30 MON-FRI, and Saturday evening 2026-11-28
    expression = cron("cron(30 9 ? * MON-FRI *)")
    # When the next fire is computed
    fire = next_fire(expression, shanghai(2026, 11, 28, 20, 0))
    # Then the weekend is skipped: Monday 30 November 09:30
    assert fire == shanghai(2026, 11, 30, 9, 30)


def test_every_fifteen_minutes_fires_on_the_next_quarter() -> None:
    # Given every 15 minutes, and 10:07:42
    expression = cron("cron(0/15 * * * ? *)")
    # When the next fire is computed
    fire = next_fire(expression, datetime(2026, 11, 23, 10, 7, 42, tzinfo=SHANGHAI))
    # Then it is 10:15:00
    assert fire == shanghai(2026, 11, 23, 10, 15)


def test_a_past_year_never_fires_again() -> None:
    # Given a schedule pinned to 2025, and a time in 2026
    expression = cron("cron(0 9 * * ? 2025)")
    # When the next fire is computed over a short horizon
    # Then there is none
    assert next_fire(expression, shanghai(2026, 1, 1, 0, 0), horizon_days=40) is None


def test_nothing_within_the_horizon_returns_none() -> None:
    # Given a yearly schedule and a 30-day horizon that does not reach it
    expression = cron("cron(0 0 1 JAN ? *)")
    # When the next fire is computed
    # Then there is none
    assert next_fire(expression, shanghai(2026, 6, 15, 12, 0), horizon_days=30) is None
