"""The campaigns table's items of one customer's own doing: task and check-in progress, their invite
code, referrals, and triggers parked until their profile arrives. A PIPL erasure deletes or
anonymises them (`loyalty.campaigns.privacy`)."""

from __future__ import annotations

from pynamodb.attributes import MapAttribute, NumberAttribute, UnicodeAttribute, VersionAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from loyalty.campaigns.items import CampaignsTable
from loyalty.core.tables import text_list


class ProgressItem(CampaignsTable):
    """`PROGRESS#<customer>` / <campaign id>: a task's occurrences or a check-in streak
    (`campaigns.progress` reads and writes `state`). Written only whole, on the version read."""

    campaignId = UnicodeAttribute()
    customerId = UnicodeAttribute()
    state = MapAttribute(null=True)  # type: ignore[var-annotated]  # raw: progress's own shape (lists of dates, cycles)
    updatedAt = UnicodeAttribute(null=True)
    version = VersionAttribute()


class InviteCodeItem(CampaignsTable):
    """`INVITE#<code>` / `CODE`: the inviter an invite code belongs to."""

    customerId = UnicodeAttribute()
    code = UnicodeAttribute()
    createdAt = UnicodeAttribute(null=True)


class InviterItem(CampaignsTable):
    """`INVITER#<customer>` / `CODE`: a customer's own invite code."""

    customerId = UnicodeAttribute()
    code = UnicodeAttribute()
    createdAt = UnicodeAttribute(null=True)


class ReferralsByInviter(GlobalSecondaryIndex["ReferralItem"]):
    """gsi1 `INVITER#<customer>` / <campaign>#<invitee>: the referrals an inviter made."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class ReferralItem(CampaignsTable):
    """`REFERRAL#<campaign>` / <invitee id>: a referral, bound, refused or qualified."""

    campaignId = UnicodeAttribute()
    inviteeId = UnicodeAttribute()
    inviterId = UnicodeAttribute(null=True)  # `records.ERASED_INVITER` once the inviter was erased
    code = UnicodeAttribute(null=True)
    status = UnicodeAttribute()  # bound, refused, qualified
    reason = UnicodeAttribute(null=True)  # why it was refused
    boundAt = UnicodeAttribute()
    qualifyBy = UnicodeAttribute()
    qualifiedAt = UnicodeAttribute(null=True)
    qualifyingTransaction = UnicodeAttribute(null=True)
    gsi1pk = UnicodeAttribute(null=True)
    gsi1sk = UnicodeAttribute(null=True)
    by_inviter = ReferralsByInviter()


class ParkedTriggersByTime(GlobalSecondaryIndex["ParkedTriggerItem"]):
    """gsi1 `PARKED#<bucket 0-15>` / <parkedAt>#<customer>#<occurrence>: the hourly sweep's reading."""

    class Meta:
        index_name = "gsi1"
        projection = AllProjection()

    gsi1pk = UnicodeAttribute(hash_key=True)
    gsi1sk = UnicodeAttribute(range_key=True)


class ParkedTriggerItem(CampaignsTable):
    """`PARKED#<customer>` / <occurrence>: a trigger that came before the customer's profile, for the
    campaigns that wait for it (`campaigns.parking`), until the profile arrives or its TTL. One item
    per occurrence: parking again writes nothing."""

    customerId = UnicodeAttribute()
    occurrence = UnicodeAttribute()
    detailType = UnicodeAttribute()
    detail = UnicodeAttribute()  # JSON: the trigger's detail without the raw device and phone hashes
    campaignIds = text_list()
    identities = text_list(null=True)  # keyed hashes
    occurredAt = UnicodeAttribute()
    parkedAt = UnicodeAttribute()
    expiresAt = NumberAttribute()
    gsi1pk = UnicodeAttribute()
    gsi1sk = UnicodeAttribute()
    since = ParkedTriggersByTime()
