"""The scoring API's request examples and response models: every example the document shows is
accepted, every built-in model configuration can be answered, and a refused configuration names
each problem as the other validation errors do."""

from __future__ import annotations

from typing import Any

import pytest

from functions.scoring.admin import ModelConfig
from loyalty.core.errors import InvalidInput
from loyalty.scoring.admin import MODEL_CLASSES, parse_config
from loyalty.scoring.defaults import DEFAULT_MODELS
from loyalty.scoring.segments import EXAMPLE_SEGMENT, SegmentDefinition
from loyalty.scoring.views import ScoreModelView, SegmentView


def test_the_segment_example_is_a_valid_segment() -> None:
    assert SegmentDefinition.model_validate(EXAMPLE_SEGMENT).segmentId == EXAMPLE_SEGMENT["segmentId"]


def model_examples() -> list[dict[str, Any]]:
    return list(ModelConfig.model_json_schema()["examples"])


@pytest.mark.parametrize("example", model_examples())
def test_every_model_config_example_is_a_valid_configuration_of_one_model(example: dict[str, Any]) -> None:
    valid = [name for name in MODEL_CLASSES if _valid(name, example)]
    assert len(valid) == 1, valid


def _valid(name: str, config: dict[str, Any]) -> bool:
    try:
        parse_config(name, config)
    except InvalidInput:
        return False
    return True


@pytest.mark.parametrize("name", sorted(DEFAULT_MODELS))
def test_the_built_in_version_of_every_model_is_answered_as_it_is(name: str) -> None:
    # Given version 0 of a model, as the API reads it
    view = {"model": name, "version": 0, "config": DEFAULT_MODELS[name], "updatedBy": "default", "updatedAt": None}
    # Then the response model takes it, with the configuration of that model's own schema
    answered = ScoreModelView.model_validate(view)
    assert type(answered.config) is MODEL_CLASSES[name]


def test_a_refused_configuration_names_each_problem_in_the_body() -> None:
    with pytest.raises(InvalidInput) as refused:
        parse_config("churn", {"intercept": "x", "coefficients": {"recency90": 1}, "extra": 1})
    assert refused.value.code == "VALIDATION_ERROR"
    assert sorted((d["field"], d["in"]) for d in refused.value.details) == [("extra", "body"), ("intercept", "body")]


def test_a_segment_is_answered_without_the_request_s_example() -> None:
    assert "examples" not in SegmentView.model_json_schema()
    assert SegmentDefinition.model_json_schema()["examples"] == [EXAMPLE_SEGMENT]
