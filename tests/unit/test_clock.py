"""`loyalty.core.clock`: instants are UTC, business dates are in the bank's zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.core.clock import business_date, iso_utc, to_utc, utc_now

SHANGHAI = ZoneInfo("Asia/Shanghai")
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def test_iso_utc_is_fixed_width_utc_with_microseconds() -> None:
    # Given an instant with an offset and no microseconds, and one with microseconds
    # When formatted
    # Then both are 27 characters, in UTC, with six fractional digits and a Z
    assert iso_utc(datetime(2026, 11, 23, 12, 12, tzinfo=timezone(timedelta(hours=8)))) == "2026-11-23T04:12:00.000000Z"
    assert iso_utc(datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC)) == "2026-01-02T03:04:05.000006Z"
    assert {len(iso_utc(datetime(2026, m, 1, tzinfo=SHANGHAI))) for m in range(1, 13)} == {27}


def test_iso_utc_compares_as_text_where_isoformat_would_not() -> None:
    # Given two instants a fraction of a second apart, the first with no microseconds
    earlier = datetime(2026, 11, 23, 4, 12, 0, tzinfo=UTC)
    later = datetime(2026, 11, 23, 4, 12, 0, 500_000, tzinfo=UTC)
    # When formatted
    # Then text order is instant order (isoformat drops ".000000" and would sort "Z"/"+" oddly)
    assert iso_utc(earlier) < iso_utc(later)


def test_iso_utc_across_offsets_orders_by_instant() -> None:
    # Given 08:00 in Shanghai (00:00Z) and 23:00Z on the previous day
    shanghai_morning = datetime(2026, 11, 24, 8, 0, tzinfo=SHANGHAI)
    utc_evening = datetime(2026, 11, 23, 23, 0, tzinfo=UTC)
    # When formatted
    # Then the UTC evening sorts first although its local wall time is later
    assert iso_utc(utc_evening) < iso_utc(shanghai_morning) == "2026-11-24T00:00:00.000000Z"


def test_naive_datetimes_are_refused() -> None:
    # Given a datetime without a time zone
    naive = datetime(2026, 11, 23, 12, 0)
    # When it is formatted, converted, or dated
    # Then each refuses it
    with pytest.raises(ValueError, match="time zone"):
        iso_utc(naive)
    with pytest.raises(ValueError):
        to_utc(naive)
    with pytest.raises(ValueError):
        business_date(naive, SHANGHAI)


@pytest.mark.parametrize(
    ("instant", "expected"),
    [
        (datetime(2026, 11, 23, 17, 0, tzinfo=UTC), date(2026, 11, 24)),  # 01:00 next day in Shanghai
        (datetime(2026, 11, 23, 16, 0, tzinfo=UTC), date(2026, 11, 24)),  # exactly local midnight
        (datetime(2026, 11, 23, 15, 59, 59, 999_999, tzinfo=UTC), date(2026, 11, 23)),  # 23:59:59.999999 local
        (datetime(2026, 12, 31, 16, 0, tzinfo=UTC), date(2027, 1, 1)),  # new year in Shanghai first
        (datetime(2026, 11, 24, 0, 30, tzinfo=SHANGHAI), date(2026, 11, 24)),
    ],
)
def test_business_date_is_the_shanghai_calendar_date(instant: datetime, expected: date) -> None:
    # Given an instant around UTC 16:00 (Shanghai midnight)
    # When its business date in Asia/Shanghai is taken
    # Then it is the Shanghai calendar date, not the UTC one
    assert business_date(instant, SHANGHAI) == expected


def test_utc_now_is_aware_utc() -> None:
    # Given the real clock
    # When read
    now = utc_now()
    # Then it is aware and in UTC
    assert now.tzinfo is not None and now.utcoffset() == timedelta(0)


ZONES = st.one_of(
    st.sampled_from([UTC, SHANGHAI, ZoneInfo("America/New_York"), ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Pacific/Pago_Pago")]),
    st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(lambda m: timezone(timedelta(minutes=m))),
)
AWARE = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 12, 31, 23, 59, 59, 999_999), timezones=ZONES)


def micros_since_epoch(value: datetime) -> int:
    # Subtraction across zones uses each side's UTC offset: the instant, independent of iso_utc.
    return (value - EPOCH) // timedelta(microseconds=1)


@given(AWARE, AWARE)
def test_iso_utc_text_order_is_instant_order(a: datetime, b: datetime) -> None:
    # Given any two aware datetimes between 2000 and 2100, in any zones
    # When both are formatted
    text_a, text_b = iso_utc(a), iso_utc(b)
    # Then comparing the strings gives the same answer as comparing the instants
    instant_a, instant_b = micros_since_epoch(a), micros_since_epoch(b)
    assert (text_a < text_b) == (instant_a < instant_b)
    assert (text_a == text_b) == (instant_a == instant_b)
    assert len(text_a) == len(text_b) == 27
