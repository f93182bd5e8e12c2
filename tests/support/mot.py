"""MOT's test vocabulary: a rule, moments delivered to `mot-moments`, and an RM's calls."""

from __future__ import annotations

import json
import uuid
from typing import Any

import requests

from infra.local.cloud import LocalCloud
from tests.integration.test_customer_profiles import envelope as ingest_envelope
from tests.integration.test_customer_profiles import invoke_ingest
from tests.support.api import Api

MOT_RULES = "/v1/admin/mot-rules"
RM_GROUPS = ["relationship-managers"]
OPERATORS = ["operators"]


def rule_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "Large outflow: call within a day",
        # An account of its own: a rule's trigger never matches another test's moments
        "trigger": {"eventType": "LargeBalanceMovement",
                    "pattern": {"accountId": [f"a-{uuid.uuid4().hex[:10]}"], "deltaMinor": [{"numeric": ["<=", -1_000_000]}]}},
        "task": {"priority": 2, "slaHours": 24, "talkingPoints": "{customerId} moved {deltaMinor} out of {accountId}",
                 "message": {"channel": "wecom", "content": "您好 {customerId}，有新的存款优惠"}},
        "goal": {"moment": {"eventType": "LargeBalanceMovement", "pattern": {"deltaMinor": [{"numeric": [">", 0]}]}}, "withinDays": 14},
        "holdoutPercent": 0,
    }
    body.update(overrides)
    return body


def create_rule(api: Api, **overrides: Any) -> dict[str, Any]:
    response = api.call("POST", "/v1/admin/mot-rules", as_="op-mot", groups=OPERATORS, body=rule_body(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())


def envelope(detail_type: str, detail: dict[str, Any], source: str = "bank.core", event_id: str | None = None) -> str:
    return json.dumps({"id": event_id or str(uuid.uuid4()), "source": source, "detail-type": detail_type,
                       "time": "2026-12-07T04:00:00Z", "detail": detail})


def outflow(customer: str, delta_minor: int = -2_000_000, moved_at: str = "2026-12-07T03:00:00Z", account: str = "a-1") -> str:
    return envelope("LargeBalanceMovement", {"customerId": customer, "accountId": account, "deltaMinor": delta_minor, "currency": "CNY",
                                             "movedAt": moved_at})


def profile(customer: str, changed_at: str = "2026-12-01T00:00:00Z", **fields: Any) -> str:
    return envelope("CustomerProfileChanged", {"customerId": customer, "changedAt": changed_at, **fields})


def deliver_moments(cloud: LocalCloud, *bodies: str) -> dict[str, Any]:
    """The moments handed to `mot-moments` as one SQS batch, as its event source mapping would."""
    function = cloud.topology.function("mot-moments")
    records = [{"messageId": f"m-{i}", "body": body} for i, body in enumerate(bodies)]
    return dict(cloud.registry.invoke(function, {"Records": records}))


def rm_call(api: Api, method: str, path: str, rm: str, **kwargs: Any) -> requests.Response:
    return api.call(method, path, as_=rm, groups=RM_GROUPS, org=None, **kwargs)


def rm_tasks(api: Api, rm: str, status: str | None = None) -> list[dict[str, Any]]:
    response = rm_call(api, "GET", "/v1/rm/tasks" + (f"?status={status}" if status else ""), rm)
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def new_rm() -> str:
    return f"rm-{uuid.uuid4().hex[:8]}"


def account() -> str:
    """A rule matching only this test's account: every test's rules stay out of the others' moments.
    (Two customers' moments on one account need distinct times: an account and an instant are one occurrence.)"""
    return f"a-{uuid.uuid4().hex[:10]}"


def customer_of(cloud: LocalCloud, rm: str | None, aum_minor: int = 50_000_000, **fields: Any) -> str:
    customer = f"c-{uuid.uuid4().hex[:10]}"
    extra = {"relationshipManagerId": rm} if rm else {}
    invoke_ingest(cloud, ingest_envelope(customer, "2026-12-01T00:00:00Z", aumMinor=aum_minor, currency="CNY", **extra, **fields))
    deliver_moments(cloud, profile(customer, **extra))
    return customer


def outflow_rule(api: Api, acct: str, **overrides: Any) -> dict[str, Any]:
    trigger = {"eventType": "LargeBalanceMovement", "pattern": {"accountId": [acct], "deltaMinor": [{"numeric": ["<", 0]}]}}
    return create_rule(api, trigger=trigger, **overrides)
