"""`loyalty.scoring.batch`: quintile cut points, and vectorised scores equal to the per-row reference."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from loyalty.scoring import scores
from loyalty.scoring.batch import (
    FEATURE_NAMES,
    columns_of,
    quintile_cut_points,
    rfm_cut_points,
    rollup_batch,
    score_batch,
    score_rows,
)
from loyalty.scoring.features import FLOAT_FEATURES, FeatureState, apply, snapshot
from loyalty.scoring.models import STAGES, ScoringModels
from tests.unit.scoring.builders import AS_OF, activity, models, models_data

SEGMENTS = ("mass", "affluent", "payroll")  # payroll has no weights of its own: the default segment's apply


def random_columns(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """Small ranges, so values often sit on cut points and range bounds; some huge values too."""
    columns: dict[str, np.ndarray] = {}
    for name in FEATURE_NAMES:
        if name in FLOAT_FEATURES:
            columns[name] = rng.choice([0.0, 0.5, 1.0, -0.25, 1 / 3]) * rng.integers(0, 3, n) + rng.normal(0, 0.3, n)
        elif "Minor" in name:
            columns[name] = rng.choice([0, 50_000, 300_000, 1_000_000, 5_000_000, 4_999_999], n) + rng.integers(0, 2, n)
        else:
            columns[name] = rng.integers(0, 400, n)
    columns["monetary365Minor"][rng.random(n) < 0.05] = 2**52  # still exact as a float
    return columns


def random_models(rng: np.random.Generator, columns: dict[str, np.ndarray], window: int) -> ScoringModels:
    """The example lifecycle; weights, coefficients and thresholds drawn at random (so float rounding differs
    with the order of operations); RFM cut points recomputed from the customers (so ties with them are common)."""

    def weights(names: tuple[str, ...], scale: float) -> dict[str, float]:
        return {name: float(rng.normal(0, scale)) for name in rng.permutation(names)}

    data = models_data(rfm=rfm_cut_points(columns, window).model_dump())
    data["value"]["segments"] = {"mass": weights(FEATURE_NAMES, 0.01), "affluent": weights(FEATURE_NAMES[::2], 0.01)}
    data["churn"] = {"intercept": float(rng.normal(0, 1)), "coefficients": weights(FEATURE_NAMES, 0.003)}
    data["abuse"] |= {
        "weights": dict(
            zip(("claimVelocity", "sharedIdentity", "newAccountClaims"), rng.uniform(0.01, 1, 3).tolist(), strict=True)
        ),
        **{
            k: int(rng.integers(1, 50))
            for k in ("claimsIn7DaysFull", "sharedAccountsFull", "newAccountDays", "newAccountClaimsFull")
        },
        "gateAtOrAbove": float(rng.uniform(0, 100)),
    }
    return ScoringModels.model_validate(data)


def as_columns(rows: list[scores.Scores]) -> dict[str, np.ndarray]:
    return {
        "recency": np.array([r.recency for r in rows]),
        "frequency": np.array([r.frequency for r in rows]),
        "monetary": np.array([r.monetary for r in rows]),
        "value": np.array([r.value for r in rows]),
        "stage": np.array([STAGES.index(r.stage) for r in rows]),
        "churnRiskBps": np.array([r.churnRiskBps for r in rows]),
        "abuseRisk": np.array([r.abuseRisk for r in rows]),
        "abuseGated": np.array([r.abuseGated for r in rows]),
    }


def test_quintile_cut_points_are_values_that_occur() -> None:
    # Given 1..10, and a population where most have done nothing
    # Then the cut points are the 2nd, 4th, 6th and 8th values; ties give equal cut points
    assert quintile_cut_points(np.arange(1, 11)) == [2, 4, 6, 8]
    assert quintile_cut_points(np.array([0] * 8 + [5, 9])) == [0, 0, 0, 0]
    assert quintile_cut_points(np.array([42])) == [42, 42, 42, 42]
    with pytest.raises(ValueError):
        quintile_cut_points(np.array([], dtype=np.int64))


def test_a_fifth_of_a_spread_population_falls_in_each_score() -> None:
    # Given 1,000 customers with recencies and frequencies 0..999 and the cut points recomputed from them
    columns = {"recency90": np.arange(1000), "frequency90": np.arange(1000), "monetary90Minor": np.arange(1000) * 100}
    model = rfm_cut_points(columns, 90)
    segment = np.zeros(1000, dtype=np.int64)
    full = {name: np.zeros(1000, dtype=np.int64) for name in FEATURE_NAMES} | columns
    batch = score_batch(full, segment, SEGMENTS, models(rfm=model.model_dump()))
    # Then each frequency and monetary score 1..5 holds 200 of them
    assert model.frequencyCuts == [199, 399, 599, 799]
    assert np.bincount(batch.frequency).tolist() == np.bincount(batch.monetary).tolist() == [0, 200, 200, 200, 200, 200]
    # And recency, reversed, moves each cut point's own customer to the worse score: the best fifth is one short
    # (the price of a tie taking the worse score, which keeps a crowd of "nothing in the window" at R 1)
    assert np.bincount(batch.recency).tolist() == [0, 201, 200, 200, 200, 199]
    assert (batch.recency[0], batch.recency[199], batch.frequency[0]) == (5, 4, 1)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 400), window=st.sampled_from([30, 90, 365]))
def test_vectorised_scores_equal_the_per_row_reference_exactly(seed: int, n: int, window: int) -> None:
    # Given random customers and random weights
    rng = np.random.default_rng(seed)
    columns = random_columns(rng, n)
    segment_codes = rng.integers(0, len(SEGMENTS), n)
    scoring = random_models(rng, columns, window)
    # When scored in one vectorised pass, and row by row with scores.score
    batch = score_batch(columns, segment_codes, SEGMENTS, scoring)
    rows = as_columns(score_rows(columns, segment_codes, SEGMENTS, scoring, range(n)))
    # Then every score of every customer is the same, to the last bit
    for name, expected in rows.items():
        assert np.array_equal(getattr(batch, name), expected), name


def test_the_per_row_reference_can_score_a_sample() -> None:
    rng = np.random.default_rng(7)
    columns = random_columns(rng, 100)
    segment_codes = rng.integers(0, len(SEGMENTS), 100)
    sample = score_rows(columns, segment_codes, SEGMENTS, models(), range(10, 100, 9))
    assert sample == score_rows(columns, segment_codes, SEGMENTS, models(), range(100))[10:100:9]


def test_snapshots_scored_in_a_batch_score_as_they_do_one_by_one() -> None:
    # Given three customers' states built from events
    states = [FeatureState(), FeatureState(), FeatureState()]
    for i, kind in enumerate(("card_spend", "deposit", "login")):
        for days_ago in range(0, 200, 7 * (i + 1)):
            states[i] = apply(states[i], activity(kind, AS_OF - timedelta(days=days_ago), 10_000 * (i + 1)))
    snapshots = [snapshot(s, AS_OF, shared_identity_accounts=i) for i, s in enumerate(states)]
    scoring: ScoringModels = models()
    # When their snapshots become columns
    batch = score_batch(columns_of(snapshots), np.array([0, 1, 2]), SEGMENTS, scoring)
    # Then the batch gives each the scores scores.score gives it
    expected = as_columns([scores.score(f, SEGMENTS[i], scoring) for i, f in enumerate(snapshots)])
    for name, column in expected.items():
        assert np.array_equal(getattr(batch, name), column), name


@given(seed=st.integers(0, 2**32 - 1))
def test_the_vectorised_manager_rollup_equals_the_per_row_one(seed: int) -> None:
    rng = np.random.default_rng(seed)
    managers = [f"rm-{i}" for i in range(7)]
    codes = rng.integers(0, 6, 300)  # rm-6 has no customer: left out, as the per-row roll-up leaves it
    values = rng.normal(100, 50, 300)
    expected: dict[str, Any] = scores.rollup_by_manager(zip([managers[c] for c in codes], values.tolist(), strict=True))
    assert rollup_batch(codes, managers, values) == expected
