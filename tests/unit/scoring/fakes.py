"""`loyalty.scoring.store.ScoringStore` in memory, with the conditions `DynamoScoringStore` enforces:

- `commit` is all or nothing: the event's marker must not exist, the STATE must still be at the
  version read (0: none), the profile must exist and not be erased; a refusal raises by the first of
  those (AlreadyApplied, StaleState, UnknownCustomer) and writes nothing. More than 100 items is
  InvalidWrites. `conflicts` makes the next commits fail as a conflicting transaction would.
- `save_version` moves the version in force only from the version before (VERSION_CONFLICT);
  `reserve_segment` takes an id once (SEGMENT_EXISTS) and counts against the limit (SEGMENT_LIMIT_REACHED).
- `claim` takes a lease only when none is held or it ran out.
- `park` keeps one event per (customer, occurrence), the first; `before_park` runs just before a
  parking lands (a profile arriving meanwhile); `parked_before` pages a bucket's events parked before a time.
Records are plain dicts with the stored attribute names, as the Dynamo store's `plain()` gives them.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from loyalty.core.errors import BusinessRuleViolation, Conflict, NotFound
from loyalty.core.outbox import PendingEvent
from loyalty.core.parking import index_sort_key
from loyalty.customers.model import CustomerProfile
from loyalty.scoring.identities import SHARED_CAP
from loyalty.scoring.items import MANAGER_SHARDS, STATE_BUCKETS, manager_shard, state_bucket
from loyalty.scoring.parking import ParkedEvent
from loyalty.scoring.store import (
    MAX_TRANSACTION_ITEMS,
    AlreadyApplied,
    InvalidWrites,
    Kind,
    Rescoring,
    StaleState,
    UnknownCustomer,
)


class InMemoryScoringStore:
    def __init__(self) -> None:
        self.states: dict[str, dict[str, Any]] = {}
        self.customers: dict[str, CustomerProfile] = {}
        self.scored: dict[str, dict[str, Any]] = {}  # what record_scores wrote on each profile
        self.markers: set[tuple[str, str]] = set()
        self.members_of: dict[str, dict[str, str]] = {}  # segment -> customer -> since
        self.books: dict[str, dict[str, float]] = {}  # manager -> customer -> value
        self.identity: dict[str, dict[str, dict[str, str]]] = {}  # keyed hash -> customer -> item
        self.outbox: list[PendingEvent] = []
        self.pointers: dict[Kind, dict[str, dict[str, Any]]] = {"MODEL": {}, "SEGMENT": {}}
        self.saved: dict[tuple[Kind, str, int], dict[str, Any]] = {}
        self.segment_ids: set[str] = set()
        self.segment_count = 0
        self.runs: dict[str, dict[str, Any]] = {}
        self.latest: dict[str, Any] | None = None
        self.scans: dict[tuple[str, int], dict[str, Any]] = {}
        self.leases: dict[str, str] = {}
        self.conflicts = 0  # the next commits refused as a conflicting transaction would be
        self.commits: list[list[Rescoring]] = []  # every commit attempted
        self.reads: dict[str, int] = {"state": 0, "in_force": 0}
        self.after_state_read: Callable[[str], None] | None = None  # a concurrent writer, between read and write
        self.parked_events: dict[tuple[str, str], ParkedEvent] = {}  # (customer, occurrence) -> event
        self.before_park: Callable[[ParkedEvent], None] | None = None

    # ---- test set-up ------------------------------------------------------------------------------

    def add_profile(self, customer_id: str, **fields: Any) -> None:
        self.customers[customer_id] = CustomerProfile.model_validate(
            {"customerId": customer_id, "changedAt": "2026-11-01T00:00:00.000000Z", "sourceEventId": "e-0", **fields})

    # ---- StateStore -------------------------------------------------------------------------------

    def state(self, customer_id: str) -> dict[str, Any] | None:
        self.reads["state"] += 1
        found = copy.deepcopy(self.states.get(customer_id))
        if self.after_state_read is not None:
            self.after_state_read(customer_id)
        return found

    def profile(self, customer_id: str) -> CustomerProfile | None:
        return self.customers.get(customer_id)

    def profiles(self, customer_ids: Sequence[str]) -> dict[str, CustomerProfile]:
        return {c: self.customers[c] for c in customer_ids if c in self.customers}

    def in_force(self, kind: Kind) -> list[dict[str, Any]]:
        self.reads["in_force"] += 1
        return [copy.deepcopy(record) for _, record in sorted(self.pointers[kind].items())]

    def commit(self, rescorings: Sequence[Rescoring]) -> None:
        self.commits.append(list(rescorings))
        if sum(r.items for r in rescorings) > MAX_TRANSACTION_ITEMS:
            raise InvalidWrites("more than a transaction holds")
        if any(r.marker and (r.customer_id, r.marker[0]) in self.markers for r in rescorings):
            raise AlreadyApplied()
        if any(int(self.states.get(r.customer_id, {}).get("version", 0)) != r.version for r in rescorings):
            raise StaleState()
        if any(r.customer_id not in self.customers or self.customers[r.customer_id].erased for r in rescorings):
            raise UnknownCustomer()
        if self.conflicts:
            self.conflicts -= 1
            raise StaleState()
        for r in rescorings:
            self._apply(r)

    def _apply(self, r: Rescoring) -> None:
        customer = r.customer_id
        if r.marker:
            self.markers.add((customer, r.marker[0]))
        before = self.states.get(customer, {}) if not r.replace else {}
        self.states[customer] = {**before, "pk": f"CUST#{customer}", "sk": "STATE", "customerId": customer,
                                 "gsi2pk": f"CUSTOMERS#{state_bucket(customer)}", "gsi2sk": customer, **copy.deepcopy(r.state),
                                 "version": r.version + 1}
        self.scored[customer] = {"lifecycleStage": r.stage, "segments": r.segments, "scores": r.scores, "scoredAt": r.at}
        for segment in r.entered:
            self.members_of.setdefault(segment, {})[customer] = r.at
        for segment in r.left:
            self.members_of.get(segment, {}).pop(customer, None)
        if r.leave_manager:
            self.books.get(r.leave_manager, {}).pop(customer, None)
        if r.join_manager:
            self.books.setdefault(r.join_manager, {})[customer] = r.value
        self.outbox += r.events
        for keyed, kind in r.identities_added.items():
            self.identity.setdefault(keyed, {}).setdefault(customer, {"customerId": customer, "kind": kind, "firstSeenAt": r.at})
        for keyed in r.identities_retired:
            self.identity.get(keyed, {}).pop(customer, None)

    def others_on(self, keyed: str, customer_id: str) -> int:
        return min(len([c for c in self.identity.get(keyed, {}) if c != customer_id]), SHARED_CAP)

    def customers_on(self, keyed: str, except_customer: str, limit: int) -> list[str]:
        return [c for c in sorted(self.identity.get(keyed, {})) if c != except_customer][:limit]

    def park(self, event: ParkedEvent) -> bool:
        if self.before_park is not None:
            self.before_park(event)
        key = (event.customerId, event.occurrence)
        new = key not in self.parked_events
        self.parked_events.setdefault(key, copy.deepcopy(event))
        return new

    def parked(self, customer_id: str) -> list[ParkedEvent]:
        return [copy.deepcopy(e) for (c, _), e in sorted(self.parked_events.items()) if c == customer_id]

    def unpark(self, customer_id: str, occurrence: str) -> None:
        self.parked_events.pop((customer_id, occurrence), None)

    def parked_before(self, bucket: int, before: str, limit: int, cursor: dict[str, Any] | None
                      ) -> tuple[list[ParkedEvent], dict[str, Any] | None]:
        ordered = sorted((index_sort_key(e), e) for e in self.parked_events.values()
                         if state_bucket(e.customerId) == bucket and index_sort_key(e) < before)
        after = [(k, e) for k, e in ordered if cursor is None or k > cursor["at"]]
        chosen = after[:limit]
        return [copy.deepcopy(e) for _, e in chosen], {"at": chosen[-1][0]} if len(after) > limit else None

    # ---- ConfigStore ------------------------------------------------------------------------------

    def in_force_page(self, kind: Kind, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        names = sorted(self.pointers[kind])
        start = names.index(cursor) + 1 if cursor else 0
        chosen = names[start : start + limit]
        return [copy.deepcopy(self.pointers[kind][n]) for n in chosen], chosen[-1] if start + limit < len(names) else None

    def version(self, kind: Kind, name: str, version: int | None = None) -> dict[str, Any]:
        found = self.pointers[kind].get(name) if version is None else self.saved.get((kind, name, version))
        if found is None:
            raise NotFound(f"{kind.lower()} {name} does not exist", code=f"{kind}_NOT_FOUND")
        return copy.deepcopy(found)

    def save_version(self, kind: Kind, name: str, version: int, body: dict[str, Any]) -> None:
        current = int(self.pointers[kind].get(name, {}).get("version", 0))
        if current != version - 1 or (kind, name, version) in self.saved:
            raise Conflict(f"{kind.lower()} {name} changed meanwhile", code="VERSION_CONFLICT")
        record = {"pk": f"{kind}S", "sk": name, "version": version, **body}
        self.saved[(kind, name, version)] = record
        self.pointers[kind][name] = record

    def reserve_segment(self, segment_id: str, limit: int) -> None:
        if self.segment_count >= limit:
            raise BusinessRuleViolation(f"at most {limit} segments", code="SEGMENT_LIMIT_REACHED")
        if segment_id in self.segment_ids:
            raise Conflict(f"segment {segment_id} already exists", code="SEGMENT_EXISTS")
        self.segment_count += 1
        self.segment_ids.add(segment_id)

    def members(self, segment_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        after = [(c, s) for c, s in sorted(self.members_of.get(segment_id, {}).items()) if cursor is None or c > cursor]
        chosen = after[:limit]
        return [{"customerId": c, "segmentId": segment_id, "since": s} for c, s in chosen], chosen[-1][0] if len(after) > limit else None

    def states_page(self, segment: int, total: int, cursor: dict[str, Any] | None, limit: int
                    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        ordered = sorted((b, c) for c in self.states for b in [state_bucket(c)] if b % total == segment and b < STATE_BUCKETS)
        start = ordered.index(tuple(cursor["at"])) + 1 if cursor else 0
        chosen = ordered[start : start + limit]
        following = {"at": list(chosen[-1])} if chosen and start + limit < len(ordered) else None
        return [copy.deepcopy(self.states[c]) for _, c in chosen], following

    def latest_run(self) -> dict[str, Any] | None:
        return copy.deepcopy(self.latest)

    def manager_values(self, manager_id: str) -> list[float]:
        return list(self.books.get(manager_id, {}).values())

    def manager_books(self, limit: int, shard: int, after: str | None) -> tuple[dict[str, list[float]], tuple[int, str | None] | None]:
        ordered = sorted((manager_shard(m), m) for m in self.books if self.books[m])
        remaining = [(s, m) for s, m in ordered if (s, m) > (shard, after or "")]
        chosen = remaining[:limit]
        following = (chosen[-1][0], chosen[-1][1]) if len(remaining) > limit else None
        assert all(s < MANAGER_SHARDS for s, _ in chosen)
        return {m: list(self.books[m].values()) for _, m in chosen}, following

    # ---- RunStore ---------------------------------------------------------------------------------

    def run(self, run_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.runs.get(run_id))

    def put_run(self, record: dict[str, Any]) -> None:
        self.runs[record["runId"]] = copy.deepcopy(record)

    def put_latest_run(self, run_id: str, customers: int) -> None:
        self.latest = {"runId": run_id, "customers": customers}

    def checkpoint(self, run_id: str, segment: int) -> dict[str, Any] | None:
        return copy.deepcopy(self.scans.get((run_id, segment)))

    def put_checkpoint(self, run_id: str, record: dict[str, Any]) -> None:
        self.scans[(run_id, record["segment"])] = copy.deepcopy(record)

    def checkpoints(self, run_id: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(r) for (run, _), r in sorted(self.scans.items()) if run == run_id]

    def claim(self, run_id: str, until: str, now: str) -> bool:
        held = self.leases.get(run_id)
        if held is not None and not held < now:
            return False
        self.leases[run_id] = until
        return True

    def release(self, run_id: str) -> None:
        self.leases.pop(run_id, None)
