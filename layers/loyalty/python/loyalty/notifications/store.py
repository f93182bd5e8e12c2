"""Deliveries in the `notifications` table: each change one conditioned write (or one transaction
with the customer's frequency counters and the outbox), so a redelivered request never sends twice."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from loyalty.core.outbox import PendingEvent
from loyalty.core.transactions import Refused, Transaction
from loyalty.notifications.items import DUE, DeliveryItem, FrequencyItem, NotificationsOutbox
from loyalty.notifications.model import DeliveryRequest, State

COUNTER_TTL_SECONDS = 9 * 86400
MAX_BACKOFF_SECONDS = 3600


@dataclass(frozen=True)
class Delivery:
    request: DeliveryRequest
    state: State
    attempts: int
    due_at: str | None = None
    reason: str | None = None
    provider_code: str | None = None
    retry_at: str | None = None  # a `sending` one: when another attempt may be made


class CapReached(Exception):
    """The customer's daily or weekly allowance is used up."""


class Moved(Exception):
    """The delivery changed since it was read (another delivery of the same request got there first)."""


def _delivery(item: DeliveryItem) -> Delivery:
    retry_at = item.gsi1sk.split("#", 1)[0] if item.state == "sending" and item.gsi1sk else None
    return Delivery(DeliveryRequest.model_validate_json(item.request), item.state, int(item.attempts or 0), item.dueAt,  # type: ignore[arg-type]
                    item.reason, item.providerCode, retry_at)


def _item(request: DeliveryRequest, state: State, at: str, **fields: Any) -> DeliveryItem:
    pk, sk = DeliveryItem.key_of(request.notificationId)
    return DeliveryItem(pk, sk, notificationId=request.notificationId, customerId=request.customerId, channel=request.channel,
                        kind=request.kind, request=request.model_dump_json(), state=state, createdAt=at, **fields)


class DynamoDeliveryStore:
    def get(self, notification_id: str) -> Delivery | None:
        try:
            return _delivery(DeliveryItem.get(*DeliveryItem.key_of(notification_id), consistent_read=True))
        except DeliveryItem.DoesNotExist:
            return None

    def due(self, before: str) -> Iterator[DeliveryRequest]:
        """Deferred deliveries now due, and `sending` ones nobody finished in time."""
        for item in DeliveryItem.due.query(DUE, DeliveryItem.gsi1sk < before):
            yield DeliveryRequest.model_validate_json(item.request)

    def fail_new(self, request: DeliveryRequest, reason: str, at: str, events: Sequence[PendingEvent]) -> None:
        """Recorded as failed without a send (no consent, capped); raises Moved if it exists."""
        self._commit_new(_item(request, "failed", at, reason=reason, finishedAt=at), events)

    def defer(self, request: DeliveryRequest, due_at: str, at: str) -> None:
        self._commit_new(_item(request, "deferred", at, dueAt=due_at, gsi1pk=DUE, gsi1sk=f"{due_at}#{request.notificationId}"), ())

    def fail_deferred(self, request: DeliveryRequest, reason: str, at: str, events: Sequence[PendingEvent]) -> None:
        """A deferred delivery failed when due (consent withdrawn, capped); Moved if it moved."""
        transaction = Transaction()
        transaction.update("delivery", DeliveryItem(*DeliveryItem.key_of(request.notificationId)),
                           [DeliveryItem.state.set("failed"), DeliveryItem.reason.set(reason), DeliveryItem.finishedAt.set(at),
                            DeliveryItem.gsi1pk.remove(), DeliveryItem.gsi1sk.remove()], DeliveryItem.state == "deferred")
        NotificationsOutbox.add_to(transaction, events)
        try:
            transaction.commit()
        except Refused:
            raise Moved() from None

    def claim(self, request: DeliveryRequest, at: str, retry_at: str, day: str, week: str, daily: int, weekly: int, epoch: int, *,
              from_deferred: bool) -> None:
        """`sending`, new (or from `deferred`), with the customer's day and week counted in the same
        transaction, each below its allowance: CapReached if not, Moved if the delivery moved."""
        if daily < 1 or weekly < 1:
            raise CapReached()
        transaction = Transaction()
        due = f"{retry_at}#{request.notificationId}"
        if from_deferred:
            transaction.update("delivery", DeliveryItem(*DeliveryItem.key_of(request.notificationId)),
                               [DeliveryItem.state.set("sending"), DeliveryItem.gsi1sk.set(due)], DeliveryItem.state == "deferred")
        else:
            transaction.put("delivery", _item(request, "sending", at, gsi1pk=DUE, gsi1sk=due), DeliveryItem.pk.does_not_exist())
        for label, sk, allowance in (("day", f"D#{day}", daily), ("week", f"W#{week}", weekly)):
            counter = FrequencyItem(f"FREQ#{request.customerId}", sk)
            transaction.update(label, counter, [FrequencyItem.sent.add(1), FrequencyItem.expiresAt.set(epoch + COUNTER_TTL_SECONDS)],
                               FrequencyItem.sent.does_not_exist() | (FrequencyItem.sent < allowance))
        try:
            transaction.commit()
        except Refused as refused:
            if refused.failed("delivery") or refused.conflicted:
                raise Moved() from None
            raise CapReached() from None

    def attempt(self, notification_id: str, attempts_read: int, retry_at: str) -> int:
        """One more attempt, if the delivery is still `sending` with the attempts read (so two callers
        that read the same delivery never both send), the next one not before `retry_at`: the
        count, or Moved."""
        from pynamodb.exceptions import UpdateError

        from loyalty.core.dynamo import is_condition_failure

        item = DeliveryItem(*DeliveryItem.key_of(notification_id))
        try:
            item.update([DeliveryItem.attempts.add(1), DeliveryItem.gsi1sk.set(f"{retry_at}#{notification_id}")],
                        condition=(DeliveryItem.state == "sending") & (DeliveryItem.attempts == attempts_read))
        except UpdateError as error:
            if is_condition_failure(error):
                raise Moved() from None
            raise
        return int(item.attempts)

    def finish(self, notification_id: str, state: State, at: str, events: Sequence[PendingEvent], **fields: str | None) -> None:
        """`sending` → delivered or failed, with its receipt's event: once (Moved otherwise)."""
        transaction = Transaction()
        actions = [DeliveryItem.state.set(state), DeliveryItem.finishedAt.set(at), DeliveryItem.gsi1pk.remove(), DeliveryItem.gsi1sk.remove(),
                   *(getattr(DeliveryItem, name).set(value) for name, value in fields.items() if value is not None)]
        transaction.update("delivery", DeliveryItem(*DeliveryItem.key_of(notification_id)), actions, DeliveryItem.state == "sending")
        NotificationsOutbox.add_to(transaction, events)
        try:
            transaction.commit()
        except Refused:
            raise Moved() from None

    @staticmethod
    def _commit_new(item: DeliveryItem, events: Sequence[PendingEvent]) -> None:
        transaction = Transaction()
        transaction.put("delivery", item, DeliveryItem.pk.does_not_exist())
        NotificationsOutbox.add_to(transaction, events)
        try:
            transaction.commit()
        except Refused:
            raise Moved() from None
