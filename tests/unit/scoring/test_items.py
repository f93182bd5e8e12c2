"""The scoring table's models read the items today's code wrote, unchanged, and write the same
attributes (on-disk compatibility, both ways): the items below are literal, as the raw store wrote
them before the models (`to_item` of its dicts, floats as Decimals of their text)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from loyalty.core.dynamo import from_item, to_item
from loyalty.scoring import items
from loyalty.scoring.items import (
    EventMarkerItem,
    FeatureStateItem,
    IdentityItem,
    LatestRunItem,
    LeaseItem,
    ManagerEntryItem,
    MembershipItem,
    ModelInForceItem,
    ModelVersionItem,
    RunItem,
    ScanCheckpointItem,
    ScoringItem,
    SegmentCountItem,
    SegmentIdItem,
    SegmentInForceItem,
    SegmentVersionItem,
)

AT = "2026-11-23T04:12:00.000000Z"
STATE: dict[str, Any] = {
    "pk": "CUST#c-1", "sk": "STATE", "customerId": "c-1", "version": 3, "features": '{"latestDay":"2026-11-23"}',
    "scores": {"rfmRecency": 5, "rfmFrequency": 2, "rfmMonetary": 3, "value": Decimal("12.35"), "churnRiskBps": 2999, "abuseRisk": Decimal("10.5")},
    "stage": "active", "gated": False, "segments": [], "modelVersions": {"rfm": 2, "value": 0},
    "facts": {"tags": ["payroll"], "tier": "gold", "aumMinor": 123_456_789_012, "relationshipManagerId": "rm-7"},
    "scoredAt": AT, "asOf": "2026-11-23", "sharedAccounts": 1, "identities": {"hk1:abc": "device"}, "phoneAsOf": AT,
    "gsi2pk": f"CUSTOMERS#{items.state_bucket('c-1')}", "gsi2sk": "c-1",
}  # fmt: skip
WRITTEN_BY_TODAY: list[tuple[type[ScoringItem], dict[str, Any]]] = [
    (FeatureStateItem, STATE),
    (EventMarkerItem, {"pk": "CUST#c-1", "sk": "EVT#tx-1", "expiresAt": 1_798_000_000}),
    (MembershipItem, {"pk": "CUST#c-1", "sk": "SEG#gold", "customerId": "c-1", "segmentId": "gold", "since": AT, "gsi1pk": "MEMBERS#gold",
                      "gsi1sk": "c-1"}),
    (ModelInForceItem, {"pk": "MODELS", "sk": "churn", "version": 2, "config": "{}", "updatedBy": "op-1", "updatedAt": AT}),
    (ModelVersionItem, {"pk": "MODEL#churn", "sk": "V#000002", "version": 2, "config": "{}", "updatedBy": "op-1", "updatedAt": AT}),
    (SegmentInForceItem, {"pk": "SEGMENTS", "sk": "gold", "version": 1, "definition": "{}", "updatedBy": "op-1", "updatedAt": AT}),
    (SegmentVersionItem, {"pk": "SEGMENT#gold", "sk": "V#000001", "version": 1, "definition": "{}", "updatedBy": "op-1", "updatedAt": AT}),
    (SegmentCountItem, {"pk": "SEGMENT-COUNT", "sk": "COUNT", "count": 7}),
    (SegmentIdItem, {"pk": "SEGMENT-ID", "sk": "gold"}),
    (RunItem, {"pk": "RUN#2026-11-23", "sk": "RUN", "runId": "2026-11-23", "asOf": "2026-11-23", "status": "done", "totalSegments": 4,
               "startedAt": AT, "customers": 100_000, "rfmVersion": 9, "cutPoints": "{}", "finishedAt": AT}),
    (ScanCheckpointItem, {"pk": "RUN#2026-11-23", "sk": "SCAN#1", "segment": 1, "done": False, "scanned": 1000, "written": 990, "skipped": 2,
                          "unchanged": 8, "lastKey": '{"bucket": 5, "key": null}'}),
    (LeaseItem, {"pk": "RUN#2026-11-23", "sk": "LEASE", "leaseUntil": AT}),
    (LatestRunItem, {"pk": "RUNS", "sk": "LATEST", "runId": "2026-11-23", "customers": 100_000}),
    (IdentityItem, {"pk": "IDENT#hk1:abc", "sk": "CUST#c-1", "customerId": "c-1", "kind": "device", "firstSeenAt": AT}),
    (ManagerEntryItem, {"pk": "RM#rm-7", "sk": "CUST#c-1", "customerId": "c-1", "managerId": "rm-7", "value": Decimal("12.35"),
                        "scoredAt": AT, "gsi1pk": f"RMS#{items.manager_shard('rm-7')}", "gsi1sk": "rm-7"}),
]


@pytest.mark.parametrize(("model", "stored"), WRITTEN_BY_TODAY, ids=[model.__name__ for model, _ in WRITTEN_BY_TODAY])
def test_an_item_written_by_today_s_code_reads_back_unchanged(model: type[ScoringItem], stored: dict[str, Any]) -> None:
    # Given an item as today's code wrote it
    raw = to_item(stored)
    # When the model reads it
    item = model.from_raw_data(raw)
    # Then every attribute is there, in the same stored shape, and integers stay exact
    assert item.serialize() == raw
    assert item.plain() == stored


def test_a_state_written_by_the_model_is_the_item_today_s_code_wrote() -> None:
    # Given the attributes a re-scoring writes (floats as the scores have them)
    fields = {k: v for k, v in STATE.items() if k not in ("pk", "sk", "customerId", "version", "gsi2pk", "gsi2sk")}
    fields["scores"] = {k: float(v) if isinstance(v, Decimal) else v for k, v in fields["scores"].items()}
    # When the store's model item is made for the customer, read at version 3
    item = FeatureStateItem.of("c-1", 3, **fields)
    # Then it is today's item (PynamoDB moves `version` to 4 as it writes, conditioned on 3)
    assert item.serialize() == to_item(STATE)
    assert item.plain()["scores"]["value"] == Decimal("12.35") and item.plain()["facts"]["aumMinor"] == 123_456_789_012


def test_the_keys_and_the_index_partitions_are_the_key_design_s() -> None:
    assert items.state_key("c-1") == {"pk": "CUST#c-1", "sk": "STATE"}
    assert items.manager_key("rm-7", "c-1") == {"pk": "RM#rm-7", "sk": "CUST#c-1"}
    assert items.identity_key("hk1:abc", "c-1") == {"pk": "IDENT#hk1:abc", "sk": "CUST#c-1"}
    assert items.parked_key("c-1", "AccountOpened:a-9") == {"pk": "CUST#c-1", "sk": "PARKED#AccountOpened:a-9"}
    assert MembershipItem.of("c-1", "gold", AT).serialize() == to_item(WRITTEN_BY_TODAY[2][1])
    assert 0 <= items.state_bucket("c-1") < items.STATE_BUCKETS and 0 <= items.manager_shard("rm-7") < items.MANAGER_SHARDS
    assert from_item(SegmentCountItem("SEGMENT-COUNT", "COUNT", total=3).serialize())["count"] == 3
