"""Scoring use cases: an event re-scores its customer; the scores an operator reads.

Each event is applied by reading the customer's state, applying it with the pure feature logic,
scoring with the models in force, and writing everything in one transaction conditioned on the
version read, on the event's marker not existing and on the profile existing (`store.Rescoring`).
An event carrying device or phone hashes also records them in the identity index (identities.py),
in the same transaction, and counts the other customers on them (`sharedIdentityAccounts`). An
event whose customer has no profile yet is parked and applied when the profile arrives (parking.py,
`park`, `drain`); a scheduled `sweep` applies what a profile's event missed and reports what waits too long.

The use cases are typed to the store's ports (`store.StateStore`, ...): the unit tests run them on
in-memory stores, the functions on `store_dynamo.DynamoScoringStore`.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Literal

from loyalty.core import config_cache, pii
from loyalty.core import parking as parked_events
from loyalty.core.clock import business_date, iso_utc
from loyalty.core.config import get_settings
from loyalty.core.errors import Conflict, InvalidInput, NotFound
from loyalty.core.observability import count, logger
from loyalty.core.outbox import PendingEvent
from loyalty.scoring import features, identities, inbound, parking, scores
from loyalty.scoring.assess import MODEL_NAMES, SOURCE, Outcome, events_for, models_of, outcome_of, value_segment
from loyalty.scoring.defaults import DEFAULT_MODELS
from loyalty.scoring.features import FeatureState
from loyalty.scoring.models import ScoringModels
from loyalty.scoring.segments import Facts, SegmentDefinition
from loyalty.scoring.store import (
    AlreadyApplied,
    ConfigStore,
    Rescoring,
    StaleState,
    StateStore,
    UnknownCustomer,
    manager_moves,
)

if TYPE_CHECKING:
    from loyalty.customers.model import CustomerProfile
    from loyalty.scoring.store_dynamo import DynamoScoringStore

MAX_ATTEMPTS = 8
# Models and segments change rarely and are read on every event: kept in memory for
# RULES_CACHE_SECONDS (this instance forgets at once when it saves a version).
_CONFIG_KEYS = (("scoring", "models"), ("scoring", "segments"))


@cache
def default_store() -> DynamoScoringStore:
    from loyalty.scoring.store_dynamo import DynamoScoringStore

    return DynamoScoringStore()


def forget_cached_config() -> None:
    for key in _CONFIG_KEYS:
        config_cache.forget(key)


def model_pointers(store: StateStore | ConfigStore) -> dict[str, dict[str, Any]]:
    """Per model, the version in force: {version, config, updatedBy, updatedAt}; version 0 is the default."""
    saved = {item["sk"]: item for item in store.in_force("MODEL")}
    return {
        name: {"version": int(saved[name]["version"]), "config": json.loads(saved[name]["config"]),
               "updatedBy": saved[name]["updatedBy"], "updatedAt": saved[name]["updatedAt"]}
        if name in saved else {"version": 0, "config": DEFAULT_MODELS[name], "updatedBy": "default", "updatedAt": None}
        for name in MODEL_NAMES
    }


def active_models(store: StateStore) -> tuple[ScoringModels, dict[str, int]]:
    def load() -> tuple[ScoringModels, dict[str, int]]:
        pointers = model_pointers(store)
        return models_of({n: p["config"] for n, p in pointers.items()}), {n: p["version"] for n, p in pointers.items()}

    return config_cache.cached(_CONFIG_KEYS[0], get_settings().rules_cache_seconds, load)


def active_segments(store: StateStore) -> list[SegmentDefinition]:
    def load() -> list[SegmentDefinition]:
        return [SegmentDefinition.model_validate_json(item["definition"]) for item in store.in_force("SEGMENT")]

    return config_cache.cached(_CONFIG_KEYS[1], get_settings().rules_cache_seconds, load)


def bank_today(now: datetime) -> date:
    return business_date(now, get_settings().bank_zone)


def assess(state: FeatureState, profile: Mapping[str, Any], models: ScoringModels, segments: list[SegmentDefinition], today: date,
           shared_identity_accounts: int = 0) -> tuple[Outcome, Facts, date]:
    """Scores as of today, or as of the newest bucket when an event is dated after today (clock skew)."""
    as_of = max(today, state.latestDay or today)
    facts = Facts.of_profile(profile)
    found = scores.score(features.snapshot(state, as_of, shared_identity_accounts), value_segment(models.value, facts), models)
    return outcome_of(found, facts, segments), facts, as_of


def rescoring(
    customer_id: str, before: Mapping[str, Any], outcome: Outcome, facts: Facts, versions: dict[str, int], now: datetime, cause: str,
    state_sets: dict[str, Any],
) -> Rescoring:
    """The writes of one re-scoring: the state (`state_sets` with the features: the whole STATE; else
    only the scores), the profile, membership changes, the relationship-manager index, and the events
    they announce."""
    at = iso_utc(now)
    value_before = (before.get("scores") or {}).get("value")
    value = float(outcome.scores["value"])
    leave, join = manager_moves((before.get("facts") or {}).get("relationshipManagerId"), facts.relationshipManagerId,
                                value_before is None or float(value_before) != value)
    record = {"scores": outcome.scores, "stage": outcome.stage, "gated": outcome.gated, "segments": outcome.segments,
              "modelVersions": versions, "facts": {k: v for k, v in facts.as_record().items() if v is not None}, "scoredAt": at, **state_sets}
    was = set(before.get("segments") or [])
    events = [PendingEvent(SOURCE, kind, detail) for kind, detail in events_for(customer_id, before or None, outcome, versions, cause)]
    return Rescoring(
        customer_id, int(before.get("version", 0)), record, "features" in state_sets, outcome.stage, outcome.segments, outcome.scores, at,
        entered=sorted(set(outcome.segments) - was), left=sorted(was - set(outcome.segments)), leave_manager=leave, join_manager=join,
        value=value, events=events,
    )


@dataclasses.dataclass(frozen=True)
class Incoming:
    """An event to apply: from the queue, or parked earlier (`drained`). `seen` holds its device and
    phone hashes already keyed (a parked event never kept them as received)."""

    detail_type: str
    detail: inbound.Inbound
    occurrence: str
    sent_at: datetime | None
    seen: Mapping[str, str]
    drained: bool = False

    @classmethod
    def of_parked(cls, event: parking.ParkedEvent) -> Incoming:
        return cls(event.detailType, event.model(), event.occurrence, event.sent_at(), event.identities, drained=True)


# What applying one event came to: "applied" (scored), "already" (its marker exists), "nothing" (it adds
# nothing a score reads), "dropped" (an erased customer), "parked" (no profile yet: kept until it comes).
Result = Literal["applied", "already", "nothing", "dropped", "parked"]


def ingest(store: StateStore, detail_type: str, detail: inbound.Inbound, event_id: str, sent_at: datetime | None, now: datetime) -> bool:
    """Applies one event to its customer's features and re-scores them; False when it changed nothing
    (applied before, nothing a score reads, an erased customer) or was parked.

    An event for a customer whose profile has not arrived is **parked** (parking.py), never refused:
    it is applied when the profile arrives. A `CustomerProfileChanged` applies its customer's parked
    events, each once, in the order they occurred, itself taking its place among them (`apply`). It
    is the one event that waits instead: until customers-ingest has stored the profile it is, it is
    retried (PROFILE_NOT_CAUGHT_UP)."""
    # Keyed at once: the hashes as received live only in this function's memory.
    seen = {pii.keyed_hash(raw): kind for raw, kind in identities.carried(detail).items()}
    return apply(store, Incoming(detail_type, detail, event_id, sent_at, seen), now) == "applied"


def drain(store: StateStore, customer_id: str, now: datetime, waiting: list[parking.ParkedEvent] | None = None) -> int:
    """Applies the customer's parked events (`waiting`, else all of them) in the order they occurred,
    each once (its marker, as any event's), and deletes each applied, found applied before, or
    dropped; how many were applied. One that fails stays parked and is logged: the sweep tries it
    again, and reports it if it never goes. Stops when the customer still has no profile."""
    applied = 0
    events = parked_events.in_order(store.parked(customer_id) if waiting is None else waiting)
    for event in events:
        try:
            result = apply(store, Incoming.of_parked(event), now)
        except Exception:
            logger.warning("a parked event could not be applied; it stays parked for the sweep",
                           extra={"occurrence": event.occurrence, "detail_type": event.detailType}, exc_info=True)
            continue
        if result == "parked":
            break  # no profile after all: everything stays parked
        store.unpark(customer_id, event.occurrence)
        applied += result == "applied"
    if events:
        logger.info("parked events applied", extra={"parked": len(events), "applied": applied})
        count("ScoringParkedEventsApplied", applied)
    return applied


def apply(store: StateStore, incoming: Incoming, now: datetime) -> Result:
    """One event (from the queue, or parked): read, apply, score, and write it all in one transaction
    conditioned on the version read, the marker and the profile; parked when there is no profile. A
    profile snapshot applies the customer's parked events around itself, on the profile it read in
    the same attempt (deciding on one read and applying on another would let a profile stored in
    between be applied with its customer's parked events left behind)."""
    detail_type, detail, event_id = incoming.detail_type, incoming.detail, incoming.occurrence
    customer = detail.customerId
    found = inbound.feature_events(detail_type, detail, event_id, incoming.sent_at, get_settings().bank_zone)
    if not found and detail_type not in inbound.PROFILE_EVENTS:
        return "nothing"  # nothing a score reads (a withdrawal, a coupon granted rather than claimed)
    ahead = inbound.dated_ahead(found, bank_today(now))
    if ahead is not None:
        raise InvalidInput(f"{detail_type} is dated {ahead}, after the bank's tomorrow", code="EVENT_DATED_AHEAD")
    models, versions = active_models(store)
    segments = active_segments(store)
    seen = dict(incoming.seen)
    later: list[parking.ParkedEvent] | None = None  # a profile snapshot's parked events that occurred after it
    for attempt in range(MAX_ATTEMPTS):
        found_profile = store.profile(customer)
        decision = parking.decide(detail_type, has_profile=found_profile is not None, erased=bool(found_profile and found_profile.erased),
                                  drained=incoming.drained)
        if decision == "await_profile":
            raise Conflict(f"customer {customer}'s profile is not stored yet (customers-ingest stores this very event); retried",
                           code="PROFILE_NOT_CAUGHT_UP")
        if decision == "keep":
            return "parked"
        if decision == "park":
            return park(store, incoming, now)
        if decision == "drop" or found_profile is None:
            logger.info("scoring event for an erased customer dropped", extra={"event_id": event_id})
            return "dropped"  # erased (loyalty.privacy): nothing is derived about them again
        profile = facts_of(found_profile)
        # A parked profile, tier or tag change is applied with the profile as it is: it came before
        # the profile, which shows whatever is known by now.
        if not incoming.drained and not caught_up(detail_type, detail, profile):
            raise Conflict(f"the profile does not show {detail_type} yet; retried", code="PROFILE_NOT_CAUGHT_UP")
        if detail_type == "CustomerProfileChanged" and later is None:
            # The profile is stored (read just above, in this attempt): the customer's parked events are
            # applied around this snapshot, those that occurred before it first (a phone it names then
            # retires the phone of an account opened earlier, not of one opened later).
            earlier, later = parking.around(store.parked(customer), detail.changedAt)  # type: ignore[attr-defined]
            drain(store, customer, now, earlier)
        before = store.state(customer) or {}
        state = FeatureState.model_validate_json(before["features"]) if before else FeatureState()
        for event in found:
            state = features.apply(state, event)
        known, seen_now, retired, phone_as_of = current_identities(detail_type, detail, before, seen)
        known, added = identities.merge(known, seen_now)
        # Counted again only when the event is about identities (a login, an account opening, a
        # profile): other events reuse what the last scoring counted, and the nightly run recounts.
        others = identities.others_per_hash(store, customer, known) if seen else {}
        left = identities.others_per_hash(store, customer, retired)
        shared = identities.shared_accounts(others.values()) if seen else int(before.get("sharedAccounts", 0))
        outcome, facts, as_of = assess(state, profile, models, segments, bank_today(now), shared)
        sets: dict[str, Any] = {"features": state.model_dump_json(), "asOf": as_of.isoformat(), "sharedAccounts": shared}
        if known:
            sets["identities"] = known
        if phone_as_of:
            sets["phoneAsOf"] = phone_as_of
        writes = dataclasses.replace(rescoring(customer, before, outcome, facts, versions, now, "event", sets),
                                     marker=(event_id, int(now.timestamp())), identities_added=added, identities_retired=retired)
        try:
            store.commit([writes])
        except AlreadyApplied:
            logger.info("scoring event already applied", extra={"event_id": event_id})
            if later:
                drain(store, customer, now, later)
            return "already"
        except UnknownCustomer:
            # Read, then erased before the write (the tombstone refuses it): retried, then dropped.
            raise NotFound(f"customer {customer} has no profile it may be scored on", code="CUSTOMER_NOT_FOUND") from None
        except StaleState:
            time.sleep(0.002 * (attempt + 1))
            continue
        # The customers already on a hash this customer just joined have one more account sharing
        # it (one fewer on a phone they left); re-scored now while that can move their abuse signal
        # (few of them), else at night.
        full = models.abuse.sharedAccountsFull
        hashes = {h: others[h] for h in identities.neighbours_to_rescore(others, added, full)}
        hashes.update({h: left[h] for h in identities.neighbours_to_rescore(left, retired, full)})
        if hashes:
            rescore_neighbours(store, customer, hashes, now)
        if later:
            drain(store, customer, now, later)
        return "applied"
    raise Conflict("the customer's scores are busy; retry", code="SCORING_CONTENDED")


def park(store: StateStore, incoming: Incoming, now: datetime) -> Result:
    """Parks an event whose customer has no profile (once per occurrence), then reads the profile
    again: it may have been stored after this event read it, and its own event may have applied the
    customer's parked events before this one was among them. Found now, the customer's parked
    events are applied here (this one among them); still absent, the profile's event will apply
    them, because it reads the parked events after the profile exists, which is after this read.
    (docs/scoring.md, "Events before the profile": why not a condition on the customers table.)"""
    detail = incoming.detail
    event = parking.parked(incoming.detail_type, detail, incoming.occurrence, incoming.sent_at, incoming.seen, now,
                           get_settings().scoring_parked_keep_days)
    new = store.park(event)
    if store.profile(detail.customerId) is None:
        logger.info("event parked until the customer's profile arrives" if new else "event parked before",
                    extra={"occurrence": incoming.occurrence, "detail_type": incoming.detail_type})
        if new:
            count("ScoringEventsParked")
        return "parked"
    return "applied" if drain(store, detail.customerId, now) else "already"


def sweep(store: StateStore, now: datetime, page_size: int = 100) -> parked_events.SweepReport:
    """The scheduled sweep of parked events (schedule `scoring-parked-sweep`, `loyalty.core.parking.sweep`):
    those whose customer's profile has arrived are applied (their profile's event normally does it
    within seconds: this catches one that did not, e.g. a profile event that waited in the DLQ);
    those parked longer than SCORING_PARKED_REPORT_DAYS are counted in `ScoringParkedEventsStale`
    (alarmed) and named in the log. None is deleted here: the TTL does, SCORING_PARKED_KEEP_DAYS
    after parking."""
    consumer = parked_events.Sweep(
        "Scoring", store.parked_before, lambda ids: set(store.profiles(ids)), lambda customer: drain(store, customer, now))
    return parked_events.sweep(consumer, now, get_settings().scoring_parked_report_days, page_size)


def facts_of(profile: CustomerProfile) -> dict[str, Any]:
    """The profile as the rules and `caught_up` read it (by attribute name)."""
    return profile.model_dump()


def current_identities(detail_type: str, detail: inbound.Inbound, before: Mapping[str, Any], seen: Mapping[str, str]
                       ) -> tuple[dict[str, str], dict[str, str], list[str], str | None]:
    """(known hashes, the event's hashes to add, phones retired, phone as of): a profile snapshot
    replaces the customer's phone (`identities.replace_phone`); other events only add."""
    known, phone_as_of = before.get("identities") or {}, before.get("phoneAsOf")
    if detail_type != "CustomerProfileChanged":
        return dict(known), dict(seen), [], phone_as_of
    return identities.replace_phone(known, seen, iso_utc(detail.changedAt), phone_as_of)  # type: ignore[attr-defined]


def rescore_neighbours(store: StateStore, customer_id: str, others: dict[str, int], now: datetime) -> None:
    """Re-scores the customers on these hashes (keyed hash -> how many there are) other than
    `customer_id`. Best effort: the event that caused it is already committed (a failure here cannot
    be retried through it: its marker exists), and the nightly run recounts every customer anyway."""
    try:
        neighbours = dict.fromkeys(n for keyed, count in others.items() for n in store.customers_on(keyed, customer_id, count))
        for neighbour in neighbours:
            rescore_identity(store, neighbour, now)
    except Exception:
        logger.warning("re-scoring the customers sharing an identity failed; the nightly run will", exc_info=True)


def rescore_identity(store: StateStore, customer_id: str, now: datetime) -> bool:
    """Re-scores a customer with their shared-identity count taken again (their features unchanged),
    as the nightly run would; True when something was written."""
    from loyalty.scoring.nightly import unchanged

    models, versions = active_models(store)
    segments = active_segments(store)
    for _ in range(3):
        before = store.state(customer_id)
        found_profile = store.profile(customer_id)
        if before is None or found_profile is None or found_profile.erased:
            return False
        state = FeatureState.model_validate_json(before["features"])
        shared = identities.shared_accounts(identities.others_per_hash(store, customer_id, before.get("identities") or {}).values())
        outcome, facts, as_of = assess(state, facts_of(found_profile), models, segments, bank_today(now), shared)
        if unchanged(before, outcome, facts, shared):
            return False
        sets = {"asOf": as_of.isoformat(), "sharedAccounts": shared}
        try:
            store.commit([rescoring(customer_id, before, outcome, facts, versions, now, "event", sets)])
            return True
        except (UnknownCustomer, AlreadyApplied):
            return False
        except StaleState:
            continue  # their own event re-scored them meanwhile: count again from what it wrote
    return False


# Where the profile records that it holds a profile event's change (or a newer one).
_STORED_AS_OF = {"CustomerProfileChanged": "changedAt", "TierChanged": "tierChangedAt", "CustomerTagsChanged": "operatorTagsChangedAt"}


def caught_up(detail_type: str, detail: inbound.Inbound, profile: Mapping[str, Any]) -> bool:
    """A profile, tier or tag change re-scores the customer only once the profile shows it (or
    something newer): a profile or tier change reaches customers-ingest through its own queue, maybe
    after it reaches here."""
    if detail_type not in inbound.PROFILE_EVENTS:
        return True
    changed = iso_utc(detail.changedAt)  # type: ignore[attr-defined]
    stored = profile.get(_STORED_AS_OF[detail_type])
    return stored is not None and stored >= changed


def customer_scores(store: StateStore, customer_id: str, now: datetime) -> dict[str, Any]:
    """What an operator sees: the stored scores, stage, segments and model versions, and the features
    as of today."""
    record = store.state(customer_id)
    if record is None:
        raise NotFound(f"customer {customer_id} has not been scored", code="SCORES_NOT_FOUND")
    state = FeatureState.model_validate_json(record["features"])
    as_of = max(bank_today(now), state.latestDay or bank_today(now))
    shared = int(record.get("sharedAccounts", 0))  # as the last scoring counted it
    return {
        "customerId": customer_id, "scores": record.get("scores", {}), "lifecycleStage": record.get("stage"),
        "abuseGated": record.get("gated"), "segments": record.get("segments", []), "modelVersions": record.get("modelVersions", {}),
        "scoredAt": record.get("scoredAt"), "asOf": record.get("asOf"), "version": record.get("version"),
        "features": {"asOf": as_of.isoformat(), **dataclasses.asdict(features.snapshot(state, as_of, shared))},
    }
