"""The `campaigns` table (keys in `records`): definitions and their lifecycle, and grants that take
budget, frequency and notification allowance in one transaction with the reward's own commands."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from loyalty.campaigns import records
from loyalty.core.config import get_settings
from loyalty.core.dynamo import from_item, query_all, to_item, to_value
from loyalty.core.errors import Conflict, NotFound
from loyalty.core.outbox import PendingEvent, outbox_put


class AlreadyGranted(Exception):
    pass


class Contended(Exception):
    """Another transaction held an item (TransactionConflict): try again."""


class Refused(Exception):
    """A grant the write refused: `reason` is not_active, budget:<period>, frequency or notify."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class GrantPlan:
    campaign_id: str
    version: int
    customer_id: str
    trigger: str
    arm: str
    cost: int
    record: dict[str, Any]
    ends_at: str
    spend_currency: str
    budgets: list[tuple[str, str, int]] = field(default_factory=list)  # (period, key, limit)
    frequency: list[tuple[str, int]] = field(default_factory=list)  # (key, limit)
    notify: tuple[str, int] | None = None  # (business date, daily cap)
    commands: list[str] = field(default_factory=list)  # coupon command ids, to find this grant again
    stats: dict[str, int] = field(default_factory=dict)
    events: list[PendingEvent] = field(default_factory=list)


class DynamoCampaignStore:
    def __init__(self, table: str, client: Any):
        self.table = table
        self.client = client

    # ---- definitions and lifecycle ----------------------------------------------------------------

    def get(self, campaign_id: str) -> dict[str, Any]:
        item = self.client.get_item(TableName=self.table, Key=to_item(records.meta_key(campaign_id)), ConsistentRead=True).get("Item")
        if not item:
            raise NotFound(f"campaign {campaign_id} does not exist", code="CAMPAIGN_NOT_FOUND")
        return from_item(item)

    def save(self, meta: dict[str, Any], *, expected_version: int, audit: dict[str, Any]) -> None:
        """A new version of the definition (and the META pointing at it), conditioned on the version
        it replaces and on the campaign still being a draft."""
        version = meta["version"]
        guard: dict[str, Any] = {"ConditionExpression": "attribute_not_exists(pk)"}
        if expected_version:
            guard = {"ConditionExpression": "version = :prev AND #s = :draft", "ExpressionAttributeNames": {"#s": "status"},
                     "ExpressionAttributeValues": {":prev": to_value(expected_version), ":draft": to_value("draft")}}
        items = [
            records.put_new(self.table, {"pk": meta["pk"], "sk": f"V#{version:06d}", "definition": meta["definition"],
                                         "savedBy": meta["updatedBy"], "savedAt": meta["updatedAt"]}),
            {"Put": {"TableName": self.table, "Item": to_item(meta), **guard}},
            self._audit_put(meta["campaignId"], audit),
        ]
        self._transact(items, lambda: Conflict(f"campaign {meta['campaignId']} changed meanwhile, exists already or is no longer a draft",
                                               code="CAMPAIGN_VERSION_CONFLICT"))

    def transition(self, campaign_id: str, before: str, fields: dict[str, Any], audit: dict[str, Any],
                   events: list[PendingEvent] = ()) -> None:  # type: ignore[assignment]
        names = {f"#f{i}": k for i, k in enumerate(fields)}
        values = {f":f{i}": to_value(v) for i, v in enumerate(fields.values())}
        items = [
            {"Update": {"TableName": self.table, "Key": to_item(records.meta_key(campaign_id)),
                        "UpdateExpression": "SET " + ", ".join(f"{n} = {v}" for n, v in zip(names, values, strict=True)),
                        "ConditionExpression": "#s = :before", "ExpressionAttributeNames": {**names, "#s": "status"},
                        "ExpressionAttributeValues": {**values, ":before": to_value(before)}}},
            self._audit_put(campaign_id, audit),
            *(outbox_put(self.table, e) for e in events),
        ]
        self._transact(items, lambda: Conflict(f"campaign {campaign_id} changed meanwhile", code="CAMPAIGN_STATE_CONFLICT"))

    def _audit_put(self, campaign_id: str, audit: dict[str, Any]) -> dict[str, Any]:
        return records.put_new(self.table, {"pk": f"CAMPAIGN#{campaign_id}", "sk": f"AUDIT#{audit['at']}#{uuid.uuid4().hex[:8]}", **audit})

    def audit(self, campaign_id: str) -> list[dict[str, Any]]:
        return list(self.query({"KeyConditionExpression": "pk = :p AND begins_with(sk, :a)",
                                "ExpressionAttributeValues": {":p": to_value(f"CAMPAIGN#{campaign_id}"), ":a": to_value("AUDIT#")}}))

    def listed(self) -> list[dict[str, Any]]:
        return list(self.query({"IndexName": "gsi1", "KeyConditionExpression": "gsi1pk = :p",
                                "ExpressionAttributeValues": {":p": to_value("CAMPAIGNS")}}))

    def by_trigger(self, index_key: str) -> list[dict[str, Any]]:
        return list(self.query({"IndexName": "gsi2", "KeyConditionExpression": "gsi2pk = :p",
                                "ExpressionAttributeValues": {":p": to_value(index_key)}}))

    def claim_slot(self, campaign_id: str, previous: str | None, slot: str) -> bool:
        """Moves a scheduled campaign's last slot forward; False if another run claimed it first."""
        condition = "attribute_not_exists(lastSlot)" if previous is None else "lastSlot = :prev"
        values = {":slot": to_value(slot), **({":prev": to_value(previous)} if previous else {})}
        try:
            self.client.update_item(TableName=self.table, Key=to_item(records.meta_key(campaign_id)), UpdateExpression="SET lastSlot = :slot",
                                    ConditionExpression=condition, ExpressionAttributeValues=values)
            return True
        except Exception as error:
            from loyalty.core.dynamo import is_condition_failure

            if is_condition_failure(error):
                return False
            raise

    # ---- grants -----------------------------------------------------------------------------------

    def grant(self, plan: GrantPlan) -> None:
        """Everything a grant is, or nothing: the grant record, the campaign still active at the
        version decided on, each budget period, the customer's frequency counters, the day's
        notification allowance, the arm's counters and the reward's commands (outbox)."""
        t = self.table
        items: list[dict[str, Any]] = [records.put_new(t, plan.record), records.still_active(t, plan.campaign_id, plan.version),
                                       records.not_erased(get_settings().customers_table, plan.customer_id)]
        reasons = ["granted", "not_active", "erased"]
        for period, key, limit in plan.budgets:
            items.append(records.counted_add(t, records.budget_key(plan.campaign_id, key), "spent", plan.cost, limit, {"limit": limit}))
            reasons.append(f"budget:{period}")
        for key, limit in plan.frequency:
            items.append(records.counted_add(t, records.freq_key(plan.campaign_id, plan.customer_id, key), "count", 1, limit))
            reasons.append("frequency")
        if plan.notify is not None:
            day, cap = plan.notify
            items.append(records.counted_add(t, records.notify_key(plan.customer_id, day), "count", 1, cap))
            reasons.append("notify")
        items += [records.put_new(t, {**records.command_key(c), "grantPk": plan.record["pk"], "grantSk": plan.record["sk"],
                                      "campaignId": plan.campaign_id, "arm": plan.arm}) for c in plan.commands]
        items.append(records.plain_add(t, records.stats_key(plan.campaign_id, plan.arm), plan.stats))
        # The campaigns a customer was targeted by, so their card spend is counted with one query.
        items.append({"Put": {"TableName": t, "Item": to_item({**records.targeted_key(plan.customer_id, plan.campaign_id),
                                                                "arm": plan.arm, "endsAt": plan.ends_at,
                                                                "currency": plan.spend_currency})}})
        items += [outbox_put(t, e) for e in plan.events]
        try:
            self.client.transact_write_items(TransactItems=items)
        except Exception as error:
            failed = _failed_items(error)
            if failed is None:
                raise
            if any(code != "ConditionalCheckFailed" for _, code in failed):
                raise Contended() from None
            first = next((reasons[i] for i, _ in failed if i < len(reasons)), "not_active")
            if first == "granted":
                raise AlreadyGranted() from None
            raise Refused(first) from None

    def once(self, key: dict[str, str], flag: str, condition: str, values: dict[str, Any], events: list[PendingEvent]) -> bool:
        """Sets `flag` on an item once, when `condition` holds, with its events; False if not now."""
        guard = f"attribute_not_exists({flag})" + (f" AND ({condition})" if condition else "")
        items = [{"Update": {"TableName": self.table, "Key": to_item(key), "UpdateExpression": f"SET {flag} = :now",
                             "ConditionExpression": guard,
                             "ExpressionAttributeValues": {k: to_value(v) for k, v in values.items()}}},
                 *(outbox_put(self.table, e) for e in events)]
        try:
            self.client.transact_write_items(TransactItems=items)
            return True
        except Exception as error:
            if _failed_items(error) is None:
                raise
            return False

    def apply_once(self, items: list[dict[str, Any]]) -> bool:
        """A transaction whose first item says "not done yet": False if it was done already."""
        try:
            self.client.transact_write_items(TransactItems=items)
            return True
        except Exception as error:
            failed = _failed_items(error)
            if failed is None:
                raise
            if failed and failed[0] == (0, "ConditionalCheckFailed"):
                return False
            raise Conflict("the campaign's counters changed meanwhile; retry", code="CAMPAIGN_CONTENDED") from None

    def put_all_new(self, items: list[dict[str, Any]]) -> int | None:
        """Creates every item or none: None when created, else the index of an item that existed."""
        try:
            self.client.transact_write_items(TransactItems=[records.put_new(self.table, item) for item in items])
            return None
        except Exception as error:
            failed = _failed_items(error)
            if not failed or failed[0][1] != "ConditionalCheckFailed":
                raise
            return failed[0][0]

    # ---- plain reads and writes ----------------------------------------------------------------------

    def get_record(self, key: dict[str, str], *, consistent: bool = True) -> dict[str, Any] | None:
        item = self.client.get_item(TableName=self.table, Key=to_item(key), ConsistentRead=consistent).get("Item")
        return from_item(item) if item else None

    def put(self, record: dict[str, Any]) -> None:
        self.client.put_item(TableName=self.table, Item=to_item(record))

    def put_versioned(self, record: dict[str, Any], expected_version: int, customer_id: str) -> bool:
        """Optimistic concurrency: False if someone else wrote the record since it was read. In one
        transaction with the check that the customer it describes was not erased (Refused("erased"))."""
        condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(pk)"} if expected_version == 0
            else {"ConditionExpression": "version = :v", "ExpressionAttributeValues": {":v": to_value(expected_version)}})
        put = {"Put": {"TableName": self.table, "Item": to_item({**record, "version": expected_version + 1}), **condition}}
        try:
            self.client.transact_write_items(TransactItems=[put, records.not_erased(get_settings().customers_table, customer_id)])
            return True
        except Exception as error:
            failed = _failed_items(error)
            if failed is None:
                raise
            if any(index == 1 and code == "ConditionalCheckFailed" for index, code in failed):
                raise Refused("erased") from None
            return False

    def under(self, pk: str, limit: int | None = None) -> list[dict[str, Any]]:
        request: dict[str, Any] = {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": to_value(pk)}, "ConsistentRead": True}
        if limit:
            request["Limit"] = limit
            page = self.client.query(TableName=self.table, **request)
            return [from_item(i) for i in page.get("Items", [])]
        return list(self.query(request))

    def query(self, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
        return query_all(self.client, {"TableName": self.table, **request})

    def _transact(self, items: list[dict[str, Any]], conflict: Any) -> None:
        try:
            self.client.transact_write_items(TransactItems=items)
        except Exception as error:
            if _failed_items(error) is None:
                raise
            raise conflict() from None


def _failed_items(error: Exception) -> list[tuple[int, str]] | None:
    """(index, code) of each item that cancelled the transaction; None if it was not cancelled."""
    response = getattr(error, "response", None) or {}
    if response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    reasons = response.get("CancellationReasons") or []
    return [(i, r["Code"]) for i, r in enumerate(reasons) if r.get("Code") not in (None, "None")]
