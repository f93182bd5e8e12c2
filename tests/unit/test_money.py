"""`loyalty.core.money`: integer minor units with an ISO 4217 currency, never a float."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from loyalty.core.money import Money


@pytest.mark.parametrize("currency", ["CNY", "USD", "EUR", "HKD", "JPY", "MOP"])
def test_known_currencies_are_accepted(currency: str) -> None:
    # Given an integer amount of minor units and an ISO 4217 code
    # When Money is built
    money = Money(amountMinor=52_000_000, currency=currency)
    # Then it keeps both exactly
    assert (money.amountMinor, money.currency) == (52_000_000, currency)


def test_zero_is_a_valid_amount() -> None:
    # Given zero fen
    # When Money is built
    # Then it is accepted
    assert Money(amountMinor=0, currency="CNY").amountMinor == 0


@pytest.mark.parametrize("amount", [12.5, 12.0, "12", True, None, -1])
def test_non_integer_or_negative_amounts_are_refused(amount: Any) -> None:
    # Given a float (even a whole one), a string, a bool, None or a negative number
    # When Money is built
    # Then it is refused rather than coerced
    with pytest.raises(ValidationError):
        Money(amountMinor=amount, currency="CNY")


@pytest.mark.parametrize("currency", ["XYZ", "RMB", "cny", "", "CNYY"])
def test_unknown_currencies_are_refused(currency: str) -> None:
    # Given a code that is not an active upper-case ISO 4217 code
    # When Money is built
    # Then it is refused
    with pytest.raises(ValidationError):
        Money(amountMinor=100, currency=currency)


def test_a_float_amount_in_json_is_refused() -> None:
    # Given JSON with a decimal amount
    # When parsed
    # Then it is refused
    with pytest.raises(ValidationError):
        Money.model_validate_json('{"amountMinor": 12.5, "currency": "CNY"}')


def test_unknown_fields_are_refused_and_money_is_frozen() -> None:
    # Given an extra field, then a valid Money
    # When parsed or mutated
    # Then both are refused
    with pytest.raises(ValidationError):
        Money.model_validate({"amountMinor": 1, "currency": "CNY", "scale": 2})
    money = Money(amountMinor=1, currency="CNY")
    with pytest.raises(ValidationError):
        money.amountMinor = 2  # type: ignore[misc]
