"""Exactly once under crashes: an API call's business write carries its Idempotency-Key's mark.

A call in the generic idempotency mode (`loyalty.core.idempotency`) claims its key, runs, then
stores its answer. A process that dies between its business write and storing the answer used to
leave the key "in flight": once that claim went stale, a retry ran the operation again (stock added
twice). Now every write the call makes while it holds the claim also marks the key `COMMITTED`, in
the same transaction, conditioned on the claim still being this call's (`claimedAt`). So:
- a retry that finds the key `COMMITTED` knows the write happened and never runs it again: it
  answers from the route's replay (the resource as it now is), or 409 `IDEMPOTENCY_COMMITTED`;
- a call whose stale claim a retry took over cannot commit any more: its write is refused, 409.

The claim travels in a context variable (one per thread of the local cloud, one per Lambda
invocation). `loyalty.core.transactions.Transaction` adds the mark to its transaction; a model's
plain `save`, `update` and `delete` (`loyalty.core.tables.ItemModel`) become a two-item transaction
while a claim is held. Batch writes and raw requests are not marked: the routes that use them are
idempotent by their own keys (a code upload is named by its key; an erasure can run again).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

MARK_LABEL = "idempotency-claim"


@dataclass(frozen=True)
class Claim:
    key: str  # the idempotency record's key
    claimed_at: int  # the claim's `claimedAt`: whose claim it is


_current: ContextVar[Claim | None] = ContextVar("idempotency_claim", default=None)


def current_claim() -> Claim | None:
    return _current.get()


@contextmanager
def holding(claim: Claim) -> Iterator[None]:
    token = _current.set(claim)
    try:
        yield
    finally:
        _current.reset(token)


@contextmanager
def released() -> Iterator[None]:
    """Writes that are not the call's business (the idempotency record's own): never marked."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)
