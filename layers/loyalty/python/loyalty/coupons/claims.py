"""Issuing coupons in one DynamoDB transaction: zero over-issue by construction.

A claim is one `TransactWriteItems`:
- each stock draw: decrement a shard, conditioned on `left >= 1` (and `active` for direct claims),
  plus the shard's business-date counter when the template has a daily stock;
- the customer's claim counters, conditioned on the template's limits;
- each coupon, put with `attribute_not_exists` (its id derives from the idempotency key or command
  id, so a replay collides with the first try);
- a voucher code, assigned on condition that nobody holds it;
- the outbox events.

If a shard is empty the claim moves to the next shard of that template, so it answers out of stock
only after every shard said so. Nothing is read and then written unconditionally.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field, replace
from typing import Any

from loyalty.core.errors import BusinessRuleViolation, Conflict, Throttled
from loyalty.core.outbox import PendingEvent, outbox_put
from loyalty.coupons import records
from loyalty.coupons.logic import Coupon, shard_order, split
from loyalty.coupons.model import Template

MAX_CODE_ATTEMPTS = 5
MAX_BUSY_RETRIES = 5
DAILY_COUNTER_TTL_S = 3 * 24 * 3600


class AlreadyIssued(Exception):
    """The coupon id exists: this claim or command was already served."""

    def __init__(self, coupon_id: str):
        super().__init__(coupon_id)
        self.coupon_id = coupon_id


@dataclass
class StockDraw:
    template: Template
    require_active: bool
    shards_left: list[int] = field(default_factory=list)

    @property
    def shard(self) -> int:
        return self.shards_left[0]


@dataclass(frozen=True)
class ClaimPlan:
    customer_id: str
    business_date: str
    limits_of: Template  # whose per-customer limits apply
    draws: list[StockDraw]
    coupons: list[Coupon]
    events: list[PendingEvent]
    seed: str  # spreads claims over shards; the coupon id does nicely
    expires_at_epoch: int  # when business-date counters may be deleted
    # A bundle's own record under the claim's id: the parts have ids of their own, so without it
    # the same Idempotency-Key could later serve a different template.
    claim_record: dict[str, Any] | None = None


def _n(value: int) -> dict[str, str]:
    return {"N": str(value)}


def _key(key: dict[str, str]) -> dict[str, Any]:
    return {k: {"S": v} for k, v in key.items()}


class ClaimExecutor:
    def __init__(self, table: str, client: Any):
        self.table = table
        self.client = client

    def issue(self, plan: ClaimPlan) -> list[Coupon]:
        for draw in plan.draws:
            draw.shards_left = shard_order(draw.template.definition.shards, f"{plan.seed}#{draw.template.template_id}")
        coupons = list(plan.coupons)
        code_attempts = busy = 0
        while True:
            coupons = [self._with_code(c) if c.kind == "voucher_code" and c.code is None else c for c in coupons]
            items, roles = self._transaction(plan, coupons)
            try:
                self.client.transact_write_items(TransactItems=items)
                return coupons
            except Exception as error:
                reasons = _cancellation_reasons(error)
                if reasons is None:
                    raise
                failed = [(roles[i], r) for i, r in enumerate(reasons) if r.get("Code") == "ConditionalCheckFailed"]
                if failed:
                    code_attempts = self._resolve(failed, coupons, code_attempts)
                    coupons = [replace(c, code=None) if role_is_code_failure(failed, c) else c for c in coupons]
                    continue
                # Throttled or conflicting, not refused: nothing is known about stock or limits, so
                # never answer out of stock for it. Spread to the next shard, back off, and give up
                # with 429 (the client retries) after a few tries.
                busy += 1
                if busy > MAX_BUSY_RETRIES:
                    raise Throttled("coupon claims are throttled; retry shortly", code="CLAIMS_THROTTLED") from None
                for (role, draw), reason in zip(roles, reasons, strict=True):
                    if role == "stock" and reason.get("Code") not in (None, "None", "ConditionalCheckFailed"):
                        draw.shards_left.append(draw.shards_left.pop(0))
                time.sleep(random.uniform(0.005, 0.02) * busy)

    def _resolve(self, failed: list[tuple[tuple[str, Any], dict[str, Any]]], coupons: list[Coupon], code_attempts: int) -> int:
        kinds = {role[0] for role, _ in failed}
        if "claim" in kinds:
            raise AlreadyIssued(next(role[1] for role, _ in failed if role[0] == "claim"))
        if "coupon" in kinds:
            coupon = next(role[1] for role, _ in failed if role[0] == "coupon")
            raise AlreadyIssued(coupon.coupon_id)
        if "limit" in kinds:
            raise Conflict("the customer has reached this template's claim limit", code="COUPON_LIMIT_REACHED")
        for (role, draw), reason in failed:
            if role in ("stock", "daily"):
                old = reason.get("Item") or {}
                if role == "stock" and draw.require_active and old and not old.get("active", {}).get("BOOL", False):
                    raise BusinessRuleViolation("the template is not active", code="TEMPLATE_NOT_ACTIVE")
                draw.shards_left.pop(0)
                if role == "stock" and len(draw.shards_left) > 1:
                    draw.shards_left = self._shards_with_stock(draw)
                if not draw.shards_left:
                    scope = "today's" if role == "daily" else "its"
                    raise Conflict(f"template {draw.template.template_id} has used up {scope} stock", code="COUPON_OUT_OF_STOCK")
        if "code" in kinds:
            code_attempts += 1
            if code_attempts > MAX_CODE_ATTEMPTS:
                raise Conflict("no voucher code could be reserved; retry", code="CLAIM_CONTENDED")
        return code_attempts

    def _shards_with_stock(self, draw: StockDraw) -> list[int]:
        """After one empty shard, one consistent read of the others, rather than a write per shard:
        near a sell-out (and after it) a claim costs at most one more read, not N cancelled writes."""
        keys = [_key(records.shard_key(draw.template.template_id, s)) for s in draw.shards_left]
        found = self.client.batch_get_item(RequestItems={self.table: {"Keys": keys, "ConsistentRead": True}})
        left = {int(i["pk"]["S"].rsplit("#", 1)[1]): int(i["left"]["N"]) for i in found["Responses"].get(self.table, [])}
        unread = {int(k["pk"]["S"].rsplit("#", 1)[1]) for k in (found.get("UnprocessedKeys") or {}).get(self.table, {}).get("Keys", [])}
        return [s for s in draw.shards_left if left.get(s, 0) > 0 or s in unread]

    def _transaction(self, plan: ClaimPlan, coupons: list[Coupon]) -> tuple[list[dict[str, Any]], list[tuple[str, Any]]]:
        items: list[dict[str, Any]] = []
        roles: list[tuple[str, Any]] = []

        def add(role: tuple[str, Any], item: dict[str, Any]) -> None:
            items.append(item)
            roles.append(role)

        from loyalty.core.dynamo import to_item

        if plan.claim_record is not None:
            add(
                ("claim", plan.claim_record["pk"].removeprefix("CPN#")),
                {"Put": {"TableName": self.table, "Item": to_item(plan.claim_record), "ConditionExpression": "attribute_not_exists(pk)"}},
            )
        for coupon in coupons:
            add(
                ("coupon", coupon),
                {"Put": {"TableName": self.table, "Item": to_item(records.coupon_item(coupon)), "ConditionExpression": "attribute_not_exists(pk)"}},
            )
        limits = plan.limits_of.definition.limits
        for period, limit in (("LIFE", limits.perCustomerLifetime), (f"DAY#{plan.business_date}", limits.perCustomerDaily)):
            if limit is not None:
                key = records.limit_key(plan.limits_of.template_id, plan.customer_id, period)
                add(("limit", period), self._counter(key, limit, plan, dated=period != "LIFE"))
        for draw in plan.draws:
            definition = draw.template.definition
            condition = "#left >= :one" + (" AND #active = :true" if draw.require_active else "")
            values = {":one": _n(1), **({":true": {"BOOL": True}} if draw.require_active else {})}
            names = {"#left": "left", **({"#active": "active"} if draw.require_active else {})}
            add(
                ("stock", draw),
                {
                    "Update": {
                        "TableName": self.table,
                        "Key": _key(records.shard_key(draw.template.template_id, draw.shard)),
                        "UpdateExpression": "SET #left = #left - :one",
                        "ConditionExpression": condition,
                        "ExpressionAttributeNames": names,
                        "ExpressionAttributeValues": values,
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                    }
                },
            )
            if definition.dailyStock is not None:
                quota = split(definition.dailyStock, definition.shards)[draw.shard]
                key = records.daily_shard_key(draw.template.template_id, plan.business_date, draw.shard)
                add(("daily", draw), self._counter(key, quota, plan, dated=True))
        for coupon in coupons:
            if coupon.code is not None:
                add(("code", coupon), self._assign_code(coupon))
        for event in plan.events:
            add(("outbox", event), outbox_put(self.table, event))
        return items, roles

    def _counter(self, key: dict[str, str], limit: int, plan: ClaimPlan, *, dated: bool) -> dict[str, Any]:
        """One more, on condition there are fewer than `limit`; dated counters expire after the day."""
        values = {":one": _n(1), ":limit": _n(limit)}
        update = "ADD #count :one"
        if dated:
            update += " SET expiresAt = if_not_exists(expiresAt, :exp)"
            values[":exp"] = _n(plan.expires_at_epoch)
        return {
            "Update": {
                "TableName": self.table,
                "Key": _key(key),
                "UpdateExpression": update,
                "ConditionExpression": "attribute_not_exists(#count) OR #count < :limit",
                "ExpressionAttributeNames": {"#count": "count"},
                "ExpressionAttributeValues": values,
            }
        }

    def _assign_code(self, coupon: Coupon) -> dict[str, Any]:
        assert coupon.code is not None
        return {
            "Update": {
                "TableName": self.table,
                "Key": _key(records.code_key(coupon.template_id, coupon.code)),
                "UpdateExpression": "SET assignedTo = :coupon REMOVE gsi2pk, gsi2sk",
                "ConditionExpression": "attribute_exists(pk) AND attribute_not_exists(assignedTo)",
                "ExpressionAttributeValues": {":coupon": {"S": coupon.coupon_id}},
            }
        }

    def _with_code(self, coupon: Coupon) -> Coupon:
        """Picks a free code from a random bucket (the index is eventually consistent; the
        assignment's condition is what makes a code go to one coupon only)."""
        buckets = list(range(records.CODE_BUCKETS))
        random.shuffle(buckets)
        for bucket in buckets:
            found = self.client.query(
                TableName=self.table,
                IndexName="gsi2",
                KeyConditionExpression="gsi2pk = :p",
                ExpressionAttributeValues={":p": {"S": records.free_codes_index_key(coupon.template_id, bucket)}},
                Limit=10,
            ).get("Items", [])
            if found:
                return replace(coupon, code=random.choice(found)["sk"]["S"])
        raise Conflict(f"template {coupon.template_id} has no free voucher codes", code="COUPON_OUT_OF_STOCK")


def role_is_code_failure(failed: list[tuple[tuple[str, Any], dict[str, Any]]], coupon: Coupon) -> bool:
    return any(role[0] == "code" and role[1].coupon_id == coupon.coupon_id for role, _ in failed)


def _cancellation_reasons(error: Exception) -> list[dict[str, Any]] | None:
    response = getattr(error, "response", None) or {}
    if response.get("Error", {}).get("Code") != "TransactionCanceledException":
        return None
    return list(response.get("CancellationReasons") or [])
