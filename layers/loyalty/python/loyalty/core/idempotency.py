"""Idempotency-Key handling for mutating API calls (see docs/idempotency.md).

- The key is scoped to the caller and the route, so two customers cannot collide.
- The first request claims the key with a conditional put; a replay with the same body gets the
  stored response, a replay with another body gets 422, a replay while the first is still running
  gets 409.
- Only successful (2xx) responses are kept. A refused or failed call releases the key, so a
  rejected call leaves no trace and the client may correct it and retry under the same key.
- Exactly once under crashes: the call's business write marks the key COMMITTED in the same
  transaction (`loyalty.core.commit_marker`); a retry never runs a committed call again.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from pynamodb.attributes import NumberAttribute, UnicodeAttribute

from loyalty.core import errors
from loyalty.core.config import get_settings
from loyalty.core.observability import logger
from loyalty.core.tables import ItemModel

if TYPE_CHECKING:
    from aws_lambda_powertools.event_handler import Response

    from loyalty.core.api import Call

MAX_KEY_LENGTH = 128


class IdempotencyRecordStore(Protocol):
    def claim(self, key: str, fingerprint: str, now: int) -> dict[str, Any] | None:
        """Claim `key`, or return the record that already holds it."""

    def complete(self, key: str, status: int, body: Any, now: int) -> None: ...

    def release(self, key: str) -> None: ...


class IdempotencyRecord(ItemModel):
    """The idempotency table's one item type: a key's claim, then the answer it got."""

    table_setting = "idempotency_table"

    class Meta:
        table_name = None

    pk = UnicodeAttribute(hash_key=True)
    state = UnicodeAttribute()  # IN_FLIGHT; COMMITTED once its business write is (commit_marker); COMPLETED
    fingerprint = UnicodeAttribute()
    claimedAt = NumberAttribute()
    expiresAt = NumberAttribute()  # the table's TTL attribute (epoch seconds)
    statusCode = NumberAttribute(null=True)
    responseBody = UnicodeAttribute(null=True)


class DynamoIdempotencyStore:
    def __init__(self, ttl_seconds: int, in_flight_seconds: int):
        self.ttl_seconds = ttl_seconds
        self.in_flight_seconds = in_flight_seconds

    def claim(self, key: str, fingerprint: str, now: int) -> dict[str, Any] | None:
        from loyalty.core.aws import dynamodb
        from loyalty.core.dynamo import from_item, is_condition_failure

        record = IdempotencyRecord(key, state="IN_FLIGHT", fingerprint=fingerprint, claimedAt=now, expiresAt=now + self.ttl_seconds)
        # TTL deletes lazily, so an expired record still counts as free; so does an in-flight claim
        # older than any Lambda can run (its holder died).
        free = (IdempotencyRecord.pk.does_not_exist() | (IdempotencyRecord.expiresAt < now)
                | ((IdempotencyRecord.state == "IN_FLIGHT") & (IdempotencyRecord.claimedAt < now - self.in_flight_seconds)))
        # PynamoDB's save() cannot ask for the item that refused it; its request can, sent as it is.
        request = record.get_save_kwargs_from_instance(condition=free, return_values_on_condition_failure="ALL_OLD")
        try:
            dynamodb().put_item(**request)
            return None
        except Exception as error:
            if is_condition_failure(error):
                return from_item(getattr(error, "response", {}).get("Item") or {})
            raise

    def complete(self, key: str, status: int, body: Any, now: int) -> None:
        IdempotencyRecord(key).update(actions=[
            IdempotencyRecord.state.set("COMPLETED"),
            IdempotencyRecord.statusCode.set(status),
            IdempotencyRecord.responseBody.set(json.dumps(body, separators=(",", ":"))),
            IdempotencyRecord.expiresAt.set(now + self.ttl_seconds),
        ])

    def release(self, key: str) -> None:
        """Frees the key, unless the call committed a write before it failed: that stays marked,
        so a retry replays rather than applies it twice."""
        from pynamodb.exceptions import DeleteError

        from loyalty.core.dynamo import is_condition_failure

        try:
            IdempotencyRecord(key).delete(condition=IdempotencyRecord.state == "IN_FLIGHT")
        except DeleteError as error:
            if not is_condition_failure(error):
                raise


_store: IdempotencyRecordStore | None = None


def default_store() -> IdempotencyRecordStore:
    global _store
    if _store is None:
        settings = get_settings()
        _store = DynamoIdempotencyStore(settings.idempotency_ttl_seconds, settings.idempotency_in_flight_seconds)
    return _store


def fingerprint(call: Call) -> str:
    # The parsed body, re-serialised canonically: key order and whitespace do not make a new request.
    body = call.body.model_dump(mode="json") if call.body is not None else None
    canonical = json.dumps({"path": call.path, "body": body}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def record_key(call: Call, key: str) -> str:
    return f"{call.caller.subject}#{call.method}#{call.resource}#{key}"


def require_key(call: Call) -> str:
    key = call.idempotency_key
    if not key:
        raise errors.InvalidInput("mutating calls need an Idempotency-Key header", code="IDEMPOTENCY_KEY_REQUIRED")
    if len(key) > MAX_KEY_LENGTH or not key.isprintable():
        raise errors.InvalidInput(
            f"the Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable characters", code="IDEMPOTENCY_KEY_INVALID"
        )
    return key


def run_idempotently(
    call: Call,
    handle: Callable[[], Response],
    store: IdempotencyRecordStore | None = None,
    clock: Callable[[], float] = time.time,
    replay: Callable[[], Response] | None = None,
) -> Response:
    """`replay` answers a retry whose first try committed and then died before storing its answer
    (the resource as it now is); without one, such a retry gets 409 IDEMPOTENCY_COMMITTED."""
    from aws_lambda_powertools.event_handler import Response, content_types

    from loyalty.core.commit_marker import Claim, holding

    store = store or default_store()
    key = record_key(call, require_key(call))
    request_fingerprint = fingerprint(call)
    now = int(clock())
    existing = store.claim(key, request_fingerprint, now)
    if existing is not None:
        if existing.get("fingerprint") != request_fingerprint:
            raise errors.BusinessRuleViolation(
                "this Idempotency-Key was used with a different request", code="IDEMPOTENCY_KEY_REUSED"
            )
        if existing.get("state") == "COMMITTED" and _stale(existing, now):
            return _replayed(key, replay)
        if existing.get("state") != "COMPLETED":
            raise errors.Conflict("a request with this Idempotency-Key is still in progress", code="IDEMPOTENCY_IN_PROGRESS")
        logger.info("idempotent replay", extra={"idempotency_key": key})
        return Response(int(existing["statusCode"]), content_types.APPLICATION_JSON, json.loads(existing["responseBody"]),
                        {"Idempotent-Replayed": "true"})
    try:
        with holding(Claim(key, now)):
            response = handle()
    except BaseException:
        store.release(key)
        raise
    if 200 <= response.status_code < 300:
        store.complete(key, response.status_code, response.body, int(clock()))
    else:
        store.release(key)
    return response


def _stale(record: dict[str, Any], now: int) -> bool:
    """Its holder has had longer than any Lambda runs: it died after its commit."""
    return int(record.get("claimedAt", now)) < now - get_settings().idempotency_in_flight_seconds


def _replayed(key: str, replay: Callable[[], Response] | None) -> Response:
    logger.warning("a retry found its first try committed without an answer; replayed, not run again", extra={"idempotency_key": key})
    if replay is None:
        raise errors.Conflict("this request was applied, but its answer was lost: read the resource for its outcome",
                              code="IDEMPOTENCY_COMMITTED")
    response = replay()
    response.headers["Idempotent-Replayed"] = "true"
    return response
