"""The points ledger, pure: an account's state in, the change one transaction must write out.

Invariants (tested with hypothesis and with threads on the emulator):
- `available` equals the sum of the lots' `remaining`; `available - debt` equals the sum of all
  entries' `points`;
- lots are consumed in expiry order, never below zero, never after they expire;
- a debt (points reversed after they were spent) is repaid first by later earnings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from loyalty.core.errors import BusinessRuleViolation
from loyalty.points.writes import GuardedWrite


@dataclass(frozen=True)
class Lot:
    lot_id: str
    expires_on: str  # business date, YYYY-MM-DD
    remaining: int
    cost_centre: str
    rule_id: str | None = None


@dataclass(frozen=True)
class Account:
    customer_id: str
    available: int = 0
    debt: int = 0
    growth: int = 0
    version: int = 0
    lots: tuple[Lot, ...] = ()
    held: int = 0  # spent on redemptions not settled yet (already out of `available`)
    pending: int = 0  # earned but held back by the risk warning (not yet in `available`)
    tier: str | None = None
    growth_by_month: tuple[tuple[str, int], ...] = ()  # (YYYY-MM, growth earned that month)
    downgrade_due_on: str | None = None  # set by a re-evaluation that found the tier no longer earned
    benefits_month: str | None = None  # the last month whose monthly tier benefits were sent
    erased: bool = False  # the customer was erased (loyalty.privacy): nothing more is earned

    def fifo(self) -> list[Lot]:
        return sorted(self.lots, key=lambda lot: (lot.expires_on, lot.lot_id))


@dataclass(frozen=True)
class Entry:
    entry_id: str
    kind: str  # earn, redeem, expire, reverse, adjust
    points: int  # its effect on available - debt
    at: str
    cost_centre: str | None
    source: dict[str, Any] = field(default_factory=dict)
    growth: int = 0
    lots: tuple[tuple[str, int], ...] = ()  # (lot id, change)
    debt_change: int = 0


@dataclass
class Change:
    """Everything one ledger transaction writes for one customer."""

    entries: list[Entry] = field(default_factory=list)
    lots: dict[str, Lot] = field(default_factory=dict)  # every lot touched, as read (new ones at 0)
    lot_delta: dict[str, int] = field(default_factory=dict)
    available: int = 0
    debt: int = 0
    growth: int = 0
    growth_month: str = ""  # the business month growth is earned in (tiers count months)
    held: int = 0
    pending: int = 0
    # Writes that say "not done yet" (a redemption, a held accrual): when one fails the change was
    # already applied. Other writes that ride along (tier fields) go in `balance_sets`.
    records: list[GuardedWrite] = field(default_factory=list)
    balance_sets: dict[str, Any] = field(default_factory=dict)
    # The business date: lots dated before it have lapsed (the daily run has not deleted them yet)
    # and are never spent.
    today: str = ""

    def remaining_of(self, lot: Lot) -> int:
        return lot.remaining + self.lot_delta.get(lot.lot_id, 0)

    def move(self, lot: Lot, delta: int) -> None:
        self.lots.setdefault(lot.lot_id, lot)
        self.lot_delta[lot.lot_id] = self.lot_delta.get(lot.lot_id, 0) + delta


def lot_id_for(expires_on: str, cost_centre: str, rule_id: str | None) -> str:
    # Earnings with the same expiry, payer and rule share one lot: with end-of-month validity a year
    # of daily check-ins is a dozen lots, not 365. Validity in days makes a lot per earning day: a
    # change touches at most MAX_LOTS_PER_CHANGE of them.
    return f"{expires_on}#{cost_centre}#{rule_id or 'manual'}"


def _all_lots(account: Account, change: Change) -> list[Lot]:
    known = {lot.lot_id: lot for lot in account.lots}
    known.update({k: v for k, v in change.lots.items() if k not in known})
    return sorted(known.values(), key=lambda lot: (lot.expires_on, lot.lot_id))


# A change is one DynamoDB transaction (at most 100 items): the balance, entries, caps and events
# take a few, and every lot it touches one. Points valid N days from each earning make a lot per
# earning day and rule, so a large redemption could otherwise need hundreds.
MAX_LOTS_PER_CHANGE = 80


def _take(account: Account, change: Change, points: int, prefer: tuple[str, ...] = ()) -> list[tuple[str, int]]:
    """Takes up to `points` from the lots: preferred lots first, then by expiry, from at most
    `MAX_LOTS_PER_CHANGE` lots in the change. Returns what it took."""
    lots = [lot for lot in _all_lots(account, change) if lot.expires_on >= change.today]
    ordered = [lot for lot in lots if lot.lot_id in prefer] + [lot for lot in lots if lot.lot_id not in prefer]
    taken: list[tuple[str, int]] = []
    for lot in ordered:
        if points == 0:
            break
        if lot.lot_id not in change.lot_delta and len(change.lot_delta) >= MAX_LOTS_PER_CHANGE:
            break
        take = min(change.remaining_of(lot), points)
        if take > 0:
            change.move(lot, -take)
            taken.append((lot.lot_id, -take))
            points -= take
    return taken


def _available(account: Account, change: Change) -> int:
    """What may be spent: the balance less any lapsed lots still waiting for the daily run."""
    lapsed = sum(change.remaining_of(lot) for lot in _all_lots(account, change) if lot.expires_on < change.today)
    return account.available + change.available - lapsed


def earn(
    account: Account,
    change: Change,
    *,
    entry_id: str,
    points: int,
    growth: bool,
    expires_on: str,
    cost_centre: str,
    at: str,
    source: dict[str, Any],
    kind: str = "earn",
) -> None:
    """Growth value only counts; redeemable points repay any debt first, the rest go into a lot."""
    if growth:
        change.growth += points
        change.entries.append(Entry(entry_id, kind, 0, at, cost_centre, source, growth=points))
        return
    repaid = min(points, account.debt + change.debt)
    into_lot = points - repaid
    lots: tuple[tuple[str, int], ...] = ()
    if into_lot:
        lot_id = lot_id_for(expires_on, cost_centre, source.get("ruleId"))
        existing = next((lot for lot in _all_lots(account, change) if lot.lot_id == lot_id), None)
        change.move(existing or Lot(lot_id, expires_on, 0, cost_centre, source.get("ruleId")), into_lot)
        lots = ((lot_id, into_lot),)
    change.available += into_lot
    change.debt -= repaid
    change.entries.append(Entry(entry_id, kind, points, at, cost_centre, source, lots=lots, debt_change=-repaid))


def redeem(account: Account, change: Change, *, entry_id: str, points: int, at: str, source: dict[str, Any], kind: str = "redeem") -> None:
    if points > _available(account, change):
        raise BusinessRuleViolation(
            f"the balance is {_available(account, change)} points, {points} were asked", code="INSUFFICIENT_POINTS"
        )
    taken = _take(account, change, points)
    if -sum(delta for _, delta in taken) < points:
        raise BusinessRuleViolation(
            f"{points} points are spread over more than {MAX_LOTS_PER_CHANGE} lots; redeem fewer at once", code="POINTS_TOO_FRAGMENTED"
        )
    change.available -= points
    change.entries.append(Entry(entry_id, kind, -points, at, None, source, lots=tuple(taken)))


def reverse(
    account: Account, change: Change, *, entry_id: str, points: int, at: str, source: dict[str, Any], prefer: tuple[str, ...] = ()
) -> None:
    """Takes back earned points: from their own lots first, then any lot; what is already spent (or
    spread beyond the lots one change may touch) becomes a debt, recorded, that later earnings repay. Points whose own lot has lapsed are taken
    only from what is left of it (it would expire anyway): the rest lapsed or was spent before the
    refund came, and is neither taken from other lots nor owed."""
    if prefer and all(lot_id.split("#", 1)[0] < change.today for lot_id in prefer):
        own = [lot for lot in _all_lots(account, change) if lot.lot_id in prefer]
        taken_back: list[tuple[str, int]] = []
        for lot in own:
            take = min(change.remaining_of(lot), points + sum(delta for _, delta in taken_back))
            if take > 0:
                change.move(lot, -take)
                taken_back.append((lot.lot_id, -take))
        took = -sum(delta for _, delta in taken_back)
        change.available -= took
        noted = {**source, "lapsedNotTaken": points - took} if points > took else source
        change.entries.append(Entry(entry_id, "reverse", -took, at, None, noted, lots=tuple(taken_back)))
        return
    taken = _take(account, change, min(points, _available(account, change)), prefer)
    took = -sum(delta for _, delta in taken)
    shortfall = points - took
    change.available -= took
    change.debt += shortfall
    change.entries.append(Entry(entry_id, "reverse", -points, at, None, source, lots=tuple(taken), debt_change=shortfall))


def reverse_unbooked(change: Change, *, entry_id: str, at: str, source: dict[str, Any]) -> None:
    """A reversal that came before what it reverses: a `reverse` entry of no points, whose id the
    booking it reverses checks for (`NotBooked`), so that booking never happens after it."""
    change.entries.append(Entry(entry_id, "reverse", 0, at, None, source))


def reverse_growth(change: Change, *, entry_id: str, growth: int, month: str, at: str, source: dict[str, Any]) -> None:
    """Takes back growth value from the business month it was earned in (tiers count months)."""
    change.growth -= growth
    change.growth_month = month
    change.entries.append(Entry(entry_id, "reverse", 0, at, None, source, growth=-growth))


def restore(account: Account, change: Change, *, entry_id: str, taken: tuple[tuple[str, int], ...], at: str, source: dict[str, Any]) -> None:
    """Puts points taken by a redemption back into the lots they came from (re-created if the
    daily run deleted them meanwhile; a lapsed one is expired by the next run, never spent). Like an
    earning, they repay any debt first (a refund taken back while they were held): those never
    return to a lot, so they cannot be spent twice."""
    known = {lot.lot_id: lot for lot in _all_lots(account, change)}
    points = -sum(delta for _, delta in taken)
    repaid = min(points, account.debt + change.debt)
    to_skip, restored = repaid, []
    for lot_id, delta in taken:
        back = -delta - min(to_skip, -delta)
        to_skip -= -delta - back
        if back == 0:
            continue
        expires_on, rest = lot_id.split("#", 1)
        cost_centre, rule_id = rest.rsplit("#", 1)  # rule ids never hold '#'; a cost centre may
        lot = known.get(lot_id) or Lot(lot_id, expires_on, 0, cost_centre, None if rule_id == "manual" else rule_id)
        change.move(lot, back)
        restored.append((lot_id, back))
    change.available += points - repaid
    change.debt -= repaid
    change.entries.append(Entry(entry_id, "reverse", points, at, None, source, lots=tuple(restored), debt_change=-repaid))


def expire(account: Account, change: Change, *, lot: Lot, at: str, entry_id: str) -> None:
    """The lot's remaining points lapse."""
    left = change.remaining_of(lot)
    if left <= 0:
        return
    change.move(lot, -left)
    change.available -= left
    change.entries.append(Entry(entry_id, "expire", -left, at, lot.cost_centre, {"lotId": lot.lot_id}, lots=((lot.lot_id, -left),)))


def apply(account: Account, change: Change) -> Account:
    """The account after the change: what a successful transaction leaves behind."""
    lots = tuple(
        Lot(lot.lot_id, lot.expires_on, change.remaining_of(lot), lot.cost_centre, lot.rule_id)
        for lot in _all_lots(account, change)
        if change.remaining_of(lot) > 0
    )
    return Account(
        account.customer_id,
        account.available + change.available,
        account.debt + change.debt,
        account.growth + change.growth,
        account.version + 1,
        lots,
        account.held + change.held,
        account.pending + change.pending,
        change.balance_sets.get("tier", account.tier),
        _growth_after(account, change),
        change.balance_sets.get("downgradeDueOn", account.downgrade_due_on),
        change.balance_sets.get("benefitsMonth", account.benefits_month),
    )


def _growth_after(account: Account, change: Change) -> tuple[tuple[str, int], ...]:
    months = dict(account.growth_by_month)
    if change.growth and change.growth_month:
        months[change.growth_month] = months.get(change.growth_month, 0) + change.growth
    return tuple(sorted(months.items()))
