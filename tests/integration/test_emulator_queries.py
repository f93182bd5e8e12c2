"""Partition-scoped queries, of the table and of its indexes, return exactly what moto's own query
returns, page by page, over HTTP with boto3."""

from __future__ import annotations

import random
import uuid
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from infra.local.emulator_patches import install_partition_scoped_queries, uninstall_partition_scoped_queries


@pytest.fixture(scope="module")
def table(cloud: LocalCloud) -> str:
    # Given a table of 6 partitions with 0-30 items each, keys and values drawn at random (seeded)
    name = f"queries-{uuid.uuid4().hex[:6]}"
    client = cloud.clients.dynamodb
    client.create_table(
        TableName=name,
        BillingMode="PAY_PER_REQUEST",
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}, {"AttributeName": "sk", "AttributeType": "S"},
                              {"AttributeName": "g", "AttributeType": "S"}, {"AttributeName": "n", "AttributeType": "N"}],
        # Two indexes: one with a range key, one without (where moto's sorted order breaks the ties)
        GlobalSecondaryIndexes=[
            {"IndexName": "by-g", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}, {"AttributeName": "n", "KeyType": "RANGE"}],
             "Projection": {"ProjectionType": "ALL"}},
            {"IndexName": "g-only", "KeySchema": [{"AttributeName": "g", "KeyType": "HASH"}], "Projection": {"ProjectionType": "ALL"}},
        ],
    )
    rng = random.Random(7)
    for p in range(6):
        for _ in range(rng.randint(0, 30)):
            client.put_item(
                TableName=name,
                Item={"pk": {"S": f"P#{p}"}, "sk": {"S": f"{rng.choice('ABC')}#{rng.randint(0, 9) * 100:03d}"}, "n": {"N": str(rng.randint(0, 9))},
                      # some items are in no index: they lack its hash key
                      **({"g": {"S": f"G#{rng.randint(0, 2)}"}} if rng.random() < 0.8 else {})},
            )
    return name


TABLE_QUERIES: list[dict[str, Any]] = [
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": f"P#{p}"}}} for p in range(7)
] + [
    {"KeyConditionExpression": "pk = :p AND begins_with(sk, :s)", "ExpressionAttributeValues": {":p": {"S": "P#1"}, ":s": {"S": "B#"}}},
    {"KeyConditionExpression": "pk = :p AND sk > :s", "ExpressionAttributeValues": {":p": {"S": "P#2"}, ":s": {"S": "B#500"}}, "ScanIndexForward": False},
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "P#3"}, ":n": {"N": "5"}}, "FilterExpression": "n > :n"},
    {"KeyConditionExpression": "pk = :p", "ExpressionAttributeValues": {":p": {"S": "P#4"}}, "Limit": 4},
]
INDEX_QUERIES: list[dict[str, Any]] = [
    {"IndexName": index, "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": f"G#{g}"}}, "Limit": 7}
    for index in ("by-g", "g-only") for g in range(4)
] + [
    {"IndexName": "by-g", "KeyConditionExpression": "g = :g AND n >= :n", "ExpressionAttributeValues": {":g": {"S": "G#1"}, ":n": {"N": "4"}},
     "ScanIndexForward": False},
    {"IndexName": "g-only", "KeyConditionExpression": "g = :g", "ExpressionAttributeValues": {":g": {"S": "G#0"}, ":n": {"N": "5"}},
     "FilterExpression": "n < :n"},
]
QUERIES = TABLE_QUERIES + INDEX_QUERIES


def all_pages(client: Any, request: dict[str, Any]) -> list[list[dict[str, Any]]]:
    pages, start = [], None
    while True:
        page = client.query(**request, **({"ExclusiveStartKey": start} if start else {}))
        pages.append(page["Items"])
        start = page.get("LastEvaluatedKey")
        if not start:
            return pages


@pytest.mark.parametrize("request_", QUERIES, ids=[str(i) for i in range(len(QUERIES))])
def test_scoped_queries_match_motos_own(cloud: LocalCloud, table: str, request_: dict[str, Any]) -> None:
    import moto.dynamodb.models as ddb_models

    client = cloud.clients.dynamodb
    assert getattr(ddb_models.Table.query, "_partition_scoped", False), "the emulator runs with the patch"
    # When the same query runs, paged, with the patch and with moto's original
    scoped = all_pages(client, {"TableName": table, **request_})
    uninstall_partition_scoped_queries()
    try:
        original = all_pages(client, {"TableName": table, **request_})
    finally:
        install_partition_scoped_queries()
    # Then every page is the same, item for item and in order
    assert scoped == original
