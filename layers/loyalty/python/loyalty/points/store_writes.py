"""Each guarded write (`loyalty.points.writes`) as its item and condition in a ledger transaction."""

from __future__ import annotations

from loyalty.core.transactions import Transaction
from loyalty.points.items import (
    HOLDS_INDEX_KEY,
    RISK_INDEX_KEY,
    EntryItem,
    PlannedEarning,
    RedemptionItem,
    RiskHoldItem,
    customer_holds_key,
    ledger_pk,
)
from loyalty.points.writes import (
    OPEN_REDEMPTION,
    DecideRiskHold,
    GuardedWrite,
    NewRedemption,
    NewRiskHold,
    NotBooked,
    NotHeld,
    SettleRedemption,
)


def add(transaction: Transaction, label: str, write: GuardedWrite) -> str:
    """Adds the write under `label`, and returns the label."""
    if isinstance(write, NewRedemption):
        transaction.put(label, redemption_item(write), RedemptionItem.pk.does_not_exist())
    elif isinstance(write, SettleRedemption):
        fields = [getattr(RedemptionItem, name).set(value) for name, value in write.fields.items() if value is not None]
        # Leaving the holds index: a settled redemption is never swept.
        transaction.update(label, RedemptionItem.key(write.redemption_id), [*fields, RedemptionItem.gsi2pk.remove(), RedemptionItem.gsi2sk.remove()],
                           RedemptionItem.status.is_in(*OPEN_REDEMPTION))
    elif isinstance(write, NewRiskHold):
        transaction.put(label, risk_hold_item(write), RiskHoldItem.pk.does_not_exist())
    elif isinstance(write, NotBooked):
        transaction.check(label, EntryItem, ledger_pk(write.customer_id), f"ENTRY#{write.entry_id}",
                          condition=EntryItem.pk.does_not_exist())
    elif isinstance(write, NotHeld):
        hold = RiskHoldItem.key(write.hold_id)
        transaction.check(label, RiskHoldItem, hold.pk, hold.sk, condition=RiskHoldItem.pk.does_not_exist())
    elif isinstance(write, DecideRiskHold):
        transaction.update(label, RiskHoldItem.key(write.hold_id), [
            RiskHoldItem.status.set(write.status), RiskHoldItem.decidedBy.set(write.decided_by),
            RiskHoldItem.decidedAt.set(write.decided_at), RiskHoldItem.note.set(write.note),
            RiskHoldItem.gsi2pk.remove(), RiskHoldItem.gsi2sk.remove(),
        ], RiskHoldItem.status == "pending")
    else:  # pragma: no cover - the union is closed
        raise TypeError(f"no write for {write!r}")
    return label


def redemption_item(write: NewRedemption) -> RedemptionItem:
    fields = {name: value for name, value in write.fields.items() if value is not None}
    rid, expires = fields["redemptionId"], fields.get("holdExpiresAt")
    # Only mall holds time out: the holds sweep finds them on gsi2 by when they lapse.
    holds = {"gsi2pk": HOLDS_INDEX_KEY, "gsi2sk": f"{expires}#{rid}"} if expires else {}
    return RedemptionItem.key(rid, **fields, **holds)


def risk_hold_item(write: NewRiskHold) -> RiskHoldItem:
    fields = {name: value for name, value in write.fields.items() if value is not None}
    planned = [PlannedEarning(entryId=p["entry_id"], points=p["points"], growth=p["growth"], expiresOn=p["expires_on"],
                              costCentre=p["cost_centre"], source=p["source"]) for p in fields.pop("planned")]
    sort = f"{fields['heldAt']}#{fields['holdId']}"
    # Pending holds on gsi2 for the operators' list; every hold of the customer on gsi1 (an export lists them).
    return RiskHoldItem.key(fields["holdId"], **fields, planned=planned, gsi2pk=RISK_INDEX_KEY, gsi2sk=sort,
                            gsi1pk=customer_holds_key(fields["customerId"]), gsi1sk=sort)
