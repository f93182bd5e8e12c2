"""`loyalty.points.rules`: earn contexts, matching, awards, multipliers, stacking, caps and lot expiry."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.points.model import CardTransactionRefunded
from loyalty.points.rules import (
    EarnContext,
    base_points,
    cap_periods,
    capped,
    context_of,
    evaluate,
    lot_expiry,
    matches,
    with_multiplier,
)
from tests.unit.points_builders import (
    FIXED_10,
    PER_1000_FEN,
    SHANGHAI,
    TIERED,
    aum,
    card,
    check_in,
    deposit,
    login,
    rule,
    salary,
)


def _card_ctx(**overrides: Any) -> EarnContext:
    return context_of("CardTransactionPosted", card(**overrides))


def _ctx_at(instant: str) -> EarnContext:
    return EarnContext("CardTransactionPosted", "tx-1", "c-001", datetime.fromisoformat(instant))


# --- context_of ---------------------------------------------------------------------------------------


def test_card_transaction_context_carries_everything_rules_look_at() -> None:
    # Given a posted card transaction
    # When its earn context is built
    ctx = _card_ctx()
    # Then the subject is the transaction id and every condition field is filled
    assert ctx == EarnContext(
        "CardTransactionPosted", "tx-1", "c-001", datetime(2026, 6, 1, 12, tzinfo=UTC), 128_800, "CNY", "5812", "pos", "m-coffee"
    )


def test_salary_context_is_keyed_by_the_transaction() -> None:
    ctx = context_of("SalaryCredited", salary())
    assert (ctx.subject, ctx.customer_id, ctx.amount_minor, ctx.currency) == ("sal-1", "c-001", 1_500_000, "CNY")
    assert ctx.occurred_at == datetime(2026, 6, 25, 1, tzinfo=UTC)
    assert (ctx.mcc, ctx.channel, ctx.merchant_id) == (None, None, None)


def test_deposit_context_counts_only_the_increase() -> None:
    # Given a balance going from 2,000 to 5,000 yuan
    # When its earn context is built
    ctx = context_of("DepositBalanceChanged", deposit(previousBalanceMinor=200_000, balanceMinor=500_000))
    # Then the amount is the increase and the subject is the account at that instant
    assert ctx.amount_minor == 300_000
    assert ctx.subject == "acc-1@2026-06-01T12:00:00.000000Z"
    assert ctx.occurred_at == datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert ctx.currency == "CNY"


@pytest.mark.parametrize(("previous", "balance"), [(500_000, 200_000), (500_000, 500_000)], ids=["decrease", "unchanged"])
def test_deposit_context_of_a_decrease_is_zero(previous: int, balance: int) -> None:
    assert context_of("DepositBalanceChanged", deposit(previousBalanceMinor=previous, balanceMinor=balance)).amount_minor == 0


def test_deposit_contexts_differ_per_account_and_instant() -> None:
    # Given the same change on two accounts, and on one account at two instants
    subjects = {
        context_of("DepositBalanceChanged", deposit()).subject,
        context_of("DepositBalanceChanged", deposit(accountId="acc-2")).subject,
        context_of("DepositBalanceChanged", deposit(changedAt="2026-06-01T12:00:01Z")).subject,
    }
    # Then each earns on its own
    assert len(subjects) == 3


def test_aum_context_is_keyed_by_the_month() -> None:
    # Given the average AUM of May 2026
    ctx = context_of("MonthlyAumComputed", aum(month="2026-05", averageAumMinor=50_000_000))
    # Then the subject is the month, the amount is the average, and it falls in that month
    assert (ctx.subject, ctx.amount_minor, ctx.currency) == ("2026-05", 50_000_000, "CNY")
    assert ctx.occurred_at == datetime(2026, 5, 1, tzinfo=UTC)
    assert cap_periods(ctx, SHANGHAI)[1] == "2026-05"


def test_check_in_context_is_keyed_by_the_business_date() -> None:
    # Given a check-in for business date 2026-06-02 made at 00:30 Shanghai time (16:30 UTC the day before)
    ctx = context_of("CheckInCompleted", check_in(businessDate="2026-06-02", checkedInAt="2026-06-01T16:30:00Z"))
    # Then the subject is the business date, and it carries no amount
    assert ctx.subject == "2026-06-02"
    assert ctx.amount_minor is None
    assert ctx.occurred_at == datetime(2026, 6, 1, 16, 30, tzinfo=UTC)
    # And a second check-in the same day has the same subject: it earns once
    assert context_of("CheckInCompleted", check_in(checkedInAt="2026-06-02T03:00:00Z")).subject == ctx.subject


def test_login_context_is_keyed_by_the_instant_and_carries_the_channel() -> None:
    ctx = context_of("LoginCompleted", login(channel="app", loggedInAt="2026-06-01T08:00:00Z"))
    assert (ctx.subject, ctx.channel, ctx.amount_minor) == ("2026-06-01T08:00:00.000000Z", "app", None)


def test_the_same_instant_with_another_offset_is_the_same_subject() -> None:
    # Given one login published twice, once in UTC and once in Beijing time
    utc = context_of("LoginCompleted", login(channel="app", loggedInAt="2026-06-01T08:00:00Z"))
    beijing = context_of("LoginCompleted", login(channel="app", loggedInAt="2026-06-01T16:00:00+08:00"))
    # Then it earns once: the subjects are equal
    assert utc.subject == beijing.subject


def test_context_of_an_event_that_earns_nothing_is_refused() -> None:
    refund = CardTransactionRefunded.model_validate(
        {"refundId": "rf-1", "originalTransactionId": "tx-1", "customerId": "c-001", "amountMinor": 1,
         "currency": "CNY", "refundedAt": "2026-06-02T12:00:00Z"}
    )
    with pytest.raises(TypeError):
        context_of("CardTransactionRefunded", refund)


# --- matches ------------------------------------------------------------------------------------------


def test_a_rule_without_conditions_matches_its_event_type() -> None:
    assert matches(rule(), _card_ctx())


@pytest.mark.parametrize(
    ("conditions", "event", "expected"),
    [
        ({"mccs": ["5812", "5411"]}, {"mcc": "5812"}, True),
        ({"mccs": ["5411"]}, {"mcc": "5812"}, False),
        ({"channels": ["online", "qr"]}, {"channel": "qr"}, True),
        ({"channels": ["online"]}, {"channel": "pos"}, False),
        ({"merchantIds": ["m-coffee"]}, {"merchantId": "m-coffee"}, True),
        ({"merchantIds": ["m-books"]}, {"merchantId": "m-coffee"}, False),
        ({"currency": "CNY"}, {"currency": "CNY"}, True),
        ({"currency": "USD"}, {"currency": "CNY"}, False),
        ({"minAmountMinor": 128_800}, {"amountMinor": 128_800}, True),
        ({"minAmountMinor": 128_801}, {"amountMinor": 128_800}, False),
        ({"mccs": ["5812"], "channels": ["pos"], "minAmountMinor": 100}, {}, True),
        ({"mccs": ["5812"], "channels": ["online"], "minAmountMinor": 100}, {}, False),
    ],
)
def test_conditions(conditions: dict[str, Any], event: dict[str, Any], expected: bool) -> None:
    # Given a rule with conditions and a card transaction
    # When matched
    # Then every non-empty condition must hold
    assert matches(rule(conditions=conditions), _card_ctx(**event)) is expected


def test_a_rule_for_another_event_type_does_not_match() -> None:
    assert not matches(rule(eventType="SalaryCredited"), _card_ctx())
    assert matches(rule(eventType="SalaryCredited"), context_of("SalaryCredited", salary()))


def test_an_inactive_rule_never_matches() -> None:
    assert not matches(rule(active=False), _card_ctx())


def test_a_minimum_amount_is_not_met_by_an_event_without_one() -> None:
    # Given a check-in rule requiring an amount, and a check-in (which carries none)
    ctx = context_of("CheckInCompleted", check_in())
    # Then it only matches without the minimum
    assert matches(rule(eventType="CheckInCompleted", award=FIXED_10), ctx)
    assert not matches(rule(eventType="CheckInCompleted", award=FIXED_10, conditions={"minAmountMinor": 1}), ctx)


def test_a_channel_condition_applies_to_logins() -> None:
    ctx = context_of("LoginCompleted", login(channel="app"))
    assert matches(rule(eventType="LoginCompleted", award=FIXED_10, conditions={"channels": ["app"]}), ctx)
    assert not matches(rule(eventType="LoginCompleted", award=FIXED_10, conditions={"channels": ["web"]}), ctx)


# --- base_points --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rounding", "amount", "expected"),
    [
        ("down", 128_800, 128),
        ("up", 128_800, 129),
        ("half_up", 128_800, 129),
        ("half_up", 128_500, 129),
        ("half_up", 128_499, 128),
        ("down", 128_000, 128),
        ("up", 128_000, 128),
        ("half_up", 128_000, 128),
        ("down", 999, 0),
        ("up", 1, 1),
        ("down", 0, 0),
        ("up", 0, 0),
    ],
)
def test_per_amount_rounding(rounding: str, amount: int, expected: int) -> None:
    # Given 1 point per 1,000 fen (10 yuan), rounded as stated
    r = rule(award={**PER_1000_FEN, "rounding": rounding})
    # When the amount is awarded
    # Then the points are as worked out by hand
    assert base_points(r, amount) == expected


def test_per_amount_multiplies_the_units_by_the_points() -> None:
    # Given 3 points per 500 fen: 128,800 fen is 257 whole units (257.6)
    r = rule(award={"mode": "per_amount", "points": 3, "perAmountMinor": 500})
    assert base_points(r, 128_800) == 771
    # And rounded up, 258 units
    assert base_points(rule(award={"mode": "per_amount", "points": 3, "perAmountMinor": 500, "rounding": "up"}), 128_800) == 774


def test_per_amount_without_an_amount_is_zero() -> None:
    assert base_points(rule(), None) == 0


def test_fixed_ignores_the_amount() -> None:
    r = rule(award=FIXED_10)
    assert [base_points(r, amount) for amount in (None, 0, 1, 10**9)] == [10, 10, 10, 10]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [(None, 0), (0, 0), (9_999, 0), (10_000, 5), (49_999, 5), (50_000, 30), (99_999, 30), (100_000, 80), (10**9, 80)],
)
def test_tiered_awards_the_highest_tier_reached(amount: int | None, expected: int) -> None:
    # Given tiers 100 yuan → 5, 500 yuan → 30, 1,000 yuan → 80
    # When an amount is awarded
    # Then it earns the highest tier it reaches, nothing below the first
    assert base_points(rule(award=TIERED), amount) == expected


@given(
    amount=st.integers(min_value=0, max_value=10**12),
    per=st.integers(min_value=1, max_value=10**6),
    points=st.integers(min_value=1, max_value=1000),
)
def test_rounding_modes_are_ordered(amount: int, per: int, points: int) -> None:
    # Given any amount and per-amount award
    def award(rounding: str) -> int:
        return base_points(rule(award={"mode": "per_amount", "points": points, "perAmountMinor": per, "rounding": rounding}), amount)

    # Then down <= half_up <= up, and up is at most one unit above down
    down, half_up, up = award("down"), award("half_up"), award("up")
    assert down <= half_up <= up
    assert up - down in (0, points)
    assert down == amount // per * points


# --- with_multiplier ----------------------------------------------------------------------------------


def test_multipliers_are_whole_percent_rounded_down() -> None:
    # Given gold at 150%, platinum at 200% and suspended at 0%
    r = rule(tierMultipliersPercent={"gold": 150, "platinum": 200, "suspended": 0})
    # When 7 points are multiplied
    # Then 150% of 7 is 10 (10.5 rounded down)
    assert with_multiplier(r, 7, "gold") == 10
    assert with_multiplier(r, 7, "platinum") == 14
    assert with_multiplier(r, 7, "suspended") == 0
    # And a tier without a multiplier, or no tier, is 100%
    assert with_multiplier(r, 7, "silver") == 7
    assert with_multiplier(r, 7, None) == 7


# --- evaluate -----------------------------------------------------------------------------------------


def _ids(proposed: list[Any]) -> list[tuple[str, int]]:
    return [(p.rule.definition.ruleId, p.points) for p in proposed]


def test_rules_are_tried_by_descending_priority_then_id() -> None:
    # Given three stackable rules, two of them at the same priority
    rules = [
        rule(ruleId="b-low", priority=10, award=FIXED_10),
        rule(ruleId="z-mid", priority=50, award={"mode": "fixed", "points": 2}),
        rule(ruleId="a-mid", priority=50, award={"mode": "fixed", "points": 3}),
        rule(ruleId="c-top", priority=900, award={"mode": "fixed", "points": 4}),
    ]
    # When a transaction is evaluated
    # Then all add up, highest priority first, ties by rule id
    assert _ids(evaluate(rules, _card_ctx(), None)) == [("c-top", 4), ("a-mid", 3), ("z-mid", 2), ("b-low", 10)]
    assert _ids(evaluate(list(reversed(rules)), _card_ctx(), None)) == _ids(evaluate(rules, _card_ctx(), None))


def test_an_exclusive_match_stops_lower_rules_but_higher_stackable_ones_count() -> None:
    # Given a stackable top rule, an exclusive promotion, and the base rule below it (tied on priority, later id)
    rules = [
        rule(ruleId="r-base", priority=100),
        rule(ruleId="promo", priority=100, stacking="exclusive", award={"mode": "fixed", "points": 50}),
        rule(ruleId="top", priority=500, award=FIXED_10),
        rule(ruleId="floor", priority=1, award={"mode": "fixed", "points": 1}),
    ]
    # When a transaction is evaluated
    # Then the top rule and the promotion count; the base and floor rules do not
    assert _ids(evaluate(rules, _card_ctx(), None)) == [("top", 10), ("promo", 50)]
    # And a rule tied with the promotion but with an earlier id is tried first, so it still counts
    tied = [*rules, rule(ruleId="a-base", priority=100)]
    assert _ids(evaluate(tied, _card_ctx(), None)) == [("top", 10), ("a-base", 128), ("promo", 50)]


def test_an_exclusive_rule_that_does_not_match_stops_nothing() -> None:
    rules = [
        rule(ruleId="promo", priority=500, stacking="exclusive", award=FIXED_10, conditions={"mccs": ["5411"]}),
        rule(ruleId="base", priority=100),
    ]
    assert _ids(evaluate(rules, _card_ctx(), None)) == [("base", 128)]


def test_zero_point_matches_do_not_appear() -> None:
    # Given a per-amount rule the amount does not reach, a tiered rule below its first tier, and a 0% multiplier
    rules = [
        rule(ruleId="per-1000-yuan", award={"mode": "per_amount", "points": 1, "perAmountMinor": 100_000}),
        rule(ruleId="tiered", award={"mode": "tiered", "tiers": [{"fromAmountMinor": 1_000_000, "points": 100}]}),
        rule(ruleId="suspended", award=FIXED_10, tierMultipliersPercent={"suspended": 0}),
        rule(ruleId="base"),
    ]
    # When a transaction of 500 yuan by a suspended-tier customer is evaluated
    # Then only the base rule appears
    assert _ids(evaluate(rules, _card_ctx(amountMinor=50_000), "suspended")) == [("base", 50)]


def test_evaluate_applies_the_tier_multiplier() -> None:
    rules = [rule(tierMultipliersPercent={"gold": 150})]
    assert _ids(evaluate(rules, _card_ctx(amountMinor=7_000), "gold")) == [("card-base", 10)]
    assert _ids(evaluate(rules, _card_ctx(amountMinor=7_000), None)) == [("card-base", 7)]


def test_evaluate_skips_rules_that_do_not_match() -> None:
    rules = [rule(ruleId="inactive", active=False), rule(ruleId="salary", eventType="SalaryCredited"), rule(ruleId="base")]
    assert _ids(evaluate(rules, _card_ctx(), None)) == [("base", 128)]
    assert evaluate([], _card_ctx(), None) == []


# --- caps ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("points", "cap", "used", "expected"),
    [(50, None, 10**6, 50), (50, 100, 0, 50), (50, 100, 70, 30), (50, 100, 100, 0), (50, 100, 130, 0), (50, 0, 0, 0), (50, 50, 0, 50)],
)
def test_capped(points: int, cap: int | None, used: int, expected: int) -> None:
    assert capped(points, cap, used) == expected


def test_daily_then_monthly_caps() -> None:
    # Given 50 points proposed, a daily cap of 100 with 20 used and a monthly cap of 500 with 480 used
    # When both caps apply in turn
    points = capped(capped(50, 100, 20), 500, 480)
    # Then the monthly cap leaves 20
    assert points == 20
    # And with room in the month, the daily cap leaves 30 of 50 after 70 used today
    assert capped(capped(50, 100, 70), 500, 0) == 30


@pytest.mark.parametrize(
    ("instant", "day", "month"),
    [
        ("2026-11-23T17:00:00+00:00", "2026-11-24", "2026-11"),
        ("2026-11-23T15:59:59+00:00", "2026-11-23", "2026-11"),
        ("2026-11-23T16:00:00+00:00", "2026-11-24", "2026-11"),
        ("2026-11-30T16:00:00+00:00", "2026-12-01", "2026-12"),
        ("2026-12-31T16:30:00+00:00", "2027-01-01", "2027-01"),
        ("2026-11-24T01:00:00+08:00", "2026-11-24", "2026-11"),
    ],
)
def test_cap_periods_are_business_days_and_months_in_the_bank_zone(instant: str, day: str, month: str) -> None:
    # Given an event at an instant (Shanghai is UTC+8, so 16:00 UTC starts the next business day)
    # When its cap periods are worked out
    # Then they are the business date and month in Asia/Shanghai
    assert cap_periods(_ctx_at(instant), SHANGHAI) == (day, month)


# --- lot_expiry ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("validity", "earned_on", "expected"),
    [
        ({"type": "fixed_date", "date": "2027-06-30"}, date(2026, 6, 1), date(2027, 6, 30)),
        ({"type": "fixed_date", "date": "2027-06-30"}, date(2026, 12, 31), date(2027, 6, 30)),
        ({"type": "days", "days": 1}, date(2026, 12, 31), date(2027, 1, 1)),
        ({"type": "days", "days": 365}, date(2026, 6, 1), date(2027, 6, 1)),
        ({"type": "days", "days": 1}, date(2028, 2, 28), date(2028, 2, 29)),
        ({"type": "days", "days": 30}, date(2026, 2, 1), date(2026, 3, 3)),
        ({"type": "end_of_month", "monthsLater": 0}, date(2026, 1, 15), date(2026, 1, 31)),
        ({"type": "end_of_month", "monthsLater": 0}, date(2026, 4, 30), date(2026, 4, 30)),
        ({"type": "end_of_month", "monthsLater": 0}, date(2026, 2, 1), date(2026, 2, 28)),
        ({"type": "end_of_month", "monthsLater": 1}, date(2026, 1, 31), date(2026, 2, 28)),
        ({"type": "end_of_month", "monthsLater": 1}, date(2026, 12, 10), date(2027, 1, 31)),
        ({"type": "end_of_month", "monthsLater": 1}, date(2028, 1, 15), date(2028, 2, 29)),
        ({"type": "end_of_month", "monthsLater": 12}, date(2026, 6, 1), date(2027, 6, 30)),
        ({"type": "end_of_month", "monthsLater": 12}, date(2026, 12, 31), date(2027, 12, 31)),
        ({"type": "end_of_month", "monthsLater": 12}, date(2027, 2, 10), date(2028, 2, 29)),
        ({"type": "end_of_month", "monthsLater": 13}, date(2026, 12, 1), date(2028, 1, 31)),
        ({"type": "end_of_month", "monthsLater": 120}, date(2026, 11, 5), date(2036, 11, 30)),
    ],
)
def test_lot_expiry(validity: dict[str, Any], earned_on: date, expected: date) -> None:
    # Given a rule's lot validity and the business date points are earned on
    # When the lot's expiry is worked out
    # Then it is the date computed by hand
    assert lot_expiry(rule(validity=validity), earned_on) == expected


@given(earned_on=st.dates(min_value=date(2000, 1, 1), max_value=date(2200, 12, 31)), months=st.integers(min_value=0, max_value=120))
def test_end_of_month_expiry_is_the_last_day_of_the_month_months_later(earned_on: date, months: int) -> None:
    expiry = lot_expiry(rule(validity={"type": "end_of_month", "monthsLater": months}), earned_on)
    assert (expiry.year * 12 + expiry.month) - (earned_on.year * 12 + earned_on.month) == months
    assert date.fromordinal(expiry.toordinal() + 1).day == 1
