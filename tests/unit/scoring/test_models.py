"""`loyalty.scoring.models`: valid configurations load; invalid ones are refused with a ValidationError."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from loyalty.scoring.models import LifecycleModel, ScoringModels
from tests.unit.scoring.builders import EXAMPLE_MODELS, SETTLED, models_data

DOC = Path(__file__).resolve().parents[3] / "docs" / "scoring.md"


def _with(section: str, **changes: Any) -> dict[str, Any]:
    data = models_data()
    data[section].update(changes)
    return data


def _lifecycle(*rules: dict[str, Any]) -> dict[str, Any]:
    return {"rules": list(rules), "otherwise": "potential"}


def test_the_example_configuration_is_valid_and_is_the_one_the_docs_show() -> None:
    # Given the JSON example in docs/scoring.md
    block = re.search(r"```json\n(.*?)\n```", DOC.read_text(encoding="utf-8"), re.DOTALL)
    assert block is not None
    # Then it loads, and it is the configuration the tests score with
    assert ScoringModels.model_validate(json.loads(block.group(1))) == ScoringModels.model_validate(EXAMPLE_MODELS)


@pytest.mark.parametrize(
    "data",
    [
        _with("value", segments={"mass": {"aumMinor": "0.1"}}),
        _with("value", segments={"mass": {"aumMinor": True}}),
        _with("value", segments={"mass": {"aumMinor": None}}),
        _with("value", segments={"mass": {"aumMinor": float("nan")}}),
        _with("value", segments={"mass": {}}),
        _with("value", segments={"mass": {"salaryMinor": 1.0}}),
        _with("value", defaultSegment="private"),
        _with("churn", intercept="-2"),
        _with("churn", coefficients={"recency90": [0.1]}),
        _with("churn", coefficients={}),
        _with("abuse", weights={"claimVelocity": -0.1, "sharedIdentity": 1, "newAccountClaims": 0}),
        _with("abuse", weights={"claimVelocity": 0, "sharedIdentity": 0, "newAccountClaims": 0}),
        _with("abuse", weights={"claimVelocity": "high", "sharedIdentity": 1, "newAccountClaims": 0}),
        _with("abuse", gateAtOrAbove=101),
        _with("abuse", claimsIn7DaysFull=0),
    ],
    ids=[
        "weight as text", "weight as bool", "weight null", "weight NaN", "no weights", "unknown feature", "unknown default segment",
        "intercept as text", "coefficient as list", "no coefficients", "negative abuse weight", "all abuse weights 0",
        "abuse weight as text", "gate above 100", "threshold 0",
    ],
)  # fmt: skip
def test_weights_that_are_not_numbers_or_make_no_sense_are_refused(data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        ScoringModels.model_validate(data)


@pytest.mark.parametrize(
    "cuts",
    [[7, 21, 20, 150], [150, 60, 21, 7], [7, 21, 60], [7, 21, 60, 150, 300], [7, 21.5, 60, 150], ["7", 21, 60, 150]],
    ids=["one step down", "descending", "three", "five", "a fraction", "text"],
)
def test_cut_points_must_be_four_ascending_whole_numbers(cuts: list[Any]) -> None:
    with pytest.raises(ValidationError):
        ScoringModels.model_validate(_with("rfm", frequencyCuts=cuts))


def test_equal_neighbouring_cut_points_are_allowed_since_ties_make_them() -> None:
    assert ScoringModels.model_validate(_with("rfm", frequencyCuts=[0, 0, 1, 3])).rfm.frequencyCuts == [0, 0, 1, 3]


def test_extra_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        ScoringModels.model_validate(_with("churn", bias=1.0))


def test_lifecycle_rules_of_different_stages_that_can_match_one_customer_are_refused() -> None:
    # Given "silent" from 90 days without a transaction, and "churned" from 180, both for settled customers
    silent = {"stage": "silent", "when": {**SETTLED, "recency365": {"min": 90}}}
    churned = {"stage": "churned", "when": {**SETTLED, "recency365": {"min": 180}}}
    # When they are saved together
    with pytest.raises(ValidationError) as refused:
        LifecycleModel.model_validate(_lifecycle(silent, churned))
    # Then the error names both rules and where they overlap
    assert "rules 0 (silent) and 1 (churned) overlap" in str(refused.value)
    assert "recency365 in [180, ∞)" in str(refused.value)


def test_rules_on_different_features_overlap_unless_one_feature_separates_them() -> None:
    # Given "new" on days since onboarding only, and "potential" on products only
    new: dict[str, Any] = {"stage": "new", "when": {"daysSinceOnboarding": {"max": 90}}}
    potential = {"stage": "potential", "when": {"productsHeld": {"max": 1}}}
    # Then a customer with no product and 0 days matches both: refused
    with pytest.raises(ValidationError, match=r"daysSinceOnboarding in \[-∞, 90\), productsHeld in \[-∞, 1\)"):
        LifecycleModel.model_validate(_lifecycle(new, potential))
    # But once "new" asks for a product, no customer can match both
    new["when"]["productsHeld"] = {"min": 1}
    assert len(LifecycleModel.model_validate(_lifecycle(new, potential)).rules) == 2


def test_adjacent_ranges_do_not_overlap_since_max_is_exclusive() -> None:
    active = {"stage": "active", "when": {"recency365": {"max": 90}}}
    silent = {"stage": "silent", "when": {"recency365": {"min": 90}}}
    assert [r.stage for r in LifecycleModel.model_validate(_lifecycle(active, silent)).rules] == ["active", "silent"]


def test_a_rule_without_conditions_overlaps_every_rule_of_another_stage() -> None:
    with pytest.raises(ValidationError, match="everywhere"):
        LifecycleModel.model_validate(_lifecycle({"stage": "active", "when": {}}, {"stage": "new", "when": {}}))


def test_overlapping_rules_of_one_stage_are_allowed_since_the_stage_is_unambiguous() -> None:
    # Given high value by spend or by AUM: a customer with both matches two rules, of the same stage
    by_spend = {"stage": "high_value", "when": {"monetary365Minor": {"min": 5_000_000}}}
    by_aum = {"stage": "high_value", "when": {"aumMinor": {"min": 50_000_000}}}
    assert len(LifecycleModel.model_validate(_lifecycle(by_spend, by_aum)).rules) == 2


@pytest.mark.parametrize("bounds", [{"min": 90, "max": 90}, {"min": 91, "max": 90}, {"min": 1.5}, {"max": "90"}])
def test_empty_or_non_integer_ranges_are_refused(bounds: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        LifecycleModel.model_validate(_lifecycle({"stage": "silent", "when": {"recency365": bounds}}))


def test_unknown_stages_and_features_are_refused() -> None:
    with pytest.raises(ValidationError):
        LifecycleModel.model_validate(_lifecycle({"stage": "dormant", "when": {}}))
    with pytest.raises(ValidationError):
        LifecycleModel.model_validate(_lifecycle({"stage": "silent", "when": {"lastVisit": {"min": 1}}}))
