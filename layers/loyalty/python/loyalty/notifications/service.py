"""Delivering a message (docs/notifications.md): consent, quiet hours and the customer's frequency
caps first, then the provider, exactly once per notification id.

    (new) ──no consent / capped──▶ failed
      │ ──quiet hours or deliverAt──▶ deferred ──due (the sweep)──┐
      └──────────────────────────────────────────────────────────┴─▶ sending ──▶ delivered | failed

`sending` is written before the first call to the provider, with the customer's counters, and each
attempt is counted before it is made: a redelivered request finds the delivery and never sends a
second message under a new id (the providers that take one get the notification id as their
idempotency key). A provider that keeps failing gets `DELIVERY_MAX_ATTEMPTS`, across redeliveries;
then the message fails with `NotificationFailed`, never a DLQ.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from loyalty.core.clock import iso_utc
from loyalty.core.config import get_settings
from loyalty.core.outbox import PendingEvent
from loyalty.notifications import policy
from loyalty.notifications.model import DeliveryRequest, ProviderAnswer, State
from loyalty.notifications.providers import Provider
from loyalty.notifications.store import RETRY_AFTER_SECONDS, CapReached, DynamoDeliveryStore, Moved

SOURCE = "loyalty.notifications"
TRIES_PER_CALL = 3  # attempts one invocation makes before leaving the rest to the queue's redelivery


class ProviderUnavailable(Exception):
    """The provider did not take the message this time; the request is redelivered later."""


class Consents(Protocol):
    def granted(self, customer_id: str, channel: str) -> bool: ...


def _event(kind: str, request: DeliveryRequest, **detail: object) -> PendingEvent:
    base = {"notificationId": request.notificationId, "customerId": request.customerId, "channel": request.channel,
            "templateId": request.templateId, "kind": request.kind, "campaignId": request.campaignId, **detail}
    return PendingEvent(SOURCE, kind, {k: v for k, v in base.items() if v is not None})


def deliver(store: DynamoDeliveryStore, consents: Consents, provider: Callable[[str], Provider], request: DeliveryRequest,
            now: datetime, sleep: Callable[[float], None] = time.sleep) -> State:
    """What became of the request: delivered, failed or deferred. A request seen before answers its
    state (sending again only a delivery still `sending`: one that died before its answer)."""
    for _ in range(3):
        try:
            state = _step(store, consents, request, now)
            if state != "sending":
                return state
            return _send(store, provider(request.channel), request, now, sleep)
        except Moved:
            continue  # another delivery of the same request moved it: read it again
    found = store.get(request.notificationId)
    return found.state if found else "failed"


def _step(store: DynamoDeliveryStore, consents: Consents, request: DeliveryRequest, now: datetime) -> State:
    settings, at = get_settings(), iso_utc(now)
    found = store.get(request.notificationId)
    if found is not None and found.state != "deferred":
        return found.state
    if found is not None and found.due_at is not None and found.due_at > at:
        return "deferred"
    if request.kind == "marketing" and not consents.granted(request.customerId, request.channel):
        return _refuse(store, request, "NO_CONSENT", at, found is not None)
    due = policy.quiet_until(now, settings.bank_zone, settings.quiet_hours_start, settings.quiet_hours_end)
    if request.deliverAt is not None and request.deliverAt > now:
        due = max(due or request.deliverAt, request.deliverAt)
    if due is not None:
        if found is None:
            store.defer(request, iso_utc(due), at)
        return "deferred"
    day, week = policy.periods(now, settings.bank_zone)
    try:
        store.claim(request, at, _retry_at(now), day, week, settings.messages_per_customer_daily, settings.messages_per_customer_weekly,
                    int(now.timestamp()), from_deferred=found is not None)
    except CapReached:
        return _refuse(store, request, "FREQUENCY_CAPPED", at, found is not None)
    return "sending"


def _refuse(store: DynamoDeliveryStore, request: DeliveryRequest, reason: str, at: str, deferred: bool) -> State:
    event = _event("NotificationFailed", request, reason=reason)
    if deferred:
        store.fail_deferred(request, reason, at, [event])
    else:
        store.fail_new(request, reason, at, [event])
    return "failed"


def _send(store: DynamoDeliveryStore, provider: Provider, request: DeliveryRequest, now: datetime, sleep: Callable[[float], None]) -> State:
    at, most = iso_utc(now), get_settings().delivery_max_attempts
    answer = ProviderAnswer(outcome="unavailable")
    for attempt in range(TRIES_PER_CALL):
        if store.attempt(request.notificationId, _retry_at(now)) > most:
            store.finish(request.notificationId, "failed", at, [_event("NotificationFailed", request, reason="PROVIDER_UNAVAILABLE",
                                                                           providerCode=answer.providerCode)],
                         reason="PROVIDER_UNAVAILABLE", providerCode=answer.providerCode)
            return "failed"
        answer = provider.send(request)
        if answer.outcome == "accepted":
            store.finish(request.notificationId, "delivered", at,
                         [_event("NotificationDelivered", request, providerMessageId=answer.providerMessageId)],
                         providerMessageId=answer.providerMessageId)
            return "delivered"
        if answer.outcome == "refused":
            store.finish(request.notificationId, "failed", at, [_event("NotificationFailed", request, reason="PROVIDER_REFUSED",
                                                                           providerCode=answer.providerCode)],
                         reason="PROVIDER_REFUSED", providerCode=answer.providerCode)
            return "failed"
        sleep(0.2 * 2**attempt)
    raise ProviderUnavailable(f"{request.channel} did not take {request.notificationId} ({answer.providerCode}); redelivered later")


def _retry_at(now: datetime) -> str:
    return iso_utc(now + timedelta(seconds=RETRY_AFTER_SECONDS))


def send_due(store: DynamoDeliveryStore, consents: Consents, provider: Callable[[str], Provider], now: datetime) -> dict[str, int]:
    """The deferred messages now due, each delivered (the sweep, every minute)."""
    tally: dict[str, int] = {}
    for request in store.due(iso_utc(now)):
        try:
            state = deliver(store, consents, provider, request, now)
        except ProviderUnavailable:
            state = "sending"  # counted; the next sweep or the request's redelivery goes on
        tally[state] = tally.get(state, 0) + 1
    return tally
