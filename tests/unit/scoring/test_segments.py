"""`loyalty.scoring.segments`: rules over profile facts and scores, on hand-made customers."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from loyalty.scoring.segments import Facts, SegmentDefinition, SegmentRule, matches, memberships

SCORES = {"rfmRecency": 5, "rfmFrequency": 2, "rfmMonetary": 3, "value": 42.5, "churnRiskBps": 1200, "abuseRisk": 0.0}
FACTS = Facts(frozenset({"payroll", "car-owner"}), "gold", "b-1", "R2", 1_000_000)


@pytest.mark.parametrize(
    ("rule", "expected"),
    [
        ({"tagsAny": ["payroll", "pension"]}, True),
        ({"tagsAny": ["pension"]}, False),
        ({"tagsAll": ["payroll", "car-owner"]}, True),
        ({"tagsAll": ["payroll", "pension"]}, False),
        ({"tagsNone": ["car-owner"]}, False),
        ({"tiers": ["gold", "platinum"]}, True),
        ({"lifecycleStages": ["active"]}, True),
        ({"lifecycleStages": ["silent", "churned"]}, False),
        ({"branchIds": ["b-2"]}, False),
        ({"riskLevels": ["R2"]}, True),
        ({"aumMinor": {"min": 1_000_000}}, True),  # min inclusive
        ({"aumMinor": {"max": 1_000_000}}, False),  # max exclusive
        ({"scores": {"value": {"min": 40, "max": 50}, "rfmRecency": {"min": 5}}}, True),
        ({"scores": {"churnRiskBps": {"min": 1201}}}, False),
        ({"tagsAny": ["payroll"], "tiers": ["silver"]}, False),  # every condition must hold
    ],
)
def test_a_rule_holds_when_every_condition_holds(rule: dict[str, Any], expected: bool) -> None:
    assert matches(SegmentRule.model_validate(rule), FACTS, SCORES, "active") is expected


def test_an_unknown_fact_never_passes_a_bound() -> None:
    rule = SegmentRule.model_validate({"aumMinor": {"min": 0}})
    assert not matches(rule, Facts(), SCORES, "active")
    assert not matches(SegmentRule.model_validate({"scores": {"value": {"min": 0}}}), FACTS, {}, "active")


@pytest.mark.parametrize(
    "rule",
    [{}, {"scores": {"value": {}}}, {"scores": {"value": {"min": 2, "max": 1}}}, {"scores": {"other": {"min": 1}}},
     {"lifecycleStages": ["dormant"]}, {"scores": {"value": {"min": "1"}}}, {"tagsAny": ["x"], "extra": 1}],
)
def test_invalid_rules_are_refused(rule: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        SegmentRule.model_validate(rule)


def test_memberships_are_the_active_matching_segments_sorted() -> None:
    def segment(segment_id: str, active: bool = True, **rule: Any) -> SegmentDefinition:
        return SegmentDefinition.model_validate({"segmentId": segment_id, "name": segment_id, "rule": rule, "active": active})

    segments = [segment("z-payroll", tagsAny=["payroll"]), segment("a-gold", tiers=["gold"]), segment("off", False, tiers=["gold"]),
                segment("silent", lifecycleStages=["silent"])]
    assert memberships(segments, FACTS, SCORES, "active") == ["a-gold", "z-payroll"]


def test_facts_come_from_the_profile_with_both_kinds_of_tags() -> None:
    profile = {"customerId": "c", "tags": ["payroll"], "operatorTags": ["vip"], "tier": "gold", "aumMinor": 5, "branchId": "b"}
    facts = Facts.of_profile(profile)
    assert facts.tags == {"payroll", "vip"} and facts.tier == "gold" and facts.aumMinor == 5
    assert facts.as_record()["tags"] == ["payroll", "vip"]
