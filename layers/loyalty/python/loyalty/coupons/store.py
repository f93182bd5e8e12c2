"""Coupon persistence in the `coupons` table, on its models (`items`, `items_coupon`). Every
invariant is a condition or a transaction; the service sees only the `CouponStore` protocol."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Literal, Protocol

from loyalty.core.dynamo import GSI1_KEYS, checked_start, decode_cursor, encode_cursor
from loyalty.core.errors import Conflict, NotFound
from loyalty.core.outbox import PendingEvent
from loyalty.core.tables import page
from loyalty.core.transactions import CONDITION_FAILED, Refused, Transaction
from loyalty.coupons import records
from loyalty.coupons.claims import ClaimExecutor, ClaimPlan, DynamoClaimWriter
from loyalty.coupons.items import CodeItem, CouponsOutbox, StockShard, SweepMarker, TemplateItem, UploadChunk
from loyalty.coupons.items_coupon import BundleRecord, CouponItem, IssueFailure, Revocation, read_cpn
from loyalty.coupons.logic import ClaimRecord, Coupon, IssueRefusal, split
from loyalty.coupons.model import Template

CODES_PER_TRANSACTION = 90
MAX_PAGE = 100
REVOKED_BEFORE_ISSUE = "REVOKED"  # the refusal code a revocation leaves under a command's id not served yet
RevocationWrite = Literal["done", "duplicate", "raced"]


class CouponStore(Protocol):
    def create_template(self, template: Template) -> None:
        """The template and its stock shards, all at once; an existing id is 409 TEMPLATE_EXISTS."""

    def get_template(self, template_id: str, *, fresh: bool = False) -> Template:
        """`fresh`: a consistent read. 404 TEMPLATE_NOT_FOUND."""

    def list_templates(self, limit: int, cursor: str | None) -> tuple[list[Template], str | None]: ...

    def change_status(self, before: Template, after: Template, events: list[PendingEvent]) -> None:
        """`after` over `before` (409 VERSION_CONFLICT if it moved), with every shard's `active`."""

    def add_stock(self, before: Template, after: Template, amount: int, events: list[PendingEvent]) -> None:
        """`after` over `before` (409 VERSION_CONFLICT if it moved), `amount` spread over the shards."""

    def stock_left(self, template: Template) -> int: ...

    def existing_codes(self, template_id: str, codes: list[str], upload_id: str) -> list[str]: ...

    def add_codes(self, template: Template, codes: list[str], upload_id: str) -> None: ...

    def issue(self, plan: ClaimPlan) -> list[Coupon]:
        """The plan's coupons in one transaction; raises AlreadyIssued, or the refusal's domain error."""

    def claim_record(self, coupon_id: str) -> ClaimRecord | None:
        """Whatever a claim or command id holds: a coupon, a bundle's claim, or a command's refusal."""

    def get_coupon(self, coupon_id: str) -> Coupon:
        """404 COUPON_NOT_FOUND (also for a bundle's claim or a refusal under that id)."""

    def get_issue_failure(self, coupon_id: str) -> str | None: ...

    def record_issue_failure(self, coupon_id: str, code: str, event: PendingEvent) -> bool:
        """The refusal under the command's coupon id, with its event; False if the id was taken."""

    def save_transitions(self, changes: list[tuple[Coupon, Coupon]], events: list[PendingEvent]) -> None:
        """Each `after` over its `before`, all or nothing; 409 COUPON_CHANGED if any moved."""

    def record_revocation(self, coupon_id: str, outcome: str, at: str, *, changes: list[tuple[Coupon, Coupon]], take_id: bool,
                          events: list[PendingEvent]) -> RevocationWrite:
        """A `RevokeCoupon` answered once (the revocation record under the command's coupon id), with
        each coupon's `after` over its `before` and, with `take_id`, the command's coupon id taken by
        a refusal (`REVOKED`) so the command is never served after; all or nothing. `duplicate`: it
        was answered before; `raced`: a coupon or the id moved meanwhile (read again)."""

    def wallet_pages(self, customer_id: str, cursor: str | None) -> Iterator[tuple[Coupon, str]]: ...

    def lapsed_coupons(self, expiry_date: str, before: str) -> Iterator[Coupon]: ...

    def get_marker(self, name: str) -> str | None: ...

    def set_marker(self, name: str, value: str) -> None: ...


class DynamoCouponStore:
    # ---- templates --------------------------------------------------------------------------------

    def create_template(self, template: Template) -> None:
        transaction = Transaction()
        transaction.put("template", TemplateItem.written_over(None, template), TemplateItem.pk.does_not_exist())
        for shard, left in enumerate(split(template.stockAdded, template.definition.shards)):
            item = StockShard.key(template.template_id, shard)
            item.left, item.active = left, template.status == "active"
            transaction.put(f"shard#{shard}", item)
        try:
            transaction.commit()
        except Refused as refusal:
            if refusal.failed("template"):
                raise Conflict(f"template {template.template_id} already exists", code="TEMPLATE_EXISTS") from None
            raise

    def get_template(self, template_id: str, *, fresh: bool = False) -> Template:
        key = TemplateItem.key(template_id)
        try:
            return TemplateItem.get(key.pk, key.sk, consistent_read=fresh).template()
        except TemplateItem.DoesNotExist:
            raise NotFound(f"coupon template {template_id} does not exist", code="TEMPLATE_NOT_FOUND") from None

    def list_templates(self, limit: int, cursor: str | None) -> tuple[list[Template], str | None]:
        start = checked_start(decode_cursor(cursor), GSI1_KEYS, ("gsi1pk", "TEMPLATES"))
        size = min(limit, MAX_PAGE)
        items, next_cursor = page(TemplateItem.listing.query("TEMPLATES", scan_index_forward=False, limit=size,
                                                             last_evaluated_key=start), size)
        return [item.template() for item in items], next_cursor

    def change_status(self, before: Template, after: Template, events: list[PendingEvent]) -> None:
        """The template and every shard's `active` flag in one transaction: a pause stops claims at
        once, whatever a claimer's cached copy of the template says."""
        transaction = Transaction()
        transaction.put("template", TemplateItem.written_over(before, after))
        for shard in range(after.definition.shards):
            transaction.update(f"shard#{shard}", StockShard.key(after.template_id, shard), [StockShard.active.set(after.status == "active")])
        CouponsOutbox.add_to(transaction, events)
        _commit_versioned(transaction, after.template_id)

    def add_stock(self, before: Template, after: Template, amount: int, events: list[PendingEvent]) -> None:
        transaction = Transaction()
        transaction.put("template", TemplateItem.written_over(before, after))
        for shard, share in enumerate(split(amount, after.definition.shards)):
            if share:
                transaction.update(f"shard#{shard}", StockShard.key(after.template_id, shard), [StockShard.left.add(share)])
        CouponsOutbox.add_to(transaction, events)
        _commit_versioned(transaction, after.template_id)

    def stock_left(self, template: Template) -> int:
        keys = [(StockShard.key(template.template_id, s).pk, "STOCK") for s in range(template.definition.shards)]
        return sum(int(shard.left) for shard in StockShard.batch_get(keys, consistent_read=True))

    # ---- voucher codes ----------------------------------------------------------------------------

    def existing_codes(self, template_id: str, codes: list[str], upload_id: str) -> list[str]:
        """Codes already in the pool from another upload (this upload's own, from an earlier try
        that died half-way, are not duplicates: its applied chunks are skipped)."""
        found: list[str] = []
        for start in range(0, len(codes), 100):
            keys = [(item.pk, item.sk) for item in (CodeItem.key(template_id, c) for c in codes[start : start + 100])]
            found += [item.sk for item in CodeItem.batch_get(keys, consistent_read=True, attributes_to_get=["sk", "uploadId"])
                      if item.uploadId != upload_id]
        return sorted(found)

    def add_codes(self, template: Template, codes: list[str], upload_id: str) -> None:
        """Codes in chunks; each chunk adds its codes and as much stock, atomically. A chunk already
        applied under this upload id (a retried call) is skipped, so no stock is added twice."""
        for number, start in enumerate(range(0, len(codes), CODES_PER_TRANSACTION)):
            chunk = codes[start : start + CODES_PER_TRANSACTION]
            transaction = Transaction()
            marker = UploadChunk(f"UPLOAD#{template.template_id}#{upload_id}", f"CHUNK#{number}", expiresAt=int(time.time()) + 7 * 86400)
            transaction.put("chunk", marker, UploadChunk.pk.does_not_exist())
            shard = StockShard.key(template.template_id, number % template.definition.shards)
            transaction.update("shard", shard, [StockShard.left.add(len(chunk))])
            # The version moves too, unconditionally: a concurrent status change (conditioned on the
            # version it read) must not overwrite stockAdded. PynamoDB adds one to a version it holds.
            counters = TemplateItem.key(template.template_id)
            counters.version = template.version
            transaction.update("template", counters, [TemplateItem.stockAdded.add(len(chunk))], add_version_condition=False)
            for code in chunk:
                transaction.put("code", CodeItem.uploaded(template.template_id, code, upload_id), CodeItem.pk.does_not_exist())
            try:
                transaction.commit()
            except Refused as refusal:
                if refusal.failed("chunk"):
                    continue  # this chunk was applied by an earlier try of the same upload
                if refusal.failed("code"):
                    raise Conflict("a code was uploaded meanwhile by another call", code="DUPLICATE_CODES", details=chunk) from None
                raise

    # ---- coupons ----------------------------------------------------------------------------------

    def issue(self, plan: ClaimPlan) -> list[Coupon]:
        return ClaimExecutor(DynamoClaimWriter()).issue(plan)

    def claim_record(self, coupon_id: str) -> ClaimRecord | None:
        item = read_cpn(coupon_id)
        if isinstance(item, CouponItem):
            return item.coupon()
        if isinstance(item, BundleRecord):
            return item.claim()
        return item.refusal() if item is not None else None

    def get_coupon(self, coupon_id: str) -> Coupon:
        record = self.claim_record(coupon_id)
        if not isinstance(record, Coupon):
            raise NotFound(f"coupon {coupon_id} does not exist", code="COUPON_NOT_FOUND")
        return record

    def get_issue_failure(self, coupon_id: str) -> str | None:
        """The refusal recorded for a command, if the command was refused."""
        record = self.claim_record(coupon_id)
        return record.code if isinstance(record, IssueRefusal) else None

    def record_issue_failure(self, coupon_id: str, code: str, event: PendingEvent) -> bool:
        """Takes the coupon's id for good, so a redelivered command is not served later after it was
        refused (the campaign has already rolled its budget back). False if the id was taken."""
        transaction = Transaction()
        transaction.put("refusal", IssueFailure.of(IssueRefusal(coupon_id, code)), IssueFailure.pk.does_not_exist())
        CouponsOutbox.add_to(transaction, [event])
        try:
            transaction.commit()
            return True
        except Refused as refusal:
            if refusal.failed("refusal"):
                return False
            raise

    def save_transitions(self, changes: list[tuple[Coupon, Coupon]], events: list[PendingEvent]) -> None:
        """Each coupon conditioned on the version it was read at, with its events, all or nothing."""
        transaction = Transaction()
        for before, after in changes:
            transaction.put(f"coupon:{after.coupon_id}", CouponItem.written_over(before, after))
        CouponsOutbox.add_to(transaction, events)
        try:
            transaction.commit()
        except Refused as refusal:
            if CONDITION_FAILED in refusal.reasons.values():
                raise Conflict("the coupon changed meanwhile; retry", code="COUPON_CHANGED") from None
            raise

    def record_revocation(self, coupon_id: str, outcome: str, at: str, *, changes: list[tuple[Coupon, Coupon]], take_id: bool,
                          events: list[PendingEvent]) -> RevocationWrite:
        transaction = Transaction()
        transaction.put("revocation", Revocation.of(coupon_id, outcome, at), Revocation.pk.does_not_exist())
        for before, after in changes:
            transaction.put(f"coupon:{after.coupon_id}", CouponItem.written_over(before, after))
        if take_id:
            transaction.put("refusal", IssueFailure.of(IssueRefusal(coupon_id, REVOKED_BEFORE_ISSUE)), IssueFailure.pk.does_not_exist())
        CouponsOutbox.add_to(transaction, events)
        try:
            transaction.commit()
            return "done"
        except Refused as refusal:
            if refusal.failed("revocation"):
                return "duplicate"
            if CONDITION_FAILED in refusal.reasons.values() or refusal.conflicted:
                return "raced"
            raise

    def wallet_pages(self, customer_id: str, cursor: str | None) -> Iterator[tuple[Coupon, str]]:
        """The customer's coupons, newest first, each with the cursor that resumes after it."""
        partition = records.wallet_index_key(customer_id)
        start = checked_start(decode_cursor(cursor), GSI1_KEYS, ("gsi1pk", partition))
        for item in CouponItem.wallet.query(partition, scan_index_forward=False, page_size=MAX_PAGE, last_evaluated_key=start):
            yield item.coupon(), str(encode_cursor(item.wallet_cursor()))

    def lapsed_coupons(self, expiry_date: str, before: str) -> Iterator[Coupon]:
        """Live coupons whose validity ended on `expiry_date` (UTC) before the instant `before`."""
        for shard in range(records.EXPIRY_INDEX_SHARDS):
            for item in CouponItem.expiry.query(f"EXP#{expiry_date}#{shard}", CouponItem.gsi2sk < before):
                yield item.coupon()

    def get_marker(self, name: str) -> str | None:
        try:
            return SweepMarker.get("SWEEP", name, consistent_read=True).value
        except SweepMarker.DoesNotExist:
            return None

    def set_marker(self, name: str, value: str) -> None:
        SweepMarker("SWEEP", name, value=value).save()


def _commit_versioned(transaction: Transaction, template_id: str) -> None:
    try:
        transaction.commit()
    except Refused as refusal:
        if refusal.failed("template"):
            raise Conflict(f"template {template_id} changed meanwhile; read it and retry", code="VERSION_CONFLICT") from None
        raise
