"""The campaign lifecycle, pure: which action moves which state, who may approve, and what an approved
campaign is at the edges of its window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from loyalty.campaigns.lifecycle import APPROVERS_GROUP, TRANSITIONS, effective_status, next_status
from loyalty.core.auth import Caller
from loyalty.core.clock import iso_utc
from loyalty.core.errors import BusinessRuleViolation, Forbidden

STATES = ("draft", "pending_approval", "approved", "paused", "ended")
AUTHOR = "op-maker"
OPERATOR = Caller("op-other", frozenset({"operators"}))
CHECKER = Caller("op-checker", frozenset({"operators", APPROVERS_GROUP}))

ALLOWED = {
    ("submit", "draft"): "pending_approval",
    ("approve", "pending_approval"): "approved",
    ("reject", "pending_approval"): "draft",
    ("pause", "approved"): "paused",
    ("resume", "paused"): "approved",
    ("end", "draft"): "ended",
    ("end", "pending_approval"): "ended",
    ("end", "approved"): "ended",
    ("end", "paused"): "ended",
}
REFUSED = [(action, state) for action in TRANSITIONS for state in STATES if (action, state) not in ALLOWED]


def test_the_table_of_transitions_is_the_documented_one() -> None:
    assert {(a, s): after for a, (states, after) in TRANSITIONS.items() for s in states} == ALLOWED


@pytest.mark.parametrize(("action", "before", "after"), [(a, s, after) for (a, s), after in ALLOWED.items()])
def test_every_allowed_transition(action: str, before: str, after: str) -> None:
    # Given a campaign in `before`, and an approver who did not write it
    # When the action is taken
    # Then it moves to `after`
    assert next_status(action, before, CHECKER, AUTHOR) == after


@pytest.mark.parametrize(("action", "before"), REFUSED)
def test_every_other_transition_is_refused(action: str, before: str) -> None:
    with pytest.raises(BusinessRuleViolation) as refusal:
        next_status(action, before, CHECKER, AUTHOR)
    assert refusal.value.code == "INVALID_TRANSITION"
    assert action in refusal.value.message and before in refusal.value.message


def test_an_ended_campaign_is_final() -> None:
    for action in TRANSITIONS:
        with pytest.raises(BusinessRuleViolation):
            next_status(action, "ended", CHECKER, AUTHOR)


def test_an_unknown_action_is_not_a_transition() -> None:
    with pytest.raises(KeyError):
        next_status("launch", "draft", CHECKER, AUTHOR)


def test_approving_needs_the_approvers_group() -> None:
    # Given an operator outside the approvers group
    with pytest.raises(Forbidden) as refusal:
        next_status("approve", "pending_approval", OPERATOR, AUTHOR)
    # Then the approval is refused
    assert refusal.value.code == "APPROVER_REQUIRED"


def test_the_author_cannot_approve_even_as_an_approver() -> None:
    # Given the author, who is in the approvers group
    author = Caller(AUTHOR, frozenset({"operators", APPROVERS_GROUP}))
    with pytest.raises(Forbidden) as refusal:
        next_status("approve", "pending_approval", author, AUTHOR)
    assert refusal.value.code == "APPROVER_IS_AUTHOR"
    # But a different approver can
    assert next_status("approve", "pending_approval", CHECKER, AUTHOR) == "approved"


def test_the_state_is_checked_before_the_approver() -> None:
    with pytest.raises(BusinessRuleViolation):
        next_status("approve", "draft", OPERATOR, AUTHOR)


@pytest.mark.parametrize("action", ["submit", "reject", "pause", "resume", "end"])
def test_only_approving_needs_the_approvers_group_or_another_person(action: str) -> None:
    # Given the author without the approvers group, in a state the action applies to
    before = TRANSITIONS[action][0][0]
    author = Caller(AUTHOR, frozenset({"operators"}))
    # Then the author may take every other action
    assert next_status(action, before, author, AUTHOR) == TRANSITIONS[action][1]


# ---- what an approved campaign is now ------------------------------------------------------------

STARTS = datetime(2026, 6, 1, tzinfo=UTC)
ENDS = datetime(2026, 7, 1, tzinfo=UTC)
ONE = timedelta(microseconds=1)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (STARTS - timedelta(days=3), "scheduled"),
        (STARTS - ONE, "scheduled"),
        (STARTS, "active"),  # the window opens at its start
        (STARTS + ONE, "active"),
        (ENDS - ONE, "active"),
        (ENDS, "ended"),  # and is closed at its end
        (ENDS + timedelta(days=1), "ended"),
    ],
)
def test_an_approved_campaign_at_the_edges_of_its_window(now: datetime, expected: str) -> None:
    assert effective_status("approved", iso_utc(STARTS), iso_utc(ENDS), now) == expected


def test_the_window_edges_hold_in_any_offset() -> None:
    # Given the bank's clock in Shanghai: the window opens at 08:00 there (00:00 UTC)
    shanghai = ZoneInfo("Asia/Shanghai")
    assert effective_status("approved", iso_utc(STARTS), iso_utc(ENDS), datetime(2026, 6, 1, 8, 0, tzinfo=shanghai)) == "active"
    assert effective_status("approved", iso_utc(STARTS), iso_utc(ENDS), datetime(2026, 6, 1, 7, 59, 59, tzinfo=shanghai)) == "scheduled"
    assert effective_status("approved", iso_utc(STARTS), iso_utc(ENDS), datetime(2026, 7, 1, 8, 0, tzinfo=shanghai)) == "ended"


@pytest.mark.parametrize("status", ["draft", "pending_approval", "paused", "ended"])
def test_other_states_are_what_they_say_whatever_the_time(status: str) -> None:
    for now in (STARTS - timedelta(days=1), STARTS + timedelta(days=1), ENDS + timedelta(days=1)):
        assert effective_status(status, iso_utc(STARTS), iso_utc(ENDS), now) == status
