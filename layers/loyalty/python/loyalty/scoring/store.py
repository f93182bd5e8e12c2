"""What the scoring use cases need of storage: the ports they are typed to (`StateStore` for a
re-scoring, `ConfigStore` for the operator's configuration and what segments hold, `RunStore` for the
nightly run), what one re-scoring writes (`Rescoring`), and how a refused one failed.

A re-scoring is one transaction: the event's marker (refused if the event was applied), the state
(refused unless still at the version read), the profile's scores through the customers port (refused
unless the customer exists and is not erased), the membership changes, the identity and
relationship-manager index items, and the outbox events. Which condition refused it says what
happened. The DynamoDB implementation is `store_dynamo.DynamoScoringStore`, on the models of
`items.py`; the unit tests run the use cases against in-memory ones.

Records are plain dicts keyed by the stored attribute names (as `ScoringItem.plain()` gives them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from loyalty.core.outbox import PendingEvent
from loyalty.scoring.items import MANAGER_SHARDS, STATE_BUCKETS, manager_key, manager_shard, state_bucket, state_key

if TYPE_CHECKING:
    from loyalty.customers.model import CustomerProfile
    from loyalty.scoring.parking import ParkedEvent

__all__ = ["MANAGER_SHARDS", "STATE_BUCKETS", "manager_key", "manager_shard", "state_bucket", "state_key"]

Kind = Literal["MODEL", "SEGMENT"]
MAX_TRANSACTION_ITEMS = 100  # DynamoDB's limit for one TransactWriteItems


class AlreadyApplied(Exception):
    """The source event's marker exists: this event was scored before."""


class StaleState(Exception):
    """The state changed between the read and the write; read again."""


class UnknownCustomer(Exception):
    """No profile yet, or an erased customer's tombstone: nothing is derived about them."""


class InvalidWrites(Exception):
    """DynamoDB refuses the writes as malformed (or they exceed one transaction): retrying cannot help."""


@dataclass(frozen=True)
class Rescoring:
    """Everything one re-scoring of a customer writes, in one transaction."""

    customer_id: str
    version: int  # the STATE version read (0: never scored): the write is conditioned on it
    state: dict[str, Any]  # the STATE attributes written, by stored name
    replace: bool  # the whole STATE (with its features: an event), or only the scores (features untouched)
    stage: str
    segments: list[str]
    scores: dict[str, Any]
    at: str
    entered: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)
    leave_manager: str | None = None  # the former manager's book the customer leaves
    join_manager: str | None = None  # the manager's book (re)written with the customer's value
    value: float = 0.0
    events: list[PendingEvent] = field(default_factory=list)
    marker: tuple[str, int] | None = None  # (the occurrence applied, now as epoch seconds)
    identities_added: dict[str, str] = field(default_factory=dict)  # keyed hash -> kind
    identities_retired: list[str] = field(default_factory=list)

    @property
    def items(self) -> int:
        """How many transaction items it takes (a transaction holds at most 100)."""
        return (2 + (self.marker is not None) + len(self.entered) + len(self.left) + (self.leave_manager is not None)
                + (self.join_manager is not None) + len(self.events) + len(self.identities_added) + len(self.identities_retired))


def manager_moves(was: str | None, manager: str | None, value_changed: bool) -> tuple[str | None, str | None]:
    """(the book the customer leaves, the book they are written in): the relationship-manager index
    follows the profile. Plain writes: the STATE version condition in the same transaction orders them."""
    leave = was if was and was != manager else None
    join = manager if manager and (manager != was or value_changed) else None
    return leave, join


class StateStore(Protocol):
    """A customer's re-scoring: their state, their profile (the customers port), the models and
    segments in force, the identity index, and the one transaction that writes it all."""

    def state(self, customer_id: str) -> dict[str, Any] | None:
        """The STATE record, read consistently."""

    def profile(self, customer_id: str) -> CustomerProfile | None: ...

    def profiles(self, customer_ids: Sequence[str]) -> dict[str, CustomerProfile]: ...

    def in_force(self, kind: Kind) -> list[dict[str, Any]]:
        """Every model (`MODELS`) or segment (`SEGMENTS`) in force, read consistently."""

    def commit(self, rescorings: Sequence[Rescoring]) -> None:
        """One transaction of whole customers. Raises AlreadyApplied, StaleState or UnknownCustomer
        by the first refusal (in that order), InvalidWrites when DynamoDB refuses the request itself."""

    def others_on(self, keyed: str, customer_id: str) -> int:
        """How many customers other than this one a keyed hash is recorded for, up to SHARED_CAP."""

    def customers_on(self, keyed: str, except_customer: str, limit: int) -> list[str]:
        """Up to `limit` customers recorded on the keyed hash, other than `except_customer`."""

    # ---- events parked until their customer's profile arrives (parking.py) ------------------------

    def park(self, event: ParkedEvent) -> bool:
        """Keeps the event until the profile arrives: one item per occurrence, so False (and nothing
        written: the first parking's time stays) when it was parked before."""

    def parked(self, customer_id: str) -> list[ParkedEvent]:
        """The customer's parked events, read consistently, in no particular order."""

    def unpark(self, customer_id: str, occurrence: str) -> None:
        """Deletes the parked event (nothing when it is gone already)."""

    def parked_before(self, bucket: int, before: str, limit: int, cursor: dict[str, Any] | None
                      ) -> tuple[list[ParkedEvent], dict[str, Any] | None]:
        """Up to `limit` events of the customers of `bucket` (`items.state_bucket`) parked before
        `before` (ISO UTC), oldest first, from `cursor`; the cursor to go on from, None at the end."""


class ConfigStore(Protocol):
    """Operator configuration (versioned models and segments) and what segments hold."""

    def in_force(self, kind: Kind) -> list[dict[str, Any]]: ...

    def in_force_page(self, kind: Kind, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of what is in force, by name; the cursor of the next page (400 for a foreign one)."""

    def version(self, kind: Kind, name: str, version: int | None = None) -> dict[str, Any]:
        """The version in force (None) or a saved version; 404 `<KIND>_NOT_FOUND` when there is none."""

    def save_version(self, kind: Kind, name: str, version: int, body: dict[str, Any]) -> None:
        """Version `version`, in force at once, moved only from the version before: 409 VERSION_CONFLICT
        when another save won the race."""

    def reserve_segment(self, segment_id: str, limit: int) -> None:
        """Takes the id once and counts it against `limit`: 422 SEGMENT_LIMIT_REACHED, 409 SEGMENT_EXISTS."""

    def members(self, segment_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]: ...

    def states_page(self, segment: int, total: int, cursor: dict[str, Any] | None, limit: int
                    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Up to `limit` STATE records of scan segment `segment` of `total` (the buckets b with
        b % total == segment, in order), from `cursor`; the cursor to go on from, None at its end."""

    def latest_run(self) -> dict[str, Any] | None: ...

    def manager_values(self, manager_id: str) -> list[float]: ...

    def manager_books(self, limit: int, shard: int, after: str | None) -> tuple[dict[str, list[float]], tuple[int, str | None] | None]:
        """Up to `limit` managers' value scores, whole books only, from after manager `after` of
        `shard`; the (shard, last manager) to go on from, None at the end."""


class RunStore(Protocol):
    """The nightly run's records: the run, the latest run's pointer, each scan segment's checkpoint
    and the lease of the invocation working on it."""

    def run(self, run_id: str) -> dict[str, Any] | None: ...

    def put_run(self, record: dict[str, Any]) -> None: ...

    def latest_run(self) -> dict[str, Any] | None: ...

    def put_latest_run(self, run_id: str, customers: int) -> None: ...

    def checkpoint(self, run_id: str, segment: int) -> dict[str, Any] | None: ...

    def put_checkpoint(self, run_id: str, record: dict[str, Any]) -> None: ...

    def checkpoints(self, run_id: str) -> list[dict[str, Any]]: ...

    def claim(self, run_id: str, until: str, now: str) -> bool:
        """The run's lease until `until`, unless another holder's has not run out yet."""

    def release(self, run_id: str) -> None: ...


class ScoringStore(StateStore, ConfigStore, RunStore, Protocol):
    """All of it: the nightly run re-scores, saves cut points and keeps its records."""
