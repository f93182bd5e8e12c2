"""The event catalogue is consistent: samples match schemas, rules and consumers match the catalogue."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from infra.topology import TOPOLOGY
from loyalty.customers.model import ProfileChangedDetail

EVENTS = Path(__file__).resolve().parents[2] / "events"
SCHEMAS = {p.stem: json.loads(p.read_text()) for p in (EVENTS / "schemas").rglob("*.json")}
# Samples are `aws events put-events --entries file://...` input: a list of one entry, Detail a string.
SAMPLES = {p.stem: json.loads(p.read_text())[0] for p in (EVENTS / "samples").glob("*.json")}


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_every_sample_matches_its_schema(name: str) -> None:
    # Given a sample payload, when validated against the schema of its type, then it passes
    sample = SAMPLES[name]
    assert sample["DetailType"] == name
    assert SCHEMAS[name]["x-source"] == sample["Source"]
    jsonschema.validate(json.loads(sample["Detail"]), SCHEMAS[name], format_checker=jsonschema.FormatChecker())


def test_every_rule_routes_catalogued_events() -> None:
    for rule in TOPOLOGY.rules:
        detail_types = rule.event_pattern.get("detail-type", [])
        assert isinstance(detail_types, list), f"rule {rule.name}: detail-type must be a list"
        for detail_type in detail_types:
            assert detail_type in SCHEMAS, f"rule {rule.name} routes {detail_type}, which has no schema"


def test_the_profile_model_requires_what_the_schema_requires() -> None:
    # Given the consumer's model and the contract's schema
    schema = SCHEMAS["CustomerProfileChanged"]
    model_required = {name for name, field in ProfileChangedDetail.model_fields.items() if field.is_required()}
    # Then they agree on what is required, and the sample parses
    assert model_required == set(schema["required"])
    ProfileChangedDetail.model_validate_json(SAMPLES["CustomerProfileChanged"]["Detail"])
