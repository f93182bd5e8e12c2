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

`ClaimExecutor` decides (which shard next, retry or refuse) and `DynamoClaimWriter` writes: the
executor runs unchanged against an in-memory writer in the unit tests.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

from pynamodb.attributes import NumberAttribute
from pynamodb.expressions.update import Action

from loyalty.core.errors import BusinessRuleViolation, Conflict, DomainError, Throttled
from loyalty.core.outbox import PendingEvent
from loyalty.core.tables import ItemModel
from loyalty.core.transactions import CONDITION_FAILED, Refused, Transaction
from loyalty.coupons import records
from loyalty.coupons.items import ClaimCounter, CodeItem, CouponsOutbox, DayStock, StockShard
from loyalty.coupons.items_coupon import BundleRecord, CouponItem
from loyalty.coupons.logic import BundleClaim, Coupon, shard_order, split
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
    claim_record: BundleClaim | None = None
    # Another capability's items in the same transaction (an RM's offer draws on the RM's budget,
    # loyalty.coupons.offers), and the error each of their labels answers when its condition refuses.
    staged: Callable[[Transaction], None] | None = None
    staged_refusals: Mapping[str, DomainError] = field(default_factory=dict)


@dataclass
class Cancelled(Exception):
    """The claim's transaction did not commit. By label (`claim`, `coupon#<i>`, `limit#<period>`,
    `stock#<draw>`, `daily#<draw>`, `code#<i>`, `outbox`): `refused` the items whose condition
    failed; `busy` those cancelled by throttling or a conflicting transaction (nothing is known of
    their conditions); `inactive` the refused stock items whose shard says the template is not active."""

    refused: set[str]
    busy: set[str] = field(default_factory=set)
    inactive: set[str] = field(default_factory=set)


class ClaimWriter(Protocol):
    def write(self, plan: ClaimPlan, coupons: list[Coupon]) -> None:
        """The claim as one transaction, each draw on its current shard; raises `Cancelled`."""

    def shards_with_stock(self, template_id: str, shards: list[int]) -> list[int]:
        """Of `shards`, in order, those with stock left or not read: one consistent read."""

    def free_codes(self, template_id: str, bucket: int) -> list[str]:
        """A few codes of the bucket not assigned yet, as an eventually consistent index has them."""


class ClaimExecutor:
    def __init__(self, writer: ClaimWriter, sleep: Callable[[float], None] = time.sleep):
        self.writer = writer
        self.sleep = sleep

    def issue(self, plan: ClaimPlan) -> list[Coupon]:
        for draw in plan.draws:
            draw.shards_left = shard_order(draw.template.definition.shards, f"{plan.seed}#{draw.template.template_id}")
        coupons = list(plan.coupons)
        code_attempts = busy = 0
        while True:
            coupons = [self._with_code(c) if c.kind == "voucher_code" and c.code is None else c for c in coupons]
            try:
                self.writer.write(plan, coupons)
                return coupons
            except Cancelled as cancelled:
                if cancelled.refused:
                    code_attempts = self._resolve(plan, coupons, cancelled, code_attempts)
                    coupons = [replace(c, code=None) if f"code#{i}" in cancelled.refused else c for i, c in enumerate(coupons)]
                    continue
                # Throttled or conflicting, not refused: nothing is known about stock or limits, so
                # never answer out of stock for it. Spread to the next shard, back off, and give up
                # with 429 (the client retries) after a few tries.
                busy += 1
                if busy > MAX_BUSY_RETRIES:
                    raise Throttled("coupon claims are throttled; retry shortly", code="CLAIMS_THROTTLED") from None
                for i, draw in enumerate(plan.draws):
                    if f"stock#{i}" in cancelled.busy:
                        draw.shards_left.append(draw.shards_left.pop(0))
                self.sleep(random.uniform(0.005, 0.02) * busy)

    def _resolve(self, plan: ClaimPlan, coupons: list[Coupon], cancelled: Cancelled, code_attempts: int) -> int:
        refused = cancelled.refused
        if "claim" in refused and plan.claim_record is not None:
            raise AlreadyIssued(plan.claim_record.bundle_id)
        for i, coupon in enumerate(coupons):
            if f"coupon#{i}" in refused:
                raise AlreadyIssued(coupon.coupon_id)
        for label, error in plan.staged_refusals.items():
            if label in refused:
                raise error
        if any(label.startswith("limit#") for label in refused):
            raise Conflict("the customer has reached this template's claim limit", code="COUPON_LIMIT_REACHED")
        for i, draw in enumerate(plan.draws):
            for role in ("stock", "daily"):
                label = f"{role}#{i}"
                if label not in refused:
                    continue
                if draw.require_active and label in cancelled.inactive:
                    raise BusinessRuleViolation("the template is not active", code="TEMPLATE_NOT_ACTIVE")
                draw.shards_left.pop(0)
                if role == "stock" and len(draw.shards_left) > 1:
                    # After one empty shard, one consistent read of the others, rather than a write per
                    # shard: near a sell-out (and after it) a claim costs at most one more read.
                    draw.shards_left = self.writer.shards_with_stock(draw.template.template_id, draw.shards_left)
                if not draw.shards_left:
                    scope = "today's" if role == "daily" else "its"
                    raise Conflict(f"template {draw.template.template_id} has used up {scope} stock", code="COUPON_OUT_OF_STOCK")
        if any(label.startswith("code#") for label in refused):
            code_attempts += 1
            if code_attempts > MAX_CODE_ATTEMPTS:
                raise Conflict("no voucher code could be reserved; retry", code="CLAIM_CONTENDED")
        return code_attempts

    def _with_code(self, coupon: Coupon) -> Coupon:
        """Picks a free code from a random bucket (the index is eventually consistent; the
        assignment's condition is what makes a code go to one coupon only)."""
        buckets = list(range(records.CODE_BUCKETS))
        random.shuffle(buckets)
        for bucket in buckets:
            found = self.writer.free_codes(coupon.template_id, bucket)
            if found:
                return replace(coupon, code=random.choice(found))
        raise Conflict(f"template {coupon.template_id} has no free voucher codes", code="COUPON_OUT_OF_STOCK")


class DynamoClaimWriter:
    """The claim's one TransactWriteItems, on the coupons table's models."""

    def write(self, plan: ClaimPlan, coupons: list[Coupon]) -> None:
        transaction = Transaction()
        if plan.claim_record is not None:
            transaction.put("claim", BundleRecord.of(plan.claim_record), BundleRecord.pk.does_not_exist())
        for i, coupon in enumerate(coupons):
            transaction.put(f"coupon#{i}", CouponItem.written_over(None, coupon), CouponItem.pk.does_not_exist())
        self._limits(transaction, plan)
        for i, draw in enumerate(plan.draws):
            self._draw(transaction, plan, i, draw)
        for i, coupon in enumerate(coupons):
            if coupon.code is not None:
                self._assign_code(transaction, f"code#{i}", coupon)
        CouponsOutbox.add_to(transaction, plan.events)
        if plan.staged is not None:
            plan.staged(transaction)
        try:
            transaction.commit()
        except Refused as refusal:
            refused = {label for label, code in refusal.reasons.items() if code == CONDITION_FAILED}
            inactive = {label for label in refused if label.startswith("stock#") and label in refusal.old
                        and not StockShard.from_raw_data(refusal.old[label]).active}
            raise Cancelled(refused, set(refusal.reasons) - refused, inactive) from None

    def _limits(self, transaction: Transaction, plan: ClaimPlan) -> None:
        limits = plan.limits_of.definition.limits
        for period, limit in (("LIFE", limits.perCustomerLifetime), (f"DAY#{plan.business_date}", limits.perCustomerDaily)):
            if limit is not None:
                counter = ClaimCounter.key(plan.limits_of.template_id, plan.customer_id, period)
                _count_one(transaction, f"limit#{period}", counter, ClaimCounter.claims, ClaimCounter.expiresAt, limit,
                           plan.expires_at_epoch if period != "LIFE" else None)

    def _draw(self, transaction: Transaction, plan: ClaimPlan, i: int, draw: StockDraw) -> None:
        template_id = draw.template.template_id
        condition = StockShard.left >= 1
        if draw.require_active:
            condition &= StockShard.active == True  # noqa: E712  # a PynamoDB condition, not a comparison
        # The shard as it was when refused: empty, or paused (`active` false)?
        transaction.update(f"stock#{i}", StockShard.key(template_id, draw.shard), [StockShard.left.set(StockShard.left - 1)],
                           condition, return_old=True)
        definition = draw.template.definition
        if definition.dailyStock is not None:
            quota = split(definition.dailyStock, definition.shards)[draw.shard]
            day = DayStock.key(template_id, plan.business_date, draw.shard)
            _count_one(transaction, f"daily#{i}", day, DayStock.issued, DayStock.expiresAt, quota, plan.expires_at_epoch)

    def _assign_code(self, transaction: Transaction, label: str, coupon: Coupon) -> None:
        assert coupon.code is not None
        transaction.update(label, CodeItem.key(coupon.template_id, coupon.code),
                           [CodeItem.assignedTo.set(coupon.coupon_id), CodeItem.gsi2pk.remove(), CodeItem.gsi2sk.remove()],
                           CodeItem.pk.exists() & CodeItem.assignedTo.does_not_exist())

    def shards_with_stock(self, template_id: str, shards: list[int]) -> list[int]:
        keys = [{"pk": StockShard.key(template_id, s).pk, "sk": "STOCK"} for s in shards]
        # One BatchGetItem on the model's connection: PynamoDB's batch_get would send the unprocessed
        # keys again at once, and here one read decides (a shard not read may still have stock).
        found = StockShard._get_connection().batch_get_item(keys, consistent_read=True)
        table = StockShard.Meta.table_name
        left = {int(s.pk.rsplit("#", 1)[1]): int(s.left) for s in map(StockShard.from_raw_data, found["Responses"].get(table, []))}
        unread = {int(k["pk"]["S"].rsplit("#", 1)[1]) for k in (found.get("UnprocessedKeys") or {}).get(table, {}).get("Keys", [])}
        return [s for s in shards if left.get(s, 0) > 0 or s in unread]

    def free_codes(self, template_id: str, bucket: int) -> list[str]:
        return [item.sk for item in CodeItem.free.query(records.free_codes_index_key(template_id, bucket), limit=10)]


def _count_one(transaction: Transaction, label: str, item: ItemModel, counter: NumberAttribute, expires: NumberAttribute, limit: int,
               expires_at: int | None) -> None:
    """One more, on condition there are fewer than `limit`; dated counters expire after the day."""
    actions: list[Action] = [counter.add(1)]
    if expires_at is not None:
        actions.append(expires.set(expires | expires_at))  # if_not_exists: the first claim of the day sets it
    transaction.update(label, item, actions, counter.does_not_exist() | (counter < limit))
