"""Scoring's part of the PIPL rights (`loyalty.privacy` calls it): what scoring holds on a customer,
and its erasure.

- **Export**: the customer's items (the STATE with features and scores, their segment memberships,
  events parked until their profile arrives; not the event markers, which are bookkeeping), without
  the key attributes, and the device and phone identities recorded for them (keyed hashes: the
  engine never holds them as received).
- **Erase**: the customer's items, and their entries in scoring's indexes: their identities
  (`IDENT#<keyed hash>`, listed on STATE) and their place in their relationship manager's book
  (`RM#<manager>`). The index entries go first, so that an erasure that failed halfway still finds
  them through STATE when it is run again. The caller tombstones the profile before: from then on no
  re-scoring can write any of it again (each is conditioned on the profile not being erased).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from loyalty.scoring.items import (
    PARKED_PREFIX,
    EventMarkerItem,
    FeatureStateItem,
    IdentityItem,
    ManagerEntryItem,
    MembershipItem,
    ParkedEventItem,
    ScoringItem,
    customer_pk,
)

HIDDEN = ("pk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "expiresAt")
_BY_SORT_KEY: tuple[tuple[str, type[ScoringItem]], ...] = (("STATE", FeatureStateItem), ("EVT#", EventMarkerItem), ("SEG#", MembershipItem),
                                                           (PARKED_PREFIX, ParkedEventItem))


class DynamoScoringPrivacy:
    def export(self, customer_id: str) -> dict[str, Any]:
        items = [item for item in customer_items(customer_id) if not isinstance(item, EventMarkerItem)]
        return {"scoring": [{k: v for k, v in item.plain().items() if k not in HIDDEN} for item in items],
                "identities": identity_items(customer_id, _identities(items))}

    def erase(self, customer_id: str, now: datetime) -> dict[str, Any]:
        from loyalty.core.tables import batch_write

        items = customer_items(customer_id)
        indexed: list[ScoringItem] = [IdentityItem.of(keyed, customer_id) for keyed in _identities(items)]
        indexed += [ManagerEntryItem.of(manager, customer_id) for manager in _managers(items)]
        batch_write(deletes=indexed)
        batch_write(deletes=items)
        return {"scoringItemsDeleted": len(items) + len(indexed)}


def export(customer_id: str) -> dict[str, Any]:
    return DynamoScoringPrivacy().export(customer_id)


def erase(customer_id: str, now: datetime) -> dict[str, Any]:
    return DynamoScoringPrivacy().erase(customer_id, now)


def customer_items(customer_id: str) -> list[ScoringItem]:
    """Every item under `CUST#<customer>`, each as its own model: one Query (paged), as PynamoDB's
    `Model.query` cannot do for a partition holding several item types."""
    from pynamodb.pagination import ResultIterator

    connection = ScoringItem._get_connection()
    return list(ResultIterator(connection.query, (customer_pk(customer_id),), {"consistent_read": True}, map_fn=_item_of))


def _item_of(raw: dict[str, Any]) -> ScoringItem:
    sk = raw["sk"]["S"]
    model = next((model for prefix, model in _BY_SORT_KEY if sk.startswith(prefix)), ScoringItem)
    return model.from_raw_data(raw)


def identity_items(customer_id: str, keyed_hashes: Iterable[str]) -> list[dict[str, Any]]:
    """The customer's identity items: keyed hash, kind, first seen (one GetItem each)."""
    found = []
    for keyed in keyed_hashes:
        try:
            item = IdentityItem.get(f"IDENT#{keyed}", customer_pk(customer_id), consistent_read=True)
        except IdentityItem.DoesNotExist:
            continue
        found.append({"keyedHash": keyed, "kind": item.kind, "firstSeenAt": item.firstSeenAt})
    return found


def _state(items: list[ScoringItem]) -> FeatureStateItem | None:
    return next((item for item in items if isinstance(item, FeatureStateItem)), None)


def _identities(items: list[ScoringItem]) -> list[str]:
    """The keyed device and phone hashes scoring recorded for the customer (listed on the state)."""
    state = _state(items)
    return sorted(state.identities.as_dict()) if state is not None and state.identities is not None else []


def _managers(items: list[ScoringItem]) -> list[str]:
    state = _state(items)
    manager = state.facts.as_dict().get("relationshipManagerId") if state is not None and state.facts is not None else None
    return [manager] if manager else []
