"""Points' part of the PIPL rights (`loyalty.privacy` calls it through `loyalty.points.ports`).

- **Export**: the account's items (balance, lots, cap and velocity counters), every ledger entry, the
  redemptions those entries name, and the customer's risk holds, decided or not.
- **Erase**: the account is marked erased. The ledger, the lots and the balance stay: they hold the
  customer id (a pseudonym once the profile is gone) and amounts, and the liability must stay correct.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from loyalty.core.clock import iso_utc
from loyalty.points.items import (
    BalanceItem,
    EntryItem,
    PointsItem,
    RedemptionItem,
    RiskHoldItem,
    account_pk,
    customer_holds_key,
    ledger_pk,
)

# Keys and indexes say nothing the export's reader needs; the TTL neither.
HIDDEN = ("pk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "expiresAt")


class DynamoPointsPrivacy:
    def export(self, customer_id: str) -> dict[str, Any]:
        ledger = [entry.plain() for entry in EntryItem.query(ledger_pk(customer_id), consistent_read=True)]
        account = [item.plain() for item in PointsItem.query(account_pk(customer_id), consistent_read=True)]
        redemptions = [found.plain() for found in _redemptions(_redemption_ids(ledger))]
        # A hold is written with the balance it makes pending: without an account there is none to read.
        holds = [hold.plain() for hold in RiskHoldItem.byCustomer.query(customer_holds_key(customer_id))] if account else []
        return {"points": {"account": _shown(account), "ledger": [_decoded(e) for e in _shown(ledger)],
                           "redemptions": _shown(redemptions), "riskHolds": _shown(holds)}}

    def erase(self, customer_id: str, now: datetime) -> dict[str, Any]:
        balance = BalanceItem.key(customer_id)
        # Whatever version is stored, it moves on (no condition: the erasure wins), so an accrual that
        # read the account before is refused and reads it again, erased. (0: PynamoDB then adds 1.)
        balance.version = 0
        balance.update([BalanceItem.erased.set(True), BalanceItem.erasedAt.set(iso_utc(now)),
                        BalanceItem.customerId.set(customer_id)], add_version_condition=False)
        return {}


def export(customer_id: str) -> dict[str, Any]:
    from loyalty.points.ports import privacy

    return privacy().export(customer_id)


def erase(customer_id: str, now: datetime) -> dict[str, Any]:
    from loyalty.points.ports import privacy

    return privacy().erase(customer_id, now)


def _redemptions(ids: list[str]) -> list[RedemptionItem]:
    found = []
    for rid in ids:  # one GetItem each, as the export has always read them
        key = RedemptionItem.key(rid)
        try:
            found.append(RedemptionItem.get(key.pk, key.sk, consistent_read=True))
        except RedemptionItem.DoesNotExist:
            continue
    return found


def _redemption_ids(ledger: list[dict[str, Any]]) -> list[str]:
    sources = [json.loads(e["source"]) for e in ledger if e.get("kind") == "redeem" and isinstance(e.get("source"), str)]
    return sorted({str(src["redemptionId"]) for src in sources if src.get("redemptionId")})


def _shown(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in item.items() if k not in HIDDEN} for item in items]


def _decoded(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, **{k: json.loads(entry[k]) for k in ("source", "lots") if isinstance(entry.get(k), str)}}
