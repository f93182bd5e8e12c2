"""The operator audit log: every mutating /v1/admin call leaves a `requested` and a `completed`
(or `refused`, or `replayed`) entry with who, what, the state before and after; it is read by
resource, by operator or by day."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from infra.local.cloud import LocalCloud
from tests.support.api import Api
from tests.support.coupons import OPERATOR, create_template, set_status, template_body, unique

AUDIT = "/v1/admin/audit"


def entries(api: Api, **query: str) -> list[dict[str, Any]]:
    (by, value), = query.items()
    response = api.call("GET", f"{AUDIT}?{by}={value}", **OPERATOR)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def test_an_operator_action_is_logged_with_who_what_before_and_after(cloud: LocalCloud, api: Api) -> None:
    # Given an operator who creates a template and activates it
    body = template_body()
    create_template(api, body)
    assert set_status(api, body["templateId"], "active").status_code == 200
    # When the log of that template is read
    found = entries(api, resource=f"coupon-templates/{body['templateId']}")
    # Then the status change shows who did it, the route, the state before and after
    status_change = [e for e in found if e["route"].endswith("/status")]
    assert [e["phase"] for e in status_change] == ["completed", "requested"]  # newest first
    completed, requested = status_change
    assert completed["who"] == OPERATOR["as_"] and completed["status"] == 200
    assert '"status":"draft"' in requested["before"] and '"status":"active"' in completed["after"]
    assert requested["request"] == '{"status":"active"}'


def test_refused_and_replayed_calls_are_logged_too_and_the_log_is_read_by_operator_and_day(cloud: LocalCloud, api: Api) -> None:
    # Given an operator of their own, who repeats a call with its key, and adds stock to no template
    operator: dict[str, Any] = {"as_": unique("op-audit"), "groups": ["operators"]}
    body = template_body()
    api.call("POST", "/v1/admin/coupon-templates", body=body, idempotency_key="k-audit", **operator)
    api.call("POST", "/v1/admin/coupon-templates", body=body, idempotency_key="k-audit", **operator)
    refused = api.call("POST", "/v1/admin/coupon-templates/no-such-template/stock", body={"add": 5}, **operator)
    # When the operator's entries are read
    mine = entries(api, actor=operator["as_"])
    # Then the create completed once, was replayed once, and the refused change is there with its status
    phases = sorted(e["phase"] for e in mine if e["phase"] != "requested")
    assert phases.count("completed") >= 1 and "replayed" in phases
    assert refused.status_code == 404
    assert any(e["phase"] == "refused" and e["status"] == 404 and e["resource"] == "coupon-templates/no-such-template" for e in mine)
    # And today's log holds them too
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat()
    # (newest first: nothing else in this worker wrote to the log since the operator's last call)
    assert mine[0]["actionId"] in {e["actionId"] for e in entries(api, date=today)}


def test_the_log_needs_an_operator(cloud: LocalCloud, api: Api) -> None:
    assert api.call("GET", f"{AUDIT}?resource=x", as_="c-1").status_code == 403
    assert api.call("GET", AUDIT, as_="c-1").status_code == 403


def refused_segment_update(api: Api, operator: dict[str, Any], segment: str) -> None:
    """An operator action that changes nothing: an update of a segment that does not exist (logged
    `requested` and `refused` under segments/<id>)."""
    from tests.support.scoring import segment_body

    response = api.call("PUT", f"/v1/admin/segments/{segment}", body=segment_body(segment, tagsAny=["x"]), **operator)
    assert response.status_code == 404, response.text


def listed(api: Api, query: str) -> list[dict[str, Any]]:
    """Every entry of a listing, page after page."""
    found: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = api.call("GET", f"{AUDIT}?{query}" + (f"&cursor={cursor}" if cursor else ""), **OPERATOR)
        assert response.status_code == 200, response.text
        found += response.json()["items"]
        if not (cursor := response.json()["nextCursor"]):
            return found


def today() -> str:
    from loyalty.core.clock import business_date, utc_now
    from loyalty.core.config import get_settings

    return business_date(utc_now(), get_settings().bank_zone).isoformat()


def test_without_a_filter_the_log_of_the_bank_s_business_day_is_read(cloud: LocalCloud, api: Api) -> None:
    # Given an operator action just now
    operator: dict[str, Any] = {"as_": unique("op-audit"), "groups": ["operators"]}
    refused_segment_update(api, operator, unique("seg"))
    # When the log is read without a filter
    response = api.call("GET", f"{AUDIT}?limit=200", **OPERATOR)
    # Then it is today's log (as `date` reads it), newest first, with the action in it
    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert {e["who"] for e in items[:2]} == {operator["as_"]}
    first_of_today = api.call("GET", f"{AUDIT}?date={today()}&limit=200", **OPERATOR).json()["items"]
    assert [e["actionId"] for e in items[:2]] == [e["actionId"] for e in first_of_today[:2]]


def test_filters_combine_and_a_filtered_page_may_hold_fewer_entries(cloud: LocalCloud, api: Api) -> None:
    # Given two operators acting on one resource
    segment = unique("seg")
    first: dict[str, Any] = {"as_": unique("op-audit"), "groups": ["operators"]}
    second: dict[str, Any] = {"as_": unique("op-audit"), "groups": ["operators"]}
    refused_segment_update(api, first, segment)
    refused_segment_update(api, second, segment)
    other = unique("seg")
    refused_segment_update(api, first, other)
    resource = f"segments/{segment}"
    # When the log is read by resource and operator, one entry a page
    both = listed(api, f"resource={resource}&actor={first['as_']}&limit=1")
    # Then only the first operator's entries about that resource come, however the pages fall
    assert [(e["who"], e["resource"], e["phase"]) for e in both] == [(first["as_"], resource, "refused"), (first["as_"], resource, "requested")]
    # And operator and day, resource and day, combine too
    assert sorted(e["resource"] for e in listed(api, f"actor={first['as_']}&date={today()}")) == sorted([resource] * 2 + [f"segments/{other}"] * 2)
    assert len(listed(api, f"resource={resource}&date={today()}")) == 4
    assert listed(api, f"resource={resource}&date=2000-01-01") == []


@pytest.mark.parametrize("day", ["2026-13-01", "2026-02-30", "0", "20261204", "yesterday"])
def test_a_bad_date_is_refused(cloud: LocalCloud, api: Api, day: str) -> None:
    response = api.call("GET", f"{AUDIT}?date={day}", **OPERATOR)
    assert response.status_code == 400, response.text
    assert [(d["field"], d["in"]) for d in response.json()["error"]["details"]] == [("date", "query")]


def test_a_cursor_is_accepted_only_by_the_listing_that_returned_it(cloud: LocalCloud, api: Api) -> None:
    # Given a cursor of one resource's log
    segment = unique("seg")
    refused_segment_update(api, OPERATOR, segment)
    cursor = api.call("GET", f"{AUDIT}?resource=segments/{segment}&limit=1", **OPERATOR).json()["nextCursor"]
    assert cursor
    # When it is given to another resource's log, or to an operator's
    for query in (f"resource=segments/{unique('seg')}", f"actor={OPERATOR['as_']}"):
        response = api.call("GET", f"{AUDIT}?{query}&cursor={cursor}", **OPERATOR)
        # Then it is refused
        assert response.status_code == 400 and response.json()["error"]["code"] == "INVALID_CURSOR", response.text


def test_an_operator_acting_on_a_customers_behalf_is_logged_too(cloud: LocalCloud, api: Api) -> None:
    from tests.support.coupons import active_template, claimed, coupon_action, order

    # Given a customer's coupon, locked by the customer themself (not an operator action: not logged)
    customer = unique("on-behalf")
    coupon_id = claimed(api, customer, active_template(api))["couponId"]
    assert coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-1", "ttlSeconds": 600, "order": order()}).status_code == 200
    assert entries(api, resource=f"coupons/{coupon_id}") == []
    # When an operator releases it on the customer's behalf
    released = coupon_action(api, coupon_id, "release", OPERATOR["as_"], {"orderId": "o-1"}, groups=OPERATOR["groups"])
    # Then the log has it under the coupon, with the operator's name
    assert released.status_code == 200, released.text
    found = entries(api, resource=f"coupons/{coupon_id}")
    assert {(e["phase"], e["who"]) for e in found} == {("requested", OPERATOR["as_"]), ("completed", OPERATOR["as_"])}


def test_a_tag_change_logs_the_tags_not_the_profile(cloud: LocalCloud, api: Api) -> None:
    from tests.support.scoring import put_profile

    # Given a customer with a birthday on their profile
    customer = unique("tags")
    put_profile(cloud, customer, birthday="1990-05-17")
    # When an operator tags them
    assert api.call("PUT", f"/v1/admin/customers/{customer}/tags", body={"tags": ["vip"]}, **OPERATOR).status_code == 200
    # Then the log keeps the tags before and after, and nothing else of the profile
    completed = next(e for e in entries(api, resource=f"customers/{customer}") if e["phase"] == "completed")
    requested = next(e for e in entries(api, resource=f"customers/{customer}") if e["phase"] == "requested")
    assert completed["after"] == '{"operatorTags":["vip"]}' and requested["before"] == '{"operatorTags":[]}'
    assert "1990" not in str(completed) + str(requested)
