"""Time: instants are UTC; business dates are in the bank's time zone."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo


def utc_now() -> datetime:
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("timestamp must carry a time zone (ISO 8601 with Z or an offset)")
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """A fixed-width ISO 8601 UTC string, so stored timestamps also compare correctly as text."""
    return to_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def business_date(instant: datetime, zone: ZoneInfo) -> date:
    return to_utc(instant).astimezone(zone).date()


def invocation_time_left(context: Any) -> Callable[[], float]:
    """Seconds the Lambda invocation has left (for ever without a Lambda context: tests, the bench)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    return (lambda: remaining() / 1000) if remaining else (lambda: float("inf"))
