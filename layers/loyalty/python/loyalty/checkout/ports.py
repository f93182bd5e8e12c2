"""What other capabilities may ask of checkout: the only way they reach the `checkout` table. Today that
is the books the daily reconciliation checks (`books()`, read only, in pages): every session, with
what it should hold of the coupons and points it names."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class SessionBooks:
    session_id: str
    customer_id: str
    state: str  # as stored: locked, confirmed, partly_refunded, refunded, cancelled, lapsed
    created_at: str
    lapses_at: str
    coupons: tuple[tuple[str, bool], ...]  # (coupon id, given back to the wallet by a refund)
    points: int  # held, then spent (0: none)


class CheckoutBooks(Protocol):
    def sessions(self, cursor: str | None, limit: int) -> tuple[list[SessionBooks], str | None]:
        """A page of every session (a scan of `limit` items), and the cursor of the next."""


class DynamoCheckoutBooks:
    def sessions(self, cursor: str | None, limit: int) -> tuple[list[SessionBooks], str | None]:
        from loyalty.checkout.items import SessionItem
        from loyalty.checkout.session_store import session_of
        from loyalty.core.tables import scan_page

        raw, next_cursor = scan_page(SessionItem, SessionItem.sk == "SESSION", cursor, limit)
        found = [session_of(SessionItem.from_raw_data(item)) for item in raw]
        return [SessionBooks(s.sessionId, s.customerId, s.state, s.createdAt, s.lapsesAt, tuple((c.couponId, c.returned) for c in s.coupons),
                             s.points.points) for s in found], next_cursor


def books() -> CheckoutBooks:
    return DynamoCheckoutBooks()
