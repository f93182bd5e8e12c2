"""Scoring's privacy port (`loyalty.scoring.privacy`) on the local cloud: the export's scoring and
identities sections, and an erasure that deletes the customer's items, their identities and their
manager-book entry."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from infra.local.cloud import LocalCloud
from loyalty.core.dynamo import from_item, to_item
from loyalty.core.pii import keyed_hash
from loyalty.scoring import privacy
from loyalty.scoring.items import identity_key, manager_key
from tests.support.api import Api
from tests.support.scoring import card, create_segment, hours_ago, ingest_ok, opened, put_profile, unique


def scored_customer(cloud: LocalCloud, api: Api) -> tuple[str, str, str]:
    """A customer of a manager, in a segment of their own tag, who logged in from a device: (customer, device, manager)."""
    customer, device, manager, tag = unique("pv"), uuid.uuid4().hex * 2, unique("rm"), unique("tag")
    create_segment(api, unique("pv-seg"), tagsAny=[tag])
    put_profile(cloud, customer, tags=[tag], relationshipManagerId=manager)
    login = ("LoginCompleted", {"customerId": customer, "channel": "app", "loggedInAt": hours_ago(1), "deviceHash": device})
    ingest_ok(cloud, opened(customer), card(customer, 12_345), login)
    return customer, device, manager


def scoring_items(cloud: LocalCloud, pk: str) -> list[dict[str, Any]]:
    found = cloud.clients.dynamodb.query(TableName="scoring", KeyConditionExpression="pk = :p", ExpressionAttributeValues={":p": {"S": pk}},
                                         ConsistentRead=True)
    return [from_item(item) for item in found["Items"]]


def test_the_export_is_the_scoring_and_identities_sections(cloud: LocalCloud, api: Api) -> None:
    # Given a scored customer with a membership, an identity and a manager
    customer, device, _ = scored_customer(cloud, api)
    # When scoring's port exports them
    exported = privacy.export(customer)
    # Then it holds the state and the membership, and the device as a keyed hash
    assert set(exported) == {"scoring", "identities"}
    assert {i["sk"] for i in exported["scoring"]} >= {"STATE"} and any(i["sk"].startswith("SEG#") for i in exported["scoring"])
    assert [(i["keyedHash"], i["kind"]) for i in exported["identities"]] == [(keyed_hash(device), "device")]
    assert not any(str(i.get("sk")).startswith("EVT#") or "pk" in i or "gsi2pk" in i for i in exported["scoring"])


def test_the_erasure_deletes_the_customer_s_items_and_their_index_entries(cloud: LocalCloud, api: Api) -> None:
    # Given a scored customer, with their items and index entries
    customer, device, manager = scored_customer(cloud, api)
    own = scoring_items(cloud, f"CUST#{customer}")
    indexed = [identity_key(keyed_hash(device), customer), manager_key(manager, customer)]
    assert all("Item" in cloud.clients.dynamodb.get_item(TableName="scoring", Key=to_item(key)) for key in indexed)
    # When scoring's port erases them
    erased = privacy.erase(customer, datetime.now(UTC))
    # Then it counts each item it deleted, and nothing of theirs is left
    assert erased == {"scoringItemsDeleted": len(own) + len(indexed)}
    assert scoring_items(cloud, f"CUST#{customer}") == []
    assert not any("Item" in cloud.clients.dynamodb.get_item(TableName="scoring", Key=to_item(key)) for key in indexed)
    # And a customer scoring holds nothing on exports empty sections
    assert privacy.export(customer) == {"scoring": [], "identities": []}
