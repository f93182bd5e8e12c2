"""Task targets and check-in streaks, counted per customer (campaigns.progress): hand-worked
examples, redeliveries, out-of-order events and window edges."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from loyalty.campaigns import progress
from loyalty.campaigns.model import EventTrigger, Target

THREE_IN_30 = Target(count=3, withinDays=30)
T0 = datetime(2026, 11, 1, 4, 0, tzinfo=UTC)


def count_all(occurrences: list[tuple[str, datetime]], target: Target = THREE_IN_30) -> tuple[dict[str, Any] | None, list[str | None]]:
    state: dict[str, Any] | None = None
    dues = []
    for key, at in occurrences:
        step = progress.count_toward(target, state, key, at)
        state = step.state
        dues.append(step.due)
    return state, dues


# ---- the model ------------------------------------------------------------------------------------


def test_a_trigger_counts_toward_a_target_or_a_streak_not_both() -> None:
    with pytest.raises(ValidationError, match="not both"):
        EventTrigger.model_validate({"type": "event", "eventType": "CheckInCompleted", "streakDays": 7,
                                     "target": {"count": 3, "withinDays": 30}})


def test_a_streak_counts_check_ins_only() -> None:
    with pytest.raises(ValidationError, match="CheckInCompleted"):
        EventTrigger.model_validate({"type": "event", "eventType": "CardTransactionPosted", "streakDays": 7})


@pytest.mark.parametrize("target", [{"count": 1, "withinDays": 30}, {"count": 3, "withinDays": 0}, {"count": "3", "withinDays": 30}])
def test_a_target_needs_at_least_two_events_in_at_least_a_day(target: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        EventTrigger.model_validate({"type": "event", "eventType": "CardTransactionPosted", "target": target})


# ---- targets --------------------------------------------------------------------------------------


def test_the_third_transaction_within_30_days_completes_the_task() -> None:
    # Given three qualifying transactions on days 0, 10 and 29
    _, dues = count_all([("tx-1", T0), ("tx-2", T0 + timedelta(days=10)), ("tx-3", T0 + timedelta(days=29))])
    # Then only the third makes the reward due, for the first cycle
    assert dues == [None, None, "task:0"]


def test_transactions_spread_wider_than_the_window_do_not_complete_it() -> None:
    # Given transactions on days 0, 20 and 31: no three of them fall within 30 days
    state, dues = count_all([("tx-1", T0), ("tx-2", T0 + timedelta(days=20)), ("tx-3", T0 + timedelta(days=31))])
    assert dues == [None, None, None]
    # And day 0 has fallen out, while days 20 and 31 still count toward the target
    assert progress.progress_of(THREE_IN_30, state, T0 + timedelta(days=31)) == {"done": 2, "target": 3, "completed": 0}
    # When a fourth comes on day 40, days 20, 31 and 40 are within 30 days
    step = progress.count_toward(THREE_IN_30, state, "tx-4", T0 + timedelta(days=40))
    assert step.due == "task:0"


def test_exactly_30_days_apart_is_still_within_the_window() -> None:
    _, dues = count_all([("tx-1", T0), ("tx-2", T0 + timedelta(days=1)), ("tx-3", T0 + timedelta(days=30))])
    assert dues[-1] == "task:0"


def test_a_redelivered_transaction_counts_once() -> None:
    # Given two transactions counted
    state, _ = count_all([("tx-1", T0), ("tx-2", T0 + timedelta(days=1))])
    # When the second is delivered again
    step = progress.count_toward(THREE_IN_30, state, "tx-2", T0 + timedelta(days=1))
    # Then nothing changes and nothing is due
    assert (step.changed, step.due, step.state) == (False, None, state)


def test_a_redelivery_after_completion_reports_the_reward_still_due_until_the_cycle_moves_on() -> None:
    # Given a completed cycle whose grant may not have been written (a crash)
    state, _ = count_all([("tx-1", T0), ("tx-2", T0), ("tx-3", T0)])
    # When the completing event is redelivered, the same reward is due again (the grant is idempotent)
    assert progress.count_toward(THREE_IN_30, state, "tx-3", T0).due == "task:0"
    # And once the cycle has moved on, the redelivery is recognised and completes nothing
    moved = progress.next_cycle(THREE_IN_30, state).state  # type: ignore[arg-type]
    assert progress.count_toward(THREE_IN_30, moved, "tx-3", T0).due is None
    assert progress.count_toward(THREE_IN_30, moved, "tx-3", T0).changed is False


def test_the_next_cycle_starts_from_zero_and_pays_under_its_own_key() -> None:
    state, _ = count_all([("tx-1", T0), ("tx-2", T0), ("tx-3", T0)])
    state = progress.next_cycle(THREE_IN_30, state).state  # type: ignore[arg-type]
    assert progress.progress_of(THREE_IN_30, state, T0) == {"done": 0, "target": 3, "completed": 1}
    for key in ("tx-4", "tx-5"):
        state = progress.count_toward(THREE_IN_30, state, key, T0 + timedelta(days=1)).state
    assert progress.count_toward(THREE_IN_30, state, "tx-6", T0 + timedelta(days=2)).due == "task:1"


def test_events_arriving_before_a_completed_cycle_is_settled_count_toward_the_next() -> None:
    # Given a cycle completed by tx-3, whose reward is not settled yet
    state, _ = count_all([("tx-1", T0), ("tx-2", T0), ("tx-3", T0)])
    # When three more transactions arrive meanwhile (each still reports the unsettled reward)
    for key in ("tx-4", "tx-5", "tx-6"):
        step = progress.count_toward(THREE_IN_30, state, key, T0 + timedelta(days=1))
        state = step.state
        assert step.due == "task:0"
    # Then once the first reward is settled, the next cycle is complete already, and due under its own key
    moved = progress.next_cycle(THREE_IN_30, state)  # type: ignore[arg-type]
    assert moved.due == "task:1"
    assert progress.next_cycle(THREE_IN_30, moved.state).due is None


def test_an_event_older_than_the_window_behind_the_newest_cannot_count() -> None:
    # Given a count whose newest event is on day 40
    state, _ = count_all([("tx-1", T0 + timedelta(days=40))])
    # When an event from day 5 arrives late (or is replayed after its record was dropped)
    step = progress.count_toward(THREE_IN_30, state, "tx-old", T0 + timedelta(days=5))
    # Then it changes nothing
    assert step.changed is False and step.state == state


def test_late_events_inside_the_window_count_in_order_of_their_time() -> None:
    # Given events arriving out of order, all within 30 days of each other
    _, dues = count_all([("tx-3", T0 + timedelta(days=20)), ("tx-1", T0), ("tx-2", T0 + timedelta(days=5))])
    assert dues == [None, None, "task:0"]


# ---- streaks --------------------------------------------------------------------------------------

D0 = date(2026, 11, 1)


def check_ins(days: int, dates: list[date]) -> tuple[dict[str, Any] | None, list[str | None]]:
    state: dict[str, Any] | None = None
    dues = []
    for day in dates:
        step = progress.check_in(days, state, day)
        state = step.state
        dues.append(step.due)
    return state, dues


def test_the_seventh_consecutive_day_earns_the_reward_and_the_fourteenth_another() -> None:
    state, dues = check_ins(7, [D0 + timedelta(days=n) for n in range(14)])
    assert dues == [None] * 6 + ["streak:2026-11-01:7"] + [None] * 6 + ["streak:2026-11-08:7"]
    assert state == {"runs": [["2026-11-01", "2026-11-14"]], "rewarded": [["2026-11-01", "2026-11-14"]],
                     "dues": {"2026-11-07": "streak:2026-11-01:7", "2026-11-14": "streak:2026-11-08:7"}}


def test_a_missed_day_starts_the_count_again() -> None:
    # Given check-ins on days 1-5, none on day 6, then days 7-13
    dates = [D0 + timedelta(days=n) for n in range(5)] + [D0 + timedelta(days=n) for n in range(6, 13)]
    _, dues = check_ins(7, dates)
    # Then the reward is due on the 7th day of the new run only
    assert [d for d in dues if d] == ["streak:2026-11-07:7"]


def test_the_same_day_twice_changes_nothing_but_repeats_a_due_reward() -> None:
    state, _ = check_ins(3, [D0, D0 + timedelta(days=1)])
    again = progress.check_in(3, state, D0 + timedelta(days=1))
    assert (again.changed, again.due) == (False, None)
    state = progress.check_in(3, state, D0 + timedelta(days=2)).state
    # A redelivery of the day that completed the streak reports the same reward key: a retried grant is idempotent
    assert progress.check_in(3, state, D0 + timedelta(days=2)).due == "streak:2026-11-01:3"


def test_a_check_in_too_late_to_count_is_ignored() -> None:
    state, _ = check_ins(3, [D0, D0 + timedelta(days=1)])
    step = progress.check_in(3, state, D0 + timedelta(days=1) - timedelta(days=progress.LATE_DAYS + 1))
    assert (step.changed, step.due, step.state) == (False, None, state)


def test_a_late_check_in_fills_the_gap_and_completes_the_streak() -> None:
    # Given check-ins on days 1 and 3 (day 2's was redriven from a DLQ later)
    state, dues = check_ins(3, [D0, D0 + timedelta(days=2)])
    assert dues == [None, None]
    # When day 2 arrives
    step = progress.check_in(3, state, D0 + timedelta(days=1))
    # Then the three days are one run, and the reward is due for it
    assert step.due == "streak:2026-11-01:3" and step.state["runs"] == [["2026-11-01", "2026-11-03"]]


def test_a_late_day_joining_two_rewarded_runs_pays_no_day_twice() -> None:
    # Given two 3-day runs, each rewarded, with day 4 missing between them
    state, dues = check_ins(3, [D0 + timedelta(days=n) for n in (0, 1, 2, 4, 5, 6)])
    assert [d for d in dues if d] == ["streak:2026-11-01:3", "streak:2026-11-05:3"]
    # When day 4 arrives late
    step = progress.check_in(3, state, D0 + timedelta(days=3))
    # Then the run is 7 days long, and nothing more is due: 6 of its days are rewarded already
    assert step.due is None and step.state["runs"] == [["2026-11-01", "2026-11-07"]]
    assert progress.streak_of(3, step.state, D0 + timedelta(days=6)) == {"streak": 7, "target": 3, "toNextReward": 3}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=20), min_size=1, max_size=30), st.integers(min_value=2, max_value=5))
def test_in_any_order_of_arrival_rewards_are_disjoint_runs_of_checked_in_days(offsets: list[int], days: int) -> None:
    # Given check-ins on any days within three weeks, arriving in any order, some twice
    _, dues = check_ins(days, [D0 + timedelta(days=n) for n in offsets])
    paid = sorted({d for d in dues if d})  # a redelivered day repeats its key: the grant is idempotent
    checked = {D0 + timedelta(days=n) for n in offsets}
    blocks = [{date.fromisoformat(key.split(":")[1]) + timedelta(days=i) for i in range(days)} for key in paid]
    # Then every reward is `days` checked-in days in a row, and no day is in two rewards
    assert all(block <= checked for block in blocks)
    assert sum(len(b) for b in blocks) == len(set().union(*blocks))
    # And in arrival order by date, every run pays exactly once per `days` of its length
    _, in_order = check_ins(days, sorted(checked))
    runs = progress._merge([(d, d) for d in checked])
    assert len([d for d in in_order if d]) == sum(((b - a).days + 1) // days for a, b in runs)


def test_a_streak_saved_in_the_first_format_carries_on() -> None:
    # Given a 7-day run saved as {last, length, start}, rewarded on its 7th day
    saved = {"last": "2026-11-07", "length": 7, "start": "2026-11-01"}
    # When its 7th day is redelivered, and then days 8 to 14 arrive
    assert progress.check_in(7, saved, date(2026, 11, 7)).due == "streak:2026-11-01:7"
    state, dues = saved, list[str | None]()
    for n in range(8, 15):
        step = progress.check_in(7, state, date(2026, 11, n))
        state, dues = step.state, [*dues, step.due]
    # Then the first week is not paid again, and the second is
    assert [d for d in dues if d] == ["streak:2026-11-08:7"]


def test_a_long_streak_keeps_a_small_state() -> None:
    state, _ = check_ins(7, [D0 + timedelta(days=n) for n in range(400)])
    assert state is not None and len(state["runs"]) == 1 and len(state["rewarded"]) == 1
    assert progress.streak_of(7, state, D0 + timedelta(days=399))["streak"] == 400


def test_what_the_customer_sees_of_a_streak() -> None:
    state, _ = check_ins(7, [D0 + timedelta(days=n) for n in range(3)])
    assert progress.streak_of(7, state, D0 + timedelta(days=2)) == {"streak": 3, "target": 7, "toNextReward": 4}
    # Yesterday's check-in keeps the run alive today; a day more and it is gone
    assert progress.streak_of(7, state, D0 + timedelta(days=3))["streak"] == 3
    assert progress.streak_of(7, state, D0 + timedelta(days=4)) == {"streak": 0, "target": 7, "toNextReward": 7}
    assert progress.streak_of(7, None, D0) == {"streak": 0, "target": 7, "toNextReward": 7}
