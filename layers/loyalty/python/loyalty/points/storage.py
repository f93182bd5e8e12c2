"""What the points services need of their table: the store's port, and the outcomes of a ledger
write. The Dynamo implementation is `loyalty.points.store`; the unit tests run the services against
an in-memory one that honours the same conditions."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol

from loyalty.core.outbox import PendingEvent
from loyalty.points.ledger import Account, Change, Lot
from loyalty.points.model import Rule
from loyalty.points.tiers import TierLadder


class AlreadyApplied(Exception):
    """An entry (or a redemption, hold or decision) with this id exists: the source was already booked."""


class StaleAccount(Exception):
    """The account changed between the read and the write; read again and retry."""


CapUpdate = tuple[str, int, int]  # (counter key, points or events to add, the ceiling it may reach)


class PointsStore(Protocol):
    """What the points services need of their table. Records come back as plain dicts of the stored
    attributes (integers exact); configuration as its JSON text with who saved it and when."""

    def load(self, customer_id: str) -> tuple[Account, dict[str, int]]:
        """The account and its cap counters, read consistently in one request."""

    def commit(self, account: Account, change: Change, *, caps: Sequence[CapUpdate] = (),
               events: Sequence[PendingEvent] = (), ttl_epoch: int = 0) -> None:
        """The change in one transaction, if the account is still at the version read. Raises
        `AlreadyApplied` when an entry or a guarded record refuses it, `StaleAccount` otherwise."""

    def entries_with_prefix(self, customer_id: str, prefix: str) -> list[dict[str, Any]]: ...

    def history(self, customer_id: str, kind: str | None, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the ledger, newest first (only `kind` if given), and the next page's cursor:
        None at the end; one this listing did not return is 400 INVALID_CURSOR."""

    def lots_expiring_on(self, day: str) -> Iterator[tuple[str, Lot]]: ...

    def lots_lapsed_before(self, day: str) -> Iterator[tuple[str, Lot]]: ...

    def all_lots(self) -> Iterator[Lot]: ...

    def balances_total(self) -> tuple[int, int]: ...

    def balance_customers(self, segment: int, segments: int) -> Iterator[str]: ...

    def redemption(self, redemption_id: str) -> dict[str, Any] | None: ...

    def lapsed_holds(self, before: str) -> Iterator[str]:
        """The ids of open mall redemptions whose hold lapsed before `before` (ISO instant)."""

    def risk_hold(self, hold_id: str) -> dict[str, Any] | None: ...

    def pending_risk_holds(self) -> list[dict[str, Any]]:
        """Holds waiting for an operator, oldest first."""

    def catalogue_record(self, item_id: str) -> dict[str, Any] | None: ...

    def catalogue_records(self) -> list[dict[str, Any]]: ...

    def save_catalogue_record(self, item_id: str, item_json: str, operator: str, at: str) -> None: ...

    def risk_settings(self) -> dict[str, Any] | None: ...

    def save_risk_settings(self, settings_json: str, operator: str, at: str) -> None: ...

    def ladder(self) -> tuple[TierLadder, int, dict[str, Any]] | None: ...

    def save_ladder(self, ladder: TierLadder, version: int, operator: str, at: str) -> None:
        """A new version, and the current pointer moved to it only from the version before:
        409 TIERS_VERSION_CONFLICT otherwise."""

    def rules(self) -> list[Rule]: ...

    def rule(self, rule_id: str, version: int | None = None) -> Rule:
        """404 RULE_NOT_FOUND if there is no such rule (or version)."""

    def save_rule(self, rule: Rule) -> None:
        """A new version, and the current pointer moved to it only from the version before:
        409 RULE_VERSION_CONFLICT otherwise."""
