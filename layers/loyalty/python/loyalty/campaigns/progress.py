"""Progress toward a task target or a check-in streak, per customer and campaign (pure: no AWS).

A target ("3 card transactions of at least 200 yuan within 30 days") keeps the occurrences seen
within the window. Each carries its business id, so a redelivered event is recognised and counts
once; an event older than the window behind the newest one can no longer count, so dropping older
occurrences loses nothing. When the current cycle has `count` occurrences within `withinDays` of
each other the reward is due, keyed by the cycle, and counting starts again. An occurrence that
arrives while a cycle is complete but not yet settled counts toward the next one.

A streak (签到) keeps the runs of consecutive check-in days (as first/last date pairs) and the days
already rewarded. Every `days` consecutive days not yet rewarded earn one reward, keyed by the first
of them, and are then marked rewarded, in the same write that counts the check-in. Check-ins may
arrive out of order (a redrive, a late batch) up to `LATE_DAYS` behind the newest: a late day joins
the runs on either side, and since rewarded days are never counted again, no order of arrival pays
twice. A redelivery of a day that earned one of the last rewards reports its key again, so a retried grant after
a crash pays it (once).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from loyalty.campaigns.model import Target


@dataclass(frozen=True)
class Step:
    state: dict[str, Any]
    changed: bool
    due: str | None  # the trigger key of a reward now due, if any


def count_toward(target: Target, state: dict[str, Any] | None, occurrence: str, at: datetime) -> Step:
    """One matching event, `occurrence` its business id, `at` its time in UTC."""
    cycle = int((state or {}).get("cycle", 0))
    seen: list[list[Any]] = [list(s) for s in (state or {}).get("seen", [])]
    window = timedelta(days=target.withinDays)
    newest = max((datetime.fromisoformat(s[1]) for s in seen), default=at)
    if any(s[0] == occurrence for s in seen) or at < newest - window:
        return Step({"cycle": cycle, "seen": seen}, False, _due(target, cycle, seen))
    horizon = max(newest, at) - window
    counts_in = cycle
    while _due(target, counts_in, seen) is not None:
        counts_in += 1  # that cycle is complete, its reward not yet settled: this one counts toward the next
    seen = [s for s in seen if datetime.fromisoformat(s[1]) >= horizon] + [[occurrence, at.isoformat(), counts_in]]
    return Step({"cycle": cycle, "seen": seen}, True, _due(target, cycle, seen))


def _due(target: Target, cycle: int, seen: list[list[Any]]) -> str | None:
    """The cycle is complete once `count` of its occurrences fall within one window."""
    times = sorted(datetime.fromisoformat(s[1]) for s in seen if s[2] == cycle)
    window = timedelta(days=target.withinDays)
    for first, last in zip(times, times[target.count - 1:], strict=False):
        if last - first <= window:
            return f"task:{cycle}"
    return None


def next_cycle(target: Target, state: dict[str, Any]) -> Step:
    """After the reward: the occurrences stay (so replays are still recognised) but count no more.
    Those that arrived meanwhile count toward the new cycle, which they may have completed already."""
    moved = {**state, "cycle": int(state["cycle"]) + 1}
    return Step(moved, True, _due(target, moved["cycle"], moved.get("seen", [])))


def progress_of(target: Target, state: dict[str, Any] | None, now: datetime) -> dict[str, int]:
    """What a customer sees in the task centre: occurrences in the current cycle still in the window."""
    cycle = int((state or {}).get("cycle", 0))
    horizon = now - timedelta(days=target.withinDays)
    done = sum(1 for s in (state or {}).get("seen", []) if s[2] == cycle and datetime.fromisoformat(s[1]) >= horizon)
    return {"done": min(done, target.count), "target": target.count, "completed": cycle}


LATE_DAYS = 31  # how far behind the newest check-in a late one still counts
RECENT_DUES = 4  # the latest rewards, by the day that earned them, so a redelivery repeats its key
Span = tuple[date, date]  # first and last day, inclusive


def check_in(days: int, state: dict[str, Any] | None, day: date) -> Step:
    """One check-in on business date `day`."""
    runs, rewarded, dues = _streak_state(days, state)
    newest = max((end for _, end in runs), default=day)
    if any(first <= day <= end for first, end in runs) or day < newest - timedelta(days=LATE_DAYS):
        # A redelivery (a reward this day earned is reported again), or too late to count.
        return Step(_streak_record(runs, rewarded, dues), False, dues.get(day.isoformat()))
    runs = _add_day(runs, day)
    run = next(r for r in runs if r[0] <= day <= r[1])
    due, block = None, _unrewarded_block(days, run, rewarded, day)
    if block is not None:
        rewarded = _merge([*rewarded, block])
        due = f"streak:{block[0].isoformat()}:{days}"
        dues = dict(sorted({**dues, day.isoformat(): due}.items())[-RECENT_DUES:])  # a stored map keeps no order
    horizon = max(newest, day) - timedelta(days=LATE_DAYS + days)
    runs = [r for r in runs if r[1] >= horizon]
    rewarded = [b for b in rewarded if any(r[0] <= b[0] and b[1] <= r[1] for r in runs)]
    return Step(_streak_record(runs, rewarded, dues), True, due)


def _unrewarded_block(days: int, run: Span, rewarded: list[Span], day: date) -> Span | None:
    """The first `days` days of the unrewarded stretch of `run` around `day`, if it is that long."""
    first, last = run
    for start, end in rewarded:
        if start <= run[1] and end >= run[0]:
            if end < day:
                first = max(first, end + timedelta(days=1))
            elif start > day:
                last = min(last, start - timedelta(days=1))
    if (last - first).days + 1 < days:
        return None
    return first, first + timedelta(days=days - 1)


def _add_day(runs: list[Span], day: date) -> list[Span]:
    return _merge([*runs, (day, day)])


def _merge(spans: list[Span]) -> list[Span]:
    """Sorted, with touching or overlapping spans joined."""
    merged: list[Span] = []
    for first, last in sorted(spans):
        if merged and first <= merged[-1][1] + timedelta(days=1):
            merged[-1] = (merged[-1][0], max(merged[-1][1], last))
        else:
            merged.append((first, last))
    return merged


def _streak_state(days: int, state: dict[str, Any] | None) -> tuple[list[Span], list[Span], dict[str, str]]:
    if not state:
        return [], [], {}
    if "runs" not in state:  # the first format: one run, rewarded every `days` days from its start
        start, last, length = date.fromisoformat(state["start"]), date.fromisoformat(state["last"]), int(state["length"])
        paid = length // days * days
        rewarded = [(start, start + timedelta(days=paid - 1))] if paid else []
        due = {state["last"]: f"streak:{state['start']}:{length}"} if paid == length else {}
        return [(start, last)], rewarded, due
    spans = [[(date.fromisoformat(a), date.fromisoformat(b)) for a, b in state[name]] for name in ("runs", "rewarded")]
    return spans[0], spans[1], dict(state.get("dues") or {})


def _streak_record(runs: list[Span], rewarded: list[Span], dues: dict[str, str]) -> dict[str, Any]:
    record: dict[str, Any] = {name: [[a.isoformat(), b.isoformat()] for a, b in spans] for name, spans in (("runs", runs), ("rewarded", rewarded))}
    return {**record, "dues": dues} if dues else record


def streak_of(days: int, state: dict[str, Any] | None, today: date) -> dict[str, int]:
    """The run still alive today (checked in today or yesterday), and days left to the next reward."""
    runs, rewarded, _ = _streak_state(days, state)
    current = runs[-1] if runs and runs[-1][1] >= today - timedelta(days=1) else None
    if current is None:
        return {"streak": 0, "target": days, "toNextReward": days}
    counted_from = max([current[0], *(end + timedelta(days=1) for start, end in rewarded if current[0] <= start <= current[1])])
    return {"streak": (current[1] - current[0]).days + 1, "target": days, "toNextReward": days - (current[1] - counted_from).days - 1}
