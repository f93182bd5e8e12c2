"""e2e, a key moment through the running system (issue 20's "done when", docs/mot.md): core banking
publishes a large outflow three times; one task reaches the customer's relationship manager; the RM
sends the suggested offer and a WeCom message; the providers' simulator receives exactly one message;
the coupon is in the customer's wallet; money coming back within the window is a conversion.

The system is one of its own with quiet hours off (start = end), so the message goes out whatever
the time of day the suite runs at (quiet hours are tested with an injected clock in the integration
tests)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
import requests

from tests.e2e.conftest import RunningSystem, running_system
from tests.support import coupons as cpn
from tests.support.api import eventually
from tests.support.mot import OPERATORS, RM_GROUPS, rule_body

REGION, KEY = "us-east-1", "local"


@pytest.fixture(scope="module")
def quiet_free_system() -> Iterator[RunningSystem]:
    with running_system(env={"QUIET_HOURS_START": "00:00", "QUIET_HOURS_END": "00:00"}) as running:
        yield running


def put(system: RunningSystem, detail_type: str, detail: dict[str, Any], source: str = "bank.core") -> None:
    events = boto3.client("events", endpoint_url=system.aws_endpoint, region_name=REGION, aws_access_key_id=KEY, aws_secret_access_key=KEY)
    result = events.put_events(Entries=[{"EventBusName": "loyalty-events", "Source": source, "DetailType": detail_type,
                                         "Detail": json.dumps(detail)}])
    assert result["FailedEntryCount"] == 0


def wecom_received(system: RunningSystem) -> list[dict[str, Any]]:
    """What the providers' simulator took on WeCom's message API (its address is in the provider's secret)."""
    secrets = boto3.client("secretsmanager", endpoint_url=system.aws_endpoint, region_name=REGION, aws_access_key_id=KEY,
                           aws_secret_access_key=KEY)
    base = json.loads(secrets.get_secret_value(SecretId="loyalty/local/providers/wecom")["SecretString"])["baseUrl"]
    return list(requests.get(f"{base}/_sim/received", params={"provider": "wecom"}, timeout=10).json()["messages"])


def test_an_outflow_becomes_one_task_an_offer_a_message_and_a_conversion(quiet_free_system: RunningSystem) -> None:
    system, api, rm, account = quiet_free_system, quiet_free_system.api, f"rm-{uuid.uuid4().hex[:8]}", f"a-{uuid.uuid4().hex[:8]}"
    # Given a rule on large outflows from this account, suggesting a 50-yuan coupon and a WeCom message
    template = cpn.active_template(api, benefit=cpn.fixed_amount(5_000), stock=10)
    trigger = {"eventType": "LargeBalanceMovement", "pattern": {"accountId": [account], "deltaMinor": [{"numeric": ["<=", -1_000_000]}]}}
    task = {"priority": 1, "slaHours": 24, "talkingPoints": "{customerId}: {deltaMinor} out of {accountId}",
            "offer": {"templateId": template}, "message": {"channel": "wecom", "content": "您好，存款到期前聊聊？"}}
    goal = {"moment": {"eventType": "LargeBalanceMovement", "pattern": {"accountId": [account], "deltaMinor": [{"numeric": [">", 0]}]}},
            "withinDays": 14}
    created = api.call("POST", "/v1/admin/mot-rules", as_="op-mot", groups=OPERATORS,
                       body=rule_body(trigger=trigger, task=task, goal=goal, holdoutPercent=0))
    assert created.status_code == 201, created.text
    rule = created.json()
    # And a customer whose profile names the RM, who consents to WeCom marketing
    customer = cpn.new_customer()
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    put(system, "CustomerProfileChanged", {"customerId": customer, "changedAt": now, "relationshipManagerId": rm,
                                           "aumMinor": 80_000_000, "currency": "CNY"})
    put(system, "CustomerConsentChanged", {"customerId": customer, "channel": "wecom", "purpose": "marketing", "granted": True,
                                           "changedAt": now})
    eventually(lambda: api.call("GET", f"/v1/customers/{customer}/consents", as_=customer).json().get("wecom", {}).get("granted"),
               timeout_s=30)

    # When core banking publishes the outflow three times
    outflow = {"customerId": customer, "accountId": account, "deltaMinor": -3_000_000, "currency": "CNY", "movedAt": now}
    for _ in range(3):
        put(system, "LargeBalanceMovement", outflow)

    # Then the RM has exactly one task (and still one once the copies have gone through)
    def tasks() -> list[dict[str, Any]]:
        answer = api.call("GET", "/v1/rm/tasks", as_=rm, groups=RM_GROUPS, org=None)
        assert answer.status_code == 200, answer.text
        return list(answer.json()["items"])

    (found,) = eventually(lambda: tasks() or None, timeout_s=30)
    time.sleep(3)  # not a timed assertion: lets the three copies reach the consumer before counting again
    assert [t["taskId"] for t in tasks()] == [found["taskId"]]
    assert found["talkingPoints"] == f"{customer}: -3000000 out of {account}"

    # When the RM sends the suggested offer and the WeCom message
    path = f"/v1/rm/tasks/{found['taskId']}"
    offered = api.call("POST", f"{path}/offer", as_=rm, groups=RM_GROUPS, org=None)
    assert offered.status_code == 200, offered.text
    messaged = api.call("POST", f"{path}/message", as_=rm, groups=RM_GROUPS, org=None)
    assert messaged.status_code == 200, messaged.text

    # Then the customer's wallet holds the coupon, and the simulator received exactly one message, to them
    assert [c["templateId"] for c in cpn.wallet_items(api, customer)] == [template]
    to_customer = eventually(lambda: [m for m in wecom_received(system) if m.get("external_userid") == [customer]] or None,
                             timeout_s=30)
    assert len(to_customer) == 1 and to_customer[0]["text"]["content"] == "您好，存款到期前聊聊？"

    # When the RM records the contact and money comes back into the account within the window
    done = api.call("POST", f"{path}/complete", as_=rm, groups=RM_GROUPS, org=None, body={"outcome": "interested"})
    assert done.status_code == 200, done.text
    later = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    put(system, "LargeBalanceMovement", {**outflow, "deltaMinor": 5_000_000, "movedAt": later})

    # Then the rule's report counts the task, the offer, the message and the conversion
    def report() -> dict[str, Any]:
        return dict(api.call("GET", f"/v1/admin/mot-rules/{rule['ruleId']}/report", as_="op-mot", groups=OPERATORS).json())

    converted = eventually(lambda: report() if report()["rows"][0]["conversions"] == 1 else None, timeout_s=30)
    totals = converted["rows"][0]
    assert (totals["scope"], totals["created"], totals["offers"], totals["messages"], totals["done"]) == ("rule", 1, 1, 1, 1)
    assert converted["contactedConversionRate"] == 1.0
