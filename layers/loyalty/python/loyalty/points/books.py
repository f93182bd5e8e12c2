"""The points table's books, as the daily reconciliation reads them (`ports.PointsBooks`): pages of a
scan, each account read whole (its partition and its ledger) at one version, and batched point reads."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from loyalty.core.tables import batch_get_raw, scan_page
from loyalty.points.items import BALANCE, BalanceItem, EntryItem, LotItem, PointsItem, RedemptionItem, account_pk, ledger_pk
from loyalty.points.ports import AccountBooks, AwardBooks, LotBooks, RedemptionBooks, SettledBooks
from loyalty.points.service import award_entry_id, award_reversal_id

# An account written to between its reads is read again; one that keeps changing is reported as read.
READ_ATTEMPTS = 3
# Accounts of a page read at once: each is two sequential Queries, and a page holds hundreds.
ACCOUNT_READERS = 8


class DynamoPointsBooks:
    def accounts(self, cursor: str | None, limit: int) -> tuple[list[AccountBooks], list[RedemptionBooks], str | None]:
        condition = (PointsItem.sk == BALANCE) | PointsItem.pk.startswith("REDEMPTION#")
        raw, next_cursor = scan_page(PointsItem, condition, cursor, limit)
        balances = [BalanceItem.from_raw_data(item) for item in raw if item["sk"]["S"] == BALANCE]
        redemptions = [RedemptionItem.from_raw_data(item) for item in raw if item["pk"]["S"].startswith("REDEMPTION#")]
        with ThreadPoolExecutor(ACCOUNT_READERS) as readers:
            accounts = list(readers.map(_account, balances))
        return accounts, [RedemptionBooks(i.redemptionId, i.customerId, i.kind, i.status, i.createdAt) for i in redemptions], next_cursor

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

    def redemption_statuses(self, redemption_ids: Sequence[str]) -> dict[str, str]:
        keys = [{"pk": f"REDEMPTION#{rid}", "sk": "REDEMPTION"} for rid in redemption_ids]
        return {item["pk"]["S"].removeprefix("REDEMPTION#"): item["status"]["S"] for item in batch_get_raw(PointsItem, keys)}

    def lots(self, cursor: str | None, limit: int) -> tuple[list[LotBooks], str | None]:
        raw, next_cursor = scan_page(PointsItem, PointsItem.sk.startswith("LOT#"), cursor, limit)
        return [LotBooks(item["customerId"]["S"], item["expiresOn"]["S"], int(item["remaining"]["N"])) for item in raw], next_cursor

    def settled(self, cursor: str | None, limit: int) -> tuple[list[SettledBooks], str | None]:
        condition = PointsItem.pk.startswith("LEDGER#") & PointsItem.sk.startswith("ENTRY#") & EntryItem.kind.is_in("redeem", "expire")
        raw, next_cursor = scan_page(PointsItem, condition, cursor, limit)
        return [SettledBooks(item["pk"]["S"].removeprefix("LEDGER#"), item["kind"]["S"], int(item["points"]["N"])) for item in raw], next_cursor


def _account(balance: BalanceItem) -> AccountBooks:
    """The ledger, then the account's partition: when the partition is still at the version the scan
    read, nothing was booked between (every ledger write moves the version), so the two agree."""
    customer_id, seen = balance.pk.removeprefix("ACCT#"), balance.version
    books: AccountBooks | None = None
    for _ in range(READ_ATTEMPTS):
        points, entries = _ledger(customer_id)
        version, available, debt, lots = _partition(customer_id)
        books = AccountBooks(customer_id, available, debt, lots, points, entries)
        if version == seen:
            return books
        seen = version
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
