"""Progress toward a task target or a check-in streak, per customer and campaign (pure: no AWS).

A target ("3 card transactions of at least 200 yuan within 30 days") keeps the occurrences seen
within the window. Each carries its business id, so a redelivered event is recognised and counts
once; an event older than the window behind the newest one can no longer count, so dropping older
occurrences loses nothing. When the current cycle has `count` occurrences within `withinDays` of
each other the reward is due, keyed by the cycle, and counting starts again.

A streak (签到) keeps the last check-in date and the run length: the next business day extends it,
a gap restarts it, and every `days`-th day in a run is due a reward keyed by the run's first day and
its length. Reaching the same state twice gives the same key, so a redelivery cannot pay twice.
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
    seen = [s for s in seen if datetime.fromisoformat(s[1]) >= horizon] + [[occurrence, at.isoformat(), cycle]]
    return Step({"cycle": cycle, "seen": seen}, True, _due(target, cycle, seen))


def _due(target: Target, cycle: int, seen: list[list[Any]]) -> str | None:
    """The cycle is complete once `count` of its occurrences fall within one window."""
    times = sorted(datetime.fromisoformat(s[1]) for s in seen if s[2] == cycle)
    window = timedelta(days=target.withinDays)
    for first, last in zip(times, times[target.count - 1:], strict=False):
        if last - first <= window:
            return f"task:{cycle}"
    return None


def next_cycle(state: dict[str, Any]) -> dict[str, Any]:
    """After the reward: the occurrences stay (so replays are still recognised) but count no more."""
    return {**state, "cycle": int(state["cycle"]) + 1}


def progress_of(target: Target, state: dict[str, Any] | None, now: datetime) -> dict[str, int]:
    """What a customer sees in the task centre: occurrences in the current cycle still in the window."""
    cycle = int((state or {}).get("cycle", 0))
    horizon = now - timedelta(days=target.withinDays)
    done = sum(1 for s in (state or {}).get("seen", []) if s[2] == cycle and datetime.fromisoformat(s[1]) >= horizon)
    return {"done": min(done, target.count), "target": target.count, "completed": cycle}


def check_in(days: int, state: dict[str, Any] | None, day: date) -> Step:
    """One check-in on business date `day`."""
    last = date.fromisoformat(state["last"]) if state else None
    if last is not None and day <= last:
        # A redelivery, or a late check-in for a day the streak has moved past: nothing changes, but a
        # reward due at the latest day is reported again, so a retry after a crash still pays it.
        return Step(dict(state or {}), False, _streak_due(days, state) if day == last else None)
    extends = last is not None and day == last + timedelta(days=1)
    length = int(state["length"]) + 1 if extends and state else 1
    start = state["start"] if extends and state else day.isoformat()
    new = {"last": day.isoformat(), "length": length, "start": start}
    return Step(new, True, _streak_due(days, new))


def _streak_due(days: int, state: dict[str, Any] | None) -> str | None:
    if not state or int(state["length"]) % days:
        return None
    return f"streak:{state['start']}:{state['length']}"


def streak_of(days: int, state: dict[str, Any] | None, today: date) -> dict[str, int]:
    """The run still alive today (checked in today or yesterday), and days left to the next reward."""
    alive = bool(state) and date.fromisoformat(state["last"]) >= today - timedelta(days=1)  # type: ignore[index]
    length = int(state["length"]) if alive and state else 0
    return {"streak": length, "target": days, "toNextReward": days - length % days}
