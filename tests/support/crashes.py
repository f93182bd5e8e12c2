"""Fault injection for exactly-once tests: a process that dies right after its business write.

The idempotency record store is a port (`loyalty.core.idempotency.IdempotencyRecordStore`); these
wrap the real one around the local cloud's in-process handlers:
- `DiesAfterCommit`: the next call stores no answer and frees nothing, as a process killed after its
  commit (the client sees a 500, the write is in the table, the key is left as the write marked it);
- `Later`: the same store, seen `seconds` later (a held claim is then stale), without waiting.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from loyalty.core import idempotency


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
