"""Profile use cases, each a plain function over a `CustomerStore`."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import cache

from loyalty.core import events
from loyalty.core.clock import iso_utc, utc_now
from loyalty.core.errors import Conflict, NotFound
from loyalty.core.events import OutboundEvent
from loyalty.core.observability import logger
from loyalty.customers.consents import Consent, ConsentChangedDetail, ConsentsRequest, ConsentsView
from loyalty.customers.logic import normalise_tags, snapshot_from_event
from loyalty.customers.model import CustomerProfile, ProfileChangedDetail, TierChangedDetail
from loyalty.customers.store import CustomerStore, DynamoCustomerStore

Publish = Callable[[Sequence[OutboundEvent]], None]


@cache
def default_store() -> CustomerStore:
    return DynamoCustomerStore()


def get_profile(store: CustomerStore, customer_id: str) -> CustomerProfile:
    profile = store.get(customer_id)
    if profile is None:
        raise NotFound(f"customer {customer_id} is not known", code="CUSTOMER_NOT_FOUND")
    return profile


def apply_profile_event(store: CustomerStore, detail: ProfileChangedDetail, event_id: str) -> bool:
    applied = store.apply_snapshot(detail.customerId, snapshot_from_event(detail, event_id))
    if not applied:
        logger.info("profile event ignored: the same or a newer one is stored", extra={"event_id": event_id})
    return applied


def apply_tier_event(store: CustomerStore, detail: TierChangedDetail, event_id: str) -> bool:
    """The member level from TierChanged, newest `changedAt` wins. Before the customer's profile it is
    stored on a placeholder the first snapshot completes (store.py): never retried into the DLQ for
    that, a normal order (points earns from bank events without a profile)."""
    applied = store.apply_tier(detail.customerId, detail.toTier, iso_utc(detail.changedAt), event_id)
    if not applied:
        logger.info("tier event ignored: the same or a newer one is stored", extra={"event_id": event_id})
    return applied


def apply_consent_event(store: CustomerStore, detail: ConsentChangedDetail, event_id: str) -> bool:
    """The bank's word on a channel's marketing consent; the newest per channel wins (consents.py)."""
    consent = Consent(detail.channel, detail.granted, iso_utc(detail.changedAt), "bank", event_id)
    applied = bool(store.apply_consents(detail.customerId, [consent]))
    if not applied:
        logger.info("consent event ignored: the same or a newer word is stored, or the customer was erased", extra={"event_id": event_id})
    return applied


def consents(store: CustomerStore, customer_id: str) -> ConsentsView:
    stored, _ = store.consents(customer_id)
    return ConsentsView.of(customer_id, stored)


def set_consents(store: CustomerStore, customer_id: str, request: ConsentsRequest, key: str, now: datetime) -> ConsentsView:
    """The customer's own choice, channel by channel, as of now. An erased customer is 409."""
    at = iso_utc(now)
    store.apply_consents(customer_id, [Consent(channel, granted, at, "customer", key) for channel, granted in request.named().items()])
    stored, erased = store.consents(customer_id)
    if erased:
        raise Conflict(f"customer {customer_id} was erased", code="CUSTOMER_ERASED")
    return ConsentsView.of(customer_id, stored)


SOURCE = "loyalty.customers"


def set_operator_tags(store: CustomerStore, customer_id: str, tags: list[str], publish: Publish = events.publish) -> CustomerProfile:
    """Stores the tags, then announces `CustomerTagsChanged` so scoring re-evaluates the customer's
    segments now rather than at their next event. Published after the write, not through an outbox
    (this table has none): if publishing fails the call fails, and the caller's retry with the same
    Idempotency-Key writes the same tags and publishes again. The nightly run re-scores everyone."""
    changed_at = iso_utc(utc_now())
    profile = store.set_operator_tags(customer_id, normalise_tags(tags), changed_at)
    publish([OutboundEvent(SOURCE, "CustomerTagsChanged", {
        "eventId": str(uuid.uuid4()), "customerId": customer_id, "operatorTags": profile.operatorTags, "changedAt": changed_at})])
    return profile
