"""The scoring operator API: versioned score models (an invalid one refused, the active one kept),
segments, their members page by page, size estimates, and who may read what."""

from __future__ import annotations

from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from loyalty.core.dynamo import encode_cursor
from loyalty.scoring.defaults import DEFAULT_MODELS
from tests.support.api import Api
from tests.support.scoring import (
    MODELS,
    OPERATOR,
    SEGMENTS,
    TEST_LIFECYCLE,
    card,
    create_segment,
    ingest_ok,
    opened,
    put_profile,
    save_model,
    segment_body,
    unique,
)


def model(api: Api, name: str, **query: Any) -> dict[str, Any]:
    suffix = f"?version={query['version']}" if "version" in query else ""
    response = api.call("GET", f"{MODELS}/{name}{suffix}", **OPERATOR)
    assert response.status_code == 200, response.text
    return dict(response.json())


@pytest.mark.parametrize(
    ("name", "config", "field"),
    [
        ("value", {"segments": {"mass": {"aumMinor": "0.1"}}, "defaultSegment": "mass"}, "segments.mass.aumMinor"),
        ("lifecycle", {"rules": [{"stage": "silent", "when": {"recency365": {"min": 90}}},
                                 {"stage": "churned", "when": {"recency365": {"min": 180}}}], "otherwise": "potential"}, "(body)"),
        ("churn", {"intercept": "x", "coefficients": {"recency90": 1}}, "intercept"),
    ],
)
def test_an_invalid_model_is_refused_and_the_active_version_stays(api: Api, name: str, config: dict[str, Any], field: str) -> None:
    # Given the version in force
    before = model(api, name)
    # When an operator saves an invalid configuration
    response = api.call("PUT", f"{MODELS}/{name}", body=config, **OPERATOR)
    # Then it is a 400 naming the problem, and the same version is in force
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and any(d["field"] == field for d in error["details"]), error
    assert model(api, name) == before


def test_saving_a_model_makes_a_new_version_and_old_ones_stay_readable(api: Api) -> None:
    # Given the churn model in force
    before = model(api, "churn")
    # When an operator saves a new coefficient set
    config = {**DEFAULT_MODELS["churn"], "intercept": -2.5}
    saved = save_model(api, "churn", config)
    # Then it is the next version, in force, and the one before can still be read
    assert saved["version"] == before["version"] + 1 and saved["config"]["intercept"] == -2.5
    assert saved["updatedBy"] == OPERATOR["as_"]
    assert model(api, "churn", version=before["version"])["config"] == before["config"]
    save_model(api, "churn", DEFAULT_MODELS["churn"])
    assert api.call("GET", f"{MODELS}/churn?version=999", **OPERATOR).json()["error"]["code"] == "MODEL_NOT_FOUND"


@pytest.mark.parametrize(("query", "where"), [("nope", ("model", "path")), ("churn?version=-1", ("version", "query")),
                                              ("churn?version=x", ("version", "query"))])
def test_an_unknown_model_or_a_bad_version_is_a_400_naming_the_parameter(api: Api, query: str, where: tuple[str, str]) -> None:
    # When an operator asks for a model the engine does not have, or a version that is no whole number
    response = api.call("GET", f"{MODELS}/{query}", **OPERATOR)
    # Then it is a 400 naming the path or query parameter (the document lists the models)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR" and [(d["field"], d["in"]) for d in error["details"]] == [where], error


def test_segments_are_created_listed_and_versioned(api: Api) -> None:
    segment = unique("seg")
    # When an operator creates a segment, then updates it
    created = create_segment(api, segment, tagsAny=["payroll"], scores={"value": {"min": 10}})
    assert created["version"] == 1 and created["rule"]["tagsAny"] == ["payroll"]
    body = segment_body(segment, tagsAny=["payroll", "pension"])
    updated = api.call("PUT", f"{SEGMENTS}/{segment}", body=body, **OPERATOR)
    # Then the new version is current, the old one is kept, and the list shows the current one
    assert updated.status_code == 200 and updated.json()["version"] == 2
    assert api.call("GET", f"{SEGMENTS}/{segment}?version=1", **OPERATOR).json()["rule"]["scores"] == {"value": {"min": 10.0, "max": None}}
    listed = {s["segmentId"]: s for s in api.call("GET", SEGMENTS, **OPERATOR).json()["items"]}
    assert listed[segment]["version"] == 2


@pytest.mark.parametrize(
    ("rule", "status", "code"),
    [
        ({}, 400, "VALIDATION_ERROR"),
        ({"scores": {"value": {"min": 5, "max": 5}}}, 400, "VALIDATION_ERROR"),
        ({"scores": {"notAScore": {"min": 1}}}, 400, "VALIDATION_ERROR"),
        ({"lifecycleStages": ["dormant"]}, 400, "VALIDATION_ERROR"),
    ],
)
def test_an_invalid_segment_is_refused(api: Api, rule: dict[str, Any], status: int, code: str) -> None:
    response = api.call("POST", SEGMENTS, body=segment_body(unique("seg"), **rule), **OPERATOR)
    assert response.status_code == status and response.json()["error"]["code"] == code, response.text


def test_a_segment_id_is_taken_once(api: Api) -> None:
    segment = unique("seg")
    create_segment(api, segment, tagsAny=["x"])
    again = api.call("POST", SEGMENTS, body=segment_body(segment, tagsAny=["y"]), **OPERATOR)
    assert again.status_code == 409 and again.json()["error"]["code"] == "SEGMENT_EXISTS"


def test_members_come_page_by_page_and_the_estimate_counts_them(cloud: LocalCloud, api: Api) -> None:
    # Given a segment on a tag, and 5 scored customers with it (and one without)
    save_model(api, "lifecycle", TEST_LIFECYCLE)
    tag = unique("tag")
    segment = unique("seg")
    create_segment(api, segment, tagsAll=[tag])
    members = sorted(unique("sm") for _ in range(5))
    for customer in [*members, unique("sm-out")]:
        put_profile(cloud, customer, tags=[tag] if customer in members else [])
        ingest_ok(cloud, opened(customer), card(customer))
    # When an operator pages through the members, 2 at a time
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        page = api.call("GET", f"{SEGMENTS}/{segment}/members{query}", **OPERATOR)
        assert page.status_code == 200, page.text
        seen += [m["customerId"] for m in page.json()["items"]]
        pages += 1
        cursor = page.json()["nextCursor"]
        if not cursor:
            break
    # Then every member comes once, in order
    assert seen == members and pages >= 3
    # And a cursor from another segment's listing, or a forged one, is a 400, not a 500
    first = api.call("GET", f"{SEGMENTS}/{segment}/members?limit=2", **OPERATOR).json()["nextCursor"]
    another = unique("seg")
    create_segment(api, another, tagsAll=[tag])
    for cursor in (first, encode_cursor({"a": {"S": "1"}})):
        other = api.call("GET", f"{SEGMENTS}/{another}/members?cursor={cursor}", **OPERATOR)
        assert other.status_code == 400 and other.json()["error"]["code"] == "INVALID_CURSOR", other.text
    # And the estimate (over every scored customer here: exact) counts them
    estimate = api.call("GET", f"{SEGMENTS}/{segment}/estimate", **OPERATOR).json()
    assert estimate["matched"] == 5 and estimate["estimatedMembers"] == 5 and estimate["exact"] is True


def test_scores_are_for_operators_only(cloud: LocalCloud, api: Api) -> None:
    customer = unique("sc")
    put_profile(cloud, customer)
    ingest_ok(cloud, opened(customer))
    # A customer may not read their own raw scores, nor segments; an operator may
    assert api.call("GET", f"/v1/admin/customers/{customer}/scores", as_=customer).status_code == 403
    assert api.call("GET", SEGMENTS, as_=customer).status_code == 403
    scored = api.call("GET", f"/v1/admin/customers/{customer}/scores", **OPERATOR).json()
    assert set(scored["scores"]) == {"rfmRecency", "rfmFrequency", "rfmMonetary", "value", "churnRiskBps", "abuseRisk"}
    assert set(scored["modelVersions"]) == {"rfm", "value", "lifecycle", "churn", "abuse"}
    # And a mutating route without an Idempotency-Key is refused
    no_key = api.call("PUT", f"{MODELS}/churn", body=DEFAULT_MODELS["churn"], idempotency_key=None, **OPERATOR)
    assert no_key.status_code == 400


def test_segments_are_listed_page_by_page(api: Api) -> None:
    # Given two segments (and the segments of other tests)
    mine = {create_segment(api, unique("seg"), tagsAny=["x"])["segmentId"] for _ in range(2)}
    # When an operator lists them one a page
    seen: list[str] = []
    cursor = None
    while True:
        page = api.call("GET", f"{SEGMENTS}?limit=1" + (f"&cursor={cursor}" if cursor else ""), **OPERATOR)
        assert page.status_code == 200 and len(page.json()["items"]) <= 1, page.text
        seen += [s["segmentId"] for s in page.json()["items"]]
        if not (cursor := page.json()["nextCursor"]):
            break
    # Then each segment comes once, as the default page (every segment) lists them
    assert len(seen) == len(set(seen)) and mine <= set(seen)
    assert [s["segmentId"] for s in api.call("GET", SEGMENTS, **OPERATOR).json()["items"]] == seen
    # And a cursor of another listing is refused
    members = encode_cursor({"pk": {"S": "x"}, "sk": {"S": "y"}, "gsi1pk": {"S": "MEMBERS#x"}, "gsi1sk": {"S": "c"}})
    refused = api.call("GET", f"{SEGMENTS}?cursor={members}", **OPERATOR)
    assert refused.status_code == 400 and refused.json()["error"]["code"] == "INVALID_CURSOR", refused.text


@pytest.mark.parametrize(("query", "field"), [("?version=0", "version"), ("/members?limit=501", "limit"), ("/members?limit=0", "limit")])
def test_a_bad_segment_query_is_a_400_naming_the_parameter(api: Api, query: str, field: str) -> None:
    # (parameters are checked before the segment is looked up)
    response = api.call("GET", f"{SEGMENTS}/{unique('seg')}{query}", **OPERATOR)
    assert response.status_code == 400, response.text
    assert [(d["field"], d["in"]) for d in response.json()["error"]["details"]] == [(field, "query")]


def test_an_update_must_name_the_segment_of_its_path(api: Api) -> None:
    # Given a segment
    segment = create_segment(api, unique("seg"), tagsAny=["x"])["segmentId"]
    # When an operator saves a definition of another segment at its path
    response = api.call("PUT", f"{SEGMENTS}/{segment}", body=segment_body(unique("seg"), tagsAny=["y"]), **OPERATOR)
    # Then it is refused, naming the body's segmentId, and the segment is unchanged
    assert response.status_code == 400, response.text
    assert response.json()["error"]["details"] == [{"field": "segmentId", "in": "body", "problem": "must match the path's segmentId"}]
    assert api.call("GET", f"{SEGMENTS}/{segment}", **OPERATOR).json()["version"] == 1


def test_a_segment_name_with_control_characters_is_refused(api: Api) -> None:
    body = {**segment_body(unique("seg"), tagsAny=["x"]), "name": "line one\nline two"}
    response = api.call("POST", SEGMENTS, body=body, **OPERATOR)
    assert response.status_code == 400 and response.json()["error"]["details"][0]["field"] == "name", response.text
