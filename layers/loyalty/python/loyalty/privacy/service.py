"""PIPL rights over one customer's data: export everything the engine holds, or erase it.

**Export** gathers, read-only: the profile, the points account (balance, lots, every ledger
entry, the redemptions and the risk holds, decided or not), the wallet, what campaigns hold
(`loyalty.privacy.campaigns`: grants, task and check-in progress, invite code and referrals,
uploaded audiences, counters), the scoring state, the device and phone identities scoring recorded
(keyed hashes: the engine never holds them as received), and the operator actions on their profile
from the audit log.

**Erase** anonymises without breaking the books:
- the profile becomes a tombstone: every personal field goes, and its `changedAt` moves to the end
  of time, so a late `CustomerProfileChanged` (which never overwrites a newer one) cannot bring the
  data back;
- the scoring state (features, scores, segment memberships: personal data derived from behaviour)
  is deleted, with the customer's items in scoring's indexes: their device and phone identities
  (`IDENT#<keyed hash>`, listed on the state) and their place in their relationship manager's book
  (`RM#<manager>`). The profile becomes a tombstone first: from then on no re-scoring can write
  them again (every one is conditioned on the profile not being erased);
- campaigns' records of their behaviour and relations are deleted (`loyalty.privacy.campaigns`);
- the points account is marked erased (its version moved, so an accrual racing the erasure is
  decided again): nothing more is earned;
- the points ledger, coupons and campaign grants stay: they hold the customer id (a pseudonym once
  the profile is gone) and amounts, and the liability and budget totals must stay correct. No
  capability acts on the customer again: campaigns refuse to grant to an erased profile (in the
  grant's own transaction), coupons treat them as unknown, scoring writes nothing.
Both are in the audit log (every `/v1/admin` call is), without their bodies: the log is
append-only, and an export's or an erasure's content there would outlive the erasure.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from loyalty.core.clock import iso_utc
from loyalty.core.config import get_settings
from loyalty.core.dynamo import from_item, query_all, to_item, to_value
from loyalty.core.errors import NotFound
from loyalty.coupons.records import wallet_index_key
from loyalty.points.redemption import redemption_key
from loyalty.points.risk import customer_holds_key
from loyalty.privacy import campaigns
from loyalty.scoring.identities import IdentityIndex, identity_key
from loyalty.scoring.store import manager_key

END_OF_TIME = "9999-12-31T23:59:59.999999Z"
KEPT_PROFILE_FIELDS = {"customerId"}


class PrivacyStore:
    """Reads across every capability's table, and the two writes an erasure makes."""

    def __init__(self, client: Any):
        self.client = client
        self.settings = get_settings()

    def _query(self, table: str, request: dict[str, Any]) -> list[dict[str, Any]]:
        return list(query_all(self.client, {"TableName": table, **request}))

    def under(self, table: str, pk: str) -> list[dict[str, Any]]:
        return self._query(table, {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": to_value(pk)}, "ConsistentRead": True})

    def by_index(self, table: str, index: str, key: str, value: str) -> list[dict[str, Any]]:
        return self._query(table, {"IndexName": index, "KeyConditionExpression": f"{key} = :v", "ExpressionAttributeValues": {":v": to_value(value)}})

    def get(self, table: str, key: dict[str, str]) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=table, Key=to_item(key), ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def mark_points_erased(self, customer_id: str, at: str) -> None:
        self.client.update_item(TableName=self.settings.points_table, Key=to_item({"pk": f"ACCT#{customer_id}", "sk": "BALANCE"}),
                                UpdateExpression="SET erased = :yes, erasedAt = :at, customerId = :c ADD version :one",
                                ExpressionAttributeValues={":yes": to_value(True), ":at": to_value(at), ":c": to_value(customer_id),
                                                           ":one": to_value(1)})

    def profile(self, customer_id: str) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self.settings.customers_table, Key={"customerId": {"S": customer_id}}, ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def tombstone(self, customer_id: str, at: str) -> None:
        self.client.put_item(TableName=self.settings.customers_table, Item=to_item(
            {"customerId": customer_id, "changedAt": END_OF_TIME, "sourceEventId": "erased", "erased": True, "erasedAt": at}))

    def delete(self, table: str, keys: list[dict[str, Any]]) -> None:
        for start in range(0, len(keys), 25):
            requests = [{"DeleteRequest": {"Key": to_item(k)}} for k in keys[start : start + 25]]
            while requests:
                unprocessed = self.client.batch_write_item(RequestItems={table: requests}).get("UnprocessedItems", {})
                requests = unprocessed.get(table, [])


def default_store() -> PrivacyStore:
    from loyalty.core.aws import dynamodb

    return PrivacyStore(dynamodb())


def export(store: PrivacyStore, customer_id: str, now: datetime) -> dict[str, Any]:
    s = store.settings
    profile = store.profile(customer_id)
    ledger = store.under(s.points_table, f"LEDGER#{customer_id}")
    account = store.under(s.points_table, f"ACCT#{customer_id}")
    coupons = store.by_index(s.coupons_table, "gsi1", "gsi1pk", wallet_index_key(customer_id))
    held = campaigns.held(store, customer_id)
    scoring = [i for i in store.under(s.scoring_table, f"CUST#{customer_id}") if not str(i.get("sk", "")).startswith("EVT#")]
    identities = IdentityIndex(s.scoring_table, store.client).items_of(customer_id, _identities(scoring))
    if not (profile or ledger or account or coupons or any(held.values()) or scoring):
        raise NotFound(f"the engine holds nothing on customer {customer_id}", code="CUSTOMER_NOT_FOUND")
    redemptions = [store.get(s.points_table, redemption_key(rid)) for rid in _redemption_ids(ledger)]
    holds = store.by_index(s.points_table, "gsi1", "gsi1pk", customer_holds_key(customer_id))
    audited = store.under(s.audit_table, f"RES#customers/{customer_id}")
    hidden = ("pk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "expiresAt")
    clean = [_without(hidden, items) for items in (account, ledger, coupons, scoring, [r for r in redemptions if r], holds, audited)]
    return {
        "customerId": customer_id,
        "exportedAt": iso_utc(now),
        "profile": profile,
        "points": {"account": clean[0], "ledger": [_decoded(e) for e in clean[1]], "redemptions": clean[4], "riskHolds": clean[5]},
        "coupons": clean[2],
        "campaigns": {name: _without(hidden, items) for name, items in campaigns.exported(held).items()},
        "scoring": clean[3],
        "identities": identities,
        "operatorActions": clean[6],
    }


def erase(store: PrivacyStore, customer_id: str, now: datetime) -> dict[str, Any]:
    s = store.settings
    profile = store.profile(customer_id)
    if profile is None:
        raise NotFound(f"customer {customer_id} has no profile", code="CUSTOMER_NOT_FOUND")
    at = iso_utc(now)
    # Tombstone first: a re-scoring racing the deletes below is refused from now on, so it cannot
    # write the state or an index item again once they are gone.
    store.tombstone(customer_id, at)
    scoring = store.under(s.scoring_table, f"CUST#{customer_id}")
    # The index items are found through the state: deleted before it, so that an erasure that
    # failed halfway still finds them when it is run again.
    indexed = [identity_key(h, customer_id) for h in _identities(scoring)] + [manager_key(m, customer_id) for m in _managers(scoring)]
    store.delete(s.scoring_table, indexed)
    store.delete(s.scoring_table, [{"pk": i["pk"], "sk": i["sk"]} for i in scoring])
    campaign_items = campaigns.erase(store, customer_id, campaigns.held(store, customer_id))
    store.mark_points_erased(customer_id, at)
    removed = sorted(k for k in profile if k not in KEPT_PROFILE_FIELDS and profile[k] not in (None, [], {}))
    return {"customerId": customer_id, "erasedAt": at, "profileFieldsRemoved": removed, "scoringItemsDeleted": len(scoring) + len(indexed),
            "campaignItemsErased": campaign_items,
            "kept": ["points ledger and balance", "coupons", "campaign grants and budget counters", "audit log"]}


def _state(scoring: list[dict[str, Any]]) -> dict[str, Any]:
    return next((i for i in scoring if i.get("sk") == "STATE"), {})


def _identities(scoring: list[dict[str, Any]]) -> list[str]:
    """The keyed device and phone hashes scoring recorded for the customer (listed on the state)."""
    return sorted(_state(scoring).get("identities") or {})


def _managers(scoring: list[dict[str, Any]]) -> list[str]:
    manager = (_state(scoring).get("facts") or {}).get("relationshipManagerId")
    return [manager] if manager else []


def _without(hidden: tuple[str, ...], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in i.items() if k not in hidden} for i in items]


def _redemption_ids(ledger: list[dict[str, Any]]) -> list[str]:
    sources = [json.loads(e["source"]) if isinstance(e.get("source"), str) else (e.get("source") or {}) for e in ledger if e.get("kind") == "redeem"]
    return sorted({str(src["redemptionId"]) for src in sources if src.get("redemptionId")})


def _decoded(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, **{k: json.loads(entry[k]) for k in ("source", "lots") if isinstance(entry.get(k), str)}}
