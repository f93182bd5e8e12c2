"""`loyalty.org.kpis`: the branch league table's periods, contributions, rates and ranking (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from loyalty.org import kpis
from loyalty.org.kpis import Contribution, Counters

ZONE = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 12, 7, 6, 0, tzinfo=UTC)


def _of(detail_type: str, **detail: object) -> list[Contribution]:
    model = kpis.DETAIL_MODELS[detail_type].model_validate({"customerId": "c-1", **detail})
    return kpis.contributions(detail_type, model, ZONE, "CNY", NOW)


def test_periods_are_months_and_quarters() -> None:
    assert kpis.period("2026-11") == kpis.Period("2026-11", date(2026, 11, 1), date(2026, 11, 30))
    assert kpis.period("2026-Q1") == kpis.Period("2026-Q1", date(2026, 1, 1), date(2026, 3, 31))
    assert kpis.period("2024-02").last == date(2024, 2, 29)
    for bad in ("2026", "2026-13", "2026-Q5", "2026-1", "2026-q1"):
        with pytest.raises(ValueError):
            kpis.period(bad)
    assert kpis.month_of(date(2026, 1, 9)) == "2026-01" and kpis.quarter_of(date(2026, 12, 31)) == "2026-Q4"
    assert kpis.previous_month("2026-01") == "2025-12"
    assert kpis.aum_months("2026-11") == ("2026-11", "2026-10")
    assert kpis.aum_months("2026-Q1") == ("2026-03", "2025-12")


def test_counters_expire_retention_months_after_their_period() -> None:
    assert kpis.expires_at("2026-11") == int(datetime(2028, 12, 30, tzinfo=UTC).timestamp())  # Nov 30 + 25 months
    assert kpis.expires_at("2026-Q4") == int(datetime(2029, 1, 31, tzinfo=UTC).timestamp())


def test_activity_counts_a_customer_once_a_month_and_once_a_quarter_in_the_banks_time_zone() -> None:
    # 2026-09-30T17:00Z is already October 1st in Shanghai
    assert _of("CardTransactionPosted", postedAt="2026-09-30T17:00:00Z", amountMinor=100, transactionId="tx-1",
               currency="CNY", merchantId="m-1", mcc="5812", channel="pos") == [
        Contribution("2026-10", "activeCustomers", 1, "ACTIVE#2026-10"),
        Contribution("2026-Q4", "activeCustomers", 1, "ACTIVE#2026-Q4"),
        # and the spend, for the uplift, if the customer was treated or held out in the period before
        Contribution("2026-10", "treatedSpendMinor", 100, requires="TREATED#2026-10"),
        Contribution("2026-10", "controlSpendMinor", 100, requires="CONTROL#2026-10"),
        Contribution("2026-Q4", "treatedSpendMinor", 100, requires="TREATED#2026-Q4"),
        Contribution("2026-Q4", "controlSpendMinor", 100, requires="CONTROL#2026-Q4"),
    ]
    assert [c.distinct for c in _of("LoginCompleted", loggedInAt="2026-11-02T01:00:00Z", channel="app")] == ["ACTIVE#2026-11", "ACTIVE#2026-Q4"]


def test_a_new_customer_counts_once_ever_in_the_period_their_account_opened() -> None:
    assert _of("CustomerProfileChanged", changedAt="2026-11-03T00:00:00Z", openedAt="2026-11-02T00:00:00Z", branchId="b") == [
        Contribution("2026-11", "newCustomers", 1, "NEW"), Contribution("2026-Q4", "newCustomers", 1, "NEW")]
    assert _of("CustomerProfileChanged", changedAt="2026-11-03T00:00:00Z") == []
    # opened long ago: those counters have expired, there is nothing to add to
    assert _of("CustomerProfileChanged", changedAt="2026-11-03T00:00:00Z", openedAt="2020-01-01T00:00:00Z") == []


def test_aum_is_a_month_figure_in_the_kpi_currency_once_per_customer() -> None:
    assert _of("MonthlyAumComputed", month="2026-10", averageAumMinor=500, currency="CNY") == [
        Contribution("2026-10", "aumMinor", 500, "AUM#2026-10"), Contribution("2026-10", "aumCustomers", 1, "AUM#2026-10")]
    assert _of("MonthlyAumComputed", month="2026-10", averageAumMinor=500, currency="USD") == []


def test_grants_count_per_event_with_their_cost_the_control_arm_apart() -> None:
    granted = _of("RewardGranted", occurredAt="2026-11-05T00:00:00Z", cost=800, budgetUnit="minor", arm="a", campaignId="k")
    assert {(c.period, c.counter, c.amount, c.distinct) for c in granted} == {
        ("2026-11", "grants", 1, None), ("2026-Q4", "grants", 1, None),
        ("2026-11", "grantCostMinor", 800, None), ("2026-Q4", "grantCostMinor", 800, None),
        ("2026-11", "treatedCustomers", 1, "TREATED#2026-11"), ("2026-Q4", "treatedCustomers", 1, "TREATED#2026-Q4")}
    rewards = _of("RewardGranted", occurredAt="2026-11-05T00:00:00Z", cost=2, budgetUnit="rewards")
    assert {c.counter for c in rewards} == {"grants", "grantCostRewards", "treatedCustomers"}
    control = _of("RewardGranted", occurredAt="2026-11-05T00:00:00Z", cost=800, budgetUnit="minor", arm="control")
    assert {(c.counter, c.distinct) for c in control} == {("controlGrants", None), ("controlCustomers", "CONTROL#2026-11"),
                                                          ("controlCustomers", "CONTROL#2026-Q4")}


def test_spend_in_another_currency_is_not_compared() -> None:
    spent = _of("CardTransactionPosted", postedAt="2026-11-05T00:00:00Z", amountMinor=100, transactionId="tx-2",
                currency="USD", merchantId="m-1", mcc="5812", channel="pos")
    assert {c.counter for c in spent} == {"activeCustomers"}


def test_uplift_compares_treated_and_control_spend_per_customer() -> None:
    # Given 4 treated customers spending 1,000 in all, and 2 control customers spending 400
    counters = Counters(treatedCustomers=4, treatedSpendMinor=1_000, controlCustomers=2, controlSpendMinor=400)
    # When the row is made
    # Then the treated spent 250 each against the control's 200: 25% more
    assert kpis.row("b", counters, Counters(), Counters()).upliftPercent == 25.0
    # And without control spend there is nothing to compare
    assert kpis.uplift_percent(Counters(treatedCustomers=4, treatedSpendMinor=1_000, controlCustomers=2)) is None
    assert kpis.uplift_percent(Counters(controlCustomers=2, controlSpendMinor=400)) is None


def test_coupons_issued_and_redeemed_count_per_event() -> None:
    assert {c.counter for c in _of("CouponIssued", occurredAt="2026-11-05T00:00:00Z")} == {"couponsIssued"}
    assert {c.counter for c in _of("CouponRedeemed", occurredAt="2026-11-05T00:00:00Z")} == {"couponsRedeemed"}


def test_a_row_has_aum_growth_from_the_month_before_and_the_redemption_rate() -> None:
    row = kpis.row("b", Counters(couponsIssued=8, couponsRedeemed=2), Counters(aumMinor=1_500), Counters(aumMinor=1_200))
    assert (row.aumMinor, row.aumPreviousMinor, row.aumGrowthMinor, row.aumGrowthPercent, row.redemptionRate) == (1_500, 1_200, 300, 25.0, 0.25)
    empty = kpis.row("b", Counters(), Counters(aumMinor=10), Counters())
    assert (empty.aumGrowthMinor, empty.aumGrowthPercent, empty.redemptionRate) == (10, None, None)
    shrinking = kpis.row("b", Counters(), Counters(aumMinor=0), Counters(aumMinor=3))
    assert (shrinking.aumGrowthMinor, shrinking.aumGrowthPercent) == (-3, -100.0)


def test_counters_read_from_an_item_default_to_zero() -> None:
    assert Counters.of({"grants": 3, "aumMinor": None}) == Counters(grants=3)


def test_ranked_highest_first_ties_share_a_rank_in_unit_order() -> None:
    rows = [kpis.row(u, Counters(activeCustomers=n), Counters(), Counters()) for u, n in (("c", 5), ("a", 9), ("b", 5), ("d", 1))]
    assert [(rank, r.unitId) for rank, r in kpis.ranked(rows, "activeCustomers")] == [(1, "a"), (2, "b"), (2, "c"), (4, "d")]
    rated = [kpis.row("x", Counters(couponsIssued=4, couponsRedeemed=1), Counters(), Counters()),
             kpis.row("y", Counters(), Counters(), Counters())]
    assert [r.unitId for _, r in kpis.ranked(rated, "redemptionRate")] == ["x", "y"]  # no rate ranks last


def test_the_consumers_models_require_only_what_the_catalogue_guarantees() -> None:
    import json
    from pathlib import Path

    events = Path(__file__).resolve().parents[2] / "events"
    for detail_type, model in kpis.DETAIL_MODELS.items():
        schema = json.loads(next((events / "schemas").rglob(f"{detail_type}.json")).read_text())
        required = {name for name, field in model.model_fields.items() if field.is_required()}
        assert required <= set(schema["required"]), detail_type
        sample = events / "samples" / f"{detail_type}.json"
        if sample.exists():
            model.model_validate_json(json.loads(sample.read_text())[0]["Detail"])


def test_a_card_payment_that_breaks_its_contract_is_refused_as_every_consumer_refuses_it() -> None:
    # Given a payment whose amount is not an integer of minor units (the field the table does not count)
    # When it is read, then it is refused: poison here as in points and scoring
    import pytest
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        _of("CardTransactionPosted", postedAt="2026-09-30T17:00:00Z", amountMinor="12.50", transactionId="tx-1",
            currency="CNY", merchantId="m-1", mcc="5812", channel="pos")
