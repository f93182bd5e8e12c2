"""The campaigns table's item models read what today's code wrote, and write what it wrote: every item
type, as the raw attribute values the hand-built requests stored (integers exact)."""

from __future__ import annotations

from typing import Any

import pytest
from pynamodb.models import Model

from loyalty.campaigns.items import (
    ArmStats,
    BudgetCounter,
    CampaignAuditEntry,
    CampaignMeta,
    CampaignsTable,
    CampaignVersion,
    CommandItem,
    FrequencyCounter,
    GrantItem,
    NotificationCounter,
    TargetedItem,
)
from loyalty.campaigns.items_customer import InviteCodeItem, InviterItem, ProgressItem, ReferralItem
from loyalty.campaigns.items_runs import AudienceMember, RunItem, RunWorkItemMarker, SpendMarker, UploadItem
from loyalty.campaigns.store import bounded
from loyalty.core.dynamo import from_item, to_item

# Each item as the code before the models wrote it (plain values; `to_item` made the raw request).
STORED: list[tuple[type[CampaignsTable], dict[str, Any]]] = [
    (CampaignMeta, {"pk": "CAMPAIGN#c-1", "sk": "META", "campaignId": "c-1", "status": "approved", "version": 3,
                    "definition": '{"campaignId":"c-1"}', "author": "op-a", "updatedBy": "op-b", "updatedAt": "2027-01-02T00:00:00.000000Z",
                    "startsAt": "2027-01-01T00:00:00.000000Z", "endsAt": "2027-04-01T00:00:00.000000Z", "gsi1pk": "CAMPAIGNS", "gsi1sk": "c-1",
                    "gsi2pk": "TRIGGER#CardTransactionPosted", "gsi2sk": "c-1", "approvedBy": "op-b", "approvedAt": "2027-01-02T00:00:00.000000Z",
                    "pausedReason": "operator", "lastSlot": "2027-01-03T09:00:00+08:00"}),
    (CampaignVersion, {"pk": "CAMPAIGN#c-1", "sk": "V#000003", "definition": "{}", "savedBy": "op-a", "savedAt": "2027-01-02T00:00:00.000000Z"}),
    (CampaignAuditEntry, {"pk": "CAMPAIGN#c-1", "sk": "AUDIT#2027-01-02T00:00:00.000000Z#0a1b2c3d", "who": "op-b", "at": "2027-01-02T00:00:00.000000Z",
                          "action": "approve", "before": "pending_approval", "after": "approved", "note": "ok", "version": 3}),
    (BudgetCounter, {"pk": "BUDGET#c-1", "sk": "TOTAL", "spent": 9_007_199_254_740_993, "limit": 9_007_199_254_740_995,
                     "exhaustedAt": "2027-01-05T00:00:00.000000Z", "warnedAt": "2027-01-04T00:00:00.000000Z"}),
    (ArmStats, {"pk": "STATS#c-1", "sk": "ARM#main", "targeted": 5, "granted": 4, "notified": 3, "redeemed": 2, "cancelled": 1, "cost": -7,
                "spendMinor": 123_456_789_012}),
    (GrantItem, {"pk": "GRANT#c-1#cust-1", "sk": "tx-1", "campaignId": "c-1", "customerId": "cust-1", "trigger": "tx-1", "arm": "main",
                 "at": "2027-01-02T00:00:00.000000Z", "status": "cancelled", "cost": 5000, "budgetKeys": ["TOTAL", "D#2027-01-02", "A#branchId=b-1"],
                 "cancelledAt": "2027-01-03T00:00:00.000000Z", "cancelReason": "CouponReturned:returned"}),
    (GrantItem, {"pk": "GRANT#c-1#cust-2", "sk": "run:run-1", "campaignId": "c-1", "customerId": "cust-2", "trigger": "run:run-1",
                 "arm": "control", "at": "2027-01-02T00:00:00.000000Z", "status": "control"}),
    (FrequencyCounter, {"pk": "FREQ#c-1#cust-1", "sk": "LIFETIME", "count": 1}),
    (NotificationCounter, {"pk": "NOTIFY#cust-1", "sk": "2027-01-02", "count": 2}),
    (TargetedItem, {"pk": "TARGETED#cust-1", "sk": "c-1", "arm": "main", "endsAt": "2027-04-01T00:00:00.000000Z", "currency": "CNY"}),
    (CommandItem, {"pk": "CMD#cg-1", "sk": "CMD", "grantPk": "GRANT#c-1#cust-1", "grantSk": "tx-1", "campaignId": "c-1", "arm": "main",
                   "redeemedAt": "2027-01-03T00:00:00.000000Z"}),
    (RunItem, {"pk": "RUN#c-1", "sk": "run-1", "runId": "run-1", "campaignId": "c-1", "status": "paged", "requestId": "api:op:k",
               "requestedBy": "op", "startedAt": "2027-01-02T00:00:00.000000Z", "page": 2, "total": 700, "processed": 690, "granted": 600,
               "workItems": 70, "customerIds": ["cust-1", "cust-2"], "notBefore": "2027-01-02T00:00:00.000000Z", "cursor": "",
               "finishedPagingAt": "2027-01-02T00:01:00.000000Z"}),
    (RunItem, {"pk": "RUN#c-1", "sk": "run-2", "runId": "run-2", "campaignId": "c-1", "status": "scheduled", "requestId": "bank:r",
               "requestedBy": "bank", "startedAt": "2027-01-02T00:00:00.000000Z", "page": 0, "total": 0, "processed": 0, "granted": 0,
               "workItems": 0, "notBefore": "2027-01-03T00:00:00.000000Z", "gsi2pk": "PENDINGRUNS", "gsi2sk": "2027-01-03T00:00:00.000000Z#c-1#run-2",
               "cursor": "eyJwayI6IHsiUyI6ICJBVURJRU5DRSNjLTEifX0="}),
    (RunWorkItemMarker, {"pk": "RUNITEM#run-1", "sk": "0-3", "expiresAt": 1_800_000_000}),
    (SpendMarker, {"pk": "SPEND#c-1", "sk": "tx-9", "expiresAt": 1_830_000_000}),
    (AudienceMember, {"pk": "AUDIENCE#c-1", "sk": "cust-1", "uploadId": "u-1"}),
    (UploadItem, {"pk": "UPLOAD#c-1", "sk": "u-1", "batches": 2, "imported": 4, "unknown": 1, "invalid": 1,
                  "lastBatchAt": "2027-01-02T00:00:00.000000Z", "uploadedBy": "op-b"}),
    (ProgressItem, {"pk": "PROGRESS#cust-1", "sk": "task-1", "campaignId": "task-1", "customerId": "cust-1", "updatedAt": "2027-01-02T00:00:00.000000Z",
                    "version": 7, "state": {"cycle": 1, "seen": [["occ-1", "2027-01-01T00:00:00+00:00", 0], ["occ-2", "2027-01-02T00:00:00+00:00", 1]]}}),
    (ProgressItem, {"pk": "PROGRESS#cust-1", "sk": "streak-1", "campaignId": "streak-1", "customerId": "cust-1", "version": 1,
                    "updatedAt": "2027-01-02T00:00:00.000000Z",
                    "state": {"runs": [["2027-01-01", "2027-01-07"]], "rewarded": [["2027-01-01", "2027-01-07"]],
                              "dues": {"2027-01-07": "streak:2027-01-01:7"}}}),
    (InviteCodeItem, {"pk": "INVITE#ABCD2345", "sk": "CODE", "customerId": "cust-1", "code": "ABCD2345", "createdAt": "2027-01-02T00:00:00.000000Z"}),
    (InviterItem, {"pk": "INVITER#cust-1", "sk": "CODE", "customerId": "cust-1", "code": "ABCD2345", "createdAt": "2027-01-02T00:00:00.000000Z"}),
    (ReferralItem, {"pk": "REFERRAL#mgm-1", "sk": "cust-2", "campaignId": "mgm-1", "inviteeId": "cust-2", "inviterId": "cust-1", "code": "ABCD2345",
                    "status": "qualified", "boundAt": "2027-01-02T00:00:00+00:00", "qualifyBy": "2027-02-01T00:00:00+00:00",
                    "gsi1pk": "INVITER#cust-1", "gsi1sk": "mgm-1#cust-2", "qualifiedAt": "2027-01-05T00:00:00.000000Z",
                    "qualifyingTransaction": "tx-5"}),
    (ReferralItem, {"pk": "REFERRAL#mgm-1", "sk": "cust-3", "campaignId": "mgm-1", "inviteeId": "cust-3", "inviterId": "erased",
                    "status": "refused", "reason": "self_referral", "boundAt": "2027-01-02T00:00:00+00:00", "qualifyBy": "2027-02-01T00:00:00+00:00"}),
]


@pytest.mark.parametrize(("model", "plain"), STORED, ids=[f"{m.__name__}:{p['sk']}" for m, p in STORED])
def test_an_item_written_by_the_raw_code_reads_back_unchanged_and_is_written_the_same(model: type[CampaignsTable], plain: dict[str, Any]) -> None:
    # Given the raw item today's code stored
    raw = to_item(plain)
    # When the model reads it
    item = model.from_raw_data(raw)
    # Then every attribute comes back unchanged, integers exact, and the model writes the same item
    assert item.plain() == plain
    assert item.serialize() == raw
    by_python_name = {name: plain[a.attr_name] for name, a in model.get_attributes().items() if a.attr_name in plain}
    assert model(**by_python_name).serialize() == raw


def test_the_counters_count_is_stored_as_count_though_python_calls_it_by_what_it_counts() -> None:
    # Given the frequency and notification counters (Model.count is PynamoDB's own)
    # Then their stored attribute is still `count`
    assert FrequencyCounter.grants.attr_name == NotificationCounter.notifications.attr_name == "count"
    assert FrequencyCounter.from_raw_data(to_item({"pk": "FREQ#c#x", "sk": "LIFETIME", "count": 3})).grants == 3


@pytest.mark.parametrize(("add", "limit", "expected"), [
    (1, 10, "(attribute_not_exists (#0) OR #0 <= :0)"),  # a counter not written yet is 0, and 1 fits
    (11, 10, "#0 <= :0"),  # one step dearer than the whole limit: even the first write refuses
    (1, 0, "#0 <= :0"),  # a limit of 0 refuses the first write
])
def test_a_bounded_counter_refuses_the_write_that_would_pass_its_limit(add: int, limit: int, expected: str) -> None:
    # Given a budget counter taking `add` under `limit`
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    # When its condition is written
    condition = bounded(BudgetCounter.spent, add, limit).serialize(names, values)
    # Then it is the room left, and a missing counter passes only when `add` fits at all
    assert (condition, names, from_item(values)) == (expected, {"spent": "#0"}, {":0": limit - add})


def test_a_progress_write_is_conditioned_on_the_version_read_and_writes_the_next(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a connection that builds requests and sends none (no AWS here)
    monkeypatch.setattr(ProgressItem.Meta, "table_name", "campaigns")
    monkeypatch.setattr(ProgressItem, "_connection", None)
    monkeypatch.setattr(ProgressItem, "_get_connection", classmethod(lambda cls: Model._get_connection.__func__(cls)))  # type: ignore[attr-defined]
    # And progress read at version 7
    item = ProgressItem("PROGRESS#cust-1", "task-1", campaignId="task-1", customerId="cust-1", state={"cycle": 0, "seen": []})
    item.version = 7
    # When its write is built
    request = item.get_save_kwargs_from_instance()
    # Then it is conditioned on version 7 and writes version 8 (as the hand-built put did)
    assert request["Item"]["version"] == {"N": "8"}
    assert request["ConditionExpression"] == "#0 = :0" and request["ExpressionAttributeNames"] == {"#0": "version"}
    assert request["ExpressionAttributeValues"] == {":0": {"N": "7"}}
