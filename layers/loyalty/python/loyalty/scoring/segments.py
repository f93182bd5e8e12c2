"""Segments (客群): saved rules over a customer's profile attributes, tags and scores (pure).

A rule holds when every condition it states holds; a list condition holds when the customer has one
of the values (`tagsAll`: all of them; `tagsNone`: none of them). Score and AUM bounds are half-open,
`[min, max)`, as the lifecycle rules' ranges are. A rule must state at least one condition: a
segment of everybody is a mistake, not a segment.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from loyalty.core.api_params import requires_any
from loyalty.core.strict import Flag, OrgUnitRef
from loyalty.core.text import SINGLE_LINE
from loyalty.scoring.models import Stage

SegmentId = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")]
# A tag, tier or branch id: one line, not blank (they are compared with the profile's own).
Value = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=SINGLE_LINE)]
# Operators' text, shown on other people's screens: no control characters (tabs and line breaks
# are allowed in the description, which may be empty).
SegmentName = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=SINGLE_LINE)]
Description = Annotated[str, StringConstraints(max_length=1000, pattern=r"^[^\x00-\x08\x0b-\x1f\x7f]*$")]
ScoreName = Literal["rfmRecency", "rfmFrequency", "rfmMonetary", "value", "churnRiskBps", "abuseRisk"]
SCORE_NAMES: tuple[str, ...] = get_args(ScoreName)
Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
# A re-scoring is one transaction of at most 100 items: the marker, the state, the profile, the
# manager index (2), 6 ScoreChanged, the identity index (3), and per segment entered or left its
# membership item and its event: 14 + 2 × 40 = 94.
MAX_SEGMENTS = 40


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Bound(Strict):
    """[min, max): min inclusive, max exclusive, a missing bound open."""

    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra=requires_any("min", "max"))

    min: Number | None = None
    max: Number | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> Bound:
        if self.min is None and self.max is None:
            raise ValueError("state min, max or both")
        if self.min is not None and self.max is not None and self.min >= self.max:
            raise ValueError(f"empty range: min {self.min} must be below max {self.max}")
        return self

    def holds(self, value: float | None) -> bool:
        if value is None:
            return False
        return (self.min is None or value >= self.min) and (self.max is None or value < self.max)


class SegmentRule(Strict):
    """Holds when every condition it states holds (at least one must be stated); a list holds when the
    customer has one of its values."""

    tagsAny: list[Value] = Field(default_factory=list, max_length=50, description="At least one of these tags (core banking's or operators').")
    tagsAll: list[Value] = Field(default_factory=list, max_length=50, description="All of these tags.")
    tagsNone: list[Value] = Field(default_factory=list, max_length=50, description="None of these tags.")
    tiers: list[Value] = Field(default_factory=list, max_length=20, description="Member levels.")
    lifecycleStages: list[Stage] = Field(default_factory=list)
    branchIds: list[Value] = Field(default_factory=list, max_length=500)
    riskLevels: list[Literal["R1", "R2", "R3", "R4", "R5"]] = Field(default_factory=list)
    aumMinor: Bound | None = Field(default=None, description="Assets under management, in minor units: [min, max).")
    scores: dict[ScoreName, Bound] = Field(default_factory=dict, description="Bounds on scores, each [min, max).")

    @model_validator(mode="after")
    def _says_something(self) -> SegmentRule:
        if not any(getattr(self, name) for name in type(self).model_fields):
            raise ValueError("a segment rule needs at least one condition")
        return self


EXAMPLE_SEGMENT: dict[str, Any] = {
    "segmentId": "payroll-high-value",
    "name": "Payroll customers of high value",
    "description": "Salary paid into the bank, value score 50 or more, not yet wealth clients.",
    "rule": {"tagsAny": ["payroll"], "tagsNone": ["wealth"], "lifecycleStages": ["active", "high_value"],
             "riskLevels": ["R2", "R3"], "scores": {"value": {"min": 50}}},
    "active": True,
}


class SegmentDefinition(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, json_schema_extra={"examples": [EXAMPLE_SEGMENT]})

    segmentId: SegmentId
    name: SegmentName
    description: Description = ""
    rule: SegmentRule
    active: Flag = Field(
        default=True, description="An inactive segment keeps its definition; members leave on their next scoring."
    )
    orgUnitId: OrgUnitRef = None


@dataclass(frozen=True)
class Facts:
    """What rules read from the customer profile (the `customers` table)."""

    tags: frozenset[str] = frozenset()
    tier: str | None = None
    branchId: str | None = None
    riskLevel: str | None = None
    aumMinor: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # Not read by segment rules: kept with the facts so that the relationship-manager index
    # (docs/scoring.md) follows the profile, and the nightly run notices a move between managers.
    relationshipManagerId: str | None = None

    @classmethod
    def of_profile(cls, profile: Mapping[str, Any]) -> Facts:
        tags = frozenset(profile.get("tags") or []) | frozenset(profile.get("operatorTags") or [])
        aum = profile.get("aumMinor")
        return cls(tags, profile.get("tier"), profile.get("branchId"), profile.get("riskLevel"), None if aum is None else int(aum),
                   relationshipManagerId=profile.get("relationshipManagerId"))

    def as_record(self) -> dict[str, Any]:
        return {"tags": sorted(self.tags), "tier": self.tier, "branchId": self.branchId, "riskLevel": self.riskLevel, "aumMinor": self.aumMinor,
                "relationshipManagerId": self.relationshipManagerId}


def matches(rule: SegmentRule, facts: Facts, scores: Mapping[str, float], stage: str) -> bool:
    return (
        (not rule.tagsAny or bool(facts.tags & set(rule.tagsAny)))
        and set(rule.tagsAll) <= facts.tags
        and not facts.tags & set(rule.tagsNone)
        and (not rule.tiers or facts.tier in rule.tiers)
        and (not rule.lifecycleStages or stage in rule.lifecycleStages)
        and (not rule.branchIds or facts.branchId in rule.branchIds)
        and (not rule.riskLevels or facts.riskLevel in rule.riskLevels)
        and (rule.aumMinor is None or rule.aumMinor.holds(facts.aumMinor))
        and all(bound.holds(scores.get(name)) for name, bound in rule.scores.items())
    )


def memberships(segments: Iterable[SegmentDefinition], facts: Facts, scores: Mapping[str, float], stage: str) -> list[str]:
    """The ids of the active segments the customer is in, sorted."""
    return sorted(s.segmentId for s in segments if s.active and matches(s.rule, facts, scores, stage))
