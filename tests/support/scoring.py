"""Scoring helpers shared by the integration and e2e tests: profiles, feature events as the
scoring-ingest function receives them, the operator API, a bus tap for `loyalty.scoring`, and a
lifecycle model in which transactions move a customer from `new` to `active`.

Every test makes its own customer and segment ids; models are session-wide, so tests that save one
save the same test model (TEST_LIFECYCLE) or restore what they changed.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from tests.support.api import Api
from tests.support.bus import BusTap

if TYPE_CHECKING:
    from infra.local.cloud import LocalCloud

OPERATOR: dict[str, Any] = {"as_": "op-scoring", "groups": ["operators"]}
MODELS = "/v1/admin/scoring/models"
SEGMENTS = "/v1/admin/segments"
INGEST = "scoring-ingest"
NIGHTLY = "scoring-nightly"
QUEUE, DLQ = "scoring-events", "scoring-events-dlq"

# new: onboarded fewer than 90 days ago with fewer than 2 transactions in 90 days; active: 2 or more.
PRODUCT = {"productsHeld": {"min": 1}}
TEST_LIFECYCLE: dict[str, Any] = {
    "rules": [
        {"stage": "potential", "when": {"productsHeld": {"max": 1}}},
        {"stage": "new", "when": {**PRODUCT, "daysSinceOnboarding": {"max": 90}, "frequency90": {"max": 2}}},
        {"stage": "active", "when": {**PRODUCT, "frequency90": {"min": 2}, "frequency365": {"min": 1}, "monetary365Minor": {"max": 5_000_000}}},
        {"stage": "high_value", "when": {**PRODUCT, "frequency90": {"min": 2}, "frequency365": {"min": 1}, "monetary365Minor": {"min": 5_000_000}}},
        {"stage": "silent", "when": {**PRODUCT, "daysSinceOnboarding": {"min": 90}, "frequency90": {"max": 2}, "frequency365": {"min": 1}}},
        {"stage": "churned", "when": {**PRODUCT, "daysSinceOnboarding": {"min": 90}, "frequency365": {"max": 1}}},
    ],
    "otherwise": "potential",
}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def hours_ago(hours: float) -> str:
    return iso(datetime.now(UTC) - timedelta(hours=hours))


_last_snapshot = datetime.min.replace(tzinfo=UTC)


def next_snapshot_time() -> str:
    """An hour ago, to the microsecond and later than the last one this process made: a test that
    sends a customer two snapshots means the second to be newer, also when both fall in one second."""
    global _last_snapshot
    _last_snapshot = max(datetime.now(UTC) - timedelta(hours=1), _last_snapshot + timedelta(microseconds=1))
    return _last_snapshot.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def profile(customer_id: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    return "CustomerProfileChanged", {"customerId": customer_id, "changedAt": next_snapshot_time(), **fields}


def opened(customer_id: str, product: str = "debit-card", days_ago: int = 10) -> tuple[str, dict[str, Any]]:
    return "AccountOpened", {"customerId": customer_id, "accountId": unique("acc"), "productCode": product, "channel": "app",
                             "openedAt": hours_ago(24 * days_ago)}


def card(customer_id: str, amount_minor: int = 10_000, hours: float = 2) -> tuple[str, dict[str, Any]]:
    return "CardTransactionPosted", {"transactionId": unique("tx"), "customerId": customer_id, "amountMinor": amount_minor, "currency": "CNY",
                                     "merchantId": "m-1", "mcc": "5812", "channel": "pos", "postedAt": hours_ago(hours)}


def envelope(detail_type: str, detail: dict[str, Any], event_id: str | None = None, source: str = "bank.core") -> str:
    return json.dumps({"version": "0", "id": event_id or str(uuid.uuid4()), "source": source, "detail-type": detail_type,
                       "time": iso(datetime.now(UTC)), "detail": detail})


def ingest(cloud: LocalCloud, *bodies: str) -> dict[str, Any]:
    """The scoring-ingest function, in-process, with one SQS batch (record ids m-0, m-1, ...)."""
    records = [{"messageId": f"m-{i}", "body": body} for i, body in enumerate(bodies)]
    return dict(cloud.registry.invoke(cloud.topology.function(INGEST), {"Records": records}))


def ingest_ok(cloud: LocalCloud, *events: tuple[str, dict[str, Any]]) -> None:
    for detail_type, detail in events:
        result = ingest(cloud, envelope(detail_type, detail))
        assert result == {"batchItemFailures": []}, (detail_type, result)


def put_profile(cloud: LocalCloud, customer_id: str, **fields: Any) -> tuple[str, dict[str, Any]]:
    """The profile as customers-ingest stores it, invoked in-process (no wait for the queue)."""
    detail_type, detail = profile(customer_id, **fields)
    records = [{"messageId": "p", "body": envelope(detail_type, detail)}]
    result = cloud.registry.invoke(cloud.topology.function("customers-ingest"), {"Records": records})
    assert result == {"batchItemFailures": []}, result
    return detail_type, detail


def profile_snapshot(cloud: LocalCloud, customer_id: str, **fields: Any) -> None:
    """A profile change as the bus delivers it to both consumers: customers-ingest stores the
    snapshot, then scoring sees the same event (scoring waits for a profile at least that new)."""
    ingest_ok(cloud, put_profile(cloud, customer_id, **fields))


def save_model(api: Api, name: str, config: dict[str, Any]) -> dict[str, Any]:
    response = api.call("PUT", f"{MODELS}/{name}", body=config, **OPERATOR)
    assert response.status_code == 200, response.text
    return dict(response.json())


def segment_body(segment_id: str, **rule: Any) -> dict[str, Any]:
    return {"segmentId": segment_id, "name": f"test segment {segment_id}", "rule": rule}


def create_segment(api: Api, segment_id: str, **rule: Any) -> dict[str, Any]:
    response = api.call("POST", SEGMENTS, body=segment_body(segment_id, **rule), **OPERATOR)
    assert response.status_code == 201, response.text
    return dict(response.json())


def scores_of(api: Api, customer_id: str) -> dict[str, Any]:
    response = api.call("GET", f"/v1/admin/customers/{customer_id}/scores", **OPERATOR)
    assert response.status_code == 200, response.text
    return dict(response.json())


def stored_profile(cloud: LocalCloud, customer_id: str) -> dict[str, Any]:
    from loyalty.core.dynamo import from_item

    item = cloud.clients.dynamodb.get_item(TableName="customers", Key={"customerId": {"S": customer_id}}, ConsistentRead=True)
    return from_item(item["Item"])


def parked_items(cloud: LocalCloud, customer_id: str) -> list[dict[str, Any]]:
    """The customer's events parked until their profile arrives, as the scoring table holds them."""
    from loyalty.core.dynamo import from_item

    found = cloud.clients.dynamodb.query(
        TableName="scoring", KeyConditionExpression="pk = :p AND begins_with(sk, :s)", ConsistentRead=True,
        ExpressionAttributeValues={":p": {"S": f"CUST#{customer_id}"}, ":s": {"S": "PARKED#"}})
    return [from_item(item) for item in found["Items"]]


class ScoringTap(BusTap):
    """Everything with source `loyalty.scoring` that reaches the bus."""

    def __init__(self, cloud: LocalCloud, name: str):
        super().__init__(cloud, name, ["loyalty.scoring"])
