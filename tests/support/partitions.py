"""Putting a bank-wide setting back after a test changed it (the local cloud is the session's)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from infra.local.cloud import LocalCloud


def keep_partition(cloud: LocalCloud, table: str, pk: str) -> Callable[[], None]:
    """What the partition holds now; the function puts it back (and forgets the points' cached rules)."""
    from loyalty.points import service as points_service

    def items() -> list[dict[str, Any]]:
        return list(cloud.clients.dynamodb.query(TableName=table, KeyConditionExpression="pk = :p", ConsistentRead=True,
                                                 ExpressionAttributeValues={":p": {"S": pk}})["Items"])

    kept = items()

    def restore() -> None:
        for item in items():
            cloud.clients.dynamodb.delete_item(TableName=table, Key={"pk": item["pk"], "sk": item["sk"]})
        for item in kept:
            cloud.clients.dynamodb.put_item(TableName=table, Item=item)
        points_service.forget_cached_config()

    return restore
