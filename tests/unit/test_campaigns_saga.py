"""The grant's saga, pure (`loyalty.campaigns.saga`): where each answer to a grant's commands moves
the grant and its actions, what it sends, and what the budget and the report's counters get back."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.campaigns import saga
from loyalty.campaigns.saga import Action, Saga

COUPON, POINTS = "cg-coupon", "cg-points"


def two_actions(cost: int = 1, coupon_share: int = 1, points_share: int = 1) -> Saga:
    """A grant of a coupon and points, both on their way."""
    return saga.start([Action(COUPON, "coupon", coupon_share), Action(POINTS, "points", points_share)], cost)


def states(step: saga.Step | Saga) -> dict[str, str]:
    grant = step.saga if isinstance(step, saga.Step) else step
    return {a.command_id: a.state for a in grant.actions}


def test_a_grant_whose_rewards_are_all_delivered_is_delivered_and_notifies_once() -> None:
    # Given a grant of a coupon and points
    grant = two_actions()
    # When the coupon is issued
    first = saga.advance(grant, COUPON, "delivered")
    # Then it still waits for the points: nothing is sent yet
    assert first is not None and first.saga.status == "granted" and not first.notify
    # And when the points are booked, the grant is delivered and its notification goes
    second = saga.advance(first.saga, POINTS, "delivered")
    assert second is not None and second.saga.status == "delivered" and second.notify
    assert second.stats == {} and second.give_back == 0 and second.compensate == ()
    # And the same answer again changes nothing
    assert saga.advance(second.saga, POINTS, "delivered") is None


def test_a_grant_of_a_notification_only_is_delivered_at_once() -> None:
    assert saga.start([], 1).status == "delivered"


def test_a_refused_coupon_compensates_the_points_and_the_grant_is_compensated_with_its_whole_cost_back() -> None:
    # Given a grant of a coupon and points whose points were booked
    booked = saga.advance(two_actions(), POINTS, "delivered")
    assert booked is not None
    # When the coupon is refused (the customer is at the template's limit)
    refused = saga.advance(booked.saga, COUPON, "refused", "CouponIssueFailed:COUPON_LIMIT_REACHED")
    # Then the grant is being undone: the points' compensation goes, and no notification
    assert refused is not None and refused.saga.status == "compensating" and not refused.notify
    assert [a.command_id for a in refused.compensate] == [POINTS]
    assert states(refused) == {COUPON: "refused", POINTS: "compensating"}
    assert refused.stats == {"granted": -1, "compensating": 1} and refused.give_back == 0
    # And when points answer that they took the award back, the grant is compensated and its cost returns
    done = saga.advance(refused.saga, POINTS, "compensated")
    assert done is not None and done.settled and done.saga.status == "compensated"
    assert (done.give_back, done.kept) == (1, 0)
    assert done.stats == {"compensating": -1, "compensated": 1, "cost": -1}
    # And the compensation's answer arriving twice changes nothing
    assert saga.advance(done.saga, POINTS, "compensated") is None


def test_a_refusal_before_the_points_were_booked_forestalls_them_and_the_grant_is_cancelled() -> None:
    # Given a grant whose coupon is refused before its points' answer
    refused = saga.advance(two_actions(), COUPON, "refused", "COUPON_LIMIT_REACHED")
    assert refused is not None and [a.command_id for a in refused.compensate] == [POINTS]
    # When points answer that the award had not been booked (and now never will be)
    done = saga.advance(refused.saga, POINTS, "prevented")
    # Then nothing was delivered: the grant is cancelled, its whole cost back
    assert done is not None and done.saga.status == "cancelled" and done.give_back == 1
    assert done.stats == {"compensating": -1, "cancelled": 1, "cost": -1}
    # And the award's own answer, overtaken, changes nothing
    assert saga.advance(done.saga, POINTS, "delivered") is None


def test_a_single_coupon_refused_cancels_the_grant_at_once() -> None:
    # Given a grant of one coupon
    grant = saga.start([Action(COUPON, "coupon", 1)], 1)
    # When it is refused
    step = saga.advance(grant, COUPON, "refused", "COUPON_OUT_OF_STOCK")
    # Then the grant is cancelled in the same step, with no compensation to wait for
    assert step is not None and step.saga.status == "cancelled" and step.compensate == ()
    assert step.stats == {"granted": -1, "cancelled": 1, "cost": -1} and step.give_back == 1


def test_a_coupon_that_cannot_be_taken_back_stays_in_cost_and_the_grant_is_partly_delivered() -> None:
    # Given a grant in minor units of two coupons (3000 and 2000) and points (500), the first coupon and the points delivered
    grant = saga.start([Action("cg-a", "coupon", 3000), Action("cg-b", "coupon", 2000), Action(POINTS, "points", 500)], 5500)
    for command in ("cg-a", POINTS):
        step = saga.advance(grant, command, "delivered")
        assert step is not None
        grant = step.saga
    # When the second coupon is refused, the first was redeemed and cannot be revoked, the points are reversed
    returned = saga.advance(grant, "cg-b", "refused", "CouponIssueFailed:COUPON_LIMIT_REACHED")
    assert returned is not None and {a.command_id for a in returned.compensate} == {"cg-a", POINTS}
    kept = saga.advance(returned.saga, "cg-a", "kept", "COUPON_ALREADY_REDEEMED")
    assert kept is not None and not kept.settled
    done = saga.advance(kept.saga, POINTS, "compensated")
    # Then the grant is partly delivered: the redeemed coupon's cost stays, the rest goes back
    assert done is not None and done.saga.status == "partly_delivered"
    assert (done.give_back, done.kept) == (2500, 3000)
    assert done.stats == {"compensating": -1, "partlyDelivered": 1, "cost": -2500}
    assert states(done) == {"cg-a": "kept", "cg-b": "refused", POINTS: "compensated"}
    assert done.saga.action("cg-a").reason == "COUPON_ALREADY_REDEEMED"  # type: ignore[union-attr]


def test_in_reward_units_a_reward_kept_keeps_the_whole_grant_in_cost() -> None:
    # Given a grant of two coupons counted as one reward, the first delivered
    grant = saga.start([Action("cg-a", "coupon", 1), Action("cg-b", "coupon", 1)], 1)
    delivered = saga.advance(grant, "cg-a", "delivered")
    assert delivered is not None
    # When the second is refused, and the first cannot be revoked (redeemed meanwhile)
    refused = saga.advance(delivered.saga, "cg-b", "refused", "COUPON_LIMIT_REACHED")
    assert refused is not None
    done = saga.advance(refused.saga, "cg-a", "kept", "COUPON_ALREADY_REDEEMED")
    # Then the one reward stays spent, whole
    assert done is not None and done.saga.status == "partly_delivered" and (done.give_back, done.kept) == (0, 1)
    assert done.stats == {"compensating": -1, "partlyDelivered": 1}


def test_a_delivery_that_races_its_compensation_waits_for_the_compensation_s_answer() -> None:
    # Given a grant being undone, the points' compensation on its way
    refused = saga.advance(two_actions(), COUPON, "refused", "COUPON_LIMIT_REACHED")
    assert refused is not None
    # When the award's own answer arrives first
    # Then it changes nothing: the compensation answers for what points did
    assert saga.advance(refused.saga, POINTS, "delivered") is None


def test_a_refusal_overtaking_its_compensation_counts_as_refused_and_the_compensation_s_answer_changes_nothing() -> None:
    # Given a grant of two coupons, the second refused: the first's revocation is on its way
    grant = saga.start([Action("cg-a", "coupon", 1), Action("cg-b", "coupon", 1)], 1)
    refused = saga.advance(grant, "cg-b", "refused", "COUPON_LIMIT_REACHED")
    assert refused is not None
    # When the first is refused too, before the revocation reached coupons
    both = saga.advance(refused.saga, "cg-a", "refused", "COUPON_OUT_OF_STOCK")
    # Then nothing was delivered: cancelled, and the revocation's answer (nothing issued) changes nothing
    assert both is not None and both.saga.status == "cancelled" and both.compensate == () and both.give_back == 1
    assert saga.advance(both.saga, "cg-a", "prevented") is None


def test_a_delivered_grant_is_not_undone_by_a_refusal_arriving_late() -> None:
    # Given a delivered grant of a coupon and points
    grant = two_actions()
    for command in (COUPON, POINTS):
        step = saga.advance(grant, command, "delivered")
        assert step is not None
        grant = step.saga
    # When a refusal of the delivered coupon arrives (a redelivered old answer; a returned coupon is
    # back in the wallet and never read as one)
    # Then nothing changes: the customer holds both rewards
    assert saga.advance(grant, COUPON, "refused", "CouponIssueFailed:COUPON_LIMIT_REACHED") is None


def test_an_answer_to_a_command_the_grant_does_not_hold_changes_nothing() -> None:
    assert saga.advance(two_actions(), "cg-other", "refused") is None


def test_the_record_keeps_the_saga() -> None:
    # Given a grant being undone
    step = saga.advance(two_actions(cost=5000, coupon_share=3000, points_share=2000), COUPON, "refused", "COUPON_LIMIT_REACHED")
    assert step is not None
    # When written to its record and read back
    record = {"cost": 5000, **saga.to_record(step.saga)}
    # Then it reads the same
    assert saga.from_record(record, COUPON) == step.saga
    assert record["actions"][0] == {"commandId": COUPON, "kind": "coupon", "cost": 3000, "state": "refused", "reason": "COUPON_LIMIT_REACHED"}


def test_a_grant_written_before_sagas_is_read_as_its_one_coupon() -> None:
    # Given a grant record without actions (written before grants were sagas)
    record = {"status": "granted", "cost": 1}
    # When its coupon is refused
    step = saga.advance(saga.from_record(record, COUPON), COUPON, "refused", "COUPON_LIMIT_REACHED")
    # Then it is cancelled, as it was then
    assert step is not None and step.saga.status == "cancelled" and step.give_back == 1


# ---- whatever the order of the answers ----------------------------------------------------------------

ANSWERS = st.lists(st.tuples(st.sampled_from(["cg-a", "cg-b", "cg-c"]),
                             st.sampled_from(["delivered", "refused", "compensated", "prevented", "kept"])), max_size=30)


@settings(max_examples=300, deadline=None)
@given(answers=ANSWERS, shares=st.tuples(*(st.integers(0, 5000),) * 3))
def test_whatever_the_answers_a_grant_is_counted_once_and_its_cost_is_given_back_at_most_once(
        answers: list[tuple[str, saga.Answer]], shares: tuple[int, int, int]) -> None:
    # Given a grant of three rewards in minor units
    cost = sum(shares)
    grant = saga.start([Action("cg-a", "coupon", shares[0]), Action("cg-b", "points", shares[1]), Action("cg-c", "coupon", shares[2])], cost)
    counters: Counter[str] = Counter({"granted": 1, "cost": cost})
    compensations: Counter[str] = Counter()
    # When any answers arrive, in any order, each possibly again
    for command, answer in answers:
        step = saga.advance(grant, command, answer, "why")
        if step is None:
            continue
        counters.update(step.stats)
        compensations.update(a.command_id for a in step.compensate)
        # Then an answer applied twice changes nothing the second time
        assert saga.advance(step.saga, command, answer, "why") is None
        grant = step.saga
    # And the grant is counted in exactly one state, the one it is in
    states_counted = {name: n for name, n in counters.items() if name != "cost" and n}
    assert states_counted == {saga.COUNTER[grant.status]: 1}
    # And each compensation was sent once at most; the cost left is the cost kept once settled, else all of it
    assert all(n == 1 for n in compensations.values())
    kept = min(cost, sum(a.cost for a in grant.actions if a.state == "kept"))
    assert counters["cost"] == (kept if grant.status in saga.SETTLED else cost)
    # And a settled grant has nothing outstanding
    if grant.status in saga.SETTLED:
        assert not any(a.state in ("pending", "compensating", "delivered") for a in grant.actions)
