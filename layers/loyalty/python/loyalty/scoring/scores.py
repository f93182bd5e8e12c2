"""Pure per-customer scoring. `loyalty.scoring.batch` computes the same numbers for many customers at
once, with the same float operations in the same order, so the two agree exactly."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from loyalty.scoring.features import CustomerFeatures
from loyalty.scoring.models import AbuseModel, ChurnModel, LifecycleModel, RfmModel, ScoringModels, Stage, ValueModel

LOGIT_LIMIT = 40.0  # |z| beyond this rounds to 0 or 10,000 basis points anyway; it keeps e^−z finite
BPS = 10_000


@dataclass(frozen=True)
class Scores:
    recency: int  # RFM, 1 to 5 each
    frequency: int
    monetary: int
    value: float
    stage: Stage
    churnRiskBps: int  # P(churn) in basis points: stored and compared as a whole number
    abuseRisk: float  # 0 to 100
    abuseGated: bool  # at or above the model's gate: coupons and campaigns refuse the customer


def higher_is_better(value: int, cuts: Sequence[int]) -> int:
    """1 + the cut points strictly below `value`: a value equal to a cut point stays in the lower score."""
    return 1 + sum(cut < value for cut in cuts)


def lower_is_better(value: int, cuts: Sequence[int]) -> int:
    """5 − the cut points at or below `value`: a value equal to a cut point takes the lower score."""
    return 5 - sum(cut <= value for cut in cuts)


def rfm(features: CustomerFeatures, model: RfmModel) -> tuple[int, int, int]:
    days = model.windowDays
    return (
        lower_is_better(getattr(features, f"recency{days}"), model.recencyCuts),
        higher_is_better(getattr(features, f"frequency{days}"), model.frequencyCuts),
        higher_is_better(getattr(features, f"monetary{days}Minor"), model.monetaryCuts),
    )


def value_score(features: CustomerFeatures, segment: str, model: ValueModel) -> float:
    weights = model.segments.get(segment, model.segments[model.defaultSegment])
    total = 0.0
    for name, weight in weights.items():
        total = total + weight * getattr(features, name)
    return total


def lifecycle_stage(features: CustomerFeatures, model: LifecycleModel) -> Stage:
    """The stage of the rule that matches (at most one stage can: the model refuses overlaps)."""
    for rule in model.rules:
        if all(
            (r.min is None or getattr(features, name) >= r.min) and (r.max is None or getattr(features, name) < r.max)
            for name, r in rule.when.items()
        ):
            return rule.stage
    return model.otherwise


def churn_risk_bps(features: CustomerFeatures, model: ChurnModel) -> int:
    z = model.intercept
    for name, coefficient in model.coefficients.items():
        z = z + coefficient * getattr(features, name)
    z = min(max(z, -LOGIT_LIMIT), LOGIT_LIMIT)
    return round(1.0 / (1.0 + math.exp(-z)) * BPS)  # half to even, as numpy's rint


def abuse_risk(features: CustomerFeatures, model: AbuseModel) -> float:
    w = model.weights
    velocity = min(features.couponClaims7 / model.claimsIn7DaysFull, 1.0)
    shared = min(features.sharedIdentityAccounts / model.sharedAccountsFull, 1.0)
    is_new = features.daysSinceOnboarding < model.newAccountDays
    new_claims = min(features.couponClaims30 / model.newAccountClaimsFull, 1.0) if is_new else 0.0
    weighted = w.claimVelocity * velocity + w.sharedIdentity * shared + w.newAccountClaims * new_claims
    return 100.0 * weighted / (w.claimVelocity + w.sharedIdentity + w.newAccountClaims)


def score(features: CustomerFeatures, segment: str, models: ScoringModels) -> Scores:
    recency, frequency, monetary = rfm(features, models.rfm)
    abuse = abuse_risk(features, models.abuse)
    return Scores(
        recency=recency,
        frequency=frequency,
        monetary=monetary,
        value=value_score(features, segment, models.value),
        stage=lifecycle_stage(features, models.lifecycle),
        churnRiskBps=churn_risk_bps(features, models.churn),
        abuseRisk=abuse,
        abuseGated=abuse >= models.abuse.gateAtOrAbove,
    )


@dataclass(frozen=True)
class ManagerRollup:
    customers: int
    totalValue: float
    meanValue: float


def rollup_by_manager(rows: Iterable[tuple[str, float]]) -> dict[str, ManagerRollup]:
    """Value scores per relationship manager, from (manager id, value score) pairs, summed in order."""
    counts: dict[str, int] = {}
    totals: dict[str, float] = {}
    for manager, value in rows:
        counts[manager] = counts.get(manager, 0) + 1
        totals[manager] = totals.get(manager, 0.0) + value
    return {m: ManagerRollup(counts[m], totals[m], totals[m] / counts[m]) for m in counts}
