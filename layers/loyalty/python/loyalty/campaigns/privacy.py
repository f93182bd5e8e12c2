"""What the campaigns capability holds on one customer, for a PIPL export and erasure.

Held on the customer: task and check-in progress (`PROGRESS#`), the day's notification counters
(`NOTIFY#`), their invite code (`INVITER#` and `INVITE#<code>`), their referral as an invitee
(`REFERRAL#<campaign>` / <customer>) and as an inviter (listed on gsi1 `INVITER#<customer>`), their
place in uploaded audiences (`AUDIENCE#<campaign>`), the campaigns that targeted them (`TARGETED#`),
the frequency counters of those campaigns (`FREQ#`), their grants (`GRANT#`), and their triggers
parked until their profile arrives (`PARKED#`).

Erasure deletes what only describes the customer's behaviour or relations (progress, counters of
notifications, the invite code, their referral, their audience places, parked triggers); a referral they made keeps
the invitee's record (the invitee may still qualify for their own reward) with the inviter replaced
by `ERASED_INVITER`, whom nothing is granted to. Grants and frequency counters stay: they hold the
customer id (a pseudonym once the profile is gone) and the budget totals depend on them.
"""

from __future__ import annotations

import contextlib
from datetime import datetime
from typing import Any

from loyalty.campaigns.items import CampaignMeta, CampaignsTable, FrequencyCounter, GrantItem, NotificationCounter, TargetedItem
from loyalty.campaigns.items_customer import InviterItem, ParkedTriggerItem, ProgressItem, ReferralItem
from loyalty.campaigns.items_runs import AudienceMember
from loyalty.campaigns.records import ERASED_INVITER
from loyalty.core.pii import masked

Held = dict[str, list[dict[str, Any]]]
# Keys and indexes say nothing the export's reader needs; the TTL neither.
HIDDEN = ("pk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk", "expiresAt")


def held(customer_id: str) -> Held:
    """Every item of the customer's, as stored (plain values)."""
    campaigns = [m.campaignId for m in CampaignMeta.listed.query("CAMPAIGNS") if m.campaignId]
    targeted = _under(TargetedItem, f"TARGETED#{customer_id}")
    return {
        "progress": _under(ProgressItem, f"PROGRESS#{customer_id}"),
        "notifications": _under(NotificationCounter, f"NOTIFY#{customer_id}"),
        "inviteCode": _under(InviterItem, f"INVITER#{customer_id}"),
        "referredBy": _found(ReferralItem, [(f"REFERRAL#{c}", customer_id) for c in campaigns]),
        "referralsMade": [r.plain() for r in ReferralItem.by_inviter.query(f"INVITER#{customer_id}")],
        "audiences": _found(AudienceMember, [(f"AUDIENCE#{c}", customer_id) for c in campaigns]),
        "targeted": targeted,
        "frequency": [f for t in targeted for f in _under(FrequencyCounter, f"FREQ#{t['sk']}#{customer_id}")],
        "grants": [g for t in targeted for g in _under(GrantItem, f"GRANT#{t['sk']}#{customer_id}")],
        "parkedTriggers": _under(ParkedTriggerItem, f"PARKED#{customer_id}"),
    }


def export(customer_id: str) -> dict[str, Any]:
    """The export's `campaigns` section: each kind of item, without keys and TTLs; the invitees of
    the customer's referrals are other customers, shown masked. Every list empty: nothing held."""
    records = held(customer_id)
    records["referralsMade"] = [{**r, "inviteeId": masked(str(r["inviteeId"]))} for r in records["referralsMade"]]
    return {name: [{k: v for k, v in item.items() if k not in HIDDEN} for item in items] for name, items in records.items()}


def erase(customer_id: str, now: datetime) -> dict[str, Any]:
    """Deletes the customer's behaviour and relations and anonymises the referrals they made; the
    number of items deleted or anonymised (the erasure receipt's `campaignItemsErased`)."""
    from loyalty.core.tables import batch_write

    records = held(customer_id)
    gone = [item for name in ("progress", "notifications", "inviteCode", "referredBy", "audiences", "parkedTriggers") for item in records[name]]
    keys = [(item["pk"], item["sk"]) for item in gone]
    keys += [(f"INVITE#{item['code']}", "CODE") for item in records["inviteCode"] if item.get("code")]
    batch_write(deletes=[CampaignsTable(pk, sk) for pk, sk in keys])
    for referral in records["referralsMade"]:
        ReferralItem(referral["pk"], referral["sk"]).update([ReferralItem.inviterId.set(ERASED_INVITER), ReferralItem.gsi1pk.remove(),
                                                             ReferralItem.gsi1sk.remove(), ReferralItem.code.remove()])
    return {"campaignItemsErased": len(keys) + len(records["referralsMade"])}


def _under(model: type[CampaignsTable], pk: str) -> list[dict[str, Any]]:
    return [item.plain() for item in model.query(pk, consistent_read=True)]


def _found(model: type[CampaignsTable], keys: list[tuple[str, str]]) -> list[dict[str, Any]]:
    found = []
    for pk, sk in keys:
        with contextlib.suppress(model.DoesNotExist):
            found.append(model.get(pk, sk, consistent_read=True).plain())
    return found
