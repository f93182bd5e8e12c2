"""An in-memory coupons store for the service's unit tests: the `CouponStore` protocol with the
conditions the DynamoDB store enforces (versions, stock, limits, ids taken once, codes assigned
once), each write all or nothing. Claims run through the real `ClaimExecutor`, on an in-memory
writer that refuses exactly what the claim's transaction would.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from loyalty.core.errors import Conflict, NotFound
from loyalty.core.outbox import PendingEvent
from loyalty.coupons import records
from loyalty.coupons.claims import Cancelled, ClaimExecutor, ClaimPlan
from loyalty.coupons.logic import ClaimRecord, Coupon, IssueRefusal, split
from loyalty.coupons.model import Template
from loyalty.coupons.store import REVOKED_BEFORE_ISSUE, RevocationWrite


@dataclass
class Shard:
    left: int
    active: bool


@dataclass
class Code:
    upload_id: str
    assigned_to: str | None = None


@dataclass
class InMemoryCouponStore:
    templates: dict[str, Template] = field(default_factory=dict)
    shards: dict[tuple[str, int], Shard] = field(default_factory=dict)
    daily: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    limits: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    records: dict[str, ClaimRecord] = field(default_factory=dict)
    codes: dict[tuple[str, str], Code] = field(default_factory=dict)
    chunks: set[tuple[str, str, int]] = field(default_factory=set)
    markers: dict[str, str] = field(default_factory=dict)
    revocations: dict[str, str] = field(default_factory=dict)  # coupon id -> the revocation's outcome
    events: list[PendingEvent] = field(default_factory=list)
    reads: Counter[str] = field(default_factory=Counter)  # what was read, by kind: "template", "coupon", ...
    writes: int = 0  # the claim transactions sent, committed or not
    # Called before each claim transaction is decided: returns the labels to cancel as busy
    # (throttled, or in a conflicting transaction), or nothing.
    busy: Callable[[int], set[str]] = lambda attempt: set()
    # Called before each claim transaction is decided, with its coupons: another writer racing it.
    racing: Callable[[int, list[Coupon]], None] = lambda attempt, coupons: None
    # Called after a read of a template or coupon and before the write that follows it: a concurrent change.
    meanwhile: Callable[[], None] = lambda: None

    # ---- templates --------------------------------------------------------------------------------

    def create_template(self, template: Template) -> None:
        if template.template_id in self.templates:
            raise Conflict(f"template {template.template_id} already exists", code="TEMPLATE_EXISTS")
        self.templates[template.template_id] = template
        for shard, left in enumerate(split(template.stockAdded, template.definition.shards)):
            self.shards[(template.template_id, shard)] = Shard(left, template.status == "active")

    def get_template(self, template_id: str, *, fresh: bool = False) -> Template:
        self.reads["template"] += 1
        if template_id not in self.templates:
            raise NotFound(f"coupon template {template_id} does not exist", code="TEMPLATE_NOT_FOUND")
        found = self.templates[template_id]
        self.meanwhile()
        return found

    def list_templates(self, limit: int, cursor: str | None) -> tuple[list[Template], str | None]:
        ordered = sorted(self.templates.values(), key=lambda t: (t.createdAt, t.template_id), reverse=True)
        start = int(cursor or 0)
        end = start + limit
        return ordered[start:end], str(end) if end < len(ordered) else None

    def _replace_template(self, before: Template, after: Template) -> None:
        if self.templates[before.template_id].version != before.version:
            raise Conflict(f"template {before.template_id} changed meanwhile; read it and retry", code="VERSION_CONFLICT")
        self.templates[after.template_id] = after

    def change_status(self, before: Template, after: Template, events: list[PendingEvent]) -> None:
        self._replace_template(before, after)
        for shard in range(after.definition.shards):
            self.shards[(after.template_id, shard)].active = after.status == "active"
        self.events += events

    def add_stock(self, before: Template, after: Template, amount: int, events: list[PendingEvent]) -> None:
        self._replace_template(before, after)
        for shard, share in enumerate(split(amount, after.definition.shards)):
            self.shards[(after.template_id, shard)].left += share
        self.events += events

    def stock_left(self, template: Template) -> int:
        return sum(self.shards[(template.template_id, s)].left for s in range(template.definition.shards))

    # ---- voucher codes ----------------------------------------------------------------------------

    def existing_codes(self, template_id: str, codes: list[str], upload_id: str) -> list[str]:
        return sorted(c for c in codes if (template_id, c) in self.codes and self.codes[(template_id, c)].upload_id != upload_id)

    def add_codes(self, template: Template, codes: list[str], upload_id: str) -> None:
        from loyalty.coupons.store import CODES_PER_TRANSACTION

        for number, start in enumerate(range(0, len(codes), CODES_PER_TRANSACTION)):
            chunk = codes[start : start + CODES_PER_TRANSACTION]
            if (template.template_id, upload_id, number) in self.chunks:
                continue
            if any((template.template_id, c) in self.codes for c in chunk):
                raise Conflict("a code was uploaded meanwhile by another call", code="DUPLICATE_CODES", details=chunk)
            self.chunks.add((template.template_id, upload_id, number))
            self.codes.update({(template.template_id, c): Code(upload_id) for c in chunk})
            self.shards[(template.template_id, number % template.definition.shards)].left += len(chunk)
            stored = self.templates[template.template_id]
            self.templates[template.template_id] = stored.model_copy(
                update={"stockAdded": stored.stockAdded + len(chunk), "version": stored.version + 1})

    # ---- coupons ----------------------------------------------------------------------------------

    def issue(self, plan: ClaimPlan) -> list[Coupon]:
        return ClaimExecutor(InMemoryClaimWriter(self), sleep=lambda seconds: None).issue(plan)

    def claim_record(self, coupon_id: str) -> ClaimRecord | None:
        self.reads["coupon"] += 1
        return self.records.get(coupon_id)

    def get_coupon(self, coupon_id: str) -> Coupon:
        record = self.claim_record(coupon_id)
        if not isinstance(record, Coupon):
            raise NotFound(f"coupon {coupon_id} does not exist", code="COUPON_NOT_FOUND")
        self.meanwhile()
        return record

    def get_issue_failure(self, coupon_id: str) -> str | None:
        record = self.claim_record(coupon_id)
        return record.code if isinstance(record, IssueRefusal) else None

    def record_issue_failure(self, coupon_id: str, code: str, event: PendingEvent) -> bool:
        if coupon_id in self.records:
            return False
        self.records[coupon_id] = IssueRefusal(coupon_id, code)
        self.events.append(event)
        return True

    def save_transitions(self, changes: list[tuple[Coupon, Coupon]], events: list[PendingEvent]) -> None:
        for before, after in changes:
            stored = self.records.get(before.coupon_id)
            if not isinstance(stored, Coupon) or stored.version != before.version or after.version != before.version + 1:
                raise Conflict("the coupon changed meanwhile; retry", code="COUPON_CHANGED")
        self.records.update({after.coupon_id: after for _, after in changes})
        self.events += events

    def record_revocation(self, coupon_id: str, outcome: str, at: str, *, changes: list[tuple[Coupon, Coupon]], take_id: bool,
                          events: list[PendingEvent]) -> RevocationWrite:
        if coupon_id in self.revocations:
            return "duplicate"
        for before, after in changes:
            stored = self.records.get(before.coupon_id)
            if not isinstance(stored, Coupon) or stored.version != before.version or after.version != before.version + 1:
                return "raced"
        if take_id and coupon_id in self.records:
            return "raced"
        self.revocations[coupon_id] = outcome
        self.records.update({after.coupon_id: after for _, after in changes})
        if take_id:
            self.records[coupon_id] = IssueRefusal(coupon_id, REVOKED_BEFORE_ISSUE)
        self.events += events
        return "done"

    def wallet_pages(self, customer_id: str, cursor: str | None) -> Iterator[tuple[Coupon, str]]:
        mine = sorted((c for c in self.records.values() if isinstance(c, Coupon) and c.customer_id == customer_id),
                      key=lambda c: (c.issued_at, c.coupon_id), reverse=True)
        start = int(cursor or 0)
        for position, coupon in enumerate(mine[start:], start + 1):
            yield coupon, str(position)

    def lapsed_coupons(self, expiry_date: str, before: str) -> Iterator[Coupon]:
        live = [c for c in self.records.values() if isinstance(c, Coupon) and c.status in ("available", "locked")]
        yield from [c for c in live if c.valid_until[:10] == expiry_date and c.valid_until < before]

    def get_marker(self, name: str) -> str | None:
        return self.markers.get(name)

    def set_marker(self, name: str, value: str) -> None:
        self.markers[name] = value

    def coupons(self) -> list[Coupon]:
        return [c for c in self.records.values() if isinstance(c, Coupon)]


class InMemoryClaimWriter:
    """Decides a claim's transaction as DynamoDB would: every condition, then all or nothing."""

    def __init__(self, store: InMemoryCouponStore):
        self.store = store

    def write(self, plan: ClaimPlan, coupons: list[Coupon]) -> None:
        store = self.store
        store.writes += 1
        store.racing(store.writes, coupons)
        busy = store.busy(store.writes)
        refused: set[str] = set()
        inactive: set[str] = set()
        if plan.claim_record is not None and plan.claim_record.bundle_id in store.records:
            refused.add("claim")
        refused |= {f"coupon#{i}" for i, c in enumerate(coupons) if c.coupon_id in store.records}
        limits = plan.limits_of.definition.limits
        for period, limit in (("LIFE", limits.perCustomerLifetime), (f"DAY#{plan.business_date}", limits.perCustomerDaily)):
            if limit is not None and store.limits[(plan.limits_of.template_id, plan.customer_id, period)] >= limit:
                refused.add(f"limit#{period}")
        for i, draw in enumerate(plan.draws):
            shard = store.shards.get((draw.template.template_id, draw.shard))
            if shard is None or shard.left < 1 or (draw.require_active and not shard.active):
                refused.add(f"stock#{i}")
                if shard is not None and not shard.active:
                    inactive.add(f"stock#{i}")
            definition = draw.template.definition
            if definition.dailyStock is not None:
                quota = split(definition.dailyStock, definition.shards)[draw.shard]
                if store.daily[(draw.template.template_id, plan.business_date, draw.shard)] >= quota:
                    refused.add(f"daily#{i}")
        for i, coupon in enumerate(coupons):
            code = store.codes.get((coupon.template_id, coupon.code)) if coupon.code is not None else None
            if coupon.code is not None and (code is None or code.assigned_to is not None):
                refused.add(f"code#{i}")
        if busy:
            raise Cancelled(set(), busy)  # DynamoDB reports a throttled or conflicting item, nothing else
        if refused:
            raise Cancelled(refused, set(), inactive)
        self._apply(plan, coupons)

    def _apply(self, plan: ClaimPlan, coupons: list[Coupon]) -> None:
        store = self.store
        if plan.claim_record is not None:
            store.records[plan.claim_record.bundle_id] = plan.claim_record
        store.records.update({c.coupon_id: c for c in coupons})
        limits = plan.limits_of.definition.limits
        for period, limit in (("LIFE", limits.perCustomerLifetime), (f"DAY#{plan.business_date}", limits.perCustomerDaily)):
            if limit is not None:
                store.limits[(plan.limits_of.template_id, plan.customer_id, period)] += 1
        for draw in plan.draws:
            store.shards[(draw.template.template_id, draw.shard)].left -= 1
            if draw.template.definition.dailyStock is not None:
                store.daily[(draw.template.template_id, plan.business_date, draw.shard)] += 1
        for coupon in coupons:
            if coupon.code is not None:
                store.codes[(coupon.template_id, coupon.code)].assigned_to = coupon.coupon_id
        store.events += plan.events

    def shards_with_stock(self, template_id: str, shards: list[int]) -> list[int]:
        self.store.reads["shards"] += 1
        return [s for s in shards if self.store.shards[(template_id, s)].left > 0]

    def free_codes(self, template_id: str, bucket: int) -> list[str]:
        self.store.reads["codes"] += 1
        return [code for (t, code), held in self.store.codes.items()
                if t == template_id and held.assigned_to is None and records.code_bucket(code) == bucket][:10]

