"""Test doubles for our own ports (never for AWS clients)."""

from __future__ import annotations

import json
from typing import Any

from loyalty.core.idempotency import IdempotencyRecordStore


class FakeClock:
    """A `time.time` stand-in that moves only when told to."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class InMemoryIdempotencyStore:
    """`IdempotencyRecordStore` with the semantics of `DynamoIdempotencyStore`.

    - `claim` is the conditional put: it succeeds (returns None and writes an IN_FLIGHT record) when
      there is no record, when the record has expired (`expiresAt < now`; TTL deletes lazily), or when
      it is an IN_FLIGHT claim older than `in_flight_seconds` (its holder died). Otherwise it returns
      the existing record, as `ReturnValuesOnConditionCheckFailure=ALL_OLD` does.
    - `complete` is the update: COMPLETED, the status, the body as compact JSON text, a fresh TTL.
    - `release` deletes the record, unless the call committed a write (state COMMITTED).
    - `commit` is what a business transaction's mark does (`loyalty.core.commit_marker`): COMMITTED,
      only while the claim is still the one given.
    """

    def __init__(self, ttl_seconds: int = 24 * 3600, in_flight_seconds: int = 60) -> None:
        self.ttl_seconds = ttl_seconds
        self.in_flight_seconds = in_flight_seconds
        self.records: dict[str, dict[str, Any]] = {}
        self.claims: list[str] = []
        self.releases: list[str] = []

    def claim(self, key: str, fingerprint: str, now: int) -> dict[str, Any] | None:
        self.claims.append(key)
        existing = self.records.get(key)
        claimable = (
            existing is None
            or existing["expiresAt"] < now
            or (existing["state"] == "IN_FLIGHT" and existing["claimedAt"] < now - self.in_flight_seconds)
        )
        if not claimable:
            assert existing is not None
            return dict(existing)
        self.records[key] = {
            "pk": key,
            "state": "IN_FLIGHT",
            "fingerprint": fingerprint,
            "claimedAt": now,
            "expiresAt": now + self.ttl_seconds,
        }
        return None

    def complete(self, key: str, status: int, body: Any, now: int) -> None:
        record = self.records.setdefault(key, {"pk": key})  # UpdateItem upserts
        record.update(
            state="COMPLETED",
            statusCode=status,
            responseBody=json.dumps(body, separators=(",", ":")),
            expiresAt=now + self.ttl_seconds,
        )

    def release(self, key: str) -> None:
        self.releases.append(key)
        if self.records.get(key, {}).get("state") == "IN_FLIGHT":
            self.records.pop(key)

    def commit(self, key: str, claimed_at: int) -> bool:
        record = self.records.get(key)
        if record is None or record["claimedAt"] != claimed_at or record["state"] not in ("IN_FLIGHT", "COMMITTED"):
            return False
        record["state"] = "COMMITTED"
        return True


# Statically checked by mypy: the fake satisfies the port.
_conforms: IdempotencyRecordStore = InMemoryIdempotencyStore()


class FakeLambdaContext:
    """The few attributes of the Lambda context object that Powertools reads."""

    function_name = "unit-test-function"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    invoked_function_arn = "arn:aws:lambda:ap-east-1:000000000000:function:unit-test-function"
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    log_group_name = "/aws/lambda/unit-test-function"
    log_stream_name = "unit"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


LAMBDA_CONTEXT = FakeLambdaContext()
