"""Campaign definitions and their lifecycle on the local cloud: validation, versions, maker-checker
approval, the kill switch and the audit log."""

from __future__ import annotations

import json
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from tests.support.api import Api
from tests.support.campaigns import APPROVER, AUTHOR, ROOT, act, coupon_campaign, create, launch
from tests.support.coupons import active_template, error_code


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"window": {"startsAt": "2026-12-01T00:00:00Z", "endsAt": "2026-11-01T00:00:00Z"}}, "window"),
        ({"budget": {"unit": "rewards", "total": -1}}, "budget"),
        ({"controlPercent": 101}, "controlPercent"),
        ({"trigger": {"type": "schedule", "expression": "cron(0 9 * * * *)"}}, "trigger"),
        ({"trigger": {"type": "event", "eventType": "CardTransactionPosted", "pattern": {"amountMinor": [{"numeric": ["~", 5]}]}}}, "trigger"),
        # a personal identifier as a budget attribute: its values would be stored in keys and announced in events
        ({"budget": {"unit": "rewards", "total": 10, "byAttribute": [{"attribute": "deviceHash", "limit": 1}]}}, "identifies a person"),
    ],
)
def test_an_invalid_definition_is_refused_and_nothing_is_stored(cloud: LocalCloud, api: Api, change: dict[str, Any], field: str) -> None:
    # Given a definition with one thing wrong
    body = {**coupon_campaign("tpl-x"), **change}
    # When it is saved
    response = api.call("POST", ROOT, body=body, **AUTHOR)
    # Then it is refused, naming the field, and no campaign exists
    assert response.status_code == 400 and error_code(response) == "VALIDATION_ERROR", response.text
    assert field in response.text
    assert api.call("GET", f"{ROOT}/{body['campaignId']}", **AUTHOR).status_code == 404


def test_maker_checker_the_author_cannot_approve_and_a_non_approver_cannot_either(cloud: LocalCloud, api: Api) -> None:
    # Given a submitted campaign
    campaign_id = create(api, coupon_campaign(active_template(api)))["campaignId"]
    assert act(api, campaign_id, "submit", AUTHOR).status_code == 200
    # When its author, even in the approvers group, and an operator outside it try to approve it
    by_author = act(api, campaign_id, "approve", {"as_": AUTHOR["as_"], "groups": ["operators", "approvers"]})
    by_operator = act(api, campaign_id, "approve", {"as_": "op-other", "groups": ["operators"]})
    # Then both are refused and it still waits for approval
    assert by_author.status_code == 403 and error_code(by_author) == "APPROVER_IS_AUTHOR"
    assert by_operator.status_code == 403 and error_code(by_operator) == "APPROVER_REQUIRED"
    assert api.call("GET", f"{ROOT}/{campaign_id}", **AUTHOR).json()["status"] == "pending_approval"
    # And another operator in the approvers group approves it: active, since its window is open
    approved = act(api, campaign_id, "approve", APPROVER, "consumer-protection review done")
    assert approved.status_code == 200 and approved.json()["effectiveStatus"] == "active"
    assert approved.json()["approvedBy"] == APPROVER["as_"]


def test_only_a_draft_is_edited_each_save_a_new_version(cloud: LocalCloud, api: Api) -> None:
    body = coupon_campaign(active_template(api))
    create(api, body)
    edited = api.call("PUT", f"{ROOT}/{body['campaignId']}", body={**body, "name": "Spend more"}, **AUTHOR)
    assert edited.status_code == 200 and edited.json()["version"] == 2 and edited.json()["name"] == "Spend more"
    assert act(api, body["campaignId"], "submit", AUTHOR).status_code == 200
    late = api.call("PUT", f"{ROOT}/{body['campaignId']}", body=body, **AUTHOR)
    assert late.status_code == 409 and error_code(late) == "CAMPAIGN_VERSION_CONFLICT"


def test_the_kill_switch_stops_firing_and_every_change_is_audited(cloud: LocalCloud, api: Api) -> None:
    # Given an active campaign, paused by an operator
    campaign_id = launch(api, coupon_campaign(active_template(api), trigger={"type": "manual"}))
    assert act(api, campaign_id, "pause", AUTHOR, "complaint received").status_code == 200
    # When someone fires it
    fired = api.call("POST", f"{ROOT}/{campaign_id}/fire", body={"customerIds": ["c-1"]}, **AUTHOR)
    # Then it is refused, since it is paused
    assert fired.status_code == 422 and error_code(fired) == "CAMPAIGN_NOT_ACTIVE"
    # And a transition that does not apply is refused too
    assert error_code(act(api, campaign_id, "submit", AUTHOR)) == "INVALID_TRANSITION"
    # And the audit log has every change: who, the state before and after
    entries = api.call("GET", f"{ROOT}/{campaign_id}/audit", **AUTHOR).json()["items"]
    assert [(e["action"], e.get("before"), e["after"], e["who"]) for e in entries] == [
        ("create", None, "draft", AUTHOR["as_"]),
        ("submit", "draft", "pending_approval", AUTHOR["as_"]),
        ("approve", "pending_approval", "approved", APPROVER["as_"]),
        ("pause", "approved", "paused", AUTHOR["as_"]),
    ]
    assert entries[-1]["note"] == "complaint received"


def test_campaigns_are_listed_by_their_effective_status(cloud: LocalCloud, api: Api) -> None:
    # Given a draft and an active campaign
    draft = create(api, coupon_campaign("tpl-x"))["campaignId"]
    active = launch(api, coupon_campaign(active_template(api), trigger={"type": "manual"}))
    # When operators list the active ones, and the drafts
    active_ones = api.call("GET", f"{ROOT}?status=active", **AUTHOR)
    drafts = api.call("GET", f"{ROOT}?status=draft", **AUTHOR)
    # Then each listing has only campaigns in that status
    assert active_ones.status_code == 200 and drafts.status_code == 200, active_ones.text
    assert active in {c["campaignId"] for c in active_ones.json()["items"]}
    assert {c["effectiveStatus"] for c in active_ones.json()["items"]} == {"active"}
    (listed,) = [c for c in drafts.json()["items"] if c["campaignId"] == draft]
    assert {c["effectiveStatus"] for c in drafts.json()["items"]} == {"draft"}
    # And what a draft does not have yet is left out, as before, not sent as null
    assert "approvedBy" not in listed and "approvedAt" not in listed and listed["author"] == AUTHOR["as_"]
    # And a status that is only ever stored, never effective, is refused naming the parameter
    refused = api.call("GET", f"{ROOT}?status=approved", **AUTHOR)
    assert refused.status_code == 400 and error_code(refused) == "VALIDATION_ERROR"
    assert refused.json()["error"]["details"][0]["field"] == "status" and refused.json()["error"]["details"][0]["in"] == "query"


def test_a_fire_with_one_customer_id_over_the_limit_is_refused_by_validation_not_as_too_big(cloud: LocalCloud, api: Api) -> None:
    from loyalty.campaigns.model import MAX_LISTED_IDS
    from loyalty.core.config import get_settings

    # Given an active manual campaign, and a list of the longest customer ids, one more than a fire takes
    campaign_id = launch(api, coupon_campaign(active_template(api), trigger={"type": "manual"}))
    body = {"customerIds": [f"c-{i:062d}" for i in range(MAX_LISTED_IDS + 1)]}
    assert len(json.dumps(body)) < get_settings().max_body_bytes
    # When it is fired with that list
    response = api.call("POST", f"{ROOT}/{campaign_id}/fire", body=body, **AUTHOR)
    # Then validation refuses it (400, naming the list), not the body size (413)
    assert response.status_code == 400 and error_code(response) == "VALIDATION_ERROR", response.text
    assert response.json()["error"]["details"][0]["field"] == "customerIds"


def test_a_blank_note_or_a_name_with_control_characters_is_refused(cloud: LocalCloud, api: Api) -> None:
    # Given a draft
    body = coupon_campaign("tpl-x")
    campaign_id = create(api, body)["campaignId"]
    # When it is submitted with a blank note, and saved with a line break in its name
    blank = act(api, campaign_id, "submit", AUTHOR, note="   ")
    renamed = api.call("PUT", f"{ROOT}/{campaign_id}", body={**body, "name": "Spend 1000\nget a coupon"}, **AUTHOR)
    # Then both are refused, naming the field, and the draft is unchanged
    assert blank.status_code == 400 and error_code(blank) == "VALIDATION_ERROR" and "note" in blank.text
    assert renamed.status_code == 400 and error_code(renamed) == "VALIDATION_ERROR" and "name" in renamed.text
    shown = api.call("GET", f"{ROOT}/{campaign_id}", **AUTHOR).json()
    assert (shown["status"], shown["version"], shown["name"]) == ("draft", 1, body["name"])

