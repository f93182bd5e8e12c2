"""What the browser tests need on the system, made through the operator API as a bank's staff would."""

from __future__ import annotations

import json
from typing import Any

from tests.e2e.conftest import RunningSystem
from tests.support.api import Api

OPS: dict[str, Any] = {"as_": "op-seed", "groups": ["operators"]}


def ok(response: Any) -> dict[str, Any]:
    assert response.status_code < 300, f"{response.request.method} {response.request.url}: {response.status_code} {response.text}"
    return dict(response.json())


def coupon_template(api: Api, template_id: str, *, kind: str = "fixed_amount", activate: bool = True) -> dict[str, Any]:
    benefit = {"kind": "fixed_amount", "amountMinor": 5000, "currency": "CNY"} if kind == "fixed_amount" else {"kind": "voucher_code", "provider": "Coffee Co"}
    body = {
        "templateId": template_id,
        "name": f"50 off ({template_id})" if kind == "fixed_amount" else f"Coffee voucher ({template_id})",
        "benefit": benefit,
        "totalStock": 0 if kind == "voucher_code" else 10_000,
        "shards": 2,
        "validity": {"type": "days_after_claim", "days": 30},
        "funding": {"costCentre": "cc-marketing", "unitCostMinor": 5000, "currency": "CNY"},
    }
    created = ok(api.call("POST", "/v1/admin/coupon-templates", body=body, **OPS))
    if activate:
        ok(api.call("PUT", f"/v1/admin/coupon-templates/{template_id}/status", body={"status": "active"}, **OPS))
    return created


def demo_programme(system: RunningSystem) -> dict[str, str]:
    """A points rule, a ladder, a mall item and a segment, so that each screen has something to show."""
    api = system.api
    ok(api.call("POST", "/v1/admin/point-rules", body={
        "ruleId": "browser-card-1-per-10", "name": "Card spend: 1 point per 10 yuan", "eventType": "CardTransactionPosted",
        "award": {"mode": "per_amount", "perAmountMinor": 1000, "points": 1, "rounding": "down"},
        "validity": {"type": "end_of_month", "monthsLater": 12}, "category": "transaction", "costCentre": "cc-cards"}, **OPS))
    ok(api.call("PUT", "/v1/admin/point-tiers", body={"tiers": [
        {"tierId": "standard", "name": "Standard", "minGrowth": 0},
        {"tierId": "gold", "name": "Gold", "minGrowth": 1000},
        {"tierId": "platinum", "name": "Platinum", "minGrowth": 5000}]}, **OPS))
    ok(api.call("PUT", "/v1/admin/points/catalogue/browser-umbrella", body={
        "itemId": "browser-umbrella", "kind": "mall_item", "name": "Folding umbrella", "points": 300, "cashMinor": 990, "currency": "CNY"}, **OPS))
    ok(api.call("POST", "/v1/admin/segments", body={"segmentId": "browser-payroll", "name": "Payroll customers", "rule": {"tagsAny": ["payroll"]}}, **OPS))
    ok(api.call("POST", "/v1/admin/customers/c-001/points/adjustments", body={"points": 500, "reason": "Welcome goodwill", "costCentre": "cc-service"}, **OPS))
    return {"segment": "browser-payroll"}


def publish(system: RunningSystem, detail_type: str, details: list[dict[str, Any]]) -> None:
    """Bank events on the bus, as core banking publishes them (boto3 against the system's emulator)."""
    import boto3

    events = boto3.client("events", endpoint_url=system.aws_endpoint, region_name="us-east-1", aws_access_key_id="local", aws_secret_access_key="local")
    entries: list[Any] = [{"EventBusName": "loyalty-events", "Source": "bank.core", "DetailType": detail_type, "Detail": json.dumps(d)} for d in details]
    for start in range(0, len(entries), 10):
        result = events.put_events(Entries=entries[start:start + 10])
        assert result["FailedEntryCount"] == 0, result
