"""What the campaigns capability holds on one customer, for export and erasure (loyalty.privacy).

Held on the customer: task and check-in progress (`PROGRESS#`), the day's notification counters
(`NOTIFY#`), their invite code (`INVITER#` and `INVITE#<code>`), their referral as an invitee
(`REFERRAL#<campaign>` / <customer>) and as an inviter (listed on gsi1 `INVITER#<customer>`), their
place in uploaded audiences (`AUDIENCE#<campaign>`), the frequency counters of the campaigns that
targeted them (`FREQ#`), and their grants (`GRANT#`).

Erasure deletes what only describes the customer's behaviour or relations (progress, counters of
notifications, the invite code, their referral, their audience places); a referral they made keeps
the invitee's record (the invitee may still qualify for their own reward) with the inviter replaced
by `ERASED_INVITER`, whom nothing is granted to. Grants and frequency counters stay: they hold the
customer id (a pseudonym once the profile is gone) and the budget totals depend on them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from loyalty.campaigns.records import ERASED_INVITER
from loyalty.core.dynamo import to_item, to_value
from loyalty.core.pii import masked

if TYPE_CHECKING:
    from loyalty.privacy.service import PrivacyStore

def _campaign_ids(store: PrivacyStore, table: str) -> list[str]:
    return [str(c["campaignId"]) for c in store.by_index(table, "gsi1", "gsi1pk", "CAMPAIGNS") if c.get("campaignId")]


def _found(store: PrivacyStore, table: str, keys: list[dict[str, str]]) -> list[dict[str, Any]]:
    return [item for item in (store.get(table, key) for key in keys) if item]


def held(store: PrivacyStore, customer_id: str) -> dict[str, list[dict[str, Any]]]:
    table = store.settings.campaigns_table
    campaigns = _campaign_ids(store, table)
    targeted = store.under(table, f"TARGETED#{customer_id}")
    return {
        "progress": store.under(table, f"PROGRESS#{customer_id}"),
        "notifications": store.under(table, f"NOTIFY#{customer_id}"),
        "inviteCode": store.under(table, f"INVITER#{customer_id}"),
        "referredBy": _found(store, table, [{"pk": f"REFERRAL#{c}", "sk": customer_id} for c in campaigns]),
        "referralsMade": store.by_index(table, "gsi1", "gsi1pk", f"INVITER#{customer_id}"),
        "audiences": _found(store, table, [{"pk": f"AUDIENCE#{c}", "sk": customer_id} for c in campaigns]),
        "targeted": targeted,
        "frequency": [f for t in targeted for f in store.under(table, f"FREQ#{t['sk']}#{customer_id}")],
        "grants": [g for t in targeted for g in store.under(table, f"GRANT#{t['sk']}#{customer_id}")],
    }


def exported(records: dict[str, list[dict[str, Any]]]) -> dict[str, list[dict[str, Any]]]:
    """For the export: the invitees of the customer's referrals are other customers, shown masked."""
    made = [{**r, "inviteeId": masked(str(r["inviteeId"]))} for r in records["referralsMade"]]
    return {**records, "referralsMade": made}


def erase(store: PrivacyStore, customer_id: str, records: dict[str, list[dict[str, Any]]]) -> int:
    table = store.settings.campaigns_table
    codes = [{"pk": f"INVITE#{item['code']}", "sk": "CODE"} for item in records["inviteCode"] if item.get("code")]
    gone = [*(records[name] for name in ("progress", "notifications", "inviteCode", "referredBy", "audiences"))]
    keys = [{"pk": i["pk"], "sk": i["sk"]} for items in gone for i in items] + codes
    store.delete(table, keys)
    for referral in records["referralsMade"]:
        store.client.update_item(TableName=table, Key=to_item({"pk": referral["pk"], "sk": referral["sk"]}),
                                 UpdateExpression="SET inviterId = :erased REMOVE gsi1pk, gsi1sk, code",
                                 ExpressionAttributeValues={":erased": to_value(ERASED_INVITER)})
    return len(keys) + len(records["referralsMade"])
