"""Which fields make one event unique, so that an event delivered twice, or re-published under a
new envelope id (the bank's retry, the outbox's at-least-once relay), is recognised as the same
occurrence by every consumer.

The bank's events are keyed by their business ids (../shared/EVENTS.md): a transaction, a loan, an
opened account; those without one by what makes them unique (an account and the instant of a
balance change, a customer and a business date or month). The engine's own events carry the
`eventId` their outbox gave them. Only when those fields are missing is the envelope id the key.
Consumers keep their markers per customer, so the customer id is not part of the key.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

from loyalty.core.clock import iso_utc

OCCURRENCE_FIELDS: dict[str, tuple[str, ...]] = {
    "CardTransactionPosted": ("transactionId",),
    "CardTransactionRefunded": ("refundId",),
    "SalaryCredited": ("transactionId",),
    "LoanDrawdown": ("loanId",),
    "AccountOpened": ("accountId",),
    "LargeBalanceMovement": ("accountId", "movedAt"),
    "DepositBalanceChanged": ("accountId", "changedAt"),
    "CheckInCompleted": ("businessDate",),
    "LoginCompleted": ("loggedInAt",),
    "MonthlyAumComputed": ("month",),
    "CustomerProfileChanged": ("changedAt",),
    "DepositMaturing": ("accountId", "maturesOn"),
    "ApplicationAbandoned": ("applicationId",),
}
ENGINE_FIELDS = ("eventId",)


MAX_LENGTH = 128  # it is stored in keys and ids; a longer one is replaced by its digest


def occurrence_key(event_type: str, detail: Mapping[str, Any], envelope_id: str) -> str:
    values = [detail.get(name) for name in OCCURRENCE_FIELDS.get(event_type, ENGINE_FIELDS)]
    key = f"{event_type}:" + ":".join(_as_key(v) for v in values) if all(values) else f"{event_type}:{envelope_id}"
    if len(key) <= MAX_LENGTH:
        return key
    return f"{event_type}:sha256:{hashlib.sha256(key.encode()).hexdigest()}"


def _as_key(value: Any) -> str:
    """An instant in UTC, so the same one re-published with another offset is the same key."""
    if isinstance(value, str) and len(value) > 10 and value[4:5] == "-" and "T" in value:
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return value
    if isinstance(value, datetime):
        return iso_utc(value) if value.tzinfo else value.isoformat()
    return value.isoformat() if isinstance(value, date) else str(value)
