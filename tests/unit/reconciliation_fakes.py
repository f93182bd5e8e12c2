"""In-memory books of campaigns, coupons, points and checkout (the ports the reconciliation reads), and an
in-memory run store: pages are slices, cursors are offsets."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TypeVar

from loyalty.campaigns.ports import BudgetBooks, CampaignBooks, GrantBooks
from loyalty.checkout.ports import SessionBooks
from loyalty.coupons.ports import CommandOutcome, IssuedBooks, TemplateBooks, TemplateValue
from loyalty.points.ports import AccountBooks, AwardBooks, LotBooks, RedemptionBooks, SettledBooks
from loyalty.reconciliation.store import Run, Superseded

T = TypeVar("T")


def paged(items: Sequence[T], cursor: str | None, limit: int) -> tuple[list[T], str | None]:
    start = int(cursor or 0)
    end = start + limit
    return list(items[start:end]), str(end) if end < len(items) else None


@dataclass
class CampaignsBooksInMemory:
    grant_list: list[GrantBooks] = field(default_factory=list)
    campaign_list: list[CampaignBooks] = field(default_factory=list)
    commands: set[str] = field(default_factory=set)

    def grants(self, cursor: str | None, limit: int) -> tuple[list[GrantBooks], str | None]:
        return paged(self.grant_list, cursor, limit)

    def campaigns(self) -> Iterator[CampaignBooks]:
        return iter(self.campaign_list)

    def known_commands(self, command_ids: Sequence[str]) -> set[str]:
        return self.commands & set(command_ids)

    def budgets(self) -> Iterator[BudgetBooks]:  # the forecast's (tests/unit/test_org_forecast.py has its own fakes)
        return iter(())


@dataclass
class CouponsBooksInMemory:
    template_list: list[TemplateBooks] = field(default_factory=list)
    items: list[IssuedBooks] = field(default_factory=list)
    outcome_of: dict[str, CommandOutcome] = field(default_factory=dict)
    holder_of: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # coupon id: (status, order)

    def templates(self) -> Iterator[TemplateBooks]:
        return iter(self.template_list)

    def issued(self, cursor: str | None, limit: int) -> tuple[list[IssuedBooks], str | None]:
        return paged(self.items, cursor, limit)

    def wallets(self, cursor: str | None, limit: int) -> tuple[list[tuple[str, str]], str | None]:
        in_wallets = [(i.template_id or "", i.status or "") for i in self.items if i.kind == "coupon" and i.in_wallet]
        return paged(in_wallets, cursor, limit)

    def outcomes(self, command_ids: Sequence[str]) -> dict[str, CommandOutcome]:
        return {c: self.outcome_of.get(c, CommandOutcome(c, "none")) for c in command_ids}

    def template_values(self) -> Iterator[TemplateValue]:
        return iter(())

    def holders(self, coupon_ids: Sequence[str]) -> dict[str, tuple[str, str | None]]:
        return {c: self.holder_of[c] for c in coupon_ids if c in self.holder_of}


@dataclass
class PointsBooksInMemory:
    account_list: list[AccountBooks] = field(default_factory=list)
    redemption_list: list[RedemptionBooks] = field(default_factory=list)
    award_of: dict[str, AwardBooks] = field(default_factory=dict)

    def accounts(self, cursor: str | None, limit: int) -> tuple[list[AccountBooks], list[RedemptionBooks], str | None]:
        # The table's one pass: accounts first, then the redemptions, in pages of `limit` records
        records: list[AccountBooks | RedemptionBooks] = [*self.account_list, *self.redemption_list]
        page, next_cursor = paged(records, cursor, limit)
        return ([r for r in page if isinstance(r, AccountBooks)], [r for r in page if isinstance(r, RedemptionBooks)], next_cursor)

    def awards(self, commands: Sequence[tuple[str, str]]) -> dict[str, AwardBooks]:
        return {c: self.award_of.get(c, AwardBooks(c, None, False)) for _, c in commands}

    def known_redemptions(self, redemption_ids: Sequence[str]) -> set[str]:
        return {r.redemption_id for r in self.redemption_list} & set(redemption_ids)

    def redemption_statuses(self, redemption_ids: Sequence[str]) -> dict[str, str]:
        return {r.redemption_id: r.status for r in self.redemption_list if r.redemption_id in redemption_ids}

    def lots(self, cursor: str | None, limit: int) -> tuple[list[LotBooks], str | None]:
        return [], None

    def settled(self, cursor: str | None, limit: int) -> tuple[list[SettledBooks], str | None]:
        return [], None


@dataclass
class CheckoutBooksInMemory:
    session_list: list[SessionBooks] = field(default_factory=list)

    def sessions(self, cursor: str | None, limit: int) -> tuple[list[SessionBooks], str | None]:
        return paged(self.session_list, cursor, limit)


@dataclass
class RunStoreInMemory:
    runs: dict[str, Run] = field(default_factory=dict)
    saves: int = 0

    def get(self, business_date: str) -> Run | None:
        return self.runs.get(business_date)

    def put_new(self, run: Run, replacing: Run | None) -> None:
        current = self.runs.get(run.business_date)
        if current != replacing:
            raise Superseded(run.business_date)
        self.runs[run.business_date] = run

    def save(self, run: Run) -> None:
        current = self.runs.get(run.business_date)
        if current is None or current.run_id != run.run_id or current.step != run.step - 1:
            raise Superseded(run.business_date)
        self.saves += 1
        self.runs[run.business_date] = replace(run)

    def unfinished(self) -> list[Run]:
        return [r for r in self.runs.values() if r.status == "running"]
