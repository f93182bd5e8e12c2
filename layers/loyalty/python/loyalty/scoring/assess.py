"""From a customer's scores to what is stored and announced (pure): the profile's score map, stage and
segments, and the events a re-scoring emits compared with what was stored before.

`ScoreChanged` announces a change of the customer's *score summary*: the RFM scores (1-5 each), the
lifecycle stage, the churn-risk band (tenths: 0-9) and the abuse gate. The exact numbers (value,
churn risk in basis points, abuse risk) move with nearly every event and every night (a recency
grows by a day); announcing each move would flood the bus, so they are kept on the profile and in
the scores API, and only a band crossing is an event.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from loyalty.scoring.models import ScoringModels, Stage, ValueModel
from loyalty.scoring.scores import Scores
from loyalty.scoring.segments import Facts, SegmentDefinition, memberships

SOURCE = "loyalty.scoring"
SUMMARY = ("rfmRecency", "rfmFrequency", "rfmMonetary", "lifecycleStage", "churnRiskBand", "abuseGated")
MODEL_NAMES = ("rfm", "value", "lifecycle", "churn", "abuse")


def value_segment(model: ValueModel, facts: Facts) -> str:
    """The value model's segment for a customer: the first segment with weights (in the order the model
    lists them) that is one of the customer's tags (e.g. `affluent`, `payroll`), else the default."""
    return next((name for name in model.segments if name in facts.tags), model.defaultSegment)


def score_map(scores: Scores) -> dict[str, float | int]:
    """The profile's `scores`: whole numbers stay whole; the two float scores are kept to 2 decimals."""
    return {
        "rfmRecency": scores.recency,
        "rfmFrequency": scores.frequency,
        "rfmMonetary": scores.monetary,
        "value": round(scores.value, 2),
        "churnRiskBps": scores.churnRiskBps,
        "abuseRisk": round(scores.abuseRisk, 2),
    }


def churn_band(bps: int) -> int:
    return min(int(bps) // 1000, 9)


@dataclass(frozen=True)
class Outcome:
    scores: dict[str, float | int]
    stage: Stage
    gated: bool
    segments: list[str]

    def summary(self) -> dict[str, Any]:
        return summary_of(self.scores, self.stage, self.gated)


def summary_of(scores: Mapping[str, Any], stage: str | None, gated: bool | None) -> dict[str, Any]:
    return {
        "rfmRecency": scores.get("rfmRecency"),
        "rfmFrequency": scores.get("rfmFrequency"),
        "rfmMonetary": scores.get("rfmMonetary"),
        "lifecycleStage": stage,
        "churnRiskBand": None if scores.get("churnRiskBps") is None else churn_band(int(scores["churnRiskBps"])),
        "abuseGated": gated,
    }


def outcome_of(scores: Scores, facts: Facts, segments: Iterable[SegmentDefinition]) -> Outcome:
    mapped = score_map(scores)
    return Outcome(mapped, scores.stage, scores.abuseGated, memberships(segments, facts, mapped, scores.stage))


def events_for(
    customer_id: str, before: Mapping[str, Any] | None, after: Outcome, versions: Mapping[str, int], cause: str
) -> list[tuple[str, dict[str, Any]]]:
    """(detail-type, detail) of every change from the stored record `before` (None: never scored)."""
    before = before or {}
    old = summary_of(before.get("scores") or {}, before.get("stage"), before.get("gated"))
    new = after.summary()
    found: list[tuple[str, dict[str, Any]]] = [
        ("ScoreChanged", {"customerId": customer_id, "score": name, "from": old[name], "to": new[name],
                          "modelVersions": dict(versions), "cause": cause})
        for name in SUMMARY
        if old[name] != new[name]
    ]
    was, now = set(before.get("segments") or []), set(after.segments)
    found += [("SegmentEntered", {"customerId": customer_id, "segmentId": s, "cause": cause}) for s in sorted(now - was)]
    found += [("SegmentLeft", {"customerId": customer_id, "segmentId": s, "cause": cause}) for s in sorted(was - now)]
    return found


def models_of(configs: Mapping[str, Any]) -> ScoringModels:
    """The five model configurations (as saved, one version each) as one `ScoringModels`."""
    return ScoringModels.model_validate({name: configs[name] for name in MODEL_NAMES})
