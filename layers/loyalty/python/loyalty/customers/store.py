"""Profile persistence. Ordering and idempotency live in one conditional write, never a read first."""

from __future__ import annotations

from typing import Any, Protocol

from loyalty.core.errors import Conflict, NotFound
from loyalty.customers.model import CustomerProfile


class CustomerStore(Protocol):
    def get(self, customer_id: str) -> CustomerProfile | None: ...

    def apply_snapshot(self, customer_id: str, attributes: dict[str, Any]) -> bool:
        """Store the snapshot unless a newer or the same event is already stored; True if applied."""

    def set_operator_tags(self, customer_id: str, tags: list[str], changed_at: str) -> CustomerProfile: ...

    def apply_tier(self, customer_id: str, tier: str, changed_at: str, event_id: str) -> bool | None:
        """True if stored, False if the same or a newer tier is stored, None if there is no profile."""


class DynamoCustomerStore:
    def __init__(self, table: str):
        self.table = table

    def get(self, customer_id: str) -> CustomerProfile | None:
        from loyalty.core.aws import dynamodb
        from loyalty.core.dynamo import from_item, to_value

        item = dynamodb().get_item(TableName=self.table, Key={"customerId": to_value(customer_id)}, ConsistentRead=True)
        return CustomerProfile.model_validate(from_item(item["Item"])) if "Item" in item else None

    def apply_snapshot(self, customer_id: str, attributes: dict[str, Any]) -> bool:
        from loyalty.core.aws import dynamodb
        from loyalty.core.dynamo import is_condition_failure, to_value

        names = {f"#a{i}": name for i, name in enumerate(sorted(attributes))}
        values = {f":v{i}": to_value(attributes[name]) for i, name in enumerate(sorted(attributes)) if attributes[name] is not None}
        sets = [f"{n} = :v{n[2:]}" for n in names if f":v{n[2:]}" in values]
        removes = [n for n in names if f":v{n[2:]}" not in values]
        names.update({"#changed": "changedAt", "#source": "sourceEventId"})
        values.update({":changed": to_value(attributes["changedAt"]), ":source": to_value(attributes["sourceEventId"])})
        try:
            dynamodb().update_item(
                TableName=self.table,
                Key={"customerId": to_value(customer_id)},
                UpdateExpression="SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else ""),
                # Newer wins, ties broken by event id; the same event again matches neither branch.
                ConditionExpression=(
                    "attribute_not_exists(customerId) OR #changed < :changed "
                    "OR (#changed = :changed AND #source < :source)"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
            )
            return True
        except Exception as error:
            if is_condition_failure(error):
                return False
            raise

    def apply_tier(self, customer_id: str, tier: str, changed_at: str, event_id: str) -> bool | None:
        from loyalty.core.aws import dynamodb
        from loyalty.core.dynamo import is_condition_failure, to_value

        try:
            dynamodb().update_item(
                TableName=self.table,
                Key={"customerId": to_value(customer_id)},
                UpdateExpression="SET tier = :t, tierChangedAt = :c, tierSourceEventId = :e",
                # Only onto an existing profile; newer wins, ties broken by event id (the same event is a no-op).
                ConditionExpression=(
                    "attribute_exists(customerId) AND attribute_not_exists(erased) AND (attribute_not_exists(tierChangedAt) OR tierChangedAt < :c "
                    "OR (tierChangedAt = :c AND tierSourceEventId < :e))"
                ),
                ExpressionAttributeValues={":t": to_value(tier), ":c": to_value(changed_at), ":e": to_value(event_id)},
            )
            return True
        except Exception as error:
            if not is_condition_failure(error):
                raise
        # Refused: only now tell "no profile" from "older news" (a read after the decision, not before it).
        return False if self.get(customer_id) is not None else None

    def set_operator_tags(self, customer_id: str, tags: list[str], changed_at: str) -> CustomerProfile:
        from loyalty.core.aws import dynamodb
        from loyalty.core.dynamo import from_item, is_condition_failure, to_value

        at = {":at": to_value(changed_at)}
        update: dict[str, Any] = (
            {"UpdateExpression": "SET operatorTags = :tags, operatorTagsChangedAt = :at", "ExpressionAttributeValues": {":tags": to_value(tags), **at}}
            if tags
            else {"UpdateExpression": "SET operatorTagsChangedAt = :at REMOVE operatorTags", "ExpressionAttributeValues": at}
        )
        try:
            result = dynamodb().update_item(
                TableName=self.table,
                Key={"customerId": to_value(customer_id)},
                ConditionExpression="attribute_exists(customerId) AND attribute_not_exists(erased)",
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **update,
            )
        except Exception as error:
            if is_condition_failure(error):
                if "erased" in (getattr(error, "response", {}).get("Item") or {}):
                    raise Conflict(f"customer {customer_id} was erased", code="CUSTOMER_ERASED") from None
                raise NotFound(f"customer {customer_id} is not known", code="CUSTOMER_NOT_FOUND") from None
            raise
        return CustomerProfile.model_validate(from_item(result["Attributes"]))
