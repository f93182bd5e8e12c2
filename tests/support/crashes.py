"""Fault injection for exactly-once tests: a process that dies right after its business write.

The idempotency record store is a port (`loyalty.core.idempotency.IdempotencyRecordStore`); these
wrap the real one around the local cloud's in-process handlers:
- `DiesAfterCommit`: the next call stores no answer and frees nothing, as a process killed after its
  commit (the client sees a 500, the write is in the table, the key is left as the write marked it);
- `Later`: the same store, seen `seconds` later (a held claim is then stale), without waiting;
- `dies_after_answering`: the next API call runs to its end and its process dies before the answer
  leaves, for routes idempotent by their own keys ("domain"), which keep no idempotency record.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from loyalty.core import idempotency
from loyalty.core.config import get_settings

if TYPE_CHECKING:
    from infra.local.cloud import LocalCloud


class ProcessKilled(BaseException):
    """Not an Exception: nothing in the engine catches it, as nothing runs in a killed process."""


class DiesAfterCommit:
    def __init__(self, real: idempotency.IdempotencyRecordStore):
        self.real, self.killed = real, False

    def claim(self, key: str, fingerprint: str, now: int) -> dict[str, Any] | None:
        return self.real.claim(key, fingerprint, now)

    def complete(self, key: str, status: int, body: Any, now: int) -> None:
        self.killed = True
        raise ProcessKilled(f"killed after the commit of {key}")

    def release(self, key: str) -> None:
        if not self.killed:
            self.real.release(key)


class Later:
    def __init__(self, real: idempotency.IdempotencyRecordStore, seconds: int):
        self.real, self.seconds = real, seconds

    def claim(self, key: str, fingerprint: str, now: int) -> dict[str, Any] | None:
        existing = self.real.claim(key, fingerprint, now)
        if existing is not None and "claimedAt" in existing:
            existing = {**existing, "claimedAt": int(existing["claimedAt"]) - self.seconds}
            if existing.get("state") == "IN_FLIGHT" and existing["claimedAt"] < now - get_settings().idempotency_in_flight_seconds:
                # What the real claim does to an in-flight claim gone stale: takes it over (its
                # holder died before any marked write).
                self.real.release(key)
                return self.real.claim(key, fingerprint, now)
        return existing

    def complete(self, key: str, status: int, body: Any, now: int) -> None:
        self.real.complete(key, status, body, now)

    def release(self, key: str) -> None:
        self.real.release(key)


@contextmanager
def idempotency_store(store: idempotency.IdempotencyRecordStore) -> Iterator[None]:
    """The store every API call of the in-process local cloud uses, for the block."""
    real = idempotency.default_store()
    idempotency._store = store
    try:
        yield
    finally:
        idempotency._store = real


def real_store() -> idempotency.IdempotencyRecordStore:
    return idempotency.default_store()


@contextmanager
def dies_after_answering(cloud: LocalCloud) -> Iterator[None]:
    """The next API call of the in-process local cloud runs to its end, then its process dies before
    the answer leaves (the client sees the connection drop)."""
    registry = cloud.registry
    original = registry.invoke
    killed: list[str] = []

    def invoke(function: Any, event: dict[str, Any]) -> Any:
        result = original(function, event)
        if "httpMethod" in event and not killed:  # an API call, not a poller's delivery
            killed.append(str(event.get("path")))
            raise ProcessKilled(f"killed after {event.get('httpMethod')} {event.get('path')} ran")
        return result

    vars(registry)["invoke"] = invoke  # shadows the method on this instance only
    try:
        yield
    finally:
        vars(registry).pop("invoke", None)
