"""Delivering a message (docs/notifications.md): consent, quiet hours and the customer's frequency
caps first, then the provider, exactly once per notification id.

    (new) ──no consent / capped──▶ failed
      │ ──quiet hours or deliverAt──▶ deferred ──due (the sweep)──┐
      └──────────────────────────────────────────────────────────┴─▶ sending ──▶ delivered | failed

`sending` is written before the first call to the provider, with the customer's counters, and each
attempt is claimed before it is made (conditioned on the attempts read): a redelivered or repeated
request finds the delivery and never sends it again while its sender is at it (the providers that take
one also get the notification id as their idempotency key). A provider that does not take it gets a
few tries at once, then more from the sweep, each later than the last (30 s, 60 s, ... at most an
hour), `DELIVERY_MAX_ATTEMPTS` in all; then the message fails with `NotificationFailed`, never a DLQ.
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
from loyalty.notifications.store import MAX_BACKOFF_SECONDS, CapReached, DynamoDeliveryStore, Moved

SOURCE = "loyalty.notifications"
TRIES_PER_CALL = 3  # attempts one invocation makes at once before leaving the rest to the sweep


class Consents(Protocol):
    def granted(self, customer_id: str, channel: str) -> bool: ...


def _event(kind: str, request: DeliveryRequest, **detail: object) -> PendingEvent:
    base = {"notificationId": request.notificationId, "customerId": request.customerId, "channel": request.channel,
            "templateId": request.templateId, "kind": request.kind, "campaignId": request.campaignId, "arm": request.arm, **detail}
    return PendingEvent(SOURCE, kind, {k: v for k, v in base.items() if v is not None})


def deliver(store: DynamoDeliveryStore, consents: Consents, provider: Callable[[str], Provider], request: DeliveryRequest,
            now: datetime, sleep: Callable[[float], None] = time.sleep) -> State:
    """What became of the request: delivered, failed, deferred, or still `sending` (the provider did
    not take it yet; the sweep tries again later). A request seen before answers its state, and a
    `sending` one is sent again only once its next attempt is due."""
    for _ in range(3):
        try:
            state, attempts = _step(store, consents, request, now)
            if state != "sending" or attempts is None:
                return state
            return _send(store, provider(request.channel), request, now, attempts, sleep)
        except Moved:
            continue  # another delivery of the same request moved it: read it again
    found = store.get(request.notificationId)
    return found.state if found else "failed"


def _step(store: DynamoDeliveryStore, consents: Consents, request: DeliveryRequest, now: datetime) -> tuple[State, int | None]:
    """The delivery's state, and the attempts read when this caller is to send now (None: not now)."""
    settings, at = get_settings(), iso_utc(now)
    found = store.get(request.notificationId)
    if found is not None and found.state == "sending":
        return "sending", (found.attempts if found.retry_at is None or found.retry_at <= at else None)
    if found is not None and found.state != "deferred":
        return found.state, None
    if found is not None and found.due_at is not None and found.due_at > at:
        return "deferred", None
    if request.kind == "marketing" and not consents.granted(request.customerId, request.channel):
        return _refuse(store, request, "NO_CONSENT", at, found is not None), None
    due = policy.quiet_until(now, settings.bank_zone, settings.quiet_hours_start, settings.quiet_hours_end)
    if request.deliverAt is not None and request.deliverAt > now:
        due = max(due or request.deliverAt, request.deliverAt)
    if due is not None:
        if found is None:
            store.defer(request, iso_utc(due), at)
        return "deferred", None
    day, week = policy.periods(now, settings.bank_zone)
    try:
        store.claim(request, at, _retry_at(now, 0), day, week, settings.messages_per_customer_daily,
                    settings.messages_per_customer_weekly, int(now.timestamp()), from_deferred=found is not None)
    except CapReached:
        return _refuse(store, request, "FREQUENCY_CAPPED", at, found is not None), None
    return "sending", 0


def _refuse(store: DynamoDeliveryStore, request: DeliveryRequest, reason: str, at: str, deferred: bool) -> State:
    event = _event("NotificationFailed", request, reason=reason)
    if deferred:
        store.fail_deferred(request, reason, at, [event])
    else:
        store.fail_new(request, reason, at, [event])
    return "failed"


def _send(store: DynamoDeliveryStore, provider: Provider, request: DeliveryRequest, now: datetime, attempts: int,
          sleep: Callable[[float], None]) -> State:
    at, most = iso_utc(now), get_settings().delivery_max_attempts
    answer = ProviderAnswer(outcome="unavailable")
    for attempt in range(TRIES_PER_CALL):
        if attempts >= most:
            store.finish(request.notificationId, "failed", at, [_event("NotificationFailed", request, reason="PROVIDER_UNAVAILABLE",
                                                                           providerCode=answer.providerCode)],
                         reason="PROVIDER_UNAVAILABLE", providerCode=answer.providerCode)
            return "failed"
        attempts = store.attempt(request.notificationId, attempts, _retry_at(now, attempts + 1))
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
        if attempt + 1 < TRIES_PER_CALL:
            sleep(0.2 * 2**attempt)
    return "sending"  # the sweep tries again once the next attempt is due


def _retry_at(now: datetime, attempts: int) -> str:
    """When an attempt after `attempts` may be made: 30 s after the first, doubling, at most an hour.
    A claim's (0 attempts) is the safety net for a sender that dies before its first attempt."""
    return iso_utc(now + timedelta(seconds=min(MAX_BACKOFF_SECONDS, 30 * 2 ** max(0, attempts - 1))))


def send_due(store: DynamoDeliveryStore, consents: Consents, provider: Callable[[str], Provider], now: datetime) -> dict[str, int]:
    """The deferred messages now due, each delivered (the sweep, every minute)."""
    tally: dict[str, int] = {}
    for request in store.due(iso_utc(now)):
        state = deliver(store, consents, provider, request, now)
        tally[state] = tally.get(state, 0) + 1
    return tally
