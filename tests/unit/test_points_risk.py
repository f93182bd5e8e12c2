"""Risk warning (积分风险预警), pure: which limit an accrual passes, and whose hold it is."""

from __future__ import annotations

from loyalty.points.risk import RiskSettings, breach, hold_id

LIMITS = RiskSettings(maxPointsPerDay=500, maxEventsPerHour=3)


def test_two_customers_checking_in_on_the_same_day_get_a_hold_each() -> None:
    # Given two customers' check-ins: the same event type and the same subject (the business date)
    first, second = hold_id("CheckInCompleted", "c-1", "2026-11-23"), hold_id("CheckInCompleted", "c-2", "2026-11-23")
    # Then their holds are two, and one customer's same accrual is always the same hold
    assert first != second
    assert first == hold_id("CheckInCompleted", "c-1", "2026-11-23")


def test_the_first_limit_passed_is_named_with_what_the_count_would_become() -> None:
    assert breach(LIMITS, {"D": 100, "H": 1}, "D", "H", 400) is None
    assert breach(LIMITS, {"D": 100, "H": 1}, "D", "H", 401) == {"reason": "points_per_day", "observed": 501, "limit": 500}
    assert breach(LIMITS, {"D": 0, "H": 3}, "D", "H", 1) == {"reason": "events_per_hour", "observed": 4, "limit": 3}
