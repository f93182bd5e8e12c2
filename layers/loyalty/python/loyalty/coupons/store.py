"""Coupon persistence in the `coupons` table. Every invariant is a condition or a transaction."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from loyalty.core.dynamo import (
    GSI1_KEYS,
    checked_start,
    decode_cursor,
    encode_cursor,
    from_item,
    get_marker,
    is_condition_failure,
    set_marker,
    to_item,
    to_value,
)
from loyalty.core.errors import Conflict, NotFound
from loyalty.core.outbox import PendingEvent, outbox_put
from loyalty.coupons import records
from loyalty.coupons.claims import ClaimExecutor, ClaimPlan
from loyalty.coupons.logic import Coupon, split
from loyalty.coupons.model import Template

CODES_PER_TRANSACTION = 90
MAX_PAGE = 100


class DynamoCouponStore:
    def __init__(self, table: str, client: Any, template_cache_seconds: float = 5.0):
        self.table = table
        self.client = client
        self.template_cache_seconds = template_cache_seconds
        self._templates: dict[str, tuple[float, Template]] = {}

    # ---- templates --------------------------------------------------------------------------------

    def create_template(self, template: Template) -> None:
        """The template and its stock shards, all at once; an existing id is a conflict."""
        shares = split(template.stockAdded, template.definition.shards)
        items: list[dict[str, Any]] = [
            {"Put": {"TableName": self.table, "Item": to_item(records.template_item(template)), "ConditionExpression": "attribute_not_exists(pk)"}}
        ]
        for shard, left in enumerate(shares):
            shard_item = {**records.shard_key(template.template_id, shard), "left": left, "active": template.status == "active"}
            items.append({"Put": {"TableName": self.table, "Item": to_item(shard_item)}})
        try:
            self.client.transact_write_items(TransactItems=items)
        except Exception as error:
            if _first_failed(error) == 0:
                raise Conflict(f"template {template.template_id} already exists", code="TEMPLATE_EXISTS") from None
            raise

    def get_template(self, template_id: str, *, fresh: bool = False) -> Template:
        cached = self._templates.get(template_id)
        if cached and not fresh and time.monotonic() - cached[0] < self.template_cache_seconds:
            return cached[1]
        item = self.client.get_item(TableName=self.table, Key=to_item(records.template_key(template_id)), ConsistentRead=fresh)
        if "Item" not in item:
            raise NotFound(f"coupon template {template_id} does not exist", code="TEMPLATE_NOT_FOUND")
        template = records.template_from_item(from_item(item["Item"]))
        self._templates[template_id] = (time.monotonic(), template)
        return template

    def list_templates(self, limit: int, cursor: str | None) -> tuple[list[Template], str | None]:
        request: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": to_value("TEMPLATES")},
            "ScanIndexForward": False,
            "Limit": min(limit, MAX_PAGE),
        }
        start = checked_start(decode_cursor(cursor), GSI1_KEYS, ("gsi1pk", "TEMPLATES"))
        if start:
            request["ExclusiveStartKey"] = start
        page = self.client.query(**request)
        return [records.template_from_item(from_item(i)) for i in page.get("Items", [])], encode_cursor(page.get("LastEvaluatedKey"))

    def change_status(self, before: Template, after: Template, events: list[PendingEvent]) -> None:
        """The template and every shard's `active` flag in one transaction: a pause stops claims at
        once, whatever a claimer's cached copy of the template says."""
        items = [self._versioned_template_put(before, after)]
        for shard in range(after.definition.shards):
            items.append(
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": to_item(records.shard_key(after.template_id, shard)),
                        "UpdateExpression": "SET active = :active",
                        "ExpressionAttributeValues": {":active": to_value(after.status == "active")},
                    }
                }
            )
        items += [outbox_put(self.table, e) for e in events]
        self._transact_versioned(items, after.template_id)

    def add_stock(self, before: Template, after: Template, amount: int, events: list[PendingEvent]) -> None:
        items = [self._versioned_template_put(before, after)]
        for shard, share in enumerate(split(amount, after.definition.shards)):
            if share:
                items.append(
                    {
                        "Update": {
                            "TableName": self.table,
                            "Key": to_item(records.shard_key(after.template_id, shard)),
                            "UpdateExpression": "ADD #left :share",
                            "ExpressionAttributeNames": {"#left": "left"},
                            "ExpressionAttributeValues": {":share": to_value(share)},
                        }
                    }
                )
        items += [outbox_put(self.table, e) for e in events]
        self._transact_versioned(items, after.template_id)

    def stock_left(self, template: Template) -> int:
        keys = [to_item(records.shard_key(template.template_id, s)) for s in range(template.definition.shards)]
        found = self.client.batch_get_item(RequestItems={self.table: {"Keys": keys, "ConsistentRead": True}})
        return sum(int(i["left"]["N"]) for i in found["Responses"].get(self.table, []))

    def _versioned_template_put(self, before: Template, after: Template) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self.table,
                "Item": to_item(records.template_item(after)),
                "ConditionExpression": "version = :v",
                "ExpressionAttributeValues": {":v": to_value(before.version)},
            }
        }

    def _transact_versioned(self, items: list[dict[str, Any]], template_id: str) -> None:
        try:
            self.client.transact_write_items(TransactItems=items)
        except Exception as error:
            if _first_failed(error) == 0:
                raise Conflict(f"template {template_id} changed meanwhile; read it and retry", code="VERSION_CONFLICT") from None
            raise
        self._templates.pop(template_id, None)

    # ---- voucher codes ----------------------------------------------------------------------------

    def existing_codes(self, template_id: str, codes: list[str], upload_id: str) -> list[str]:
        """Codes already in the pool from another upload (this upload's own, from an earlier try
        that died half-way, are not duplicates: its applied chunks are skipped)."""
        found: list[str] = []
        for start in range(0, len(codes), 100):
            keys = [to_item(records.code_key(template_id, c)) for c in codes[start : start + 100]]
            request: dict[str, Any] = {self.table: {"Keys": keys, "ProjectionExpression": "sk, uploadId", "ConsistentRead": True}}
            while request:
                page = self.client.batch_get_item(RequestItems=request)
                found += [i["sk"]["S"] for i in page["Responses"].get(self.table, []) if i.get("uploadId", {}).get("S") != upload_id]
                request = page.get("UnprocessedKeys") or {}
        return sorted(found)

    def add_codes(self, template: Template, codes: list[str], upload_id: str) -> None:
        """Codes in chunks; each chunk adds its codes and as much stock, atomically. A chunk already
        applied under this upload id (a retried call) is skipped, so no stock is added twice."""
        for number, start in enumerate(range(0, len(codes), CODES_PER_TRANSACTION)):
            chunk = codes[start : start + CODES_PER_TRANSACTION]
            marker = {"pk": f"UPLOAD#{template.template_id}#{upload_id}", "sk": f"CHUNK#{number}", "expiresAt": int(time.time()) + 7 * 86400}
            items: list[dict[str, Any]] = [
                {"Put": {"TableName": self.table, "Item": to_item(marker), "ConditionExpression": "attribute_not_exists(pk)"}},
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": to_item(records.shard_key(template.template_id, number % template.definition.shards)),
                        "UpdateExpression": "ADD #left :n",
                        "ExpressionAttributeNames": {"#left": "left"},
                        "ExpressionAttributeValues": {":n": to_value(len(chunk))},
                    }
                },
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": to_item(records.template_key(template.template_id)),
                        # The version moves too: a concurrent status change must not overwrite stockAdded.
                        "UpdateExpression": "ADD stockAdded :n, version :one",
                        "ExpressionAttributeValues": {":n": to_value(len(chunk)), ":one": to_value(1)},
                    }
                },
            ]
            for code in chunk:
                bucket = records.code_bucket(code)
                item = {
                    **records.code_key(template.template_id, code),
                    "gsi2pk": records.free_codes_index_key(template.template_id, bucket),
                    "gsi2sk": code,
                    "uploadId": upload_id,
                }
                items.append({"Put": {"TableName": self.table, "Item": to_item(item), "ConditionExpression": "attribute_not_exists(pk)"}})
            try:
                self.client.transact_write_items(TransactItems=items)
            except Exception as error:
                failed = _first_failed(error)
                if failed == 0:
                    continue  # this chunk was applied by an earlier try of the same upload
                if failed is not None and failed >= 3:
                    raise Conflict("a code was uploaded meanwhile by another call", code="DUPLICATE_CODES", details=chunk) from None
                raise
        self._templates.pop(template.template_id, None)

    # ---- coupons ----------------------------------------------------------------------------------

    def issue(self, plan: ClaimPlan) -> list[Coupon]:
        return ClaimExecutor(self.table, self.client).issue(plan)

    def claim_record(self, coupon_id: str) -> dict[str, Any] | None:
        """Whatever a claim or command id holds: a coupon, a bundle's record, or a refusal marker."""
        item = self.client.get_item(TableName=self.table, Key=to_item(records.coupon_key(coupon_id)), ConsistentRead=True)
        return from_item(item["Item"]) if "Item" in item else None

    def get_coupon(self, coupon_id: str) -> Coupon:
        item = self.client.get_item(TableName=self.table, Key=to_item(records.coupon_key(coupon_id)), ConsistentRead=True)
        if "Item" not in item or "failure" in item["Item"] or "bundleParts" in item["Item"]:
            raise NotFound(f"coupon {coupon_id} does not exist", code="COUPON_NOT_FOUND")
        return records.coupon_from_item(from_item(item["Item"]))

    def get_issue_failure(self, coupon_id: str) -> str | None:
        """The refusal recorded for a command, if the command was refused."""
        item = self.client.get_item(TableName=self.table, Key=to_item(records.coupon_key(coupon_id)), ConsistentRead=True)
        return item.get("Item", {}).get("failure", {}).get("S")

    def record_issue_failure(self, coupon_id: str, code: str, event: PendingEvent) -> bool:
        """Takes the coupon's id for good, so a redelivered command is not served later after it was
        refused (the campaign has already rolled its budget back). False if the id was taken."""
        marker = {**records.coupon_key(coupon_id), "failure": code}
        try:
            self.client.transact_write_items(
                TransactItems=[
                    {"Put": {"TableName": self.table, "Item": to_item(marker), "ConditionExpression": "attribute_not_exists(pk)"}},
                    outbox_put(self.table, event),
                ]
            )
            return True
        except Exception as error:
            if _first_failed(error) == 0:
                return False
            raise

    def save_transitions(self, changes: list[tuple[Coupon, Coupon]], events: list[PendingEvent]) -> None:
        """Each coupon conditioned on the version it was read at, with its events, all or nothing."""
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(records.coupon_item(after)),
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": to_value(before.version)},
                }
            }
            for before, after in changes
        ]
        items += [outbox_put(self.table, e) for e in events]
        try:
            self.client.transact_write_items(TransactItems=items)
        except Exception as error:
            if _first_failed(error) is not None:
                raise Conflict("the coupon changed meanwhile; retry", code="COUPON_CHANGED") from None
            raise

    def wallet_pages(self, customer_id: str, cursor: str | None) -> Iterator[tuple[Coupon, str]]:
        """The customer's coupons, newest first, each with the cursor that resumes after it."""
        start = checked_start(decode_cursor(cursor), GSI1_KEYS, ("gsi1pk", records.wallet_index_key(customer_id)))
        while True:
            request: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": "gsi1",
                "KeyConditionExpression": "gsi1pk = :p",
                "ExpressionAttributeValues": {":p": to_value(records.wallet_index_key(customer_id))},
                "ScanIndexForward": False,
                "Limit": MAX_PAGE,
            }
            if start:
                request["ExclusiveStartKey"] = start
            page = self.client.query(**request)
            for raw in page.get("Items", []):
                resume = encode_cursor({k: raw[k] for k in ("pk", "sk", "gsi1pk", "gsi1sk")})
                yield records.coupon_from_item(from_item(raw)), str(resume)
            start = page.get("LastEvaluatedKey")
            if not start:
                return

    def lapsed_coupons(self, expiry_date: str, before: str) -> Iterator[Coupon]:
        """Live coupons whose validity ended on `expiry_date` (UTC) before the instant `before`."""
        for shard in range(records.EXPIRY_INDEX_SHARDS):
            start = None
            while True:
                request: dict[str, Any] = {
                    "TableName": self.table,
                    "IndexName": "gsi2",
                    "KeyConditionExpression": "gsi2pk = :p AND gsi2sk < :before",
                    "ExpressionAttributeValues": {":p": to_value(f"EXP#{expiry_date}#{shard}"), ":before": to_value(before)},
                }
                if start:
                    request["ExclusiveStartKey"] = start
                page = self.client.query(**request)
                for raw in page.get("Items", []):
                    yield records.coupon_from_item(from_item(raw))
                start = page.get("LastEvaluatedKey")
                if not start:
                    break

    def get_marker(self, name: str) -> str | None:
        return get_marker(self.client, self.table, name)

    def set_marker(self, name: str, value: str) -> None:
        set_marker(self.client, self.table, name, value)


def _first_failed(error: Exception) -> int | None:
    """The index of the first transaction item whose condition failed, or None."""
    response = getattr(error, "response", None) or {}
    if response.get("Error", {}).get("Code") == "TransactionCanceledException":
        for index, reason in enumerate(response.get("CancellationReasons") or []):
            if reason.get("Code") == "ConditionalCheckFailed":
                return index
    if is_condition_failure(error):
        return 0
    return None
