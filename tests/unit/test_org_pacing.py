"""`loyalty.org.pacing`: pools' periods and the pacing plan's running allowance (pure)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.core import pacing
from loyalty.core.pacing import Plan


def test_periods_are_years_and_quarters() -> None:
    assert pacing.period("2026") == pacing.Period("2026", date(2026, 1, 1), date(2026, 12, 31))
    assert pacing.period("2026-Q4") == pacing.Period("2026-Q4", date(2026, 10, 1), date(2026, 12, 31))
    assert pacing.period("2024-Q1").last == date(2024, 3, 31)
    for bad in ("26", "2026-Q5", "2026-H1", "2026-q1", "2026-Q1 "):
        with pytest.raises(ValueError):
            pacing.period(bad)
    assert pacing.periods_holding(date(2026, 11, 3)) == ("2026-Q4", "2026")


def test_slices_are_calendar_months_or_seven_day_slices_from_the_first_day() -> None:
    months = pacing.slices(pacing.period("2026-Q1"), "month")
    assert months == [(date(2026, 1, 1), date(2026, 1, 31)), (date(2026, 2, 1), date(2026, 2, 28)), (date(2026, 3, 1), date(2026, 3, 31))]
    weeks = pacing.slices(pacing.period("2026-Q1"), "week")
    assert len(weeks) == 13 and weeks[0] == (date(2026, 1, 1), date(2026, 1, 7)) and weeks[-1] == (date(2026, 3, 26), date(2026, 3, 31))
    assert len(pacing.slices(pacing.period("2026"), "week")) == 53


def test_an_even_monthly_plan_releases_a_twelfth_each_month_and_carries_over() -> None:
    plan = Plan("month", "even")
    assert pacing.allowance(1200, plan, "2026", date(2026, 1, 1)) == 100
    assert pacing.allowance(1200, plan, "2026", date(2026, 1, 31)) == 100
    assert pacing.allowance(1200, plan, "2026", date(2026, 2, 1)) == 200  # what January left unspent carries over
    assert pacing.allowance(1200, plan, "2026", date(2026, 12, 1)) == 1200
    assert pacing.allowance(1200, plan, "2026", date(2025, 12, 31)) == 0  # before the period
    assert pacing.allowance(1200, plan, "2026", date(2027, 1, 1)) == 1200  # after it


def test_front_loaded_custom_and_tolerance() -> None:
    front = Plan("month", "front_loaded")
    assert pacing.plan_to_date(600, front, "2026-Q1", date(2026, 1, 5)) == 300  # weights 3, 2, 1
    assert pacing.plan_to_date(600, front, "2026-Q1", date(2026, 2, 5)) == 500
    custom = Plan("month", "custom", (0, 1, 3), tolerancePercent=10)
    assert pacing.allowance(400, custom, "2026-Q1", date(2026, 1, 20)) == 0
    assert pacing.plan_to_date(400, custom, "2026-Q1", date(2026, 2, 20)) == 100
    assert pacing.allowance(400, custom, "2026-Q1", date(2026, 2, 20)) == 110
    assert pacing.allowance(400, custom, "2026-Q1", date(2026, 3, 1)) == 400  # never past the allocation
    assert pacing.allowance(400, None, "2026-Q1", date(2026, 1, 1)) == 400  # no plan: the whole allocation


def test_a_plan_that_does_not_fit_its_period_is_refused() -> None:
    with pytest.raises(ValueError):
        pacing.check(Plan("month", "custom", (1, 2)), "2026-Q1")
    with pytest.raises(ValueError):
        pacing.check(Plan("month", "custom", (0, 0, 0)), "2026-Q1")
    with pytest.raises(ValueError):
        pacing.check(Plan("month", "even", tolerancePercent=101), "2026-Q1")
    pacing.check(Plan("week", "custom", tuple(range(13))), "2026-Q1")


def test_drift_says_ahead_or_behind_past_the_threshold() -> None:
    plan = Plan("month", "even")
    day = date(2026, 2, 10)  # plan to date: 200 of 1200
    assert pacing.drift(1200, plan, "2026", day, 200, 20) is None
    assert pacing.drift(1200, plan, "2026", day, 240, 20) is None
    assert pacing.drift(1200, plan, "2026", day, 241, 20) == "ahead"
    assert pacing.drift(1200, plan, "2026", day, 159, 20) == "behind"
    assert pacing.drift(1200, None, "2026", day, 1000, 20) is None


plans = st.one_of(
    st.builds(Plan, st.sampled_from(["week", "month"]), st.sampled_from(["even", "front_loaded"]), st.just(()), st.integers(0, 100)),
    st.builds(lambda w, t: Plan("month", "custom", tuple(w), t), st.lists(st.integers(0, 50), min_size=12, max_size=12)
              .filter(lambda w: sum(w) > 0), st.integers(0, 100)),
)


@given(allocation=st.integers(0, 10**12), plan=plans, offset=st.integers(-10, 400), step=st.integers(1, 60))
def test_the_allowance_never_shrinks_never_passes_the_allocation_and_covers_the_plan(allocation: int, plan: Plan, offset: int,
                                                                                       step: int) -> None:
    day = date(2026, 1, 1) + timedelta(days=offset)
    later = day + timedelta(days=step)
    today = pacing.allowance(allocation, plan, "2026", day)
    assert 0 <= pacing.plan_to_date(allocation, plan, "2026", day) <= today <= allocation
    assert today <= pacing.allowance(allocation, plan, "2026", later)
    assert pacing.allowance(allocation, plan, "2026", date(2026, 12, 31)) >= pacing.plan_to_date(allocation, plan, "2026", date(2026, 12, 31)) == allocation
