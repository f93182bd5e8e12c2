"""Delivery rules, pure (docs/notifications.md): quiet hours in the bank's time zone and the
per-customer frequency periods."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


def _at(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def quiet_until(now: datetime, zone: ZoneInfo, start: str, end: str) -> datetime | None:
    """When the quiet hours around `now` end (as an aware instant), or None outside them. The window
    is [start, end) in the bank's time zone; it spans midnight when start > end; start == end: none."""
    begins, ends = _at(start), _at(end)
    if begins == ends:
        return None
    local = now.astimezone(zone)
    clock = local.time()
    inside = begins <= clock < ends if begins < ends else clock >= begins or clock < ends
    if not inside:
        return None
    day = local.date() if clock < ends else local.date() + timedelta(days=1)
    return datetime.combine(day, ends, tzinfo=zone)


def periods(now: datetime, zone: ZoneInfo) -> tuple[str, str]:
    """The business day and the ISO week a message sent now counts in."""
    local = now.astimezone(zone).date()
    year, week, _ = local.isocalendar()
    return local.isoformat(), f"{year}-W{week:02d}"
