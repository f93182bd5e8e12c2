"""`loyalty.customers.model` and `loyalty.customers.logic`: the profile event, snapshot and views."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from pydantic import ValidationError

from loyalty.core.events import OutboundEvent
from loyalty.customers import service
from loyalty.customers.logic import CORE_FIELDS, customer_view, normalise_tags, snapshot_from_event
from loyalty.customers.model import CustomerProfile, ProfileChangedDetail, SetTagsRequest

SAMPLE = Path(__file__).resolve().parents[2] / "events" / "samples" / "CustomerProfileChanged.json"
SCHEMAS = Path(__file__).resolve().parents[2] / "events" / "schemas" / "outbound"
MINIMAL = {"customerId": "c-001", "changedAt": "2026-11-23T04:12:00Z"}


def detail(**fields: Any) -> ProfileChangedDetail:
    return ProfileChangedDetail.model_validate({**MINIMAL, **fields})


def refused_fields(data: dict[str, Any]) -> set[str]:
    with pytest.raises(ValidationError) as raised:
        ProfileChangedDetail.model_validate(data)
    return {".".join(str(p) for p in e["loc"]) for e in raised.value.errors()}


# --- ProfileChangedDetail -----------------------------------------------------------------------


def test_the_catalogue_sample_parses() -> None:
    # Given the CustomerProfileChanged sample from the event catalogue
    sample = json.loads(json.loads(SAMPLE.read_text())[0]["Detail"])
    # When validated
    parsed = ProfileChangedDetail.model_validate(sample)
    # Then every field is read
    assert parsed.customerId == "c-001"
    assert parsed.changedAt == datetime(2026, 11, 23, 4, 12, tzinfo=UTC)
    assert parsed.birthday == date(1990, 3, 14)
    assert (parsed.aumMinor, parsed.currency, parsed.riskLevel) == (52_000_000, "CNY", "R3")


@pytest.mark.parametrize("missing", ["customerId", "changedAt"])
def test_the_required_fields_are_required(missing: str) -> None:
    # Given a detail without customerId or changedAt
    data = {k: v for k, v in MINIMAL.items() if k != missing}
    # When validated
    # Then it is refused, naming the missing field
    assert missing in refused_fields(data)


@pytest.mark.parametrize("customer_id", ["", "c" * 65, "c 001", "c/001"])
def test_a_malformed_customer_id_is_refused(customer_id: str) -> None:
    # Given an empty, over-long, or unsafe customer id
    # When validated
    # Then it is refused
    assert "customerId" in refused_fields({**MINIMAL, "customerId": customer_id})


@pytest.mark.parametrize("aum", [-1, 12.5, 12.0, "1200"])
def test_aum_must_be_a_non_negative_integer(aum: Any) -> None:
    # Given a negative, decimal, float-typed or string aumMinor (with a currency)
    # When validated
    # Then it is refused rather than coerced
    assert "aumMinor" in refused_fields({**MINIMAL, "aumMinor": aum, "currency": "CNY"})


def test_a_decimal_aum_in_json_is_refused() -> None:
    # Given the JSON text of a detail with aumMinor 12.5
    text = json.dumps({**MINIMAL, "aumMinor": 12.5, "currency": "CNY"})
    # When validated from JSON
    # Then it is refused
    with pytest.raises(ValidationError):
        ProfileChangedDetail.model_validate_json(text)


def test_aum_without_a_currency_is_refused() -> None:
    # Given aumMinor and no currency
    # When validated
    # Then it is refused with a message about the currency
    with pytest.raises(ValidationError, match="aumMinor needs a currency"):
        ProfileChangedDetail.model_validate({**MINIMAL, "aumMinor": 100})


def test_zero_aum_with_a_currency_and_a_currency_alone_are_accepted() -> None:
    # Given aumMinor 0 with CNY, and CNY with no aumMinor
    # When validated
    # Then both are accepted
    assert detail(aumMinor=0, currency="CNY").aumMinor == 0
    assert detail(currency="CNY").aumMinor is None


@pytest.mark.parametrize("currency", ["XXY", "RMB", "cny"])
def test_an_unknown_currency_is_refused(currency: str) -> None:
    # Given a currency that is not an ISO 4217 code
    # When validated
    # Then it is refused
    assert "currency" in refused_fields({**MINIMAL, "aumMinor": 1, "currency": currency})


@pytest.mark.parametrize(("risk", "accepted"), [("R1", True), ("R5", True), ("R6", False), ("R0", False), ("r3", False)])
def test_risk_levels_are_r1_to_r5(risk: str, accepted: bool) -> None:
    # Given a risk level
    data = {**MINIMAL, "riskLevel": risk}
    # When validated
    # Then only R1-R5 are accepted
    if accepted:
        assert ProfileChangedDetail.model_validate(data).riskLevel == risk
    else:
        assert "riskLevel" in refused_fields(data)


def test_a_naive_changed_at_is_refused() -> None:
    # Given changedAt without Z or an offset
    # When validated
    # Then it is refused
    with pytest.raises(ValidationError, match="changedAt must carry a time zone"):
        ProfileChangedDetail.model_validate({**MINIMAL, "changedAt": "2026-11-23T04:12:00"})


def test_a_naive_opened_at_is_refused() -> None:
    # Given openedAt without Z or an offset (the schema says RFC 3339 date-time)
    # When validated
    # Then it is refused like a naive changedAt
    with pytest.raises(ValidationError):
        ProfileChangedDetail.model_validate({**MINIMAL, "openedAt": "2020-01-01T00:00:00"})


def test_unknown_fields_are_ignored() -> None:
    # Given fields the model does not know (the contract grows by optional fields)
    data = {**MINIMAL, "deviceHash": "a" * 32, "phoneHash": "b" * 32, "loyaltyTier": "gold"}
    # When validated
    parsed = ProfileChangedDetail.model_validate(data)
    # Then they are accepted and dropped
    assert parsed == ProfileChangedDetail.model_validate(MINIMAL)
    assert "deviceHash" not in parsed.model_dump()


@pytest.mark.parametrize("tag", ["", "   ", "x" * 65])
def test_malformed_tags_are_refused(tag: str) -> None:
    # Given an empty or blank tag, or one over 64 characters
    # When validated
    # Then it is refused
    assert "tags.0" in refused_fields({**MINIMAL, "tags": [tag]})


# --- snapshot_from_event ------------------------------------------------------------------------


def test_a_minimal_event_clears_every_optional_field() -> None:
    # Given an event with only the required fields
    # When the snapshot is built
    snapshot = snapshot_from_event(detail(), "evt-1")
    # Then every core field is present with None, meaning "remove the attribute"
    assert set(snapshot) == {"changedAt", "sourceEventId", *CORE_FIELDS}
    assert {name: snapshot[name] for name in CORE_FIELDS} == dict.fromkeys(CORE_FIELDS)
    assert snapshot["sourceEventId"] == "evt-1"


def test_empty_tags_and_channels_are_cleared_too() -> None:
    # Given explicit empty lists
    # When the snapshot is built
    snapshot = snapshot_from_event(detail(tags=[], channels=[]), "evt-1")
    # Then they are removed rather than stored empty
    assert snapshot["tags"] is None and snapshot["channels"] is None


def test_tags_and_channels_are_deduplicated_and_sorted() -> None:
    # Given duplicated, unsorted tags and channels
    # When the snapshot is built
    snapshot = snapshot_from_event(detail(tags=["vip", "payroll", "vip", "affluent"], channels=["app", "web", "app"]), "e")
    # Then each is a sorted set
    assert snapshot["tags"] == ["affluent", "payroll", "vip"]
    assert snapshot["channels"] == ["app", "web"]
    assert normalise_tags(["b", "a", "b"]) == ["a", "b"]


def test_times_are_normalised_to_fixed_width_utc() -> None:
    # Given changedAt and openedAt with a +08:00 offset
    parsed = detail(changedAt="2026-11-23T12:12:00+08:00", openedAt="2020-01-01T08:00:00+08:00")
    # When the snapshot is built
    snapshot = snapshot_from_event(parsed, "evt-1")
    # Then both are fixed-width UTC text
    assert snapshot["changedAt"] == "2026-11-23T04:12:00.000000Z"
    assert snapshot["openedAt"] == "2020-01-01T00:00:00.000000Z"


def test_a_full_event_maps_every_field() -> None:
    # Given a full profile
    parsed = detail(
        birthday="1990-03-14",
        branchId="sh-pudong",
        tags=["payroll"],
        aumMinor=52_000_000,
        currency="CNY",
        riskLevel="R3",
        openedAt="2020-01-01T00:00:00Z",
        channels=["app"],
        relationshipManagerId="rm-7",
    )
    # When the snapshot is built
    snapshot = snapshot_from_event(parsed, "evt-9")
    # Then every attribute is set as stored
    assert snapshot == {
        "changedAt": "2026-11-23T04:12:00.000000Z",
        "sourceEventId": "evt-9",
        "birthday": "1990-03-14",
        "branchId": "sh-pudong",
        "tags": ["payroll"],
        "aumMinor": 52_000_000,
        "currency": "CNY",
        "riskLevel": "R3",
        "openedAt": "2020-01-01T00:00:00.000000Z",
        "channels": ["app"],
        "relationshipManagerId": "rm-7",
    }


def test_the_same_instant_in_two_offsets_gives_the_same_changed_at() -> None:
    # Given one instant written in UTC and in +08:00
    utc = ProfileChangedDetail(customerId="c-1", changedAt=datetime(2026, 11, 23, 4, 12, tzinfo=UTC))
    local = ProfileChangedDetail(customerId="c-1", changedAt=datetime(2026, 11, 23, 12, 12, tzinfo=timezone(timedelta(hours=8))))
    # When snapshots are built
    # Then their changedAt text is identical (so conditional writes compare instants)
    assert snapshot_from_event(utc, "a")["changedAt"] == snapshot_from_event(local, "b")["changedAt"]


# --- customer_view ------------------------------------------------------------------------------


def profile(**fields: Any) -> CustomerProfile:
    base: dict[str, Any] = {"customerId": "c-001", "changedAt": "2026-11-23T04:12:00.000000Z", "sourceEventId": "evt-1"}
    return CustomerProfile.model_validate({**base, **fields})


def test_the_view_hides_internal_fields_and_shapes_aum_as_money() -> None:
    # Given a stored profile with AUM and bookkeeping fields
    stored = profile(aumMinor=52_000_000, currency="CNY", tags=["payroll"], operatorTags=["campaign-x"], riskLevel="R3")
    # When the customer view is built
    view = customer_view(stored)
    # Then sourceEventId is not exposed, AUM is {amountMinor, currency}, changedAt is updatedAt
    assert "sourceEventId" not in view and "changedAt" not in view
    assert view["aum"] == {"amountMinor": 52_000_000, "currency": "CNY"}
    assert view["updatedAt"] == "2026-11-23T04:12:00.000000Z"
    assert (view["tags"], view["operatorTags"], view["riskLevel"]) == (["payroll"], ["campaign-x"], "R3")
    assert set(view) == {
        "customerId",
        "birthday",
        "branchId",
        "tags",
        "operatorTags",
        "aum",
        "riskLevel",
        "openedAt",
        "channels",
        "relationshipManagerId",
        "updatedAt",
        "tier",
        "lifecycleStage",
        "segments",
        "scores",
        "scoredAt",
    }


def test_the_view_of_a_profile_without_aum_has_aum_none() -> None:
    # Given a stored profile with no AUM
    # When the view is built
    view = customer_view(profile())
    # Then aum is None rather than a half-empty object
    assert view["aum"] is None
    assert view["tags"] == [] and view["operatorTags"] == []


def test_zero_aum_is_shown_not_hidden() -> None:
    # Given a stored AUM of zero
    # When the view is built
    # Then it is shown as zero
    assert customer_view(profile(aumMinor=0, currency="CNY"))["aum"] == {"amountMinor": 0, "currency": "CNY"}


# --- SetTagsRequest -----------------------------------------------------------------------------


def test_set_tags_refuses_unknown_fields_and_bad_tags() -> None:
    # Given an operator tag request with an unknown field, then one with a bad tag
    # When validated
    # Then both are refused, and a clean one is accepted
    with pytest.raises(ValidationError):
        SetTagsRequest.model_validate({"tags": ["vip"], "replace": True})
    with pytest.raises(ValidationError):
        SetTagsRequest.model_validate({"tags": [""]})
    with pytest.raises(ValidationError):
        SetTagsRequest.model_validate({"tags": [f"t{i}" for i in range(101)]})
    assert SetTagsRequest.model_validate({"tags": ["vip", "campaign-x"]}).tags == ["vip", "campaign-x"]


def test_a_customer_sees_their_tier_and_stage_but_not_their_scores() -> None:
    from loyalty.customers.logic import customer_view
    from loyalty.customers.model import CustomerProfile

    profile = CustomerProfile(customerId="c-1", changedAt="2026-11-23T00:00:00.000000Z", sourceEventId="e", tier="gold",
                              lifecycleStage="active", segments=["vip"], scores={"value": 12.5, "abuseRisk": 0})
    own = customer_view(profile, operator=False)
    assert own["tier"] == "gold" and own["lifecycleStage"] == "active"
    assert "scores" not in own and "segments" not in own
    assert customer_view(profile)["scores"] == {"value": 12.5, "abuseRisk": 0} and customer_view(profile)["segments"] == ["vip"]


# --- set_operator_tags: stored, then announced for scoring ---------------------------------------


class TagsOnlyStore:
    """The one store call setting tags makes, in memory (the DynamoDB store is integration-tested)."""

    def __init__(self) -> None:
        self.profiles = {"c-001": CustomerProfile(customerId="c-001", changedAt="2026-11-23T04:12:00.000000Z", sourceEventId="e-1")}

    def set_operator_tags(self, customer_id: str, tags: list[str], changed_at: str) -> CustomerProfile:
        stored = self.profiles[customer_id].model_copy(update={"operatorTags": tags, "operatorTagsChangedAt": changed_at})
        self.profiles[customer_id] = stored
        return stored


def test_setting_tags_stores_them_then_announces_them_as_stored() -> None:
    # Given a known customer
    store, sent = TagsOnlyStore(), list[OutboundEvent]()
    # When an operator sets duplicated, unsorted tags
    profile = service.set_operator_tags(store, "c-001", ["vip", "payroll", "vip"], publish=sent.extend)  # type: ignore[arg-type]
    # Then the profile holds them normalised, and one CustomerTagsChanged carries exactly that, at the
    # time the profile records (scoring waits for a profile at least that new)
    assert profile.operatorTags == ["payroll", "vip"]
    (event,) = sent
    assert (event.source, event.detail_type) == ("loyalty.customers", "CustomerTagsChanged")
    assert event.detail["operatorTags"] == ["payroll", "vip"] and event.detail["customerId"] == "c-001"
    assert event.detail["changedAt"] == profile.operatorTagsChangedAt
    schema = json.loads((SCHEMAS / "CustomerTagsChanged.json").read_text())
    jsonschema.validate(event.detail, schema, format_checker=jsonschema.FormatChecker())


def test_a_failed_announcement_fails_the_call() -> None:
    # Given a bus that refuses the event
    def refusing(events: Any) -> None:
        raise RuntimeError("EventBridge refused 1 of 1 events")

    # When tags are set / Then the call fails (its caller retries with the same Idempotency-Key)
    with pytest.raises(RuntimeError):
        service.set_operator_tags(TagsOnlyStore(), "c-001", ["vip"], publish=refusing)  # type: ignore[arg-type]
