"""e2e, points: an operator creates an earn rule; core banking publishes a card transaction on
`loyalty-events` with boto3; the customer sees the points; a published refund takes them back.

Module order: pytest runs this file after test_local_cloud.py, whose last test stops the session's
system. So this module uses the session's system while it is still running, and otherwise starts
one of its own (as `make run` does) and stops it at the end.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests

from tests.e2e.conftest import RunningSystem
from tests.support.api import Api, eventually, free_port
from tests.support.points import OPERATOR, RULES, card_refund, card_transaction, new_customer, rule_body, unique


@pytest.fixture(scope="module")
def running(request: pytest.FixtureRequest) -> Iterator[RunningSystem]:
    shared: RunningSystem = request.getfixturevalue("system")
    if shared.process.poll() is None:
        yield shared
        return
    api_port, aws_port = free_port(), free_port()
    env = {**os.environ, "LOCAL_API_PORT": str(api_port), "LOCAL_EMULATOR_PORT": str(aws_port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "infra.local", "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    base = f"http://127.0.0.1:{api_port}"

    def healthy() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the local cloud exited early:\n{process.stdout.read() if process.stdout else ''}")
        try:
            return requests.get(f"{base}/_local/health", timeout=1).ok
        except requests.ConnectionError:
            return False

    eventually(healthy, timeout_s=60, interval_s=0.2)
    try:
        yield RunningSystem(process, Api(base), f"http://127.0.0.1:{aws_port}")
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)


def events_client(system: RunningSystem) -> Any:
    return boto3.client(
        "events", endpoint_url=system.aws_endpoint, region_name="us-east-1",
        aws_access_key_id="local", aws_secret_access_key="local",
    )


def put(system: RunningSystem, detail_type: str, detail: dict[str, Any]) -> None:
    result = events_client(system).put_events(
        Entries=[{"EventBusName": "loyalty-events", "Source": "bank.core", "DetailType": detail_type, "Detail": json.dumps(detail)}]
    )
    assert result["FailedEntryCount"] == 0


def test_a_card_transaction_earns_points_and_its_refund_takes_them_back(running: RunningSystem) -> None:
    api = running.api
    customer, merchant, rule_id = new_customer(), unique("m"), unique("r")
    # Given an operator's rule: 1 point per 10 yuan at one merchant
    created = api.call("POST", RULES, body=rule_body(rule_id, merchant), **OPERATOR)
    assert created.status_code == 201, created.text
    # When core banking publishes a 1288 yuan card transaction there
    tx = card_transaction(customer, merchant, 128_800)
    put(running, "CardTransactionPosted", tx)

    def points() -> dict[str, Any]:
        response = api.call("GET", f"/v1/customers/{customer}/points", as_=customer)
        assert response.status_code == 200, response.text
        return dict(response.json())

    # Then the customer sees 128 points
    eventually(lambda: points()["available"] == 128, timeout_s=15)
    (earned,) = api.call("GET", f"/v1/customers/{customer}/points/history", as_=customer).json()["items"]
    assert earned["kind"] == "earn" and earned["source"]["ruleId"] == rule_id
    # And when the transaction is refunded in full, the points are taken back
    put(running, "CardTransactionRefunded", card_refund(customer, tx["transactionId"], 128_800))
    eventually(lambda: points()["available"] == 0, timeout_s=15)
    kinds = [e["kind"] for e in api.call("GET", f"/v1/customers/{customer}/points/history", as_=customer).json()["items"]]
    assert kinds == ["reverse", "earn"]
