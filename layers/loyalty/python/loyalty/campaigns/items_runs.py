"""The campaigns table's items of audience runs, uploaded audiences and the uplift's spend markers."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex

from loyalty.campaigns.items import CampaignsTable
from loyalty.core.tables import text_list


class PendingRuns(GlobalSecondaryIndex["RunItem"]):
    """gsi2 `PENDINGRUNS` / <not before>#<campaign>#<run>: runs a bank scheduler asked for later."""

    class Meta:
        index_name = "gsi2"
        projection = AllProjection()

    gsi2pk = UnicodeAttribute(hash_key=True)
    gsi2sk = UnicodeAttribute(range_key=True)


class RunItem(CampaignsTable):
    """`RUN#<campaign>` / <run id>: a fan-out, its page and cursor, and its progress."""

    runId = UnicodeAttribute()
    campaignId = UnicodeAttribute()
    status = UnicodeAttribute()  # scheduled, running, paged, cancelled_not_active
    requestId = UnicodeAttribute(null=True)
    requestedBy = UnicodeAttribute(null=True)
    startedAt = UnicodeAttribute(null=True)
    page = NumberAttribute()  # the page to be sent next: its request is handed over exactly once
    cursor = UnicodeAttribute(null=True)  # where the audience's next page starts ("" at the end)
    total = NumberAttribute(null=True)
    processed = NumberAttribute(null=True)
    granted = NumberAttribute(null=True)
    workItems = NumberAttribute(null=True)
    customerIds = text_list(null=True)  # a fire's override of the audience
    notBefore = UnicodeAttribute(null=True)
    finishedPagingAt = UnicodeAttribute(null=True)
    gsi2pk = UnicodeAttribute(null=True)
    gsi2sk = UnicodeAttribute(null=True)
    pending = PendingRuns()


class RunWorkItemMarker(CampaignsTable):
    """`RUNITEM#<run>` / <item id>: a work item counted toward its run's progress (TTL)."""

    expiresAt = NumberAttribute()


class SpendMarker(CampaignsTable):
    """`SPEND#<campaign>` / <transaction id>: a card transaction counted toward the uplift (TTL)."""

    expiresAt = NumberAttribute()


class ReceiptMarker(CampaignsTable):
    """`RECEIPT#<notification id>` / RECEIPT: a notification's delivery receipt counted toward its arm (TTL)."""

    expiresAt = NumberAttribute()


class AudienceMember(CampaignsTable):
    """`AUDIENCE#<campaign>` / <customer id>: a place in the campaign's uploaded audience."""

    uploadId = UnicodeAttribute(null=True)


class UploadItem(CampaignsTable):
    """`UPLOAD#<campaign>` / <upload id>: what an upload's batches add up to."""

    batches = NumberAttribute(null=True)
    imported = NumberAttribute(null=True)
    unknown = NumberAttribute(null=True)
    invalid = NumberAttribute(null=True)
    lastBatchAt = UnicodeAttribute(null=True)
    uploadedBy = UnicodeAttribute(null=True)
