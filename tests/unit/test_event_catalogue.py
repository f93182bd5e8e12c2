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


LIBRARY = Path(__file__).resolve().parents[2] / "layers" / "loyalty" / "python" / "loyalty"


def test_every_emitted_event_type_is_catalogued() -> None:
    # Given every outbound event the library constructs
    import re

    emitted = {
        name
        for source in LIBRARY.rglob("*.py")
        for name in re.findall(r'(?:PendingEvent\(\s*(?:service\.)?SOURCE,\s*|OutboundEvent\(\s*SOURCE,\s*|entry_event\(\s*|_transition\([^"]*)"(\w+)"', source.read_text())
    }
    # Then each has a schema under events/schemas/outbound (or commands: IssueCoupon goes via the bus)
    assert emitted, "the scan found no events: the pattern is stale"
    missing = emitted - {p.stem for kind in ("outbound", "commands") for p in (EVENTS / "schemas" / kind).glob("*.json")}
    assert not missing, f"events without a schema: {sorted(missing)}"


def test_coupon_event_details_match_their_schemas() -> None:
    # Given a coupon issued from a template, and the detail each coupon event carries
    from datetime import UTC, datetime

    from loyalty.coupons import logic
    from loyalty.coupons.model import Template, TemplateCreate

    definition = TemplateCreate.model_validate(
        {
            "templateId": "t-1",
            "name": "10 off",
            "benefit": {"kind": "fixed_amount", "amountMinor": 1000, "currency": "CNY"},
            "totalStock": 10,
            "validity": {"type": "days_after_claim", "days": 7},
            "funding": {"costCentre": "cc-1", "unitCostMinor": 1000, "currency": "CNY"},
        }
    )
    now = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
    template = Template(definition=definition, status="active", version=1, stockAdded=10, createdAt="x", createdBy="op", updatedAt="x")
    coupon = logic.new_coupon(template, coupon_id="cpn_1", customer_id="c-1", now=now, source="claim", fingerprint="f")
    envelope = {"eventId": "e-1", "occurredAt": "2026-11-23T04:00:00.000000Z"}
    details = {
        "CouponIssued": logic.event_detail(coupon, validUntil=coupon.valid_until),
        "CouponLocked": logic.event_detail(coupon, orderId="o-1", lockedUntil="2026-11-23T04:15:00.000000Z"),
        "CouponRedeemed": logic.event_detail(coupon, orderId="o-1", discountMinor=1000),
        "CouponReleased": logic.event_detail(coupon, orderId="o-1"),
        "CouponReturned": logic.event_detail(coupon, orderId="o-1", status="available"),
        "CouponExpired": logic.event_detail(coupon),
    }
    # Then each validates against its schema
    for name, detail in details.items():
        jsonschema.validate({**envelope, **detail}, SCHEMAS[name], format_checker=jsonschema.FormatChecker())
