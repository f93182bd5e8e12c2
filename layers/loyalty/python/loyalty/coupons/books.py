"""The coupons table's books, as the daily reconciliation reads them (`ports.CouponsBooks`): pages of
raw items read once, never whole tables, and batched point reads by command id."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from loyalty.core.tables import batch_get_raw, scan_page
from loyalty.coupons import records
from loyalty.coupons.items import CouponsTable
from loyalty.coupons.items_coupon import BundleRecord, CouponItem, IssueFailure, Revocation, cpn_item
from loyalty.coupons.logic import command_coupon_id
from loyalty.coupons.model import Bundle, FixedAmount, RedPacket, Template, Threshold
from loyalty.coupons.ports import CommandOutcome, IssuedBooks, TemplateBooks, TemplateValue
from loyalty.coupons.store import DynamoCouponStore


class DynamoCouponsBooks:
    def templates(self) -> Iterator[TemplateBooks]:
        store, cursor = DynamoCouponStore(), None
        while True:
            templates, cursor = store.list_templates(100, cursor)
            for template in templates:
                yield TemplateBooks(template.template_id, template.stockAdded, store.stock_left(template))
            if cursor is None:
                return

    def template_values(self) -> Iterator[TemplateValue]:
        store, cursor = DynamoCouponStore(), None
        while True:
            templates, cursor = store.list_templates(100, cursor)
            for template in templates:
                yield template_value(template)
            if cursor is None:
                return

    def issued(self, cursor: str | None, limit: int) -> tuple[list[IssuedBooks], str | None]:
        raw, next_cursor = scan_page(CouponsTable, CouponsTable.pk.startswith("CPN#"), cursor, limit)
        return [_issued(cpn_item(item)) for item in raw], next_cursor

    def wallets(self, cursor: str | None, limit: int) -> tuple[list[tuple[str, str]], str | None]:
        raw, next_cursor = scan_page(CouponItem, None, cursor, limit, index_name="gsi1")
        return [(item["template_id"]["S"], item["status"]["S"]) for item in raw if "template_id" in item], next_cursor

    def outcomes(self, command_ids: Sequence[str]) -> dict[str, CommandOutcome]:
        ids = {command_coupon_id(c): c for c in command_ids}
        keys = [records.coupon_key(coupon_id) for coupon_id in ids] + [Revocation.key_of(coupon_id) for coupon_id in ids]
        items: dict[str, dict[str, Any]] = {item["pk"]["S"]: item for item in batch_get_raw(CouponsTable, keys)}
        parts = [p for item in items.values() if "bundleParts" in item for p in BundleRecord.from_raw_data(item).bundleParts]
        part_status = {i["pk"]["S"]: i["status"]["S"] for i in batch_get_raw(CouponsTable, [records.coupon_key(p) for p in parts])}
        answers = {}
        for coupon_id, command_id in ids.items():
            found, revoked = items.get(f"CPN#{coupon_id}"), items.get(f"REVOKE#{coupon_id}")
            revocation = Revocation.from_raw_data(revoked).outcome if revoked else None
            answers[command_id] = _outcome(command_id, cpn_item(found) if found else None, revocation, part_status)
        return answers

    def holders(self, coupon_ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        found = batch_get_raw(CouponsTable, [records.coupon_key(coupon_id) for coupon_id in coupon_ids])
        coupons = [CouponItem.from_raw_data(item) for item in found if "status" in item and "template_id" in item]
        return {c.couponId: (c.status, c.redeemedOrderId if c.status == "redeemed" else c.lockOrderId) for c in coupons}


def _issued(item: CouponItem | BundleRecord | IssueFailure) -> IssuedBooks:
    item_id = item.pk.removeprefix("CPN#")
    if isinstance(item, IssueFailure):
        return IssuedBooks("refused", item_id)
    if isinstance(item, BundleRecord):
        return IssuedBooks("bundle", item_id, template_id=item.templateId, customer_id=item.customerId)
    return IssuedBooks("coupon", item_id, template_id=item.templateId, customer_id=item.customerId, status=item.status,
                       issued_at=item.issuedAt, command_id=item.commandId, source=item.source,
                       in_wallet=bool(item.gsi1pk), valid_until=item.validUntil)


def template_value(template: Template) -> TemplateValue:
    benefit, funding = template.definition.benefit, template.definition.funding
    if isinstance(benefit, Bundle):
        return TemplateValue(template.template_id, benefit.kind, 0, None, "none")
    if isinstance(benefit, FixedAmount | Threshold | RedPacket):
        return TemplateValue(template.template_id, benefit.kind, benefit.amountMinor, benefit.currency, "face")
    return TemplateValue(template.template_id, benefit.kind, funding.unitCostMinor, funding.currency, "unit_cost")


def _outcome(command_id: str, item: CouponItem | BundleRecord | IssueFailure | None, revocation: str | None,
             part_status: dict[str, str]) -> CommandOutcome:
    if item is None:
        return CommandOutcome(command_id, "none", revocation=revocation)
    if isinstance(item, IssueFailure):
        return CommandOutcome(command_id, "refused", revocation=revocation)
    if isinstance(item, BundleRecord):
        statuses = tuple(part_status.get(f"CPN#{p}", "missing") for p in item.bundleParts)
        return CommandOutcome(command_id, "issued", item.customerId, statuses, revocation)
    return CommandOutcome(command_id, "issued", item.customerId, (item.status,), revocation)
