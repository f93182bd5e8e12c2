"""The issue's bad input, in the browser: an invalid form, an approver on their own campaign, an
expired sign-in, a 409 and a 422 from the API, and a network failure during a save."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from tests.browser.builder import build_from_template, local_minute, pick_instant, restore_draft
from tests.browser.conftest import APPROVER, MAKER_CHECKER, OPERATOR, Console, unique
from tests.browser.seed import coupon_template
from tests.e2e.conftest import RunningSystem
from tests.support.api import Api, eventually

CREATE_FROM_TEMPLATE = re.compile(r"/v1/admin/campaign-templates/spend_x_get_coupon/campaigns$")


def submitted_campaign(api: Api, who: dict[str, Any], template: str) -> str:
    """A campaign from the template, created and submitted by `who` through the API."""
    campaign_id = unique("camp-api")
    body = {"campaignId": campaign_id, "name": f"API campaign {campaign_id}", "fundingCostCentre": "cc-marketing",
            "window": {"startsAt": "2027-01-01T00:00:00Z", "endsAt": "2027-02-01T00:00:00Z"}, "budget": {"unit": "rewards", "total": 10},
            "parameters": {"minAmountMinor": 100_000, "couponTemplateId": template}}
    caller = {"as_": who["subject"], "groups": who["groups"]}
    created = api.call("POST", "/v1/admin/campaign-templates/spend_x_get_coupon/campaigns", body=body, **caller)
    assert created.status_code == 201, created.text
    assert api.call("POST", f"/v1/admin/campaigns/{campaign_id}/submit", body={}, **caller).status_code == 200
    return campaign_id


def field_errors(page: Any) -> list[str]:
    return [text.strip() for text in page.locator(".ant-form-item-explain-error").all_inner_texts()]


def test_an_invalid_form_shows_the_apis_message_on_the_field_and_is_sent_once(system: RunningSystem, open_console: Callable[..., Console]) -> None:
    template = unique("tpl-bad")
    coupon_template(system.api, template)
    operator = open_console(OPERATOR)
    sent: list[str] = []
    operator.page.on("request", lambda r: sent.append(r.url) if r.method == "POST" and CREATE_FROM_TEMPLATE.search(r.url) else None)
    # Given a window that ends before it starts: each instant is valid (the schema's check passes),
    # the order is the API's own rule
    campaign_id = unique("camp-bad")
    build_from_template(operator, campaign_id, template, starts=timedelta(days=2), ends=timedelta(days=1))
    operator.page.get_by_test_id("save-submit").click()
    # Then the API's message is on the window's fields, and the builder is back on their step
    eventually(lambda: any("the window must end after it starts" in e for e in field_errors(operator.page)), timeout_s=10)
    assert operator.page.locator("#window_endsAt").is_visible()
    operator.page.get_by_test_id("blocked-hint").wait_for()
    operator.screenshot("bad-input-window")
    # And the same body cannot be sent again: on the review step both saves are disabled
    operator.page.get_by_role("button", name="下一步").click()
    operator.page.get_by_text("检查并提交").click()
    assert operator.page.get_by_test_id("save-submit").is_disabled()
    assert operator.page.get_by_test_id("save-draft").is_disabled()
    assert len(sent) == 1, sent
    # When the operator corrects the end, the error goes and the save goes through, once more
    operator.page.get_by_text("基本信息").click()
    pick_instant(operator.page, "window_endsAt", local_minute(timedelta(days=20)))
    eventually(lambda: not any("the window must end" in e for e in field_errors(operator.page)), timeout_s=5)
    operator.page.get_by_text("检查并提交").click()
    operator.page.get_by_test_id("save-submit").click()
    operator.page.wait_for_url(re.compile(f"/campaigns/{campaign_id}$"))
    assert len(sent) == 2, sent


def test_an_approver_cannot_approve_their_own_campaign_and_the_api_refuses_it_anyway(system: RunningSystem, open_console: Callable[..., Console]) -> None:
    template = unique("tpl-own")
    coupon_template(system.api, template)
    campaign_id = submitted_campaign(system.api, MAKER_CHECKER, template)
    # Given an operator who is also an approver, on the campaign she wrote
    dana = open_console(MAKER_CHECKER, sign_in="token")
    dana.goto("/approvals")
    card = dana.page.get_by_test_id(f"inbox-{campaign_id}")
    card.wait_for()
    # Then its approve button is disabled, with the reason beside it
    assert card.get_by_test_id("action-approve").is_disabled()
    assert "双人复核" in card.get_by_test_id("reason-approve").inner_text()
    dana.screenshot("bad-input-own-campaign")
    # And the API refuses her approval anyway, with her own token
    refused = dana.api("POST", f"/v1/admin/campaigns/{campaign_id}/approve", {})
    assert (refused["status"], refused["body"]["error"]["code"]) == (403, "APPROVER_IS_AUTHOR"), json.dumps(refused)
    # While another approver may approve it
    bob = open_console(APPROVER, sign_in="token")
    bob.goto("/approvals")
    assert bob.page.get_by_test_id(f"inbox-{campaign_id}").get_by_test_id("action-approve").is_enabled()


def test_an_expired_sign_in_goes_back_to_sign_in_and_keeps_the_draft(system: RunningSystem, open_console: Callable[..., Console]) -> None:
    operator = open_console(OPERATOR, sign_in=None)
    # Given a sign-in that lapses in a few seconds (the development sign-in, asked for a short token)
    operator.sign_in_quickly(ttl_s=5)
    # When the operator is half-way through a campaign
    operator.goto("/campaigns/new")
    operator.page.get_by_role("button", name="下一步").click()
    operator.page.locator("#campaignId").fill("camp-kept-draft")
    operator.page.locator("#name").fill("一个不能丢的草稿")
    # Then, the token lapsed, they are sent back to sign in, told why
    operator.page.get_by_test_id("session-expired").wait_for(timeout=20_000)
    operator.screenshot("bad-input-expired")
    # And signing in again brings them back to the builder with the draft as they left it
    operator.page.get_by_test_id(f"sign-in-{OPERATOR['subject']}").click()
    operator.page.wait_for_url(re.compile(r"/console/campaigns/new$"))
    operator.page.get_by_test_id("draft-restored").wait_for()
    assert operator.page.locator("#campaignId").input_value() == "camp-kept-draft"
    assert operator.page.locator("#name").input_value() == "一个不能丢的草稿"

    # A 401 from the API (a token revoked before its time) does the same
    operator.page.route("**/v1/admin/campaigns*", lambda route: route.fulfill(
        status=401, content_type="application/json", body=json.dumps({"error": {"code": "UNAUTHENTICATED", "message": "the token was refused", "details": []}})))
    operator.goto("/campaigns")
    operator.page.get_by_test_id("session-expired").wait_for()
    operator.page.unroute("**/v1/admin/campaigns*")


def test_a_409_and_a_422_are_shown_in_words_with_their_code(system: RunningSystem, open_console: Callable[..., Console]) -> None:
    template = unique("tpl-409")
    coupon_template(system.api, template)
    # 409: a campaign id that exists already
    taken = submitted_campaign(system.api, OPERATOR, template)
    operator = open_console(OPERATOR, sign_in="token")
    restore_draft(operator, taken, template, starts=timedelta(days=1), ends=timedelta(days=10))
    operator.page.get_by_test_id("save-draft").click()
    alert = operator.page.get_by_test_id("api-error")
    alert.wait_for()
    text = alert.inner_text()
    assert "CAMPAIGN_VERSION_CONFLICT" in text and "HTTP 409" in text and "活动已存在或已被他人修改" in text, text
    operator.screenshot("bad-input-409")

    # 422: an approver acts on a page gone stale (someone else approved the campaign meanwhile)
    stale = submitted_campaign(system.api, OPERATOR, template)
    approver = open_console(APPROVER, sign_in="token")
    approver.goto(f"/campaigns/{stale}")
    approver.page.get_by_test_id("action-approve").wait_for()
    other = system.api.call("POST", f"/v1/admin/campaigns/{stale}/approve", body={}, as_="op-carol", groups=["operators", "approvers"])
    assert other.status_code == 200, other.text
    approver.page.get_by_test_id("action-approve").click()
    approver.page.get_by_test_id("confirm-approve").click()
    modal_alert = approver.page.locator(".ant-modal").get_by_test_id("api-error")
    modal_alert.wait_for()
    text = modal_alert.inner_text()
    assert "INVALID_TRANSITION" in text and "HTTP 422" in text and "活动当前状态不允许此操作" in text, text
    approver.screenshot("bad-input-422")


def test_a_network_failure_during_a_save_is_retried_with_the_same_key_and_never_duplicated(system: RunningSystem, open_console: Callable[..., Console]) -> None:
    template = unique("tpl-net")
    coupon_template(system.api, template)
    operator = open_console(OPERATOR, sign_in="token")
    keys: list[str] = []
    replayed: list[str] = []

    def lose_the_first_answer(route: Any) -> None:
        keys.append(route.request.headers["idempotency-key"])
        if len(keys) == 1:
            route.fetch()  # the save reaches the API and is made...
            route.abort("connectionreset")  # ...but its answer never comes back
        else:
            route.continue_()

    operator.page.route(CREATE_FROM_TEMPLATE, lose_the_first_answer)
    operator.page.on("response", lambda r: replayed.append(r.headers.get("idempotent-replayed", "")) if CREATE_FROM_TEMPLATE.search(r.url) else None)
    campaign_id = unique("camp-net")
    restore_draft(operator, campaign_id, template, starts=timedelta(days=1), ends=timedelta(days=10))
    operator.page.get_by_test_id("save-draft").click()
    operator.page.wait_for_url(re.compile(f"/campaigns/{campaign_id}$"))
    # Then the retry carried the same key, and the API answered it with the first save's answer
    assert len(keys) == 2 and keys[0] == keys[1], keys
    assert replayed == ["true"], replayed
    # And there is one campaign, at version 1: made once
    campaign = operator.api("GET", f"/v1/admin/campaigns/{campaign_id}")
    assert (campaign["status"], campaign["body"]["version"]) == (200, 1), campaign
    listed = operator.api("GET", "/v1/admin/campaigns")
    assert [c["campaignId"] for c in listed["body"]["items"]].count(campaign_id) == 1
