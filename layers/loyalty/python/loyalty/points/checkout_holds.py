"""Points at checkout (docs/checkout.md, "Sessions"): held in the session's own transaction, settled
when it is confirmed, put back when it is cancelled or lapses, and given back in part by refunds.

Each operation reads the account and stages one ledger change in the caller's transaction, with
the points table's own conditions: the account's version, the lots as read, the redemption record's
state, the entry written once. The hold is a redemption record of kind `checkout` (so the balance's
`held`, the history and the books treat it as any other redemption), under `chk-<session id>`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from loyalty.core.clock import business_date, iso_utc
from loyalty.core.config import get_settings
from loyalty.core.outbox import PendingEvent
from loyalty.core.transactions import Transaction
from loyalty.points import ledger, store_writes
from loyalty.points.items import BalanceItem, PointsOutboxItem
from loyalty.points.ledger import Change
from loyalty.points.ports import Lots, Staged
from loyalty.points.service import SOURCE, entry_event
from loyalty.points.store import DynamoPointsStore
from loyalty.points.writes import NewRedemption, SettleRedemption

KIND = "checkout"


def redemption_id(session_id: str) -> str:
    return f"chk-{session_id}"


def portion(taken: Lots, start: int, points: int) -> Lots:
    """The lots of `taken` that hold its points from `start` (counted in the order taken) for
    `points`: refunds put back consecutive portions, so together they put back exactly what was
    taken, each point to the lot it came from."""
    found: list[tuple[str, int]] = []
    offset = 0
    for lot_id, delta in taken:
        size = -delta
        low, high = max(start, offset), min(start + points, offset + size)
        if high > low:
            found.append((lot_id, -(high - low)))
        offset += size
    return tuple(found)


class DynamoCheckoutPoints:
    def __init__(self) -> None:
        self.store = DynamoPointsStore()

    def _change(self, now: datetime) -> Change:
        return Change(today=business_date(now, get_settings().bank_zone).isoformat())

    def hold(self, transaction: Transaction, customer_id: str, session_id: str, points: int, now: datetime) -> Staged:
        """Takes `points` from the balance into `held` (422 INSUFFICIENT_POINTS if it has not them)."""
        account, _ = self.store.load(customer_id)
        rid, at = redemption_id(session_id), iso_utc(now)
        change = self._change(now)
        ledger.redeem(account, change, entry_id=f"redeem:{rid}", points=points, at=at,
                      source={"redemptionId": rid, "sessionId": session_id, "kind": KIND})
        change.held += points
        taken = change.entries[-1].lots
        change.records.append(NewRedemption({"redemptionId": rid, "customerId": customer_id, "itemId": session_id, "kind": KIND,
                                             "points": points, "status": "held", "createdAt": at, "fingerprint": session_id,
                                             "lots": [list(t) for t in taken]}))
        events = [entry_event("PointsRedeemed", customer_id, change.entries[-1], redemptionId=rid, sessionId=session_id)]
        return Staged(self.store.stage(transaction, account, change, events=events), taken)

    def settle(self, transaction: Transaction, customer_id: str, session_id: str, now: datetime, payment_id: str) -> Staged:
        """The held points spent for good (the session confirmed). No ledger entry moves (the hold
        already took them from the lots), so the balance's `held` goes down without a condition on
        the account's version (it still moves, for the writers that read before): a confirmation
        never waits for the customer's other points activity, and the record's `held` state makes
        it happen once."""
        rid = redemption_id(session_id)
        record = self.store.redemption(rid) or {}
        points = int(record.get("points", 0))
        balance = BalanceItem.key(customer_id)
        balance.version = 0  # any value: with no version condition PynamoDB only adds 1 to the stored one
        transaction.update("account", balance, [BalanceItem.held.add(-points)], BalanceItem.held >= points, add_version_condition=False)
        label = store_writes.add(transaction, "record-0", SettleRedemption(rid, {
            "status": "completed", "settledAt": iso_utc(now), "reason": "checkout_confirmed", "paymentId": payment_id}))
        PointsOutboxItem.add_to(transaction, [PendingEvent(SOURCE, "PointsRedemptionCompleted", {
            "customerId": customer_id, "redemptionId": rid, "itemId": session_id, "points": points, "reason": "checkout_confirmed",
            "sessionId": session_id})])
        return Staged([label], _taken(record.get("lots", [])))

    def release(self, transaction: Transaction, customer_id: str, session_id: str, now: datetime, reason: str) -> Staged:
        """The held points back to the lots they came from (the session cancelled, or lapsed)."""
        rid = redemption_id(session_id)
        record = self.store.redemption(rid) or {}
        account, _ = self.store.load(customer_id)
        change = self._change(now)
        change.held -= int(record.get("points", 0))
        change.records.append(SettleRedemption(rid, {"status": "released", "settledAt": iso_utc(now), "reason": reason}))
        taken = _taken(record.get("lots", []))
        ledger.restore(account, change, entry_id=f"release:{rid}", taken=taken, at=iso_utc(now),
                       source={"redemptionId": rid, "sessionId": session_id, "reverses": f"redeem:{rid}", "reason": reason})
        events = [entry_event("PointsReleased", customer_id, change.entries[-1], redemptionId=rid, sessionId=session_id)]
        return Staged(self.store.stage(transaction, account, change, events=events), change.entries[-1].lots)

    def refund(self, transaction: Transaction, customer_id: str, session_id: str, refund_id: str, start: int, points: int,
               now: datetime) -> Staged:
        """`points` of a confirmed session's back, those after the `start` already refunded, each to
        the lot it came from; written once per refund (its entry's id)."""
        rid = redemption_id(session_id)
        record = self.store.redemption(rid) or {}
        account, _ = self.store.load(customer_id)
        change = self._change(now)
        ledger.restore(account, change, entry_id=f"refund:{rid}:{refund_id}", taken=portion(_taken(record.get("lots", [])), start, points),
                       at=iso_utc(now), source={"redemptionId": rid, "sessionId": session_id, "refundId": refund_id, "reason": "refund"})
        events = [entry_event("PointsReleased", customer_id, change.entries[-1], redemptionId=rid, sessionId=session_id, refundId=refund_id)]
        return Staged(self.store.stage(transaction, account, change, events=events), change.entries[-1].lots)


def _taken(stored: Sequence[Sequence[object]]) -> Lots:
    return tuple((str(lot_id), int(delta)) for lot_id, delta in stored)  # type: ignore[call-overload]

