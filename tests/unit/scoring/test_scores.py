"""`loyalty.scoring.scores`: each score on hand-computed examples, with the example configuration."""

from __future__ import annotations

import pytest

from loyalty.scoring.models import LifecycleModel
from loyalty.scoring.scores import (
    ManagerRollup,
    Scores,
    abuse_risk,
    churn_risk_bps,
    lifecycle_stage,
    rfm,
    rollup_by_manager,
    score,
    value_score,
)
from tests.unit.scoring.builders import EXAMPLE_MODELS, features, models

MODELS = models()


@pytest.mark.parametrize(
    ("recency", "expected"),
    [(0, 5), (6, 5), (7, 4), (8, 4), (21, 3), (60, 2), (149, 2), (150, 1), (365, 1)],
)
def test_recency_score_falls_as_days_grow_and_a_tie_with_a_cut_point_takes_the_lower_score(recency: int, expected: int) -> None:
    # Given recency cuts [7, 21, 60, 150]
    assert rfm(features(recency365=recency), MODELS.rfm)[0] == expected


@pytest.mark.parametrize(("frequency", "expected"), [(0, 1), (2, 1), (3, 2), (6, 2), (7, 3), (15, 3), (16, 4), (40, 4), (41, 5)])
def test_frequency_score_rises_with_the_count_and_a_tie_with_a_cut_point_takes_the_lower_score(
    frequency: int, expected: int
) -> None:
    # Given frequency cuts [2, 6, 15, 40]
    assert rfm(features(frequency365=frequency), MODELS.rfm)[1] == expected


def test_monetary_score_and_the_window_the_model_names() -> None:
    # Given 2,000,000 fen over 365 days but nothing in the last 30
    customer = features(monetary365Minor=2_000_000, frequency365=20, recency365=100, recency30=30)
    # Then over 365 days: R 2 (100 in (60, 150]), F 4 (20 in (15, 40]), M 4 (2M in (1M, 5M])
    assert rfm(customer, MODELS.rfm) == (2, 4, 4)
    # And a 30-day model reads the 30-day features: R 3 (30 in (21, 60]), F 1, M 1
    thirty = models(rfm={**EXAMPLE_MODELS["rfm"], "windowDays": 30}).rfm
    assert rfm(customer, thirty) == (3, 1, 1)


def test_value_is_the_weighted_sum_with_the_segments_weights() -> None:
    # Given 2M fen spent, 10M fen AUM, 2 products, 20 transactions
    customer = features(monetary365Minor=2_000_000, aumMinor=10_000_000, productsHeld=2, frequency365=20)
    # Then mass: 200 + 100 + 10 + 2; affluent: 200 + 100 + 20; a segment without weights uses mass's
    assert value_score(customer, "mass", MODELS.value) == pytest.approx(312.0)
    assert value_score(customer, "affluent", MODELS.value) == pytest.approx(320.0)
    assert value_score(customer, "payroll", MODELS.value) == value_score(customer, "mass", MODELS.value)


@pytest.mark.parametrize(
    ("customer", "stage"),
    [
        ({}, "potential"),
        ({"productsHeld": 1, "daysSinceOnboarding": 89, "recency365": 365}, "new"),
        ({"productsHeld": 1, "daysSinceOnboarding": 90, "recency365": 89, "monetary365Minor": 4_999_999}, "active"),
        ({"productsHeld": 3, "daysSinceOnboarding": 400, "recency365": 0, "monetary365Minor": 5_000_000}, "high_value"),
        ({"productsHeld": 1, "daysSinceOnboarding": 90, "recency365": 90, "monetary365Minor": 9_000_000}, "silent"),
        ({"productsHeld": 1, "daysSinceOnboarding": 500, "recency365": 364}, "silent"),
        ({"productsHeld": 1, "daysSinceOnboarding": 500, "recency365": 365}, "churned"),
    ],
)
def test_lifecycle_stage_at_the_edges_of_the_example_rules(customer: dict[str, int], stage: str) -> None:
    assert lifecycle_stage(features(**customer), MODELS.lifecycle) == stage


def test_a_customer_no_rule_matches_is_in_the_otherwise_stage() -> None:
    model = LifecycleModel.model_validate(
        {"rules": [{"stage": "active", "when": {"recency365": {"max": 30}}}], "otherwise": "silent"}
    )
    assert (lifecycle_stage(features(recency365=29), model), lifecycle_stage(features(recency365=30), model)) == (
        "active",
        "silent",
    )


def test_churn_risk_is_the_logistic_of_the_linear_score_in_basis_points() -> None:
    # Given z = −2 + 0.02·10 + 0.015·5 − 0.05·10 − 1.5·0.1 − 1.0·0.5 − 0.3·3 = −3.775
    customer = features(
        daysSinceLastLogin=10, recency90=5, frequency90=10, aumTrend=0.1, campaignResponseRate=0.5, productsHeld=3
    )
    # Then P = 1 / (1 + e^3.775) = 0.022423 → 224 bps
    assert churn_risk_bps(customer, MODELS.churn) == 224


def test_churn_risk_is_5000_bps_at_z_0_and_saturates_without_overflow() -> None:
    assert churn_risk_bps(features(daysSinceLastLogin=100, recency90=0), MODELS.churn) == 5_000  # −2 + 0.02·100 = 0
    assert churn_risk_bps(features(frequency90=10**15), MODELS.churn) == 0
    assert churn_risk_bps(features(daysSinceLastLogin=10**15), MODELS.churn) == 10_000


def test_abuse_risk_is_the_weighted_mean_of_capped_signals() -> None:
    # Given 5 of 10 claims in 7 days, 3 of 3 shared accounts, a 10-day-old account with 10 of 5 claims in 30 days
    customer = features(couponClaims7=5, sharedIdentityAccounts=3, daysSinceOnboarding=10, couponClaims30=10)
    # Then 100 · (0.4·0.5 + 0.4·1 + 0.2·1) / 1 = 80
    assert abuse_risk(customer, MODELS.abuse) == pytest.approx(80.0)
    # And 30 days after onboarding the account is no longer new: 100 · (0.2 + 0.4) = 60, exactly the gate
    older = features(couponClaims7=5, sharedIdentityAccounts=3, daysSinceOnboarding=30, couponClaims30=10)
    assert abuse_risk(older, MODELS.abuse) == pytest.approx(60.0)
    assert abuse_risk(features(daysSinceOnboarding=400), MODELS.abuse) == 0.0


def test_score_puts_every_score_together_and_gates_abuse_at_the_threshold() -> None:
    # Given a settled, active, mass-market customer who farms coupons on a shared device
    customer = features(
        productsHeld=2, daysSinceOnboarding=200, recency365=10, frequency365=20, monetary365Minor=2_000_000,
        recency90=10, frequency90=5, daysSinceLastLogin=50, couponClaims7=10, sharedIdentityAccounts=3, couponClaims30=12,
    )  # fmt: skip
    # Then R 4, F 4, M 4; value 200 + 0 + 10 + 2; active;
    # z = −2 + 0.02·50 + 0.015·10 − 0.05·5 − 0.3·2 = −1.7 → 1 / (1 + e^1.7) = 0.15447 → 1545 bps;
    # abuse 100 · (0.4·1 + 0.4·1 + 0.2·0) = 80 (not new: 200 days), gated at 60
    result = score(customer, "mass", MODELS)
    assert result == Scores(4, 4, 4, pytest.approx(212.0), "active", 1_545, pytest.approx(80.0), True)  # type: ignore[arg-type]


def test_value_rolls_up_per_relationship_manager() -> None:
    rollup = rollup_by_manager([("rm-1", 10.0), ("rm-2", 5.0), ("rm-1", 20.0)])
    assert rollup == {"rm-1": ManagerRollup(2, 30.0, 15.0), "rm-2": ManagerRollup(1, 5.0, 5.0)}
