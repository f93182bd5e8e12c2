"""Plain Python values to and from DynamoDB's attribute-value shape, with integers kept exact."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from functools import cache
from typing import Any


@cache
def _codec() -> tuple[Any, Any]:
    # Imported on first use: boto3 costs a cold start ~0.3 s, paid once, not at module import.
    from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

    return TypeSerializer(), TypeDeserializer()


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    serializer = _codec()[0]
    return {k: serializer.serialize(v) for k, v in values.items() if v is not None}


def to_value(value: Any) -> dict[str, Any]:
    return _codec()[0].serialize(value)  # type: ignore[no-any-return]


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    deserializer = _codec()[1]
    return {k: _plain(deserializer.deserialize(v)) for k, v in item.items()}


def _plain(value: Any) -> Any:
    # DynamoDB numbers come back as Decimal; ours are all integers (money, points, counts).
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, set):
        return sorted(_plain(v) for v in value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def query_all(client: Any, request: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every item a Query finds, page after page, as plain values."""
    request = dict(request)
    while True:
        page = client.query(**request)
        yield from (from_item(i) for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def is_condition_failure(error: BaseException) -> bool:
    """A write refused by its condition: botocore's ClientError, or PynamoDB's errors around one."""
    code = getattr(error, "cause_response_code", None) or (getattr(error, "response", None) or {}).get("Error", {}).get("Code")
    return code == "ConditionalCheckFailedException"


def bounded_add(attribute: str, add: int, limit: int) -> tuple[str, dict[str, str], dict[str, Any]]:
    """The condition, names and values for `ADD #n :add` on a counter that may never pass `limit`:
    the write itself refuses, so racing writers can never overshoot. A counter not written yet is 0,
    so it takes `add` only when `add` fits the limit at all (a limit of 0, or one step dearer than the
    whole limit, refuses the first write too)."""
    condition = "attribute_not_exists(#n) OR #n <= :room" if add <= limit else "#n <= :room"
    return condition, {"#n": attribute}, {":add": to_value(add), ":room": to_value(limit - add)}


def get_marker(client: Any, table: str, name: str) -> str | None:
    """A job's bookmark (e.g. the last date a sweep finished), kept in the table it works on."""
    item = client.get_item(TableName=table, Key=to_item({"pk": "SWEEP", "sk": name}), ConsistentRead=True)
    return item.get("Item", {}).get("value", {}).get("S")  # type: ignore[no-any-return]


def set_marker(client: Any, table: str, name: str, value: str) -> None:
    client.put_item(TableName=table, Item=to_item({"pk": "SWEEP", "sk": name, "value": value}))


def encode_cursor(key: dict[str, Any] | None) -> str | None:
    """A DynamoDB LastEvaluatedKey as an opaque, URL-safe pagination cursor."""
    import base64
    import json

    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode() if key else None


def decode_cursor(cursor: str | None) -> dict[str, Any] | None:
    """The key behind a cursor this API returned; anything else is a 400."""
    import base64
    import json

    from loyalty.core.errors import InvalidInput

    if not cursor:
        return None
    try:
        key = json.loads(base64.urlsafe_b64decode(cursor.encode()))
    except ValueError:
        key = None
    if not isinstance(key, dict):
        raise InvalidInput("the cursor is not one this API returned", code="INVALID_CURSOR")
    return key


TABLE_KEYS = ("pk", "sk")
GSI1_KEYS = ("pk", "sk", "gsi1pk", "gsi1sk")
GSI2_KEYS = ("pk", "sk", "gsi2pk", "gsi2sk")


def checked_start(key: dict[str, Any] | None, names: tuple[str, ...], partition: tuple[str, str]) -> dict[str, Any] | None:
    """A decoded cursor used as a query's ExclusiveStartKey: refused (400) unless it is a key this
    query could have returned: exactly the table's and index's key attributes, as strings, in the
    partition queried. Anything else would fail in DynamoDB (a 500) or start in another partition."""
    from loyalty.core.errors import InvalidInput

    if key is None:
        return None
    name, value = partition
    strings = all(isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str) for v in key.values())
    if set(key) != set(names) or not strings or key[name]["S"] != value:
        raise InvalidInput("the cursor is not one this listing returned", code="INVALID_CURSOR")
    return key

