"""Campaign definitions and their lifecycle on the local cloud: validation, versions, maker-checker
approval, the kill switch and the audit log."""

from __future__ import annotations

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
