"""Vectorised scoring of many customers over columns (one NumPy array per feature), for the nightly batch.

Every float is computed with the operations of `loyalty.scoring.scores`, in the same order, so a
customer scores the same here and there (`score_rows` is that per-row reference). Integer columns
must stay below 2**53 so that converting them to float is exact, as Python's int-to-float is.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import get_args

import numpy as np
import numpy.typing as npt

from loyalty.scoring import scores
from loyalty.scoring.features import FLOAT_FEATURES, CustomerFeatures, FeatureName
from loyalty.scoring.models import (
    STAGES,
    AbuseModel,
    ChurnModel,
    LifecycleModel,
    RfmModel,
    ScoringModels,
    ValueModel,
)

FEATURE_NAMES: tuple[str, ...] = get_args(FeatureName)
Columns = Mapping[str, np.ndarray]
IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
QUINTILES = (0.2, 0.4, 0.6, 0.8)


@dataclass(frozen=True)
class BatchScores:
    """`scores.Scores` as columns; `stage` holds indexes into `models.STAGES`."""

    recency: IntArray
    frequency: IntArray
    monetary: IntArray
    value: FloatArray
    stage: IntArray
    churnRiskBps: IntArray
    abuseRisk: FloatArray
    abuseGated: npt.NDArray[np.bool_]


def columns_of(rows: Sequence[CustomerFeatures]) -> dict[str, np.ndarray]:
    return {
        name: np.array([getattr(r, name) for r in rows], dtype=np.float64 if name in FLOAT_FEATURES else np.int64)
        for name in FEATURE_NAMES
    }


def quintile_cut_points(values: np.ndarray) -> list[int]:
    """The 20/40/60/80th percentiles of whole numbers, each a value that occurs (inverted CDF): at
    least k/5 of the values are at or below the k-th cut point."""
    if len(values) == 0:
        raise ValueError("no values to cut")
    return [int(v) for v in np.quantile(values, QUINTILES, method="inverted_cdf")]


def rfm_cut_points(columns: Columns, window_days: int) -> RfmModel:
    """What the nightly batch recomputes before it scores."""
    return RfmModel(
        windowDays=window_days,  # type: ignore[arg-type]  # validated by the model
        recencyCuts=quintile_cut_points(columns[f"recency{window_days}"]),
        frequencyCuts=quintile_cut_points(columns[f"frequency{window_days}"]),
        monetaryCuts=quintile_cut_points(columns[f"monetary{window_days}Minor"]),
    )


def rfm_batch(columns: Columns, model: RfmModel) -> tuple[IntArray, IntArray, IntArray]:
    days = model.windowDays
    # searchsorted "left" counts the cut points below a value, "right" those at or below it.
    return (
        5 - np.searchsorted(model.recencyCuts, columns[f"recency{days}"], side="right"),
        1 + np.searchsorted(model.frequencyCuts, columns[f"frequency{days}"], side="left"),
        1 + np.searchsorted(model.monetaryCuts, columns[f"monetary{days}Minor"], side="left"),
    )


def value_batch(columns: Columns, segment_codes: IntArray, segment_names: Sequence[str], model: ValueModel) -> FloatArray:
    """`segment_codes` index `segment_names`. One pass per segment keeps each row's summation order."""
    out = np.zeros(len(segment_codes))
    for code, name in enumerate(segment_names):
        rows = segment_codes == code
        if not rows.any():
            continue
        total = np.zeros(int(rows.sum()))
        for feature, weight in model.segments.get(name, model.segments[model.defaultSegment]).items():
            total = total + weight * columns[feature][rows]
        out[rows] = total
    return out


def lifecycle_batch(columns: Columns, model: LifecycleModel, n: int) -> IntArray:
    stage = np.full(n, STAGES.index(model.otherwise), dtype=np.int64)
    for rule in model.rules:
        match = np.ones(n, dtype=bool)
        for name, r in rule.when.items():
            if r.min is not None:
                match &= columns[name] >= r.min
            if r.max is not None:
                match &= columns[name] < r.max
        stage[match] = STAGES.index(rule.stage)
    return stage


def churn_batch(columns: Columns, model: ChurnModel, n: int) -> IntArray:
    z = np.full(n, model.intercept)
    for name, coefficient in model.coefficients.items():
        z = z + coefficient * columns[name]
    z = np.clip(z, -scores.LOGIT_LIMIT, scores.LOGIT_LIMIT)
    return np.rint(1.0 / (1.0 + np.exp(-z)) * scores.BPS).astype(np.int64)


def abuse_batch(columns: Columns, model: AbuseModel) -> FloatArray:
    w = model.weights
    velocity = np.minimum(columns["couponClaims7"] / model.claimsIn7DaysFull, 1.0)
    shared = np.minimum(columns["sharedIdentityAccounts"] / model.sharedAccountsFull, 1.0)
    is_new = columns["daysSinceOnboarding"] < model.newAccountDays
    new_claims = np.where(is_new, np.minimum(columns["couponClaims30"] / model.newAccountClaimsFull, 1.0), 0.0)
    weighted = w.claimVelocity * velocity + w.sharedIdentity * shared + w.newAccountClaims * new_claims
    result: FloatArray = 100.0 * weighted / (w.claimVelocity + w.sharedIdentity + w.newAccountClaims)
    return result


def score_batch(columns: Columns, segment_codes: IntArray, segment_names: Sequence[str], models: ScoringModels) -> BatchScores:
    n = len(segment_codes)
    recency, frequency, monetary = rfm_batch(columns, models.rfm)
    abuse = abuse_batch(columns, models.abuse)
    return BatchScores(
        recency=recency,
        frequency=frequency,
        monetary=monetary,
        value=value_batch(columns, segment_codes, segment_names, models.value),
        stage=lifecycle_batch(columns, models.lifecycle, n),
        churnRiskBps=churn_batch(columns, models.churn, n),
        abuseRisk=abuse,
        abuseGated=abuse >= models.abuse.gateAtOrAbove,
    )


def score_rows(
    columns: Columns, segment_codes: IntArray, segment_names: Sequence[str], models: ScoringModels, rows: range
) -> list[scores.Scores]:
    """The per-row reference: `scores.score` for each of `rows`, on plain Python numbers."""
    values = {name: columns[name][rows.start : rows.stop : rows.step].tolist() for name in FEATURE_NAMES}
    segments = segment_codes[rows.start : rows.stop : rows.step].tolist()
    return [
        scores.score(CustomerFeatures(**{name: values[name][i] for name in FEATURE_NAMES}), segment_names[segments[i]], models)
        for i in range(len(rows))
    ]


def rollup_batch(manager_codes: IntArray, manager_names: Sequence[str], values: FloatArray) -> dict[str, scores.ManagerRollup]:
    """`scores.rollup_by_manager` over columns; bincount adds each manager's values in row order."""
    counts = np.bincount(manager_codes, minlength=len(manager_names))
    totals = np.bincount(manager_codes, weights=values, minlength=len(manager_names))
    return {
        name: scores.ManagerRollup(int(counts[code]), float(totals[code]), float(totals[code]) / int(counts[code]))
        for code, name in enumerate(manager_names)
        if counts[code]
    }
