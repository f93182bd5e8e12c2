"""Throttling: AWS cancels transactions with ThrottlingError under load; moto never does, so the
emulator injects it here. A throttled claim is retried and never answered out of stock."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest

from infra.local.cloud import LocalCloud
from infra.local.emulator import Fault
from tests.support.api import Api

OPERATOR = {"as_": "op-throttle", "groups": ["operators"]}


def throttled_transactions(count: int | None) -> Fault:
    """Cancels the next `count` TransactWriteItems (all of them if None) as DynamoDB does under load."""
    left = [count]

    def fault(target: str, body: bytes) -> tuple[str, list[tuple[str, str]], bytes] | None:
        if not target.endswith("TransactWriteItems") or left[0] == 0:
            return None
        if left[0] is not None:
            left[0] -= 1
        items = json.loads(body)["TransactItems"]
        reasons = [{"Code": "ThrottlingError", "Message": "Throughput exceeds the current capacity"}] + [{"Code": "None"}] * (len(items) - 1)
        payload = {"__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
                   "Message": "Transaction cancelled", "CancellationReasons": reasons}
        return "400 Bad Request", [("Content-Type", "application/x-amz-json-1.0")], json.dumps(payload).encode()

    return fault


@pytest.fixture()
def template(api: Api) -> Iterator[str]:
    template_id = f"thr-{uuid.uuid4().hex[:8]}"
    body = {
        "templateId": template_id, "name": "throttled", "benefit": {"kind": "fixed_amount", "amountMinor": 100, "currency": "CNY"},
        "totalStock": 5, "shards": 2, "validity": {"type": "days_after_claim", "days": 7},
        "funding": {"costCentre": "cc", "unitCostMinor": 100, "currency": "CNY"},
    }
    assert api.call("POST", "/v1/admin/coupon-templates", body=body, **OPERATOR).status_code == 201  # type: ignore[arg-type]
    assert api.call("PUT", f"/v1/admin/coupon-templates/{template_id}/status", body={"status": "active"}, **OPERATOR).ok  # type: ignore[arg-type]
    yield template_id


def stock_left(api: Api, template_id: str) -> int:
    return int(api.call("GET", f"/v1/admin/coupon-templates/{template_id}", **OPERATOR).json()["stockLeft"])  # type: ignore[arg-type]


def test_a_briefly_throttled_claim_is_retried_and_served(cloud: LocalCloud, api: Api, template: str) -> None:
    # Given DynamoDB throttling the next two transactions
    cloud.emulator.app.fault = throttled_transactions(2)
    try:
        # When a customer claims
        response = api.call("POST", "/v1/coupons/claims", as_=f"c-{uuid.uuid4().hex[:6]}", body={"templateId": template})
    finally:
        cloud.emulator.app.fault = None
    # Then the claim is served once the throttling passes, and one coupon left the stock
    assert response.status_code == 201, response.text
    assert stock_left(api, template) == 4


def test_a_claim_throttled_throughout_gets_429_not_out_of_stock(cloud: LocalCloud, api: Api, template: str) -> None:
    # Given DynamoDB throttling every transaction
    cloud.emulator.app.fault = throttled_transactions(None)
    try:
        response = api.call("POST", "/v1/coupons/claims", as_=f"c-{uuid.uuid4().hex[:6]}", body={"templateId": template})
    finally:
        cloud.emulator.app.fault = None
    # Then the client is told to retry (429), not that the stock is gone, and nothing changed
    assert response.status_code == 429, response.text
    assert response.json()["error"]["code"] == "CLAIMS_THROTTLED"
    assert stock_left(api, template) == 5
