"""Property: windows kept incrementally (buckets, pruning, any arrival order, redeliveries) equal
windows recomputed from the raw events, at random as-of dates and exactly at the 30/90/365-day edges."""

from __future__ import annotations

from datetime import date, timedelta
from typing import get_args

from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.scoring.features import RETENTION_DAYS, Activity, ActivityKind, FeatureState, Window, apply, window

START = date(2025, 1, 1)
SPAN = 900  # days: well over the 365 kept, so pruning happens
EDGES = (0, 1, 29, 30, 31, 89, 90, 91, 364, 365, 366)  # days apart that put events on window and retention edges


@st.composite
def deliveries(draw: st.DrawFn) -> list[Activity]:
    """Unique events in random order, many of them a window length apart; some delivered again soon."""
    anchors = draw(st.lists(st.integers(0, SPAN - max(EDGES)), min_size=1, max_size=3))
    anchored = st.builds(lambda a, e: a + e, st.sampled_from(anchors), st.sampled_from(EDGES))
    day = st.one_of(st.integers(0, SPAN - max(EDGES)), anchored, anchored, anchored)
    raw = draw(
        st.lists(
            st.tuples(st.sampled_from(get_args(ActivityKind)), day, st.integers(0, 1_000_000)),
            min_size=1,
            max_size=60,
        )
    )
    events = [Activity(kind=k, eventId=f"e{i}", day=START + timedelta(days=d), amountMinor=a) for i, (k, d, a) in enumerate(raw)]
    order = draw(st.permutations(events))
    delivered: list[Activity] = []
    for event in order:
        delivered.append(event)
        if draw(st.integers(0, 4)) == 0:
            delivered.insert(len(delivered) - draw(st.integers(0, min(3, len(delivered) - 1))), event)
    return delivered


def recomputed(events: list[Activity], as_of: date, days: int) -> Window:
    """The window straight from the raw events, each id once: no buckets, no pruning."""
    start = as_of - timedelta(days=days - 1)
    counts: dict[str, int] = {}
    amounts: dict[str, int] = {}
    last_days: dict[str, date] = {}
    for e in {e.eventId: e for e in events}.values():
        if start <= e.day <= as_of:
            counts[e.kind] = counts.get(e.kind, 0) + 1
            amounts[e.kind] = amounts.get(e.kind, 0) + e.amountMinor
            last_days[e.kind] = max(e.day, last_days.get(e.kind, e.day))
    return Window(as_of, days, counts, amounts, last_days)


@settings(max_examples=200, deadline=None)
@given(events=deliveries(), data=st.data())
def test_incremental_windows_equal_windows_recomputed_from_the_raw_events(events: list[Activity], data: st.DataObject) -> None:
    # Given a customer's state after every delivery, in arrival order
    state = FeatureState()
    for event in events:
        state = apply(state, event)
    latest = max(e.day for e in events)
    # Then it keeps a bucket for each day with events among the 365 days to the newest one, and no other
    assert state.latestDay == latest
    assert set(state.days) == {e.day for e in events if e.day > latest - timedelta(days=RETENTION_DAYS)}

    for days in (30, 90, 365, data.draw(st.integers(1, RETENTION_DAYS), label="days")):
        # When the window ends on a random date, or so that an event sits exactly on its first day, or just before it
        edge_event = data.draw(st.sampled_from(events), label="edge event")
        as_of = data.draw(
            st.one_of(
                st.sampled_from([edge_event.day + timedelta(days=days - 1), edge_event.day + timedelta(days=days), latest]),
                st.dates(START - timedelta(days=10), START + timedelta(days=SPAN + 400)),
            ),
            label=f"as_of for {days} days",
        )
        if as_of - timedelta(days=days - 1) < latest - timedelta(days=RETENTION_DAYS - 1):
            continue  # starts before the kept days: refused (tested in test_features)
        # Then it equals the window recomputed from every event ever delivered
        assert window(state, as_of, days) == recomputed(events, as_of, days)
