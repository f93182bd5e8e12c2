"""`loyalty.coupons.model`: the API models refuse bad input instead of coercing it."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from loyalty.coupons.model import (
    ClaimRequest,
    CodeUpload,
    IssueCouponCommand,
    LockRequest,
    OrderDetails,
    OrderRef,
    QuoteRequest,
    RedeemRequest,
    StatusChange,
    StockAddition,
    TemplateCreate,
)
from tests.unit.coupon_builders import BENEFITS, DAYS_30, FUNDING, KINDS, WINDOW, template_data

ORDER = {"orderAmountMinor": 20_000, "currency": "CNY", "merchantId": "m-1", "channel": "app"}
COMMAND = {"commandId": "cmd-1", "customerId": "c-001", "templateId": "tpl-1", "source": "campaign"}


def errors_of(model: type[BaseModel], data: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(ValidationError) as raised:
        model.model_validate(data)
    return [dict(e) for e in raised.value.errors()]


def refused_locs(model: type[BaseModel], data: dict[str, Any]) -> set[str]:
    """The dotted locations of every error `model` reports for `data` (which must be refused)."""
    return {".".join(str(p) for p in e["loc"]) for e in errors_of(model, data)}


def refused_messages(model: type[BaseModel], data: dict[str, Any]) -> str:
    return " | ".join(e["msg"] for e in errors_of(model, data))


def with_benefit(**fields: Any) -> dict[str, Any]:
    kind = fields["kind"]
    return template_data(benefit={**BENEFITS[kind], **fields})


# --- amounts ------------------------------------------------------------------------------------


@pytest.mark.parametrize("amount", [-1, 0, 12.5, 12.0, "12", True, None])
@pytest.mark.parametrize(
    ("kind", "field"),
    [
        ("fixed_amount", "amountMinor"),
        ("threshold", "amountMinor"),
        ("threshold", "thresholdMinor"),
        ("percentage", "maxDiscountMinor"),
        ("random_amount", "minMinor"),
        ("random_amount", "maxMinor"),
        ("red_packet", "amountMinor"),
    ],
)
def test_benefit_amounts_must_be_positive_integers(kind: str, field: str, amount: Any) -> None:
    # Given a benefit amount that is negative, zero, decimal, float-typed, a string, a bool or null
    data = with_benefit(kind=kind, **{field: amount})
    # When validated
    # Then it is refused at that field, not coerced
    assert f"benefit.{kind}.{field}" in refused_locs(TemplateCreate, data)


@pytest.mark.parametrize("amount", ["12.5", '"12"', "-1"])
def test_benefit_amounts_in_json_text_are_refused_too(amount: str) -> None:
    # Given the JSON text of a template whose fixed amount is 12.5, "12" or -1
    text = json.dumps(template_data()).replace('"amountMinor": 500', f'"amountMinor": {amount}')
    assert amount in text
    # When validated from JSON
    # Then it is refused
    with pytest.raises(ValidationError):
        TemplateCreate.model_validate_json(text)


@pytest.mark.parametrize("amount", [-1, 12.5, "12"])
def test_order_amounts_must_be_non_negative_integers(amount: Any) -> None:
    # Given an order amount that is negative, decimal or a string
    # When validated as order details, a quote request and a lock's order
    # Then each refuses it
    assert "orderAmountMinor" in refused_locs(OrderDetails, {**ORDER, "orderAmountMinor": amount})
    assert "orderAmountMinor" in refused_locs(QuoteRequest, {**ORDER, "orderAmountMinor": amount})
    assert "order.orderAmountMinor" in refused_locs(LockRequest, {"orderId": "o-1", "order": {**ORDER, "orderAmountMinor": amount}})


def test_a_zero_order_amount_is_accepted() -> None:
    # Given an order of 0 (fully paid by other means)
    # When validated
    # Then it is accepted
    assert OrderDetails.model_validate({**ORDER, "orderAmountMinor": 0}).orderAmountMinor == 0


@pytest.mark.parametrize("cost", [-1, 1.5, "5"])
def test_funding_unit_cost_must_be_a_non_negative_integer(cost: Any) -> None:
    # Given a unit cost that is negative, decimal or a string
    # When validated
    # Then it is refused
    assert "funding.unitCostMinor" in refused_locs(TemplateCreate, template_data(funding={**FUNDING, "unitCostMinor": cost}))


# --- the benefit kinds --------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_benefit_is_accepted(kind: str) -> None:
    # Given a valid benefit of each kind
    # When validated
    definition = TemplateCreate.model_validate(template_data(benefit=BENEFITS[kind]))
    # Then it parses to that kind and dumps back to what was sent
    assert definition.benefit.kind == kind
    dumped = definition.benefit.model_dump(mode="json", exclude_defaults=True)
    assert dumped == {**BENEFITS[kind], "kind": kind}


def test_an_unknown_benefit_kind_is_refused() -> None:
    # Given a benefit kind the engine does not know
    # When validated
    # Then it is refused at the benefit
    assert "benefit" in refused_locs(TemplateCreate, template_data(benefit={"kind": "cashback", "amountMinor": 1}))


@pytest.mark.parametrize(("percent", "accepted"), [(0, False), (1, True), (100, True), (101, False), (-5, False), (15.0, False)])
def test_percent_off_is_an_integer_from_1_to_100(percent: Any, accepted: bool) -> None:
    # Given a percentage coupon with percentOff
    data = with_benefit(kind="percentage", percentOff=percent)
    # When validated
    # Then 1..100 is accepted, 0, 101, negatives and floats are refused
    if accepted:
        definition = TemplateCreate.model_validate(data)
        assert definition.benefit.model_dump()["percentOff"] == percent
    else:
        assert "benefit.percentage.percentOff" in refused_locs(TemplateCreate, data)


def test_a_threshold_discount_above_the_threshold_is_refused() -> None:
    # Given "1,000 off 999"
    data = with_benefit(kind="threshold", thresholdMinor=999, amountMinor=1_000)
    # When validated
    # Then it is refused
    assert "amountMinor must not exceed thresholdMinor" in refused_messages(TemplateCreate, data)


def test_a_threshold_discount_equal_to_the_threshold_is_accepted() -> None:
    # Given "1,000 off 1,000"
    # When validated
    # Then it is accepted
    TemplateCreate.model_validate(with_benefit(kind="threshold", thresholdMinor=1_000, amountMinor=1_000))


def test_a_random_range_with_min_above_max_is_refused() -> None:
    # Given a random amount from 500 to 100
    data = with_benefit(kind="random_amount", minMinor=500, maxMinor=100)
    # When validated
    # Then it is refused
    assert "minMinor must not exceed maxMinor" in refused_messages(TemplateCreate, data)


def test_a_random_range_of_one_value_is_accepted_and_uniform_is_the_default() -> None:
    # Given a random amount from 100 to 100, without a distribution
    definition = TemplateCreate.model_validate(with_benefit(kind="random_amount", minMinor=100, maxMinor=100))
    # When validated
    # Then it is accepted with the uniform distribution
    assert definition.benefit.model_dump()["distribution"] == "uniform"


def test_a_random_distribution_other_than_uniform_is_refused() -> None:
    # Given a "normal" distribution
    # When validated
    # Then it is refused
    assert "benefit.random_amount.distribution" in refused_locs(TemplateCreate, with_benefit(kind="random_amount", distribution="normal"))


@pytest.mark.parametrize(
    "parts",
    [[], ["tpl-a"], ["tpl-a", "tpl-a"], ["tpl-a", "tpl-b", "tpl-a"], [f"tpl-{i}" for i in range(11)], ["tpl-a", "bad id"]],
)
def test_a_bundle_needs_2_to_10_distinct_valid_parts(parts: list[str]) -> None:
    # Given a bundle with no part, one part, a repeated part, 11 parts, or a malformed part id
    # When validated
    # Then it is refused
    assert any(loc.startswith("benefit.bundle") for loc in refused_locs(TemplateCreate, with_benefit(kind="bundle", parts=parts)))


def test_a_bundle_of_ten_distinct_parts_is_accepted() -> None:
    # Given a bundle of ten distinct parts
    # When validated
    # Then it is accepted
    TemplateCreate.model_validate(with_benefit(kind="bundle", parts=[f"tpl-{i}" for i in range(10)]))


@pytest.mark.parametrize(("fulfilment", "accepted"), [("physical", True), ("virtual", True), ("drone", False)])
def test_a_gift_is_physical_or_virtual(fulfilment: str, accepted: bool) -> None:
    # Given a gift with a fulfilment
    data = with_benefit(kind="gift", fulfilment=fulfilment)
    # When validated
    # Then only physical and virtual are accepted
    if accepted:
        TemplateCreate.model_validate(data)
    else:
        assert "benefit.gift.fulfilment" in refused_locs(TemplateCreate, data)


# --- validity -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("valid_from", "valid_until"),
    [("2026-07-01T00:00:00Z", "2026-07-01T00:00:00Z"), ("2026-07-01T00:00:00Z", "2026-06-30T23:59:59Z"),
     ("2026-07-01T08:00:00+08:00", "2026-07-01T00:00:00Z")],
)
def test_a_window_must_end_after_it_starts(valid_from: str, valid_until: str) -> None:
    # Given a window ending when it starts, or before (also across offsets: 08:00+08:00 is 00:00Z)
    data = template_data(validity={"type": "window", "validFrom": valid_from, "validUntil": valid_until})
    # When validated
    # Then it is refused
    assert "validUntil must be after validFrom" in refused_messages(TemplateCreate, data)


@pytest.mark.parametrize(
    ("valid_from", "valid_until"),
    [("2026-05-01T00:00:00", "2026-07-01T00:00:00Z"), ("2026-05-01T00:00:00Z", "2026-07-01T00:00:00"),
     ("2026-05-01T00:00:00", "2026-07-01T00:00:00")],
)
def test_a_window_needs_time_zones(valid_from: str, valid_until: str) -> None:
    # Given a window with a naive start, a naive end, or both
    data = template_data(validity={"type": "window", "validFrom": valid_from, "validUntil": valid_until})
    # When validated
    # Then it is refused with a message about time zones (never a TypeError comparing them)
    assert "need a time zone" in refused_messages(TemplateCreate, data)


@pytest.mark.parametrize(("days", "accepted"), [(0, False), (1, True), (3660, True), (3661, False), (1.5, False), ("7", False)])
def test_days_after_claim_is_1_to_3660_whole_days(days: Any, accepted: bool) -> None:
    # Given a days-after-claim validity
    data = template_data(validity={"type": "days_after_claim", "days": days})
    # When validated
    # Then 1..3660 integers are accepted, anything else refused
    if accepted:
        TemplateCreate.model_validate(data)
    else:
        assert "validity.days_after_claim.days" in refused_locs(TemplateCreate, data)


def test_an_unknown_validity_type_is_refused() -> None:
    # Given a validity type the engine does not know
    # When validated
    # Then it is refused
    assert "validity" in refused_locs(TemplateCreate, template_data(validity={"type": "forever"}))


# --- stock and shards ---------------------------------------------------------------------------


@pytest.mark.parametrize(("daily", "shards", "accepted"), [(3, 4, False), (4, 4, True), (100, 8, True), (1, 1, True), (63, 64, False)])
def test_daily_stock_must_cover_every_shard(daily: int, shards: int, accepted: bool) -> None:
    # Given a daily stock and a number of shards
    data = template_data(dailyStock=daily, shards=shards)
    # When validated
    # Then a daily stock below the number of shards is refused
    if accepted:
        assert TemplateCreate.model_validate(data).shards == shards
    else:
        assert "dailyStock must be at least the number of shards" in refused_messages(TemplateCreate, data)


@pytest.mark.parametrize(("shards", "accepted"), [(0, False), (1, True), (64, True), (65, False), (-1, False), (2.0, False)])
def test_shards_are_1_to_64(shards: Any, accepted: bool) -> None:
    # Given a number of shards
    data = template_data(shards=shards)
    # When validated
    # Then 1..64 is accepted, 0, 65 and non-integers refused
    if accepted:
        assert TemplateCreate.model_validate(data).shards == shards
    else:
        assert "shards" in refused_locs(TemplateCreate, data)


def test_shards_default_to_one_and_daily_stock_to_none() -> None:
    # Given a template without shards or daily stock
    definition = TemplateCreate.model_validate(template_data())
    # When validated
    # Then it has one shard and no daily stock
    assert (definition.shards, definition.dailyStock) == (1, None)


@pytest.mark.parametrize(("field", "value"), [("totalStock", -1), ("dailyStock", 0), ("totalStock", "10")])
def test_stock_counts_are_refused_when_out_of_range(field: str, value: Any) -> None:
    # Given a negative total stock, a zero daily stock, or a string stock
    # When validated
    # Then it is refused
    assert field in refused_locs(TemplateCreate, template_data(**{field: value}))


@pytest.mark.parametrize(("add", "accepted"), [(0, False), (1, True), (100_000_000, True), (100_000_001, False), (1.0, False)])
def test_a_stock_addition_is_1_to_100_million(add: Any, accepted: bool) -> None:
    # Given a stock addition
    # When validated
    # Then only 1..100,000,000 is accepted
    if accepted:
        assert StockAddition.model_validate({"add": add}).add == add
    else:
        assert "add" in refused_locs(StockAddition, {"add": add})


# --- funding ------------------------------------------------------------------------------------


@pytest.mark.parametrize("payer", [{}, {"costCentre": None}, {"merchantId": None}, {"costCentre": None, "merchantId": None}])
def test_funding_needs_a_cost_centre_or_a_merchant(payer: dict[str, Any]) -> None:
    # Given funding with neither a cost centre nor a merchant
    data = template_data(funding={"unitCostMinor": 500, "currency": "CNY", **payer})
    # When validated
    # Then it is refused
    assert "funding needs a costCentre or a merchantId" in refused_messages(TemplateCreate, data)


@pytest.mark.parametrize("payer", [{"costCentre": ""}, {"merchantId": ""}])
def test_an_empty_payer_is_refused(payer: dict[str, Any]) -> None:
    # Given funding whose only payer is an empty string
    data = template_data(funding={"unitCostMinor": 500, "currency": "CNY", **payer})
    # When validated
    # Then it is refused
    assert refused_locs(TemplateCreate, data)


@pytest.mark.parametrize("payer", [{"costCentre": "cc-1"}, {"merchantId": "m-1"}, {"costCentre": "cc-1", "merchantId": "m-1"}])
def test_funding_by_a_cost_centre_or_a_merchant_is_accepted(payer: dict[str, Any]) -> None:
    # Given funding by a cost centre, a merchant, or both
    # When validated
    # Then it is accepted
    TemplateCreate.model_validate(template_data(funding={"unitCostMinor": 0, "currency": "CNY", **payer}))


def test_funding_is_required() -> None:
    # Given a template without funding
    data = template_data()
    del data["funding"]
    # When validated
    # Then it is refused: every coupon must be paid for by someone
    assert "funding" in refused_locs(TemplateCreate, data)


# --- currencies ---------------------------------------------------------------------------------


@pytest.mark.parametrize("currency", ["XXY", "RMB", "cny", "", "CNYY"])
def test_an_unknown_currency_is_refused_everywhere(currency: str) -> None:
    # Given a currency that is not an ISO 4217 code, in each place a currency appears
    # When validated
    # Then it is refused in each
    for kind in ("fixed_amount", "threshold", "percentage", "random_amount", "red_packet"):
        assert f"benefit.{kind}.currency" in refused_locs(TemplateCreate, with_benefit(kind=kind, currency=currency))
    assert "funding.currency" in refused_locs(TemplateCreate, template_data(funding={**FUNDING, "currency": currency}))
    assert "currency" in refused_locs(OrderDetails, {**ORDER, "currency": currency})
    assert "order.currency" in refused_locs(RedeemRequest, {"orderId": "o-1", "order": {**ORDER, "currency": currency}})


def test_other_iso_currencies_are_accepted() -> None:
    # Given a USD coupon and a JPY order
    # When validated
    # Then both are accepted
    TemplateCreate.model_validate(with_benefit(kind="fixed_amount", currency="USD"))
    OrderDetails.model_validate({**ORDER, "currency": "JPY"})


# --- unknown fields -----------------------------------------------------------------------------

STRICT_BODIES: list[tuple[type[BaseModel], dict[str, Any], tuple[str, ...]]] = [
    (TemplateCreate, template_data(), ()),
    *[(TemplateCreate, template_data(benefit=BENEFITS[kind]), ("benefit",)) for kind in KINDS],
    (TemplateCreate, template_data(validity=WINDOW), ("validity",)),
    (TemplateCreate, template_data(validity=DAYS_30), ("validity",)),
    (TemplateCreate, template_data(limits={"perCustomerLifetime": 1}), ("limits",)),
    (TemplateCreate, template_data(eligibility={"tags": ["vip"]}), ("eligibility",)),
    (TemplateCreate, template_data(), ("funding",)),
    (TemplateCreate, template_data(redemption={"merchants": ["m-1"]}), ("redemption",)),
    (ClaimRequest, {"templateId": "tpl-1"}, ()),
    (StatusChange, {"status": "active"}, ()),
    (StockAddition, {"add": 10}, ()),
    (CodeUpload, {"codes": ["A1"]}, ()),
    (OrderDetails, dict(ORDER), ()),
    (QuoteRequest, dict(ORDER), ()),
    (LockRequest, {"orderId": "o-1"}, ()),
    (LockRequest, {"orderId": "o-1", "order": dict(ORDER)}, ("order",)),
    (RedeemRequest, {"orderId": "o-1"}, ()),
    (RedeemRequest, {"orderId": "o-1", "order": dict(ORDER)}, ("order",)),
    (OrderRef, {"orderId": "o-1"}, ()),
]


def _at(data: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any]:
    for name in path:
        data = data[name]
    return data


@pytest.mark.parametrize(("model", "data", "path"), STRICT_BODIES, ids=lambda v: v.__name__ if isinstance(v, type) else None)
def test_unknown_fields_are_refused_at_every_level(model: type[BaseModel], data: dict[str, Any], path: tuple[str, ...]) -> None:
    # Given a valid body (it parses)
    model.model_validate(data)
    # And the same body with an unknown field at one level
    _at(data, path)["surprise"] = 1
    # When validated
    errors = errors_of(model, data)
    # Then it is refused as an extra field at that level
    assert [e["type"] for e in errors if e["loc"][-1] == "surprise"] == ["extra_forbidden"]


def test_the_unknown_field_of_a_discriminated_part_is_located_under_its_kind() -> None:
    # Given a fixed-amount benefit with an unknown field
    data = with_benefit(kind="fixed_amount", surprise=1)
    # When validated
    # Then the error is at benefit.fixed_amount.surprise
    assert "benefit.fixed_amount.surprise" in refused_locs(TemplateCreate, data)


def test_a_valid_template_is_frozen() -> None:
    # Given a validated template definition
    definition = TemplateCreate.model_validate(template_data())
    # When a field is assigned
    # Then it is refused: definitions are values
    with pytest.raises(ValidationError):
        definition.shards = 2  # type: ignore[misc]


# --- identifiers and the rest -------------------------------------------------------------------


@pytest.mark.parametrize("template_id", ["", "t" * 65, "tpl 1", "tpl/1", "tpl#1"])
def test_a_malformed_template_id_is_refused(template_id: str) -> None:
    # Given an empty, over-long or unsafe template id
    # When validated as a definition and as a claim
    # Then both refuse it
    assert "templateId" in refused_locs(TemplateCreate, template_data(templateId=template_id))
    assert "templateId" in refused_locs(ClaimRequest, {"templateId": template_id})


@pytest.mark.parametrize("status", ["draft", "active", "paused", "ended"])
def test_the_four_template_statuses_are_accepted(status: str) -> None:
    assert StatusChange.model_validate({"status": status}).status == status


def test_an_unknown_template_status_is_refused() -> None:
    assert "status" in refused_locs(StatusChange, {"status": "archived"})


@pytest.mark.parametrize("codes", [[], [""], ["x" * 129], ["c"] * 1001])
def test_a_code_upload_is_1_to_1000_codes_of_1_to_128_characters(codes: list[str]) -> None:
    # Given an empty upload, an empty code, an over-long code, or too many codes
    # When validated
    # Then it is refused
    assert any(loc.startswith("codes") for loc in refused_locs(CodeUpload, {"codes": codes}))


@pytest.mark.parametrize("score", [-1, 101, 50.5])
def test_the_max_abuse_risk_score_is_0_to_100(score: Any) -> None:
    assert "eligibility.maxAbuseRiskScore" in refused_locs(TemplateCreate, template_data(eligibility={"maxAbuseRiskScore": score}))


@pytest.mark.parametrize("limits", [{"perCustomerLifetime": 0}, {"perCustomerDaily": 0}, {"perCustomerDaily": 1.5}])
def test_customer_limits_are_at_least_one(limits: dict[str, Any]) -> None:
    assert any(loc.startswith("limits.") for loc in refused_locs(TemplateCreate, template_data(limits=limits)))


# --- LockRequest --------------------------------------------------------------------------------


@pytest.mark.parametrize(("ttl", "accepted"), [(9, False), (10, True), (900, True), (3600, True), (3601, False), (0, False), (60.0, False), ("60", False)])
def test_a_lock_lasts_10_seconds_to_an_hour(ttl: Any, accepted: bool) -> None:
    # Given a lock request with ttlSeconds
    data = {"orderId": "o-1", "ttlSeconds": ttl}
    # When validated
    # Then 10..3600 whole seconds is accepted; anything else refused
    if accepted:
        assert LockRequest.model_validate(data).ttlSeconds == ttl
    else:
        assert "ttlSeconds" in refused_locs(LockRequest, data)


def test_a_lock_lasts_15_minutes_by_default_and_needs_no_order() -> None:
    # Given a lock request with only an order id
    request = LockRequest.model_validate({"orderId": "o-1"})
    # When validated
    # Then the ttl is 900 s and there is no order to check
    assert (request.ttlSeconds, request.order) == (900, None)


@pytest.mark.parametrize("order_id", ["", "o" * 65])
def test_an_order_id_must_be_1_to_64_characters(order_id: str) -> None:
    for model in (LockRequest, RedeemRequest, OrderRef):
        assert "orderId" in refused_locs(model, {"orderId": order_id})


@pytest.mark.parametrize("missing", ["orderAmountMinor", "currency", "merchantId", "channel"])
def test_order_details_are_all_required(missing: str) -> None:
    data = {k: v for k, v in ORDER.items() if k != missing}
    assert f"order.{missing}" in refused_locs(LockRequest, {"orderId": "o-1", "order": data})


# --- IssueCouponCommand -------------------------------------------------------------------------


def test_an_issue_command_ignores_unknown_fields() -> None:
    # Given a command with fields a newer sender added
    command = IssueCouponCommand.model_validate({**COMMAND, "campaignId": "camp-1", "budgetLine": "x", "priority": 3})
    # When validated
    # Then the known fields are read and the rest dropped
    assert command.model_dump(exclude_none=True) == {**COMMAND, "campaignId": "camp-1"}


@pytest.mark.parametrize("missing", ["commandId", "customerId", "templateId", "source"])
def test_an_issue_command_requires_its_ids_and_source(missing: str) -> None:
    # Given a command without one of its required fields
    data = {k: v for k, v in COMMAND.items() if k != missing}
    # When validated
    # Then it is refused, naming that field
    assert missing in refused_locs(IssueCouponCommand, data)


@pytest.mark.parametrize("source", ["campaign", "points_mall", "tier_benefit", "operator"])
def test_an_issue_command_accepts_its_four_sources(source: str) -> None:
    assert IssueCouponCommand.model_validate({**COMMAND, "source": source}).source == source


@pytest.mark.parametrize(("field", "value"), [("source", "claim"), ("templateId", "bad id"), ("commandId", ""), ("customerId", "c" * 65)])
def test_an_issue_command_refuses_bad_values(field: str, value: str) -> None:
    assert field in refused_locs(IssueCouponCommand, {**COMMAND, field: value})
