"""`loyalty.core.idempotency.run_idempotently` with an in-memory store and an injected clock.

The in-memory store implements our own `IdempotencyRecordStore` port with the semantics documented
for `DynamoIdempotencyStore.claim` (expired and stale in-flight records are claimable).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import Response, content_types
from pydantic import BaseModel, ConfigDict

from loyalty.core import errors
from loyalty.core.api import Call
from loyalty.core.auth import Caller
from loyalty.core.idempotency import MAX_KEY_LENGTH, fingerprint, record_key, run_idempotently
from tests.unit.fakes import FakeClock, InMemoryIdempotencyStore

TTL = 24 * 3600
IN_FLIGHT = 60
ROUTE = "/v1/customers/{customerId}/points"


class Grant(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    points: int
    reason: str


def make_request(
    body: Grant | None = None,
    *,
    key: str | None = "key-1",
    subject: str = "c-001",
    method: str = "POST",
    resource: str = ROUTE,
    path: str = "/v1/customers/c-001/points",
) -> Call:
    headers = {"content-type": "application/json"}
    if key is not None:
        headers["idempotency-key"] = key
    return Call(
        method=method,
        resource=resource,
        path=path,
        caller=Caller(subject=subject, groups=frozenset()),
        path_params={},
        headers=headers,
        body=body if body is not None else Grant(points=100, reason="welcome"),
        correlation_id="corr-1",
    )


def created(body: Any) -> Response:
    return Response(201, content_types.APPLICATION_JSON, body)


def answer(response: Response) -> tuple[int, Any, dict[str, Any]]:
    """What a client gets of a response: Powertools' `Response` has no equality of its own."""
    return response.status_code, response.body, dict(response.headers)


JSON = {"Content-Type": "application/json"}
REPLAYED = {**JSON, "Idempotent-Replayed": "true"}


class Handler:
    """A route that counts its calls and answers (or raises) as told."""

    def __init__(self, response: Response | None = None, error: BaseException | None = None) -> None:
        self.response = response or created({"granted": 100})
        self.error = error
        self.calls = 0

    def __call__(self) -> Response:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return self.response


@pytest.fixture
def memory() -> InMemoryIdempotencyStore:
    return InMemoryIdempotencyStore(ttl_seconds=TTL, in_flight_seconds=IN_FLIGHT)


# --- the key ------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, ""])
def test_a_missing_key_is_400_and_nothing_runs(key: str | None, memory: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    # Given a mutating request without an Idempotency-Key
    handler = Handler()
    # When it is run idempotently
    with pytest.raises(errors.InvalidInput) as raised:
        run_idempotently(make_request(key=key), handler, memory, clock)
    # Then it is refused with IDEMPOTENCY_KEY_REQUIRED before claiming or running anything
    assert raised.value.code == "IDEMPOTENCY_KEY_REQUIRED"
    assert (handler.calls, memory.claims) == (0, [])


@pytest.mark.parametrize("key", ["k" * (MAX_KEY_LENGTH + 1), "line\nbreak", "tab\there", "nul\x00"])
def test_a_too_long_or_unprintable_key_is_400(key: str, memory: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    # Given a key of 129 characters, or one with control characters
    handler = Handler()
    # When it is run idempotently
    with pytest.raises(errors.InvalidInput) as raised:
        run_idempotently(make_request(key=key), handler, memory, clock)
    # Then it is refused with IDEMPOTENCY_KEY_INVALID
    assert raised.value.code == "IDEMPOTENCY_KEY_INVALID"
    assert handler.calls == 0


def test_a_key_of_exactly_the_maximum_length_is_accepted(memory: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    # Given a 128-character key
    handler = Handler()
    # When it is run idempotently
    response = run_idempotently(make_request(key="k" * MAX_KEY_LENGTH), handler, memory, clock)
    # Then it runs
    assert response.status_code == 201 and handler.calls == 1


def test_the_record_key_is_scoped_to_caller_method_route_and_key() -> None:
    # Given a request
    # When its record key is built
    # Then it is <sub>#<method>#<route template>#<key>
    assert record_key(make_request(), "key-1") == f"c-001#POST#{ROUTE}#key-1"


# --- first call and replay ----------------------------------------------------------------------


def test_the_first_call_runs_and_stores_the_2xx_response(memory: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    # Given a fresh key
    handler = Handler(created({"granted": 100, "balance": 350}))
    request = make_request()
    # When the request runs
    response = run_idempotently(request, handler, memory, clock)
    # Then the route ran once, its response is returned as is, and the record is COMPLETED with it
    assert handler.calls == 1
    assert answer(response) == (201, {"granted": 100, "balance": 350}, JSON)
    record = memory.records[f"c-001#POST#{ROUTE}#key-1"]
    assert record["state"] == "COMPLETED"
    assert record["statusCode"] == 201
    assert json.loads(record["responseBody"]) == {"granted": 100, "balance": 350}
    assert record["fingerprint"] == fingerprint(request)
    assert record["expiresAt"] == int(clock()) + TTL


def test_a_replay_returns_the_stored_response_without_running_again(memory: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    # Given a request that succeeded
    handler = Handler(created({"granted": 100}))
    run_idempotently(make_request(), handler, memory, clock)
    # When the same request is retried later with the same key
    clock.advance(3600)
    replay = run_idempotently(make_request(), handler, memory, clock)
    # Then the stored status and body come back marked as a replay, and the route did not run again
    assert answer(replay) == (201, {"granted": 100}, REPLAYED)
    assert handler.calls == 1


def test_json_field_order_and_whitespace_do_not_make_a_new_request(memory: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    # Given two raw bodies with the same fields in another order and spacing
    first = Grant.model_validate_json('{"points": 100, "reason": "welcome"}')
    second = Grant.model_validate_json('{"reason":"welcome",\n "points":100}')
    handler = Handler()
    # When both are sent under the same key
    run_idempotently(make_request(first), handler, memory, clock)
    replay = run_idempotently(make_request(second), handler, memory, clock)
    # Then the second is a replay of the first
    assert replay.headers == REPLAYED
    assert handler.calls == 1


def test_the_same_key_with_another_body_is_422(memory: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    # Given a request that succeeded under key-1
    handler = Handler()
    run_idempotently(make_request(Grant(points=100, reason="welcome")), handler, memory, clock)
    # When a different body is sent under key-1
    with pytest.raises(errors.BusinessRuleViolation) as raised:
        run_idempotently(make_request(Grant(points=999, reason="welcome")), handler, memory, clock)
    # Then it is refused with IDEMPOTENCY_KEY_REUSED, and the original still replays
    assert raised.value.code == "IDEMPOTENCY_KEY_REUSED"
    assert handler.calls == 1
    assert run_idempotently(make_request(Grant(points=100, reason="welcome")), handler, memory, clock).headers == REPLAYED


def test_the_same_key_on_another_path_of_the_same_route_is_422(memory: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    # Given an operator's request for c-001 under key-1
    handler = Handler()
    run_idempotently(make_request(subject="op-1", path="/v1/customers/c-001/points"), handler, memory, clock)
    # When the operator reuses key-1 for c-002 on the same route template
    # Then the fingerprint (path and body) differs: the key was reused for another request
    with pytest.raises(errors.BusinessRuleViolation) as raised:
        run_idempotently(make_request(subject="op-1", path="/v1/customers/c-002/points"), handler, memory, clock)
    assert raised.value.code == "IDEMPOTENCY_KEY_REUSED"


# --- in flight ----------------------------------------------------------------------------------


def test_a_retry_while_the_first_is_running_is_409(memory: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    # Given a route that, while running, receives the same request again (a client retry)
    seen: list[BaseException] = []

    def slow_route() -> Response:
        try:
            run_idempotently(make_request(), Handler(), memory, clock)
        except errors.DomainError as error:
            seen.append(error)
        return created({"granted": 100})

    # When the first request runs
    response = run_idempotently(make_request(), slow_route, memory, clock)
    # Then the concurrent retry was refused with 409 IDEMPOTENCY_IN_PROGRESS and the first completed
    assert [type(e) for e in seen] == [errors.Conflict]
    assert isinstance(seen[0], errors.Conflict) and seen[0].code == "IDEMPOTENCY_IN_PROGRESS"
    assert response.status_code == 201


def test_an_in_flight_claim_with_another_body_is_422(memory: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    # Given an in-flight claim on key-1
    request = make_request()
    memory.claim(record_key(request, "key-1"), fingerprint(request), int(clock()))
    # When a different body arrives under key-1
    # Then the body mismatch is reported first
    with pytest.raises(errors.BusinessRuleViolation):
        run_idempotently(make_request(Grant(points=1, reason="other")), Handler(), memory, clock)


@pytest.mark.parametrize(("age", "runs"), [(IN_FLIGHT, False), (IN_FLIGHT + 1, True)])
def test_a_stale_in_flight_claim_is_taken_over(age: int, runs: bool, memory: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    # Given an in-flight claim whose holder died `age` seconds ago (the limit is 60 s)
    request = make_request()
    memory.claim(record_key(request, "key-1"), fingerprint(request), int(clock()))
    clock.advance(age)
    handler = Handler()
    # When the client retries
    if runs:
        response = run_idempotently(make_request(), handler, memory, clock)
        # Then past the limit the claim is taken over and the route runs
        assert response.status_code == 201 and handler.calls == 1
    else:
        # Then at the limit it is still in progress
        with pytest.raises(errors.Conflict):
            run_idempotently(make_request(), handler, memory, clock)
        assert handler.calls == 0


@pytest.mark.parametrize(("age", "replayed"), [(TTL, True), (TTL + 1, False)])
def test_an_expired_record_is_free_again(age: int, replayed: bool, memory: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    # Given a completed request, and `age` seconds later (the TTL is 24 h; TTL deletion is lazy)
    handler = Handler()
    run_idempotently(make_request(), handler, memory, clock)
    clock.advance(age)
    # When the same request is sent again
    response = run_idempotently(make_request(), handler, memory, clock)
    # Then within the TTL it replays, after it the route runs again
    assert ("Idempotent-Replayed" in response.headers) is replayed
    assert handler.calls == (1 if replayed else 2)


# --- releasing ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [400, 404, 409, 422, 500, 503])
def test_a_non_2xx_response_releases_the_key(status: int, memory: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    # Given a route that answers with a non-2xx status
    refusing = Handler(Response(status, content_types.APPLICATION_JSON, {"error": {"code": "X", "message": "m", "details": []}}))
    # When it runs, and the client retries with the same key
    first = run_idempotently(make_request(), refusing, memory, clock)
    retry = run_idempotently(make_request(), refusing, memory, clock)
    # Then the response is returned, no record remains, and the retry ran the route again
    assert first.status_code == retry.status_code == status
    assert "Idempotent-Replayed" not in retry.headers
    assert refusing.calls == 2
    assert memory.records == {}


@pytest.mark.parametrize("error", [errors.BusinessRuleViolation("no", code="BUDGET_EXHAUSTED"), RuntimeError("boom")])
def test_an_exception_releases_the_key_and_propagates(
    error: Exception, memory: InMemoryIdempotencyStore, clock: FakeClock
) -> None:
    # Given a route that raises
    failing = Handler(error=error)
    # When it runs
    with pytest.raises(type(error)):
        run_idempotently(make_request(), failing, memory, clock)
    # Then the key is released, so a corrected retry under the same key runs
    assert memory.records == {}
    working = Handler()
    assert run_idempotently(make_request(), working, memory, clock).status_code == 201
    assert working.calls == 1


def test_the_key_is_completed_with_the_time_the_route_finished(memory: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    # Given a route that takes 30 s
    start = int(clock())

    def slow() -> Response:
        clock.advance(30)
        return created({})

    # When it completes
    run_idempotently(make_request(), slow, memory, clock)
    # Then the TTL counts from completion
    assert next(iter(memory.records.values()))["expiresAt"] == start + 30 + TTL


# --- scoping ------------------------------------------------------------------------------------


def test_two_callers_using_the_same_key_do_not_collide(memory: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    # Given two customers who pick the same key for different bodies
    alice, bob = Handler(created({"who": "alice"})), Handler(created({"who": "bob"}))
    # When both send their request
    first = run_idempotently(make_request(Grant(points=1, reason="a"), subject="alice"), alice, memory, clock)
    second = run_idempotently(make_request(Grant(points=2, reason="b"), subject="bob"), bob, memory, clock)
    # Then each ran and got their own response; neither is a replay or a 422
    assert (first.body, second.body) == ({"who": "alice"}, {"who": "bob"})
    assert alice.calls == bob.calls == 1
    assert len(memory.records) == 2


def test_the_same_caller_and_key_on_two_routes_do_not_collide(memory: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    # Given one caller using key-1 on two different routes
    handler = Handler()
    # When both requests run
    run_idempotently(make_request(resource="/v1/a"), handler, memory, clock)
    response = run_idempotently(make_request(resource="/v1/b"), handler, memory, clock)
    # Then both ran
    assert handler.calls == 2 and "Idempotent-Replayed" not in response.headers


def test_the_default_store_is_used_when_none_is_given(store: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    # Given the process default store replaced by the in-memory one
    handler = Handler()
    # When run without an explicit store
    run_idempotently(make_request(), handler, clock=clock)
    # Then the default store holds the record
    assert list(store.records) == [f"c-001#POST#{ROUTE}#key-1"]


# --- exactly once under crashes (loyalty.core.commit_marker) -------------------------------------


class Writer(Handler):
    """A route whose business write marks the key it holds, as a Transaction does."""

    def __init__(self, memory: InMemoryIdempotencyStore, error: BaseException | None = None) -> None:
        super().__init__(error=error)
        self.memory = memory
        self.committed: list[bool] = []

    def __call__(self) -> Response:
        from loyalty.core.commit_marker import current_claim

        claim = current_claim()
        assert claim is not None
        self.committed.append(self.memory.commit(claim.key, claim.claimed_at))
        return super().__call__()


class Dies(InMemoryIdempotencyStore):
    """The process is killed after its commit: nothing after it runs."""

    def complete(self, key: str, status: int, body: Any, now: int) -> None:
        raise KeyboardInterrupt("killed")


def test_the_route_runs_holding_its_claim_and_only_while_it_runs(memory: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    from loyalty.core.commit_marker import current_claim

    # Given a route that writes
    writer = Writer(memory)
    # When it runs
    run_idempotently(make_request(), writer, memory, clock)
    # Then its write found the claim and marked it, and no claim is held afterwards
    assert writer.committed == [True] and current_claim() is None


@pytest.mark.parametrize(("age", "replayed"), [(IN_FLIGHT, False), (IN_FLIGHT + 1, True)])
def test_a_call_killed_after_its_commit_is_replayed_not_run_again(age: int, replayed: bool, clock: FakeClock) -> None:
    # Given a call whose process died right after its write committed
    dying = Dies(ttl_seconds=TTL, in_flight_seconds=IN_FLIGHT)
    first = Writer(dying)
    with pytest.raises(KeyboardInterrupt):
        run_idempotently(make_request(), first, dying, clock)
    clock.advance(age)
    retry = Writer(dying)
    replays: list[int] = []

    def replay() -> Response:
        replays.append(1)
        return Response(201, content_types.APPLICATION_JSON, {"granted": 100})

    # When the client retries with the same key
    if not replayed:
        # Then within the in-flight limit it is still in progress
        with pytest.raises(errors.Conflict) as refused:
            run_idempotently(make_request(), retry, dying, clock, replay=replay)
        assert refused.value.code == "IDEMPOTENCY_IN_PROGRESS"
    else:
        # Then past it the answer is rebuilt by the route's replay, and the route never runs again
        assert answer(run_idempotently(make_request(), retry, dying, clock, replay=replay)) == (201, {"granted": 100}, REPLAYED)
        assert replays == [1]
    assert retry.calls == 0


def test_a_committed_call_without_a_replay_is_409_committed(clock: FakeClock) -> None:
    # Given a call killed after its commit, on a route that cannot rebuild its answer
    dying = Dies(ttl_seconds=TTL, in_flight_seconds=IN_FLIGHT)
    with pytest.raises(KeyboardInterrupt):
        run_idempotently(make_request(), Writer(dying), dying, clock)
    clock.advance(IN_FLIGHT + 1)
    # When the client retries
    with pytest.raises(errors.Conflict) as refused:
        run_idempotently(make_request(), Writer(dying), dying, clock)
    # Then it is told the call was applied, and nothing runs again
    assert refused.value.code == "IDEMPOTENCY_COMMITTED"


def test_a_call_that_fails_after_its_commit_keeps_its_key(memory: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    # Given a route that writes, then fails
    failing = Writer(memory, error=RuntimeError("after the write"))
    with pytest.raises(RuntimeError):
        run_idempotently(make_request(), failing, memory, clock)
    # Then its key is not freed (a retry must not apply the write twice)
    record = memory.records[record_key(make_request(), "key-1")]
    assert record["state"] == "COMMITTED"
    clock.advance(IN_FLIGHT + 1)
    again = Writer(memory)
    with pytest.raises(errors.Conflict):
        run_idempotently(make_request(), again, memory, clock)
    assert again.calls == 0


def test_a_stale_claim_taken_over_cannot_commit_any_more(memory: InMemoryIdempotencyStore, clock: FakeClock) -> None:
    # Given a claim held by a slow call, taken over by a retry once stale
    request = make_request()
    key = record_key(request, "key-1")
    memory.claim(key, fingerprint(request), int(clock()))
    slow_claim = int(clock())
    clock.advance(IN_FLIGHT + 1)
    assert run_idempotently(make_request(), Writer(memory), memory, clock).status_code == 201
    # When the slow call's write finally tries to commit under its old claim
    # Then it is refused: the write is the retry's, once
    assert memory.commit(key, slow_claim) is False
