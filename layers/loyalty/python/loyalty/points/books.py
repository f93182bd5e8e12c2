"""The points table's books, as the daily reconciliation reads them (`ports.PointsBooks`): pages of a
scan, each account read whole (its partition and its ledger) at one version, and batched point reads."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from loyalty.core.tables import batch_get_raw, scan_page
from loyalty.points.items import BALANCE, BalanceItem, EntryItem, LotItem, PointsItem, RedemptionItem, account_pk, ledger_pk
from loyalty.points.ports import AccountBooks, AwardBooks, RedemptionBooks
from loyalty.points.service import award_entry_id, award_reversal_id

# An account written to between its two reads is read again; one that keeps changing is reported as read.
READ_ATTEMPTS = 3


class DynamoPointsBooks:
    def accounts(self, cursor: str | None, limit: int) -> tuple[list[AccountBooks], str | None]:
        raw, next_cursor = scan_page(PointsItem, PointsItem.sk == BALANCE, cursor, limit)
        return [_account(item["pk"]["S"].removeprefix("ACCT#")) for item in raw], next_cursor

    def redemptions(self, cursor: str | None, limit: int) -> tuple[list[RedemptionBooks], str | None]:
        raw, next_cursor = scan_page(PointsItem, PointsItem.pk.startswith("REDEMPTION#"), cursor, limit)
        items = map(RedemptionItem.from_raw_data, raw)
        return [RedemptionBooks(i.redemptionId, i.customerId, i.kind, i.status, i.createdAt) for i in items], next_cursor

    def awards(self, commands: Sequence[tuple[str, str]]) -> dict[str, AwardBooks]:
        keys = [{"pk": ledger_pk(customer), "sk": f"ENTRY#{entry}"} for customer, command in commands
                for entry in (award_entry_id(command), award_reversal_id(command))]
        entries = {EntryItem.from_raw_data(item).entryId: EntryItem.from_raw_data(item) for item in batch_get_raw(PointsItem, keys)}
        answers = {}
        for _, command in commands:
            award = entries.get(award_entry_id(command))
            answers[command] = AwardBooks(command, int(award.points) if award else None, award_reversal_id(command) in entries)
        return answers

    def known_redemptions(self, redemption_ids: Sequence[str]) -> set[str]:
        keys = [{"pk": f"REDEMPTION#{rid}", "sk": "REDEMPTION"} for rid in redemption_ids]
        return {item["pk"]["S"].removeprefix("REDEMPTION#") for item in batch_get_raw(PointsItem, keys)}


def _account(customer_id: str) -> AccountBooks:
    books: AccountBooks | None = None
    for _ in range(READ_ATTEMPTS):
        version, available, debt, lots = _partition(customer_id)
        points, entries = _ledger(customer_id)
        books = AccountBooks(customer_id, available, debt, lots, points, entries)
        if _partition(customer_id)[0] == version:
            return books
    assert books is not None
    return books


def _partition(customer_id: str) -> tuple[Any, int, int, int]:
    version, available, debt, lots = None, 0, 0, 0
    for item in PointsItem.query(account_pk(customer_id), consistent_read=True):
        if isinstance(item, BalanceItem):
            version, available, debt = item.version, int(item.available or 0), int(item.debt or 0)
        elif isinstance(item, LotItem):
            lots += int(item.remaining or 0)
    return version, available, debt, lots


def _ledger(customer_id: str) -> tuple[int, int]:
    points = entries = 0
    for item in EntryItem.query(ledger_pk(customer_id), EntryItem.sk.startswith("ENTRY#"), consistent_read=True,
                                attributes_to_get=["points"]):
        points += int(item.points or 0)
        entries += 1
    return points, entries
