"""The report's budget forecast, pure: a straight line from the average burn since the window opened."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from loyalty.campaigns.service import budget_forecast

OPENED = datetime(2026, 12, 1, tzinfo=UTC)
CLOSES = OPENED + timedelta(days=30)


def test_a_budget_burning_too_fast_is_seen_to_run_out_before_the_window_closes() -> None:
    # Given 10,000 spent of 30,000 in the first 2 days of a 30-day window
    forecast = budget_forecast(30_000, 10_000, OPENED, CLOSES, OPENED + timedelta(days=2))
    # Then it burns 5,000 a day, and the 20,000 left last 4 more days: day 6, well before day 30
    assert forecast == {"burnPerDay": 5_000, "exhaustsAt": "2026-12-07T00:00:00.000000Z", "lastsTheWindow": False}


def test_a_budget_burning_slowly_lasts_the_window() -> None:
    forecast = budget_forecast(30_000, 1_000, OPENED, CLOSES, OPENED + timedelta(days=10))
    assert forecast["burnPerDay"] == 100 and forecast["lastsTheWindow"] is True


def test_nothing_spent_or_not_yet_open_forecasts_nothing() -> None:
    assert budget_forecast(30_000, 0, OPENED, CLOSES, OPENED + timedelta(days=3)) == {"burnPerDay": 0, "exhaustsAt": None, "lastsTheWindow": True}
    assert budget_forecast(30_000, 500, OPENED, CLOSES, OPENED - timedelta(hours=1))["exhaustsAt"] is None


def test_a_spent_budget_runs_out_now() -> None:
    now = OPENED + timedelta(days=5)
    forecast = budget_forecast(1_000, 1_000, OPENED, CLOSES, now)
    assert forecast["exhaustsAt"] == "2026-12-06T00:00:00.000000Z" and forecast["lastsTheWindow"] is False
