"""What happens to rewards after the grant: a coupon refused or returned gives the budget back, a
redemption counts toward the report, and card spend of targeted customers measures the uplift."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from loyalty.campaigns import records, service
from loyalty.campaigns.store import DynamoCampaignStore
from loyalty.core.clock import iso_utc
from loyalty.core.dynamo import to_item, to_value
from loyalty.core.outbox import PendingEvent, outbox_put


def give_back(store: DynamoCampaignStore, command_id: str, reason: str, now: datetime) -> bool:
    """Cancels the grant a coupon command belonged to and returns its cost to every budget period
    it was taken from. Once: the grant's status is the condition."""
    command = store.get_record(records.command_key(command_id))
    if command is None:
        return False  # not a campaign grant's command
    grant = store.get_record({"pk": command["grantPk"], "sk": command["grantSk"]})
    if grant is None or grant.get("status") != "granted":
        return False
    cid, cost = grant["campaignId"], int(grant.get("cost", 0))
    items: list[dict[str, Any]] = [
        {"Update": {"TableName": store.table, "Key": to_item({"pk": grant["pk"], "sk": grant["sk"]}),
                    "UpdateExpression": "SET #s = :cancelled, cancelledAt = :now, cancelReason = :r", "ConditionExpression": "#s = :granted",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":cancelled": to_value("cancelled"), ":granted": to_value("granted"),
                                                  ":now": to_value(iso_utc(now)), ":r": to_value(reason)}}},
        *(records.plain_add(store.table, records.budget_key(cid, key), {"spent": -cost}) for key in grant.get("budgetKeys", [])),
        records.plain_add(store.table, records.stats_key(cid, grant["arm"]), {"granted": -1, "cancelled": 1, "cost": -cost}),
        outbox_put(store.table, PendingEvent(service.SOURCE, "RewardCancelled", {"campaignId": cid, "customerId": grant["customerId"],
                                                                                  "arm": grant["arm"], "trigger": grant["trigger"],
                                                                                  "cost": cost, "reason": reason})),
    ]
    return store.apply_once(items)


def count_redeemed(store: DynamoCampaignStore, command_id: str, now: datetime) -> bool:
    """A campaign coupon was redeemed: counted once for its arm."""
    command = store.get_record(records.command_key(command_id))
    if command is None:
        return False
    mark = {"Update": {"TableName": store.table, "Key": to_item(records.command_key(command_id)), "UpdateExpression": "SET redeemedAt = :now",
                       "ConditionExpression": "attribute_not_exists(redeemedAt)", "ExpressionAttributeValues": {":now": to_value(iso_utc(now))}}}
    return store.apply_once([mark, records.plain_add(store.table, records.stats_key(command["campaignId"], command["arm"]), {"redeemed": 1})])


def track_spend(store: DynamoCampaignStore, detail: dict[str, Any], now: datetime) -> int:
    """Card spend of a customer that running campaigns targeted (treatment or control), for the
    uplift; one query finds them, and each transaction counts once per campaign, in the campaign's
    spend currency only (a spend in another currency is not added to it)."""
    customer_id, transaction = detail["customerId"], detail["transactionId"]
    counted = 0
    for targeted in store.under(f"TARGETED#{customer_id}"):
        if targeted["endsAt"] <= iso_utc(now) or targeted.get("currency", detail["currency"]) != detail["currency"]:
            continue
        cid = targeted["sk"]
        marker = records.put_new(store.table, {"pk": f"SPEND#{cid}", "sk": transaction, "expiresAt": int(now.timestamp()) + 400 * 86400})
        stats = records.plain_add(store.table, records.stats_key(cid, targeted["arm"]), {"spendMinor": int(detail["amountMinor"])})
        counted += int(store.apply_once([marker, stats]))
    return counted
