"""Checkout sessions in the `checkout` table (`loyalty.checkout.items`): read, and staged in the
session's transaction conditioned on the version read (and, for a confirm, on the session still
being locked and not lapsed)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Protocol

from pynamodb.expressions.condition import Condition

from loyalty.checkout.items import OPEN, CheckoutOutbox, SessionItem
from loyalty.checkout.sessions import Session
from loyalty.core.outbox import PendingEvent
from loyalty.core.transactions import Transaction

LABEL = "session"


class SessionStore(Protocol):
    def get(self, session_id: str) -> Session | None: ...

    def of_customer(self, customer_id: str, limit: int) -> list[Session]:
        """The customer's sessions, newest first."""

    def lapsed(self, before_iso: str) -> Iterator[Session]:
        """Sessions still locked whose time passed before `before_iso`, oldest first."""

    def stage(self, transaction: Transaction, before: Session | None, after: Session, events: Sequence[PendingEvent] = (),
              *, unlapsed_at: str | None = None) -> None:
        """`after` written over `before` (None: a new session), under the label `session`: on
        condition the stored version is `before`'s, and with `unlapsed_at` also that it is still
        locked and lapses after that instant."""


class DynamoSessionStore:
    def get(self, session_id: str) -> Session | None:
        pk, sk = SessionItem.key_of(session_id)
        try:
            return session_of(SessionItem.get(pk, sk, consistent_read=True))
        except SessionItem.DoesNotExist:
            return None

    def of_customer(self, customer_id: str, limit: int) -> list[Session]:
        found = SessionItem.by_customer.query(f"CUST#{customer_id}", scan_index_forward=False, limit=limit)
        return [session_of(item) for item in found][:limit]

    def lapsed(self, before_iso: str) -> Iterator[Session]:
        for item in SessionItem.open_by_lapse.query(OPEN, SessionItem.gsi1sk < before_iso):
            yield session_of(item)

    def stage(self, transaction: Transaction, before: Session | None, after: Session, events: Sequence[PendingEvent] = (),
              *, unlapsed_at: str | None = None) -> None:
        pk, sk = SessionItem.key_of(after.sessionId)
        body = after.model_dump_json(exclude={"sessionId", "customerId", "state", "version", "lapsesAt"})
        item = SessionItem(pk, sk, sessionId=after.sessionId, customerId=after.customerId, state=after.state, lapsesAt=after.lapsesAt,
                           version=after.version, body=body, gsi2pk=f"CUST#{after.customerId}", gsi2sk=f"{after.createdAt}#{after.sessionId}")
        if after.state == "locked":  # sparse: the sweep finds only sessions still holding something
            item.gsi1pk, item.gsi1sk = OPEN, f"{after.lapsesAt}#{after.sessionId}"
        condition: Condition = SessionItem.pk.does_not_exist() if before is None else SessionItem.version == before.version
        if unlapsed_at is not None:
            condition &= (SessionItem.state == "locked") & (SessionItem.lapsesAt > unlapsed_at)
        transaction.put(LABEL, item, condition)
        CheckoutOutbox.add_to(transaction, events)


def session_of(item: SessionItem) -> Session:
    return Session.model_validate({**json.loads(item.body), "sessionId": item.sessionId, "customerId": item.customerId,
                                   "state": item.state, "version": int(item.version), "lapsesAt": item.lapsesAt})


def default_store() -> SessionStore:
    return DynamoSessionStore()
