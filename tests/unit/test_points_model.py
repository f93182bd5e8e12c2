"""`loyalty.points.model`: earn rules, bank events and adjustments refuse what breaks their contract."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from loyalty.points.model import (
    EARN_EVENTS,
    AdjustmentRequest,
    CardTransactionPosted,
    CardTransactionRefunded,
    CheckInCompleted,
    DepositBalanceChanged,
    LoginCompleted,
    MonthlyAumComputed,
    RuleDefinition,
    SalaryCredited,
)
from tests.unit.points_builders import (
    FIXED_10,
    PER_1000_FEN,
    TIERED,
    aum_data,
    card_data,
    check_in_data,
    deposit_data,
    login_data,
    rule_data,
    salary_data,
)

REFUND: dict[str, Any] = {
    "refundId": "rf-1",
    "originalTransactionId": "tx-1",
    "customerId": "c-001",
    "amountMinor": 10_000,
    "currency": "CNY",
    "refundedAt": "2026-06-02T12:00:00Z",
}

# (model, a valid body, the amount fields it carries, the timestamp fields it carries)
EVENTS: list[tuple[type[BaseModel], dict[str, Any], tuple[str, ...], tuple[str, ...]]] = [
    (CardTransactionPosted, card_data(), ("amountMinor",), ("postedAt",)),
    (CardTransactionRefunded, REFUND, ("amountMinor",), ("refundedAt",)),
    (DepositBalanceChanged, deposit_data(), ("balanceMinor", "previousBalanceMinor"), ("changedAt",)),
    (SalaryCredited, salary_data(), ("amountMinor",), ("creditedAt",)),
    (CheckInCompleted, check_in_data(), (), ("checkedInAt",)),
    (MonthlyAumComputed, aum_data(), ("averageAumMinor",), ()),
    (LoginCompleted, login_data(), (), ("loggedInAt",)),
]
EVENT_IDS = [model.__name__ for model, *_ in EVENTS]


def _refused(model: type[BaseModel], data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        model.model_validate(data)


# --- bank events --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("model", "body", "amounts", "stamps"), EVENTS, ids=EVENT_IDS)
def test_valid_events_are_accepted_and_unknown_fields_ignored(
    model: type[BaseModel], body: dict[str, Any], amounts: tuple[str, ...], stamps: tuple[str, ...]
) -> None:
    # Given a valid event with a field the engine does not know
    # When it is parsed
    # Then it is accepted: the bank may add fields without breaking the engine
    parsed = model.model_validate({**body, "branchCode": "0417"})
    assert not hasattr(parsed, "branchCode")


def test_every_earn_event_type_has_a_model() -> None:
    assert set(EARN_EVENTS) == {
        "CardTransactionPosted", "DepositBalanceChanged", "SalaryCredited", "CheckInCompleted", "MonthlyAumComputed", "LoginCompleted"
    }


@pytest.mark.parametrize("bad", [-1, 12.5, "12", None, True], ids=["negative", "decimal", "string", "null", "bool"])
@pytest.mark.parametrize(("model", "body", "amounts", "stamps"), [e for e in EVENTS if e[2]], ids=[i for i, e in zip(EVENT_IDS, EVENTS, strict=True) if e[2]])
def test_amounts_must_be_whole_non_negative_minor_units(
    model: type[BaseModel], body: dict[str, Any], amounts: tuple[str, ...], stamps: tuple[str, ...], bad: object
) -> None:
    # Given an event whose amount is negative, a decimal, a numeric string, missing or a bool
    for field in amounts:
        # When it is parsed
        # Then it is refused: amounts are never coerced
        _refused(model, {**body, field: bad})


@pytest.mark.parametrize(("model", "body", "amounts", "stamps"), EVENTS, ids=EVENT_IDS)
def test_events_without_a_customer_are_refused(
    model: type[BaseModel], body: dict[str, Any], amounts: tuple[str, ...], stamps: tuple[str, ...]
) -> None:
    # Given an event with no customerId, or an empty one
    missing = {k: v for k, v in body.items() if k != "customerId"}
    # When it is parsed
    # Then it is refused
    _refused(model, missing)
    _refused(model, {**body, "customerId": ""})


@pytest.mark.parametrize("model, body", [(CardTransactionPosted, card_data()), (SalaryCredited, salary_data())])
def test_transactions_without_a_transaction_id_are_refused(model: type[BaseModel], body: dict[str, Any]) -> None:
    # Given a card transaction or salary credit with no transactionId
    # When it is parsed
    # Then it is refused: the transaction id is what makes it earn once
    _refused(model, {k: v for k, v in body.items() if k != "transactionId"})
    _refused(model, {**body, "transactionId": ""})


@pytest.mark.parametrize("currency", ["XXX", "cny", "RMB", "", 156])
@pytest.mark.parametrize(("model", "body", "amounts", "stamps"), [e for e in EVENTS if "currency" in e[1]], ids=[i for i, e in zip(EVENT_IDS, EVENTS, strict=True) if "currency" in e[1]])
def test_unknown_currencies_are_refused(
    model: type[BaseModel], body: dict[str, Any], amounts: tuple[str, ...], stamps: tuple[str, ...], currency: object
) -> None:
    # Given an event in a currency that is not an ISO 4217 code
    # When it is parsed
    # Then it is refused
    _refused(model, {**body, "currency": currency})


def test_card_transactions_check_mcc_and_channel() -> None:
    # Given card transactions with a malformed MCC or an unknown channel
    # When parsed
    # Then they are refused
    for bad in ({"mcc": "581"}, {"mcc": "58120"}, {"mcc": "ABCD"}, {"channel": "atm"}):
        _refused(CardTransactionPosted, card_data(**bad))


@pytest.mark.parametrize("month", ["2026-13", "2026-00", "2026-5", "26-05", "2026-05-01"])
def test_aum_month_must_be_yyyy_mm(month: str) -> None:
    _refused(MonthlyAumComputed, aum_data(month=month))


@pytest.mark.parametrize(("model", "body", "amounts", "stamps"), [e for e in EVENTS if e[3]], ids=[i for i, e in zip(EVENT_IDS, EVENTS, strict=True) if e[3]])
def test_timestamps_without_a_time_zone_are_refused(
    model: type[BaseModel], body: dict[str, Any], amounts: tuple[str, ...], stamps: tuple[str, ...]
) -> None:
    # Given an event whose timestamp carries no offset (the schema says ISO 8601 UTC, date-time)
    # When it is parsed
    # Then it is refused: a business date cannot be derived from it
    for field in stamps:
        _refused(model, {**body, field: "2026-11-23T17:00:00"})


# --- earn rules ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("award", [PER_1000_FEN, FIXED_10, TIERED], ids=["per_amount", "fixed", "tiered"])
def test_valid_rules_are_accepted(award: dict[str, Any]) -> None:
    # Given a rule for each award mode
    # When it is parsed
    # Then it is accepted with the documented defaults
    parsed = RuleDefinition.model_validate(rule_data(award=award))
    assert parsed.award.mode == award["mode"]
    assert (parsed.priority, parsed.stacking, parsed.active) == (100, "stack", True)
    assert parsed.caps.perCustomerDaily is None and parsed.caps.perCustomerMonthly is None


@pytest.mark.parametrize("caps", [{"perCustomerDaily": -1}, {"perCustomerMonthly": -1}, {"perCustomerDaily": 1.5}, {"perCustomerDaily": "10"}])
def test_caps_below_zero_or_not_whole_are_refused(caps: dict[str, Any]) -> None:
    _refused(RuleDefinition, rule_data(caps=caps))


def test_a_zero_cap_is_allowed() -> None:
    # Given a cap of 0 (a rule switched off for the day without deactivating it)
    # When parsed
    # Then it is accepted
    assert RuleDefinition.model_validate(rule_data(caps={"perCustomerDaily": 0})).caps.perCustomerDaily == 0


@pytest.mark.parametrize(
    "award",
    [
        {**PER_1000_FEN, "perAmountMinor": 0},
        {**PER_1000_FEN, "perAmountMinor": -1000},
        {**PER_1000_FEN, "points": 0},
        {**PER_1000_FEN, "rounding": "nearest"},
        {**FIXED_10, "points": 0},
        {**FIXED_10, "points": 1.5},
        {"mode": "bonus", "points": 10},
        {"mode": "tiered", "tiers": []},
    ],
    ids=["per-zero", "per-negative", "points-zero", "rounding", "fixed-zero", "fixed-decimal", "mode", "no-tiers"],
)
def test_malformed_awards_are_refused(award: dict[str, Any]) -> None:
    _refused(RuleDefinition, rule_data(award=award))


@pytest.mark.parametrize(
    "starts",
    [[50_000, 10_000], [10_000, 10_000], [10_000, 100_000, 50_000]],
    ids=["descending", "duplicate", "out-of-order"],
)
def test_tiers_must_be_strictly_ascending(starts: list[int]) -> None:
    # Given tiers whose starting amounts do not strictly ascend
    tiers = [{"fromAmountMinor": s, "points": i + 1} for i, s in enumerate(starts)]
    # When the rule is parsed
    # Then it is refused
    _refused(RuleDefinition, rule_data(award={"mode": "tiered", "tiers": tiers}))


@pytest.mark.parametrize("event_type", ["CheckInCompleted", "LoginCompleted"])
@pytest.mark.parametrize("award", [PER_1000_FEN, TIERED], ids=["per_amount", "tiered"])
def test_amountless_events_only_take_fixed_awards(event_type: str, award: dict[str, Any]) -> None:
    # Given a check-in or login rule with an amount-based award
    # When parsed
    # Then it is refused; with a fixed award it is accepted
    _refused(RuleDefinition, rule_data(eventType=event_type, award=award))
    assert RuleDefinition.model_validate(rule_data(eventType=event_type, award=FIXED_10)).eventType == event_type


@pytest.mark.parametrize(
    "extra",
    [{"colour": "red"}, {"conditions": {"mccs": [], "region": "north"}}, {"award": {**FIXED_10, "bonus": 1}}, {"caps": {"perCustomerYearly": 10}}],
    ids=["top", "conditions", "award", "caps"],
)
def test_unknown_rule_fields_are_refused(extra: dict[str, Any]) -> None:
    # Given a rule with a field the engine does not know (a typo would silently change nothing)
    # When parsed
    # Then it is refused
    _refused(RuleDefinition, rule_data(**extra))


@pytest.mark.parametrize("percent", [-1, 1001, 150.0, "150"])
def test_multipliers_out_of_range_are_refused(percent: object) -> None:
    _refused(RuleDefinition, rule_data(tierMultipliersPercent={"gold": percent}))


@pytest.mark.parametrize("percent", [0, 100, 1000])
def test_multipliers_at_the_bounds_are_accepted(percent: int) -> None:
    parsed = RuleDefinition.model_validate(rule_data(tierMultipliersPercent={"gold": percent}))
    assert parsed.tierMultipliersPercent == {"gold": percent}


@pytest.mark.parametrize(
    "overrides",
    [
        {"ruleId": ""},
        {"ruleId": "has space"},
        {"ruleId": "r" * 65},
        {"eventType": "CardTransactionRefunded"},
        {"category": "bonus"},
        {"priority": -1},
        {"priority": 1001},
        {"stacking": "override"},
        {"costCentre": ""},
        {"validity": {"type": "days", "days": 0}},
        {"validity": {"type": "end_of_month", "monthsLater": -1}},
        {"validity": {"type": "end_of_month", "monthsLater": 121}},
        {"validity": {"type": "fixed_date", "date": "2026-02-30"}},
        {"conditions": {"mccs": ["58"]}},
        {"conditions": {"minAmountMinor": -1}},
        {"conditions": {"currency": "XXX"}},
    ],
)
def test_other_malformed_rules_are_refused(overrides: dict[str, Any]) -> None:
    _refused(RuleDefinition, rule_data(**overrides))


# --- adjustments --------------------------------------------------------------------------------------


@pytest.mark.parametrize("points", [1, -1, 100_000_000, -100_000_000])
def test_adjustments_move_points_either_way(points: int) -> None:
    assert AdjustmentRequest.model_validate({"points": points, "reason": "goodwill", "costCentre": "cc-service"}).points == points


@pytest.mark.parametrize("points", [0, 100_000_001, -100_000_001, 1.5, "10"])
def test_adjustments_of_zero_or_out_of_range_are_refused(points: object) -> None:
    # Given an adjustment of zero points, too many, or not a whole number
    # When parsed
    # Then it is refused
    _refused(AdjustmentRequest, {"points": points, "reason": "goodwill", "costCentre": "cc-service"})


def test_adjustments_need_a_reason_and_a_payer() -> None:
    _refused(AdjustmentRequest, {"points": 10, "reason": "", "costCentre": "cc-service"})
    _refused(AdjustmentRequest, {"points": 10, "reason": "goodwill"})
    _refused(AdjustmentRequest, {"points": 10, "reason": "goodwill", "costCentre": "cc-service", "operator": "me"})
