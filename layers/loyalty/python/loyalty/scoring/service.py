"""Scoring use cases: an event re-scores its customer; the scores an operator reads.

Each event is applied by reading the customer's state, applying it with the pure feature logic,
scoring with the models in force, and writing everything in one transaction conditioned on the
version read, on the event's marker not existing and on the profile existing (see store.py).
An event carrying device or phone hashes also records them in the identity index (identities.py),
in the same transaction, and counts the other customers on them (`sharedIdentityAccounts`).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Mapping
from datetime import date, datetime
from functools import cache
from typing import Any

from loyalty.core import pii
from loyalty.core.clock import business_date, iso_utc
from loyalty.core.config import get_settings
from loyalty.core.errors import Conflict, InvalidInput, NotFound
from loyalty.core.observability import logger
from loyalty.core.outbox import PendingEvent
from loyalty.scoring import features, identities, inbound, scores
from loyalty.scoring.assess import MODEL_NAMES, SOURCE, Outcome, events_for, models_of, outcome_of, value_segment
from loyalty.scoring.defaults import DEFAULT_MODELS
from loyalty.scoring.features import FeatureState
from loyalty.scoring.models import ScoringModels
from loyalty.scoring.segments import Facts, SegmentDefinition
from loyalty.scoring.store import AlreadyApplied, DynamoScoringStore, StaleState, UnknownCustomer, state_key

MAX_ATTEMPTS = 8


@cache
def default_store() -> DynamoScoringStore:
    from loyalty.core.aws import dynamodb

    settings = get_settings()
    return DynamoScoringStore(settings.scoring_table, settings.customers_table, dynamodb())


# Models and segments change rarely and are read on every event: kept in memory for
# RULES_CACHE_SECONDS (this instance forgets at once when it saves a version).
_cache: dict[tuple[str, str], tuple[float, Any]] = {}


def _cached(store: DynamoScoringStore, name: str, load: Any) -> Any:
    hit = _cache.get((store.table, name))
    if hit and time.monotonic() - hit[0] < get_settings().rules_cache_seconds:
        return hit[1]
    value = load()
    _cache[(store.table, name)] = (time.monotonic(), value)
    return value


def forget_cached_config() -> None:
    _cache.clear()


def model_pointers(store: DynamoScoringStore) -> dict[str, dict[str, Any]]:
    """Per model, the version in force: {version, config, updatedBy, updatedAt}; version 0 is the default."""
    saved = {item["sk"]: item for item in store.under("MODELS")}
    return {
        name: {"version": int(saved[name]["version"]), "config": json.loads(saved[name]["config"]),
               "updatedBy": saved[name]["updatedBy"], "updatedAt": saved[name]["updatedAt"]}
        if name in saved else {"version": 0, "config": DEFAULT_MODELS[name], "updatedBy": "default", "updatedAt": None}
        for name in MODEL_NAMES
    }


def active_models(store: DynamoScoringStore) -> tuple[ScoringModels, dict[str, int]]:
    def load() -> tuple[ScoringModels, dict[str, int]]:
        pointers = model_pointers(store)
        return models_of({n: p["config"] for n, p in pointers.items()}), {n: p["version"] for n, p in pointers.items()}

    return _cached(store, "models", load)  # type: ignore[no-any-return]


def active_segments(store: DynamoScoringStore) -> list[SegmentDefinition]:
    def load() -> list[SegmentDefinition]:
        return [SegmentDefinition.model_validate_json(item["definition"]) for item in store.under("SEGMENTS")]

    return _cached(store, "segments", load)  # type: ignore[no-any-return]


def bank_today(now: datetime) -> date:
    return business_date(now, get_settings().bank_zone)


def assess(state: FeatureState, profile: dict[str, Any], models: ScoringModels, segments: list[SegmentDefinition], today: date,
           shared_identity_accounts: int = 0) -> tuple[Outcome, Facts, date]:
    """Scores as of today, or as of the newest bucket when an event is dated after today (clock skew)."""
    as_of = max(today, state.latestDay or today)
    facts = Facts.of_profile(profile)
    found = scores.score(features.snapshot(state, as_of, shared_identity_accounts), value_segment(models.value, facts), models)
    return outcome_of(found, facts, segments), facts, as_of


def rescore_items(
    store: DynamoScoringStore, customer_id: str, before: dict[str, Any], outcome: Outcome, facts: Facts, versions: dict[str, int],
    now: datetime, cause: str, state_sets: dict[str, Any],
) -> list[dict[str, Any]]:
    """The writes of one re-scoring: state (`state_sets` decides Put with features, or Update of
    scores), profile, membership changes, the relationship-manager index, and the events they announce."""
    at = iso_utc(now)
    was_manager = (before.get("facts") or {}).get("relationshipManagerId")
    value_before = (before.get("scores") or {}).get("value")
    value_changed = value_before is None or float(value_before) != float(outcome.scores["value"])
    record = {"scores": outcome.scores, "stage": outcome.stage, "gated": outcome.gated, "segments": outcome.segments,
              "modelVersions": versions, "facts": {k: v for k, v in facts.as_record().items() if v is not None}, "scoredAt": at, **state_sets}
    version = int(before.get("version", 0))
    was = set(before.get("segments") or [])
    events = [PendingEvent(SOURCE, kind, detail) for kind, detail in events_for(customer_id, before or None, outcome, versions, cause)]
    state = store.state_put(customer_id, record, version) if "features" in state_sets else store.state_update(customer_id, record, version)
    return [
        state,
        store.profile_update(customer_id, outcome.stage, outcome.segments, outcome.scores, at),
        *store.membership_ops(customer_id, sorted(set(outcome.segments) - was), sorted(was - set(outcome.segments)), at),
        *store.manager_ops(customer_id, was_manager, facts.relationshipManagerId, float(outcome.scores["value"]), value_changed, at),
        *store.outbox(events),
    ]


def ingest(store: DynamoScoringStore, detail_type: str, detail: inbound.Inbound, event_id: str, sent_at: datetime | None, now: datetime) -> bool:
    """Applies one event to its customer's features and re-scores them; False when it was applied before.
    An event for a customer without a profile raises NotFound: SQS retries it (the profile may be on
    its way), and after the queue's receives it waits in the DLQ. It is never dropped."""
    customer = detail.customerId
    found = inbound.feature_events(detail_type, detail, event_id, sent_at, get_settings().bank_zone)
    if not found and detail_type not in inbound.PROFILE_EVENTS:
        return False  # nothing a score reads (a withdrawal, a coupon granted rather than claimed)
    ahead = inbound.dated_ahead(found, bank_today(now))
    if ahead is not None:
        raise InvalidInput(f"{detail_type} is dated {ahead}, after the bank's tomorrow", code="EVENT_DATED_AHEAD")
    models, versions = active_models(store)
    segments = active_segments(store)
    # Keyed at once: the hashes as received live only in this function's memory.
    seen = {pii.keyed_hash(raw): kind for raw, kind in identities.carried(detail).items()}
    index = identity_index(store)
    for attempt in range(MAX_ATTEMPTS):
        before = store.get(state_key(customer)) or {}
        state = FeatureState.model_validate_json(before["features"]) if before else FeatureState()
        for event in found:
            state = features.apply(state, event)
        profile = store.profile(customer)
        if profile is None:
            raise NotFound(f"customer {customer} has no profile yet; the event is retried until it arrives", code="CUSTOMER_NOT_FOUND")
        if profile.get("erased"):
            logger.info("scoring event for an erased customer dropped", extra={"event_id": event_id})
            return False  # erased (loyalty.privacy): nothing is derived about them again
        if not caught_up(detail_type, detail, profile):
            raise Conflict(f"the profile does not show {detail_type} yet; retried", code="PROFILE_NOT_CAUGHT_UP")
        known, seen_now, retired, phone_as_of = current_identities(detail_type, detail, before, seen)
        known, added = identities.merge(known, seen_now)
        # Counted again only when the event is about identities (a login, an account opening, a
        # profile): other events reuse what the last scoring counted, and the nightly run recounts.
        others = index.others_per_hash(customer, known) if seen else {}
        left = index.others_per_hash(customer, retired)
        shared = identities.shared_accounts(others.values()) if seen else int(before.get("sharedAccounts", 0))
        outcome, facts, as_of = assess(state, profile, models, segments, bank_today(now), shared)
        sets: dict[str, Any] = {"features": state.model_dump_json(), "asOf": as_of.isoformat(), "sharedAccounts": shared}
        if known:
            sets["identities"] = known
        if phone_as_of:
            sets["phoneAsOf"] = phone_as_of
        items = [store.marker_put(customer, event_id, int(now.timestamp())),
                 *rescore_items(store, customer, before, outcome, facts, versions, now, "event", sets),
                 *index.record_ops(customer, added, iso_utc(now)), *index.retire_ops(customer, retired)]
        try:
            store.commit([items])
        except AlreadyApplied:
            logger.info("scoring event already applied", extra={"event_id": event_id})
            return False
        except UnknownCustomer:
            raise NotFound(f"customer {customer} has no profile yet", code="CUSTOMER_NOT_FOUND") from None
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
            rescore_neighbours(store, index, customer, hashes, now)
        return True
    raise Conflict("the customer's scores are busy; retry", code="SCORING_CONTENDED")


def current_identities(detail_type: str, detail: inbound.Inbound, before: dict[str, Any], seen: Mapping[str, str]
                       ) -> tuple[dict[str, str], dict[str, str], list[str], str | None]:
    """(known hashes, the event's hashes to add, phones retired, phone as of): a profile snapshot
    replaces the customer's phone (`identities.replace_phone`); other events only add."""
    known, phone_as_of = before.get("identities") or {}, before.get("phoneAsOf")
    if detail_type != "CustomerProfileChanged":
        return dict(known), dict(seen), [], phone_as_of
    return identities.replace_phone(known, seen, iso_utc(detail.changedAt), phone_as_of)  # type: ignore[attr-defined]


def identity_index(store: DynamoScoringStore) -> identities.IdentityIndex:
    return identities.IdentityIndex(store.table, store.client)


def rescore_neighbours(store: DynamoScoringStore, index: identities.IdentityIndex, customer_id: str, others: dict[str, int],
                       now: datetime) -> None:
    """Re-scores the customers on these hashes (keyed hash -> how many there are) other than
    `customer_id`. Best effort: the event that caused it is already committed (a failure here cannot
    be retried through it: its marker exists), and the nightly run recounts every customer anyway."""
    try:
        neighbours = dict.fromkeys(n for keyed, count in others.items() for n in index.customers_on(keyed, customer_id, count))
        for neighbour in neighbours:
            rescore_identity(store, index, neighbour, now)
    except Exception:
        logger.warning("re-scoring the customers sharing an identity failed; the nightly run will", exc_info=True)


def rescore_identity(store: DynamoScoringStore, index: identities.IdentityIndex, customer_id: str, now: datetime) -> bool:
    """Re-scores a customer with their shared-identity count taken again (their features unchanged),
    as the nightly run would; True when something was written."""
    from loyalty.scoring.nightly import unchanged

    models, versions = active_models(store)
    segments = active_segments(store)
    for _ in range(3):
        before = store.get(state_key(customer_id))
        profile = store.profile(customer_id)
        if before is None or profile is None or profile.get("erased"):
            return False
        state = FeatureState.model_validate_json(before["features"])
        shared = identities.shared_accounts(index.others_per_hash(customer_id, before.get("identities") or {}).values())
        outcome, facts, as_of = assess(state, profile, models, segments, bank_today(now), shared)
        if unchanged(before, outcome, facts, shared):
            return False
        sets = {"asOf": as_of.isoformat(), "sharedAccounts": shared}
        try:
            store.commit([rescore_items(store, customer_id, before, outcome, facts, versions, now, "event", sets)])
            return True
        except (UnknownCustomer, AlreadyApplied):
            return False
        except StaleState:
            continue  # their own event re-scored them meanwhile: count again from what it wrote
    return False


# Where the profile records that it holds a profile event's change (or a newer one).
_STORED_AS_OF = {"CustomerProfileChanged": "changedAt", "TierChanged": "tierChangedAt", "CustomerTagsChanged": "operatorTagsChangedAt"}


def caught_up(detail_type: str, detail: inbound.Inbound, profile: dict[str, Any]) -> bool:
    """A profile, tier or tag change re-scores the customer only once the profile shows it (or
    something newer): a profile or tier change reaches customers-ingest through its own queue, maybe
    after it reaches here."""
    if detail_type not in inbound.PROFILE_EVENTS:
        return True
    changed = iso_utc(detail.changedAt)  # type: ignore[attr-defined]
    stored = profile.get(_STORED_AS_OF[detail_type])
    return stored is not None and stored >= changed


def customer_scores(store: DynamoScoringStore, customer_id: str, now: datetime) -> dict[str, Any]:
    """What an operator sees: the stored scores, stage, segments and model versions, and the features
    as of today."""
    record = store.get(state_key(customer_id))
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
