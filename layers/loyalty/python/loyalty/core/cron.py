"""EventBridge Scheduler expressions, parsed and evaluated in a time zone.

`cron(minutes hours day-of-month month day-of-week year)` and `rate(N unit)`. Day-of-week runs 1-7
from Sunday, as in EventBridge; one of day-of-month and day-of-week must be `?`. The `L`, `W` and `#`
forms are refused rather than half-supported. Used to validate operator input and by the local cloud
to fire schedules on the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

MONTHS = {m: i + 1 for i, m in enumerate("JAN FEB MAR APR MAY JUN JUL AUG SEP OCT NOV DEC".split())}
DAYS = {d: i + 1 for i, d in enumerate("SUN MON TUE WED THU FRI SAT".split())}
RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


class InvalidSchedule(ValueError):
    pass


def _field(text: str, low: int, high: int, names: dict[str, int] | None = None) -> frozenset[int] | None:
    """The allowed values, or None for `*`/`?` (anything)."""
    if text in ("*", "?"):
        return None
    values: set[int] = set()
    for part in text.split(","):
        base, _, step_text = part.partition("/")
        if "/" in part and not step_text.isdigit():
            raise InvalidSchedule(f"bad step in {part!r}")
        step = int(step_text) if step_text else 1
        if step <= 0:
            raise InvalidSchedule(f"bad step in {part!r}")
        if base in ("*", "?"):
            start, end = low, high
        else:
            first, _, last = base.partition("-")
            start = _value(first, names)
            end = _value(last, names) if last else (high if step_text else start)
        if not (low <= start <= high and low <= end <= high and start <= end):
            raise InvalidSchedule(f"{part!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _value(text: str, names: dict[str, int] | None) -> int:
    if names and text.upper() in names:
        return names[text.upper()]
    if not text.isdigit():
        raise InvalidSchedule(f"{text!r} is not a number{' or a name' if names else ''}")
    return int(text)


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int] | None
    hours: frozenset[int] | None
    days_of_month: frozenset[int] | None
    months: frozenset[int] | None
    days_of_week: frozenset[int] | None
    years: frozenset[int] | None

    def matches(self, local: datetime) -> bool:
        weekday = (local.isoweekday() % 7) + 1  # Sunday=1 ... Saturday=7
        checks = (
            (self.minutes, local.minute),
            (self.hours, local.hour),
            (self.days_of_month, local.day),
            (self.months, local.month),
            (self.days_of_week, weekday),
            (self.years, local.year),
        )
        return all(allowed is None or value in allowed for allowed, value in checks)


@dataclass(frozen=True)
class Rate:
    seconds: int


def parse(expression: str) -> Cron | Rate:
    match = re.fullmatch(r"(cron|rate)\((.*)\)", expression.strip())
    if not match:
        raise InvalidSchedule("expected cron(...) or rate(...)")
    kind, body = match.groups()
    if kind == "rate":
        rate = re.fullmatch(r"(\d+) (\w+)", body.strip())
        if not rate or rate.group(2) not in RATE_UNITS or int(rate.group(1)) < 1:
            raise InvalidSchedule("expected rate(N minutes|hours|days)")
        if (int(rate.group(1)) == 1) != (not rate.group(2).endswith("s")):
            raise InvalidSchedule("the unit is singular for 1 and plural above: rate(1 hour), rate(5 hours)")
        return Rate(int(rate.group(1)) * RATE_UNITS[rate.group(2)])
    fields = body.split()
    if len(fields) != 6:
        raise InvalidSchedule("cron needs six fields: minutes hours day-of-month month day-of-week year")
    if re.search(r"[LW]", fields[2].upper()) or re.search(r"(^|\d)L$|#", fields[4].upper()):
        raise InvalidSchedule("the L, W and # forms are not supported")
    if any("?" in f for i, f in enumerate(fields) if i not in (2, 4)):
        raise InvalidSchedule("'?' is allowed only in day-of-month and day-of-week")
    if (fields[2] == "?") == (fields[4] == "?"):
        raise InvalidSchedule("exactly one of day-of-month and day-of-week must be '?'")
    return Cron(
        minutes=_field(fields[0], 0, 59),
        hours=_field(fields[1], 0, 23),
        days_of_month=_field(fields[2], 1, 31),
        months=_field(fields[3], 1, 12, MONTHS),
        days_of_week=_field(fields[4], 1, 7, DAYS),
        years=_field(fields[5], 1970, 2199),
    )


def next_fire(expression: Cron, after: datetime, horizon_days: int = 366 * 5) -> datetime | None:
    """The first whole minute strictly after `after` (an aware local time) that matches."""
    candidate = after.replace(second=0, microsecond=0) + timedelta(minutes=1)
    end = after + timedelta(days=horizon_days)
    while candidate <= end:
        if expression.matches(candidate):
            return candidate
        if expression.hours is not None and candidate.hour not in expression.hours:
            candidate = candidate.replace(minute=0) + timedelta(hours=1)
        else:
            candidate += timedelta(minutes=1)
    return None
