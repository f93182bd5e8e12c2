"""The campaigns API contract, without AWS: request limits that fit in a body, request examples
that validate, the stored definition read as it was saved, response views, and one documented
operation per lifecycle action."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from loyalty.campaigns import service, templates
from loyalty.campaigns.model import (
    MAX_LABELS,
    MAX_LISTED_IDS,
    MAX_MCCS,
    SPEND_500_GET_COUPON,
    CampaignDefinition,
    CampaignRequest,
    FireRequest,
    FromTemplate,
    Transition,
)
from loyalty.campaigns.uploads import MAX_CSV_CHARS, AudienceUpload
from loyalty.campaigns.views import CampaignReport, CampaignView
from loyalty.core.config import get_settings

LONGEST_ID = "c-" + "9" * 62


def body_bytes(body: dict[str, Any]) -> int:
    """As a client library sends it: non-ASCII escaped (\\uXXXX), the worst case."""
    return len(json.dumps(body).encode())


def examples(model: type[BaseModel]) -> list[dict[str, Any]]:
    extra: Any = model.model_config.get("json_schema_extra")
    return list(extra["examples"])


# ---- every list's limit fits in a body ---------------------------------------------------------


def test_a_fire_list_one_over_its_limit_is_still_a_body_validation_can_refuse() -> None:
    # Given the longest customer ids, as many as a fire takes, and one more
    at_limit = {"customerIds": [LONGEST_ID] * MAX_LISTED_IDS}
    over = {"customerIds": [LONGEST_ID] * (MAX_LISTED_IDS + 1)}
    # Then the first is valid, the second is refused by validation, and both fit well under the body limit
    FireRequest.model_validate(at_limit)
    with pytest.raises(ValidationError, match="at most 800 items"):
        FireRequest.model_validate(over)
    assert body_bytes(over) < 0.85 * get_settings().max_body_bytes


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("customerIds", [LONGEST_ID] * (MAX_LISTED_IDS + 1)),
        ("tagsAny", ["高" * 64] * (MAX_LABELS + 1)),
        ("segments", ["s" * 64] * (MAX_LABELS + 1)),
    ],
)
def test_an_audience_list_one_over_its_limit_is_refused_by_validation_within_the_body_limit(field: str, value: list[str]) -> None:
    body = {**SPEND_500_GET_COUPON, "audience": {field: value}}
    assert body_bytes(body) < get_settings().max_body_bytes
    with pytest.raises(ValidationError, match=f"audience.{field}"):
        CampaignRequest.model_validate(body)


def test_a_trigger_with_one_merchant_category_over_the_limit_is_refused_within_the_body_limit() -> None:
    body = {**SPEND_500_GET_COUPON, "trigger": {**SPEND_500_GET_COUPON["trigger"], "mccs": ["5812"] * (MAX_MCCS + 1)}}
    assert body_bytes(body) < get_settings().max_body_bytes
    with pytest.raises(ValidationError, match="mccs"):
        CampaignRequest.model_validate(body)


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_a_csv_batch_one_over_its_limit_is_refused_by_validation_within_the_body_limit(line_end: str) -> None:
    # Given a CSV of short ids (6 characters), each line break escaped in JSON, one character over the limit
    lines = (MAX_CSV_CHARS // (6 + len(line_end))) + 1
    text = "".join(f"c{i % 100_000:05d}{line_end}" for i in range(lines))[: MAX_CSV_CHARS + 1]
    body = {"uploadId": "u-" + "9" * 62, "csv": text}
    # Then it is still under the body limit, and validation refuses it
    assert body_bytes(body) < get_settings().max_body_bytes
    with pytest.raises(ValidationError, match="csv"):
        AudienceUpload.model_validate(body)


# ---- request bodies --------------------------------------------------------------------------------


@pytest.mark.parametrize("model", [CampaignRequest, FromTemplate, Transition, FireRequest, AudienceUpload])
def test_every_request_example_validates(model: type[BaseModel]) -> None:
    assert examples(model)
    for example in examples(model):
        model.model_validate(example)


def test_the_template_example_makes_a_valid_campaign() -> None:
    (example,) = examples(FromTemplate)
    definition = templates.build("spend_x_get_coupon", FromTemplate.model_validate(example))
    assert definition.trigger.type == "event" and definition.frequencyCaps.lifetime == 1


def test_the_definition_example_is_a_spend_500_get_a_coupon_campaign() -> None:
    definition = CampaignRequest.model_validate(SPEND_500_GET_COUPON)
    assert definition.trigger.minAmountMinor == 50_000 and definition.trigger.currency == "CNY"  # type: ignore[union-attr]
    assert [a.type for a in definition.variants[0].actions] == ["issue_coupon", "notify"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"name": "Spend 500\tget a coupon"}, "name"),
        ({"name": "   "}, "name"),
        ({"fundingCostCentre": "cc\u0000marketing"}, "fundingCostCentre"),
        ({"audience": {"tiers": ["gold", ""]}}, "tiers"),
    ],
)
def test_text_an_operator_types_refuses_control_characters_and_blanks(change: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        CampaignRequest.model_validate({**SPEND_500_GET_COUPON, **change})


def test_a_name_with_spaces_and_a_multi_line_note_are_accepted() -> None:
    named = CampaignRequest.model_validate({**SPEND_500_GET_COUPON, "name": "  双十一 Spend 500, get 50  "})
    assert named.name == "  双十一 Spend 500, get 50  "
    assert Transition.model_validate({"note": "Checked.\nBudget confirmed."}).note == "Checked.\nBudget confirmed."
    assert Transition.model_validate({}).note is None


def test_a_stored_definition_keeps_reading_what_a_request_now_refuses() -> None:
    # Given a definition saved before the request limits: a long inline list and a tab in its name
    saved = {**SPEND_500_GET_COUPON, "name": "Spend\t500", "audience": {"customerIds": [f"c-{i}" for i in range(2_000)]}}
    # Then it is still read as stored, while an operator sending it now is refused
    assert len(CampaignDefinition.model_validate(saved).audience.customerIds) == 2_000
    with pytest.raises(ValidationError):
        CampaignRequest.model_validate(saved)


def test_template_errors_name_the_campaigns_fields_like_the_apis_own_validation() -> None:
    from loyalty.core.errors import InvalidInput

    (example,) = examples(FromTemplate)
    request = FromTemplate.model_validate({**example, "parameters": {**example["parameters"], "mccs": ["hotel"]}})
    with pytest.raises(InvalidInput) as refused:
        templates.build("spend_x_get_coupon", request)
    assert refused.value.details[0]["in"] == "body" and refused.value.details[0]["field"].startswith("trigger")


# ---- response views ---------------------------------------------------------------------------------


def meta(**fields: Any) -> dict[str, Any]:
    definition = CampaignRequest.model_validate(SPEND_500_GET_COUPON)
    return {"campaignId": definition.campaignId, "status": "draft", "version": 1, "definition": definition.model_dump_json(),
            "author": "op-maker", "updatedAt": "2026-12-01T00:00:00.000000Z", "startsAt": "2026-12-31T16:00:00.000000Z",
            "endsAt": "2027-03-31T16:00:00.000000Z", **fields}


def test_a_campaign_view_leaves_out_what_it_does_not_have_yet_and_keeps_the_definitions_nulls() -> None:
    # Given a draft, never approved nor paused
    view = CampaignView.model_validate(service.view(meta(), datetime(2026, 12, 7, tzinfo=UTC)))
    # When it is sent
    sent = view.model_dump(mode="json")
    # Then approval and pause fields are left out, as the API always did, and the definition is whole
    assert not {"approvedBy", "approvedAt", "pausedReason"} & set(sent)
    assert sent["effectiveStatus"] == "draft" and sent["trigger"]["pattern"] == {} and sent["trigger"]["target"] is None
    approval = meta(status="approved", approvedBy="op-checker", approvedAt="2026-12-02T00:00:00Z")
    approved = CampaignView.model_validate(service.view(approval, datetime(2027, 1, 2, tzinfo=UTC))).model_dump(mode="json")
    assert (approved["effectiveStatus"], approved["approvedBy"]) == ("active", "op-checker")


def test_a_report_in_rewards_sends_its_currency_as_null_and_leaves_out_periods_without_a_limit() -> None:
    report = CampaignReport.model_validate({
        "campaignId": "c", "status": "active", "metric": "card_spend", "budgetUnit": "rewards", "currency": None,
        "spendCurrency": "CNY",
        "arms": [{"arm": "control", "targeted": 1, "granted": 0, "notified": 0, "notificationsDelivered": 0, "notificationsFailed": 0, "redeemed": 0, "cancelled": 0, "compensating": 0,
                  "compensated": 0, "partlyDelivered": 0, "cost": 0, "spendPerTargetedMinor": None, "upliftVsControl": None}],
        "budget": {"total": {"limit": 10, "spent": 0, "left": 10}},
        "forecast": {"burnPerDay": 0, "exhaustsAt": None, "lastsTheWindow": True},
    }).model_dump(mode="json")
    assert report["currency"] is None and report["budget"] == {"total": {"limit": 10, "spent": 0, "left": 10}}


# ---- one operation per lifecycle action ---------------------------------------------------------------


def test_each_lifecycle_action_is_its_own_documented_operation() -> None:
    import dataclasses

    from functions.campaigns.admin import LIFECYCLE, ROOT
    from infra.openapi import generate
    from infra.topology import TOPOLOGY

    # When the campaigns' part of the OpenAPI document is generated
    campaigns = tuple(f for f in TOPOLOGY.functions if f.capability == "campaigns")
    document = generate(dataclasses.replace(TOPOLOGY, functions=campaigns))
    operations = {path.rsplit("/", 1)[-1]: spec["post"] for path, spec in document["paths"].items()
                  if path.rsplit("/", 1)[-1] in LIFECYCLE}
    # Then each action has its own operationId and summary
    assert {a: op["operationId"] for a, op in operations.items()} == {a: f"{a}Campaign" for a in LIFECYCLE}
    assert len({op["summary"] for op in operations.values()}) == len(LIFECYCLE)
    # And approving documents the approvers group and the maker-checker refusals; pausing does not
    assert operations["approve"]["security"] == [{"operator": ["operators", "approvers"]}]
    refusals = operations["approve"]["responses"]["403"]["content"]["application/json"]["examples"]
    assert {"APPROVER_REQUIRED", "APPROVER_IS_AUTHOR"} <= set(refusals)
    assert operations["pause"]["security"] == [{"operator": ["operators"]}]
    assert "APPROVER_REQUIRED" not in str(operations["pause"])
    assert f"{ROOT}/{{campaignId}}/fire" in document["paths"]
