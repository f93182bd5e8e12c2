"""Builders for the points unit tests: earn rules, bank events and ledger accounts."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from loyalty.points.ledger import Account, Lot
from loyalty.points.model import (
    CardTransactionPosted,
    CheckInCompleted,
    DepositBalanceChanged,
    LoginCompleted,
    MonthlyAumComputed,
    Rule,
    RuleDefinition,
    SalaryCredited,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

PER_1000_FEN: dict[str, Any] = {"mode": "per_amount", "points": 1, "perAmountMinor": 1000}
FIXED_10: dict[str, Any] = {"mode": "fixed", "points": 10}
TIERED: dict[str, Any] = {
    "mode": "tiered",
    "tiers": [
        {"fromAmountMinor": 10_000, "points": 5},
        {"fromAmountMinor": 50_000, "points": 30},
        {"fromAmountMinor": 100_000, "points": 80},
    ],
}
DAYS_365: dict[str, Any] = {"type": "days", "days": 365}


def rule_data(**overrides: Any) -> dict[str, Any]:
    """A valid RuleDefinition body (1 point per 10 yuan of card spend) with `overrides` at the top level."""
    data: dict[str, Any] = {
        "ruleId": "card-base",
        "name": "1 point per 10 yuan",
        "eventType": "CardTransactionPosted",
        "award": PER_1000_FEN,
        "validity": DAYS_365,
        "category": "transaction",
        "costCentre": "cc-cards",
    }
    data.update(overrides)
    return copy.deepcopy(data)


def definition(**overrides: Any) -> RuleDefinition:
    return RuleDefinition.model_validate(rule_data(**overrides))


def rule(**overrides: Any) -> Rule:
    return Rule(definition=definition(**overrides), version=1, updatedAt="2026-06-01T12:00:00.000000Z", updatedBy="op-1")


def card_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "transactionId": "tx-1",
        "customerId": "c-001",
        "amountMinor": 128_800,
        "currency": "CNY",
        "merchantId": "m-coffee",
        "mcc": "5812",
        "channel": "pos",
        "postedAt": "2026-06-01T12:00:00Z",
    }
    data.update(overrides)
    return data


def card(**overrides: Any) -> CardTransactionPosted:
    return CardTransactionPosted.model_validate(card_data(**overrides))


def salary_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "transactionId": "sal-1",
        "customerId": "c-001",
        "employerId": "emp-1",
        "amountMinor": 1_500_000,
        "currency": "CNY",
        "creditedAt": "2026-06-25T01:00:00Z",
    }
    data.update(overrides)
    return data


def salary(**overrides: Any) -> SalaryCredited:
    return SalaryCredited.model_validate(salary_data(**overrides))


def deposit_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "customerId": "c-001",
        "accountId": "acc-1",
        "balanceMinor": 500_000,
        "previousBalanceMinor": 200_000,
        "currency": "CNY",
        "changedAt": "2026-06-01T12:00:00Z",
    }
    data.update(overrides)
    return data


def deposit(**overrides: Any) -> DepositBalanceChanged:
    return DepositBalanceChanged.model_validate(deposit_data(**overrides))


def check_in_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"customerId": "c-001", "businessDate": "2026-06-02", "checkedInAt": "2026-06-01T16:30:00Z"}
    data.update(overrides)
    return data


def check_in(**overrides: Any) -> CheckInCompleted:
    return CheckInCompleted.model_validate(check_in_data(**overrides))


def aum_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"customerId": "c-001", "month": "2026-05", "averageAumMinor": 50_000_000, "currency": "CNY"}
    data.update(overrides)
    return data


def aum(**overrides: Any) -> MonthlyAumComputed:
    return MonthlyAumComputed.model_validate(aum_data(**overrides))


def login_data(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"customerId": "c-001", "channel": "app", "loggedInAt": "2026-06-01T08:00:00Z"}
    data.update(overrides)
    return data


def login(**overrides: Any) -> LoginCompleted:
    return LoginCompleted.model_validate(login_data(**overrides))


def lot(expires_on: str, remaining: int, cost_centre: str = "cc-cards", rule_id: str | None = "card-base") -> Lot:
    return Lot(f"{expires_on}#{cost_centre}#{rule_id or 'manual'}", expires_on, remaining, cost_centre, rule_id)


def account(*lots: Lot, debt: int = 0, growth: int = 0, version: int = 3) -> Account:
    """A consistent account: `available` is the sum of its lots."""
    return Account("c-001", sum(x.remaining for x in lots), debt, growth, version, tuple(lots))
