"""DynamoDB tables: on demand, PITR, KMS-encrypted with our key, TTL and indexes from the topology."""

from __future__ import annotations

import pytest

from infra.topology import TOPOLOGY, Table, Topology
from tests.infra.infra_support import SMALL_TOPOLOGY, Synthesized


def _key_schema(table: Table) -> list[dict[str, str]]:
    keys = [{"AttributeName": table.partition_key, "KeyType": "HASH"}]
    if table.sort_key:
        keys.append({"AttributeName": table.sort_key, "KeyType": "RANGE"})
    return keys


def _check_table(s: Synthesized, spec: Table) -> dict:
    props = s.properties(s.stack.data.tables[spec.name])
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert props["SSESpecification"] == {
        "SSEEnabled": True,
        "SSEType": "KMS",
        "KMSMasterKeyId": {"Fn::GetAtt": [s.logical_id(s.stack.data.key), "Arn"]},
    }
    assert props["KeySchema"] == _key_schema(spec)
    if spec.ttl_attribute:
        assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
    else:
        assert "TimeToLiveSpecification" not in props
    indexes = {i["IndexName"]: i for i in props.get("GlobalSecondaryIndexes", [])}
    assert set(indexes) == {i.name for i in spec.indexes}
    for index in spec.indexes:
        expected = [{"AttributeName": index.partition_key, "KeyType": "HASH"}]
        if index.sort_key:
            expected.append({"AttributeName": index.sort_key, "KeyType": "RANGE"})
        assert indexes[index.name]["KeySchema"] == expected
    return props


@pytest.mark.parametrize("spec", [pytest.param(t, id=t.name) for t in TOPOLOGY.tables])
def test_table_matches_topology(synth: Synthesized, spec: Table) -> None:
    """Given a topology table / Then PAY_PER_REQUEST, PITR, SSE with our key, its TTL and keys."""
    _check_table(synth, spec)
    logical_id = synth.logical_id(synth.stack.data.tables[spec.name])
    assert synth.resources[logical_id]["DeletionPolicy"] == "Delete"  # dev


@pytest.mark.parametrize("spec", [pytest.param(t, id=t.name) for t in SMALL_TOPOLOGY.tables])
def test_prod_table_with_index_is_retained_and_protected(small_synth: Synthesized, spec: Table) -> None:
    """Given env=prod and a table with a GSI / Then it is retained, deletion-protected, indexed."""
    props = _check_table(small_synth, spec)
    assert props["DeletionProtectionEnabled"] is True
    logical_id = small_synth.logical_id(small_synth.stack.data.tables[spec.name])
    assert small_synth.resources[logical_id]["DeletionPolicy"] == "Retain"
    assert small_synth.resources[small_synth.logical_id(small_synth.stack.data.key)]["DeletionPolicy"] == "Retain"


@pytest.mark.parametrize(("fixture", "topology"), [("synth", TOPOLOGY), ("small_synth", SMALL_TOPOLOGY)], ids=["real", "small"])
def test_exactly_the_topology_tables_exist(request: pytest.FixtureRequest, fixture: str, topology: Topology) -> None:
    s: Synthesized = request.getfixturevalue(fixture)
    assert len(s.of_type("AWS::DynamoDB::Table")) == len(topology.tables)


def test_data_key_rotates(synth: Synthesized) -> None:
    assert synth.properties(synth.stack.data.key)["EnableKeyRotation"] is True
