"""Quiet hours and frequency periods in the bank's time zone (docs/notifications.md), and the
providers' rate limiter, without AWS."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from loyalty.notifications.policy import periods, quiet_until
from loyalty.notifications.providers import RateLimiter

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("utc", "expected"), [
    (datetime(2026, 12, 7, 4, 0, tzinfo=UTC), None),  # 12:00: outside
    (datetime(2026, 12, 7, 13, 0, tzinfo=UTC), datetime(2026, 12, 8, 8, 0, tzinfo=SHANGHAI)),  # 21:00: from the start, to tomorrow 08:00
    (datetime(2026, 12, 7, 15, 30, tzinfo=UTC), datetime(2026, 12, 8, 8, 0, tzinfo=SHANGHAI)),  # 23:30
    (datetime(2026, 12, 7, 18, 0, tzinfo=UTC), datetime(2026, 12, 8, 8, 0, tzinfo=SHANGHAI)),  # 02:00 the next day
    (datetime(2026, 12, 7, 23, 59, tzinfo=UTC), datetime(2026, 12, 8, 8, 0, tzinfo=SHANGHAI)),  # 07:59
    (datetime(2026, 12, 8, 0, 0, tzinfo=UTC), None),  # 08:00: the end is not inside
])
def test_quiet_hours_across_midnight_end_at_their_end_in_the_banks_zone(utc: datetime, expected: datetime | None) -> None:
    assert quiet_until(utc, SHANGHAI, "21:00", "08:00") == expected


def test_quiet_hours_within_a_day_and_none_at_all() -> None:
    assert quiet_until(datetime(2026, 12, 7, 5, 0, tzinfo=UTC), SHANGHAI, "12:00", "14:00") == datetime(2026, 12, 7, 14, 0, tzinfo=SHANGHAI)
    assert quiet_until(datetime(2026, 12, 7, 5, 0, tzinfo=UTC), SHANGHAI, "09:00", "09:00") is None


def test_a_message_counts_in_the_business_day_and_iso_week_of_the_banks_zone() -> None:
    # 2026-12-06 20:00 UTC is Monday 2026-12-07 04:00 in Shanghai: ISO week 50
    assert periods(datetime(2026, 12, 6, 20, 0, tzinfo=UTC), SHANGHAI) == ("2026-12-07", "2026-W50")


def test_the_rate_limiter_lets_a_burst_through_then_paces_to_its_rate() -> None:
    # Given a limiter of 10 a second on a clock the test moves
    now = [100.0]
    waited: list[float] = []

    def sleep(seconds: float) -> None:
        waited.append(seconds)
        now[0] += seconds

    limiter = RateLimiter(10, clock=lambda: now[0], sleep=sleep)
    # When 15 sends go at once
    for _ in range(15):
        limiter.take()
    # Then the first 10 went without waiting, and the 5 others waited a tenth of a second each
    assert len(waited) == 5 and sum(waited) == pytest.approx(0.5)
