"""What other capabilities may ask of points: the only way they reach the points table. Today that is
the PIPL export and erasure of one customer's points (`loyalty.privacy`), the books the daily
reconciliation checks (`books()`, read only), and checkout's balance and held points; the rest of the engine hears from points through its
events (PointsEarned, TierChanged, IssueCoupon, ...)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from loyalty.core.transactions import Transaction


class PointsPrivacy(Protocol):
    def export(self, customer_id: str) -> dict[str, Any]:
        """`{"points": {"account": [...], "ledger": [...], "redemptions": [...], "riskHolds": [...]}}`:
        the items as stored, without keys, index keys and TTLs; ledger entries' `source` and `lots`
        decoded. Every list empty: points hold nothing on them."""

    def erase(self, customer_id: str, now: datetime) -> dict[str, Any]:
        """Marks the account erased (its version moved, so an accrual racing the erasure decides
        again): nothing more is earned, and no level changes or benefits follow. The ledger and the
        balance stay (the liability must stay correct). Answers `{}`: nothing for the receipt."""


@cache
def privacy() -> PointsPrivacy:
    from loyalty.points.privacy import DynamoPointsPrivacy

    return DynamoPointsPrivacy()


# ---- the books, for the daily reconciliation (loyalty.reconciliation) ------------------------------


@dataclass(frozen=True)
class AccountBooks:
    """One account as its three records tell it, read at one version of the account."""

    customer_id: str
    available: int
    debt: int
    lots_remaining: int  # the liability as the lots hold it
    entries_points: int  # the ledger's sum: must equal available - debt
    entries: int


@dataclass(frozen=True)
class RedemptionBooks:
    redemption_id: str
    customer_id: str
    kind: str  # coupon, goods, ...
    status: str  # issuing, held, completed, released
    created_at: str


@dataclass(frozen=True)
class AwardBooks:
    """What the ledger holds of one `AwardPoints` command: its award entry's points (None: not
    booked) and whether its reversal is booked."""

    command_id: str
    awarded: int | None
    reversed: bool


@dataclass(frozen=True)
class LotBooks:
    customer_id: str
    expires_on: str  # business date, YYYY-MM-DD: valid through it
    remaining: int


@dataclass(frozen=True)
class SettledBooks:
    """A ledger entry that settled points for good: `redeem` or `expire` (points as booked: negative)."""

    customer_id: str
    kind: str
    points: int


class PointsBooks(Protocol):
    def accounts(self, cursor: str | None, limit: int) -> tuple[list[AccountBooks], list[RedemptionBooks], str | None]:
        """The accounts (each read whole) and the redemptions met in one page of a scan of the points
        table: one pass over the table finds both."""

    def awards(self, commands: Sequence[tuple[str, str]]) -> dict[str, AwardBooks]:
        """Each (customer, command id)'s award and reversal entries (one batched read)."""

    def known_redemptions(self, redemption_ids: Sequence[str]) -> set[str]: ...

    def redemption_statuses(self, redemption_ids: Sequence[str]) -> dict[str, str]:
        """Each redemption's status, of those that exist (one batched read)."""

    def lots(self, cursor: str | None, limit: int) -> tuple[list[LotBooks], str | None]:
        """The lots met in one page of a scan of the points table (the liability, by customer and expiry)."""

    def settled(self, cursor: str | None, limit: int) -> tuple[list[SettledBooks], str | None]:
        """The `redeem` and `expire` ledger entries met in one page of a scan of the points table."""


@cache
def books() -> PointsBooks:
    from loyalty.points.books import DynamoPointsBooks

    return DynamoPointsBooks()


# ---- checkout: the points that may pay for an order (docs/checkout.md) -----------------------------


class PointsBalance(Protocol):
    def spendable(self, customer_id: str, now: datetime) -> int:
        """Points the customer may spend now: available, less lots lapsed but not swept yet (0 for a
        customer without an account)."""


class DynamoPointsBalance:
    def spendable(self, customer_id: str, now: datetime) -> int:
        from loyalty.points import service
        from loyalty.points.store import DynamoPointsStore

        return max(0, int(service.balance(DynamoPointsStore(), customer_id, now)["available"]))


@cache
def balance() -> PointsBalance:
    return DynamoPointsBalance()


Lots = tuple[tuple[str, int], ...]  # (lot id, points): taken negative, put back positive


@dataclass(frozen=True)
class Staged:
    """What one operation added to checkout's transaction: the labels of its once-only writes (a
    refusal of the first means it was applied before), and the lots it moved."""

    applied_once: list[str]
    lots: Lots

    def by_funder(self) -> dict[str, int]:
        """Points by the cost centre that paid for their lot (a lot id is `expiry#cost centre#rule`)."""
        shares: dict[str, int] = {}
        for lot_id, points in self.lots:
            centre = lot_id.split("#", 1)[1].rsplit("#", 1)[0]
            shares[centre] = shares.get(centre, 0) + abs(points)
        return dict(sorted(shares.items()))


class CheckoutPoints(Protocol):
    """A checkout session's points, each operation staged in checkout's own transaction (so the
    points are held, or settled, together with the coupons or not at all). Each reads the account
    and conditions its writes on it: a refusal of anything but `Staged.applied_once` means the
    account moved meanwhile, and the caller reads again (`loyalty.points.checkout_holds`)."""

    def hold(self, transaction: Transaction, customer_id: str, session_id: str, points: int, now: datetime) -> Staged: ...

    def settle(self, transaction: Transaction, customer_id: str, session_id: str, now: datetime, payment_id: str) -> Staged: ...

    def release(self, transaction: Transaction, customer_id: str, session_id: str, now: datetime, reason: str) -> Staged: ...

    def refund(self, transaction: Transaction, customer_id: str, session_id: str, refund_id: str, start: int, points: int,
               now: datetime) -> Staged: ...


def checkout_points() -> CheckoutPoints:
    from loyalty.points.checkout_holds import DynamoCheckoutPoints

    return DynamoCheckoutPoints()
