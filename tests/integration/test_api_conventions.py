"""The API conventions every route follows, checked on the customer routes over HTTP."""

from __future__ import annotations

import concurrent.futures
import time
import uuid
from typing import Any

import jwt
import pytest

from infra.local import tokens
from infra.local.cloud import LocalCloud
from tests.integration.test_customer_profiles import envelope, invoke_ingest, new_customer_id, stored
from tests.support.api import Api

OPERATOR = {"as_": "op-1", "groups": ["operators"]}


@pytest.fixture()
def customer(cloud: LocalCloud) -> str:
    customer_id = new_customer_id()
    invoke_ingest(cloud, envelope(customer_id, "2026-11-23T10:00:00Z", tags=["t"]))
    return customer_id


def error_code(response: Any) -> str:
    return str(response.json()["error"]["code"])


@pytest.mark.parametrize(
    "token",
    [
        None,
        "not-a-jwt",
        jwt.encode({"sub": "c-1", "iss": tokens.ISSUER, "aud": tokens.AUDIENCE, "exp": int(time.time()) - 10}, tokens.signing_key()),
        jwt.encode({"sub": "c-1", "iss": tokens.ISSUER, "aud": tokens.AUDIENCE, "exp": int(time.time()) + 600}, "wrong-key-0123456789-0123456789-01"),
        jwt.encode({"sub": "c-1", "iss": tokens.ISSUER, "aud": tokens.AUDIENCE, "exp": int(time.time()) + 600}, None, algorithm="none"),  # type: ignore[arg-type]
    ],
    ids=["missing", "garbage", "expired", "wrong-signature", "alg-none"],
)
def test_a_missing_or_bad_token_gets_401(api: Api, customer: str, token: str | None) -> None:
    # Given a request with no valid token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    # When it asks for a profile
    response = api.call("GET", f"/v1/customers/{customer}", headers=headers)
    # Then it is refused as unauthenticated
    assert response.status_code == 401
    assert error_code(response) == "UNAUTHENTICATED"


def test_a_customer_cannot_read_another_customers_profile(api: Api, customer: str) -> None:
    response = api.call("GET", f"/v1/customers/{customer}", as_="someone-else")
    assert response.status_code == 403
    assert error_code(response) == "NOT_RESOURCE_OWNER"


def test_an_operator_reads_any_profile_and_unknown_ones_are_404(api: Api, customer: str) -> None:
    assert api.call("GET", f"/v1/customers/{customer}", **OPERATOR).status_code == 200  # type: ignore[arg-type]
    missing = api.call("GET", "/v1/customers/nobody-here", **OPERATOR)  # type: ignore[arg-type]
    assert missing.status_code == 404
    assert error_code(missing) == "CUSTOMER_NOT_FOUND"


def test_admin_routes_need_the_operators_group(cloud: LocalCloud, api: Api, customer: str) -> None:
    # Given a customer token, even the customer's own id
    # When it calls an admin route
    response = api.call("PUT", f"/v1/admin/customers/{customer}/tags", as_=customer, body={"tags": ["x"]})
    # Then it is forbidden and nothing changed
    assert response.status_code == 403
    assert error_code(response) == "OPERATOR_REQUIRED"
    assert "operatorTags" not in stored(cloud, customer)  # type: ignore[operator]


@pytest.mark.parametrize(
    ("raw", "headers", "status", "code"),
    [
        ("{not json", {}, 400, "MALFORMED_JSON"),
        ('{"tags": ["a"]}', {"Content-Type": "text/plain"}, 415, "UNSUPPORTED_MEDIA_TYPE"),
        ('{"tags": ["a"], "colour": "red"}', {}, 400, "VALIDATION_ERROR"),
        ('{"tags": "a"}', {}, 400, "VALIDATION_ERROR"),
        ('{"tags": ["a"]}', {"Idempotency-Key": ""}, 400, "IDEMPOTENCY_KEY_REQUIRED"),
        ('{"tags": ["' + "a" * 70_000 + '"]}', {}, 413, "PAYLOAD_TOO_LARGE"),
        ("", {}, 400, "BODY_REQUIRED"),
    ],
    ids=["malformed-json", "content-type", "unknown-field", "wrong-type", "no-idempotency-key", "oversized", "empty"],
)
def test_bad_input_gets_a_clear_4xx_and_changes_nothing(
    cloud: LocalCloud, api: Api, customer: str, raw: str, headers: dict[str, str], status: int, code: str
) -> None:
    # Given a well-authorized operator sending a bad body
    # When it calls the tags route
    response = api.call("PUT", f"/v1/admin/customers/{customer}/tags", raw=raw, headers=headers, **OPERATOR)  # type: ignore[arg-type]
    # Then the status and code say what is wrong, and the profile is untouched
    assert response.status_code == status, response.text
    assert error_code(response) == code
    assert set(response.json()["error"]) == {"code", "message", "details"}
    assert "operatorTags" not in stored(cloud, customer)  # type: ignore[operator]


def test_unknown_field_details_name_the_field(api: Api, customer: str) -> None:
    response = api.call("PUT", f"/v1/admin/customers/{customer}/tags", body={"tags": [], "colour": "red"}, **OPERATOR)  # type: ignore[arg-type]
    assert response.json()["error"]["details"][0]["field"] == "colour"


def test_the_same_idempotency_key_replays_the_first_response(cloud: LocalCloud, api: Api, customer: str) -> None:
    # Given a tags call that succeeded
    key = str(uuid.uuid4())
    first = api.call("PUT", f"/v1/admin/customers/{customer}/tags", body={"tags": ["a"]}, idempotency_key=key, **OPERATOR)  # type: ignore[arg-type]
    # And the tags were changed since by another call
    api.call("PUT", f"/v1/admin/customers/{customer}/tags", body={"tags": ["b"]}, **OPERATOR)  # type: ignore[arg-type]
    # When the first call is replayed with its key and body (fields in another order do not matter)
    replay = api.call("PUT", f"/v1/admin/customers/{customer}/tags", raw='{ "tags" : ["a"] }', idempotency_key=key, **OPERATOR)  # type: ignore[arg-type]
    # Then it returns the first response and does not run again
    assert replay.status_code == first.status_code == 200
    assert replay.json() == first.json()
    assert replay.headers.get("Idempotent-Replayed") == "true"
    assert stored(cloud, customer)["operatorTags"] == {"L": [{"S": "b"}]}  # type: ignore[index]


def test_the_same_key_with_another_body_gets_422(api: Api, customer: str) -> None:
    key = str(uuid.uuid4())
    api.call("PUT", f"/v1/admin/customers/{customer}/tags", body={"tags": ["a"]}, idempotency_key=key, **OPERATOR)  # type: ignore[arg-type]
    response = api.call("PUT", f"/v1/admin/customers/{customer}/tags", body={"tags": ["z"]}, idempotency_key=key, **OPERATOR)  # type: ignore[arg-type]
    assert response.status_code == 422
    assert error_code(response) == "IDEMPOTENCY_KEY_REUSED"


def test_a_refused_call_does_not_burn_its_idempotency_key(api: Api) -> None:
    # Given a call refused because the customer does not exist
    key = str(uuid.uuid4())
    refused = api.call("PUT", "/v1/admin/customers/not-yet/tags", body={"tags": ["a"]}, idempotency_key=key, **OPERATOR)  # type: ignore[arg-type]
    assert refused.status_code == 404
    # When the client retries under the same key with a corrected request
    retried = api.call("PUT", "/v1/admin/customers/not-yet/tags", body={"tags": ["b"]}, idempotency_key=key, **OPERATOR)  # type: ignore[arg-type]
    # Then it is judged afresh, not as a reused key
    assert retried.status_code == 404


def test_concurrent_calls_with_one_key_run_once(api: Api, customer: str) -> None:
    # Given 12 threads sending the same call with the same key at once
    key = str(uuid.uuid4())

    def send(_: int) -> int:
        return api.call("PUT", f"/v1/admin/customers/{customer}/tags", body={"tags": ["once"]}, idempotency_key=key, **OPERATOR).status_code  # type: ignore[arg-type]

    with concurrent.futures.ThreadPoolExecutor(12) as pool:
        statuses = list(pool.map(send, range(12)))
    # Then each got the result or was told the first is still in flight; none ran twice
    assert set(statuses) <= {200, 409}
    assert 200 in statuses
