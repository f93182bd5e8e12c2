"""A small demo bank: a few customers, published the way core banking would publish them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from infra.topology import BANK_SOURCE, Topology

DEMO_CUSTOMERS: list[dict[str, Any]] = [
    {"customerId": "c-001", "birthday": "1990-03-14", "branchId": "sh-pudong", "tags": ["payroll"],
     "aumMinor": 52_000_000, "currency": "CNY", "riskLevel": "R3", "channels": ["app", "wechat"]},
    {"customerId": "c-002", "birthday": "1985-11-23", "branchId": "sh-xuhui", "tags": ["car-owner"],
     "aumMinor": 8_800_000, "currency": "CNY", "riskLevel": "R2", "channels": ["app"]},
    {"customerId": "c-003", "birthday": "1972-07-01", "branchId": "bj-chaoyang", "tags": ["pension", "vip"],
     "aumMinor": 650_000_000, "currency": "CNY", "riskLevel": "R1", "channels": ["branch", "app"]},
    {"customerId": "c-004", "birthday": "2001-01-09", "branchId": "sz-nanshan", "tags": [],
     "aumMinor": 150_000, "currency": "CNY", "riskLevel": "R4", "channels": ["app"]},
]


def seed_demo_bank(topology: Topology, events_client: Any) -> list[str]:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    entries = [
        {
            "EventBusName": topology.bus_name,
            "Source": BANK_SOURCE,
            "DetailType": "CustomerProfileChanged",
            "Detail": json.dumps({**customer, "changedAt": now, "openedAt": "2020-01-01T00:00:00Z"}),
        }
        for customer in DEMO_CUSTOMERS
    ]
    events_client.put_events(Entries=entries)
    return [c["customerId"] for c in DEMO_CUSTOMERS]


DEMO_TEMPLATE: dict[str, Any] = {
    "templateId": "welcome-10",
    "name": "Welcome: 10 yuan off any card payment",
    "benefit": {"kind": "fixed_amount", "amountMinor": 1000, "currency": "CNY"},
    "totalStock": 1000,
    "shards": 4,
    "validity": {"type": "days_after_claim", "days": 30},
    "limits": {"perCustomerLifetime": 1},
    "funding": {"costCentre": "retail-marketing", "unitCostMinor": 1000, "currency": "CNY"},
}


HEAD_OFFICE: dict[str, Any] = {"unitId": "hq", "kind": "head_office", "name": "总行"}  # as the demo bank's tree has it


def seed_head_office(api_url: str, operator_token: str) -> str:
    """The org tree's head office (hq), which every operator route's scope needs; one already there is
    left as it is (the demo seeding's own create of it then answers ORG_UNIT_EXISTS, which it tolerates)."""
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        api_url + "/v1/admin/org-units",
        data=json.dumps(HEAD_OFFICE).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {operator_token}", "Content-Type": "application/json", "Idempotency-Key": "seed-head-office"},
    )
    try:
        urllib.request.urlopen(request, timeout=30).close()
    except urllib.error.HTTPError as error:
        code = json.loads(error.read() or b"{}").get("error", {}).get("code")
        if code not in ("ORG_UNIT_EXISTS", "ORG_ROOT_EXISTS"):
            raise
    return str(HEAD_OFFICE["unitId"])


def seed_demo_coupons(api_url: str, operator_token: str) -> str:
    """An active template, created through the operator API as an operator would."""
    import urllib.request

    def call(method: str, path: str, body: dict[str, Any], key: str) -> None:
        request = urllib.request.Request(
            api_url + path,
            data=json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {operator_token}", "Content-Type": "application/json", "Idempotency-Key": key},
        )
        urllib.request.urlopen(request, timeout=30).close()

    call("POST", "/v1/admin/coupon-templates", DEMO_TEMPLATE, "seed-template")
    call("PUT", f"/v1/admin/coupon-templates/{DEMO_TEMPLATE['templateId']}/status", {"status": "active"}, "seed-activate")
    return str(DEMO_TEMPLATE["templateId"])
