"""Points helpers shared by the integration and e2e tests: rule bodies, bank events (on the bus, or as
the SQS records the accrual function receives), the points API, and reads of the `points` table for
what the API does not show (lots, ledger entries, the invariants between them).

Every test makes its own rule ids, merchant ids and customer ids: the rules table is shared by the
session, so a rule matches only its test's merchant.
"""

from __future__ import annotations

import json
import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import requests

from infra.topology import BANK_SOURCE, DEFAULT_BANK_TIME_ZONE
from loyalty.points.items import lot_index_keys
from tests.support.api import Api, bank_event
from tests.support.bus import BusTap

if TYPE_CHECKING:
    from infra.local.cloud import LocalCloud

OPERATOR: dict[str, Any] = {"as_": "op-points", "groups": ["operators"]}
RULES = "/v1/admin/point-rules"
LIABILITY = "/v1/admin/points/liability"
QUOTE = "/v1/points/quote"
POINTS_TABLE = "points"
ACCRUAL_QUEUE = "points-accrual"
ACCRUAL_DLQ = "points-accrual-dlq"
ACCRUAL_FUNCTION = "points-accrual"
EXPIRY_FUNCTION = "points-expiry"
EXPIRY_SCHEDULE = "points-expiry-daily"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def new_customer() -> str:
    return unique("pc")


def give_profile(cloud: LocalCloud, customer_id: str) -> str:
    """The customer's profile, as customers-ingest would store it (written directly, to keep tests
    short): operators adjust points and redeem only for customers the engine has seen."""
    cloud.clients.dynamodb.put_item(TableName="customers", Item={"customerId": {"S": customer_id}, "sourceEventId": {"S": "seed"},
                                                                 "changedAt": {"S": "2026-11-01T00:00:00.000000Z"}})
    return customer_id


def known_customer(cloud: LocalCloud) -> str:
    """A new customer id with a profile."""
    return give_profile(cloud, new_customer())


def error_code(response: requests.Response) -> str:
    return str(response.json()["error"]["code"])


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def bank_today() -> date:
    """Today in the bank's time zone, as the handlers see it."""
    return datetime.now(ZoneInfo(os.environ.get("BANK_TIME_ZONE", DEFAULT_BANK_TIME_ZONE))).date()


def yesterday() -> str:
    return (bank_today() - timedelta(days=1)).isoformat()


# ---- rules ---------------------------------------------------------------------------------------


def rule_body(
    rule_id: str,
    merchant_id: str,
    *,
    points: int = 1,
    per_amount_minor: int = 1000,
    rounding: str = "down",
    caps: dict[str, int] | None = None,
    validity: dict[str, Any] | None = None,
    cost_centre: str = "cc-cards",
    **overrides: Any,
) -> dict[str, Any]:
    """`points` for every `per_amount_minor` of a card transaction at `merchant_id` only (default: 1 per 10 yuan)."""
    body: dict[str, Any] = {
        "ruleId": rule_id,
        "name": f"test rule {rule_id}",
        "eventType": "CardTransactionPosted",
        "conditions": {"merchantIds": [merchant_id]},
        "award": {"mode": "per_amount", "points": points, "perAmountMinor": per_amount_minor, "rounding": rounding},
        "validity": validity or {"type": "days", "days": 365},
        "category": "transaction",
        "costCentre": cost_centre,
        "priority": 1000,  # before any other test's exclusive rule
        "stacking": "stack",
    }
    if caps is not None:
        body["caps"] = caps
    body.update(overrides)
    return body


def create_rule(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = api.call("POST", RULES, body=body, **OPERATOR)
    assert response.status_code == 201, response.text
    return dict(response.json())


# ---- bank events ---------------------------------------------------------------------------------


def card_transaction(customer_id: str, merchant_id: str, amount_minor: int, transaction_id: str | None = None, **fields: Any) -> dict[str, Any]:
    return {
        "transactionId": transaction_id or unique("tx"),
        "customerId": customer_id,
        "amountMinor": amount_minor,
        "currency": "CNY",
        "merchantId": merchant_id,
        "mcc": "5812",
        "channel": "pos",
        "postedAt": now_iso(),
        **fields,
    }


def card_refund(customer_id: str, transaction_id: str, amount_minor: int, refund_id: str | None = None) -> dict[str, Any]:
    return {
        "refundId": refund_id or unique("rf"),
        "originalTransactionId": transaction_id,
        "customerId": customer_id,
        "amountMinor": amount_minor,
        "currency": "CNY",
        "refundedAt": now_iso(),
    }


def posted(detail: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "CardTransactionPosted", detail


def refunded(detail: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return "CardTransactionRefunded", detail


def publish(events_client: Any, *events: tuple[str, dict[str, Any]]) -> None:
    """Puts bank events on `loyalty-events`, as core banking does."""
    result = events_client.put_events(Entries=[bank_event(detail_type, detail) for detail_type, detail in events])
    assert result["FailedEntryCount"] == 0, result


def envelope(detail_type: str, detail: dict[str, Any], event_id: str | None = None) -> str:
    """The body of an SQS message from the `points-bank-events` rule: the whole EventBridge event."""
    return json.dumps(
        {
            "version": "0",
            "id": event_id or str(uuid.uuid4()),
            "source": BANK_SOURCE,
            "detail-type": detail_type,
            "account": "000000000000",
            "time": now_iso(),
            "region": "us-east-1",
            "resources": [],
            "detail": detail,
        }
    )


def invoke_accrual(cloud: LocalCloud, *bodies: str) -> dict[str, Any]:
    """The accrual function, in-process, with one SQS batch (record ids m-0, m-1, ...)."""
    function = cloud.topology.function(ACCRUAL_FUNCTION)
    records = [{"messageId": f"m-{i}", "body": body, "eventSource": "aws:sqs"} for i, body in enumerate(bodies)]
    return dict(cloud.registry.invoke(function, {"Records": records}))


def accrue(cloud: LocalCloud, *events: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    """Each event as its own single-record batch; every one must be accepted."""
    for detail_type, detail in events:
        result = invoke_accrual(cloud, envelope(detail_type, detail))
        assert result == {"batchItemFailures": []}, (detail_type, detail, result)
    return {"batchItemFailures": []}


def run_expiry(cloud: LocalCloud) -> dict[str, Any]:
    return dict(cloud.registry.invoke(cloud.topology.function(EXPIRY_FUNCTION), {"schedule": EXPIRY_SCHEDULE}))


@dataclass
class AccrualDeliveries:
    """What the queue poller handed the accrual function, and which records it reported as failed."""

    handled: list[tuple[str, bool]] = field(default_factory=list)  # (body, accepted)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, event: dict[str, Any], result: Any) -> None:
        failed = {f["itemIdentifier"] for f in (result or {}).get("batchItemFailures", [])}
        with self.lock:
            self.handled += [(r["body"], r["messageId"] not in failed) for r in event.get("Records", [])]

    def accepted(self, marker: str) -> int:
        with self.lock:
            return sum(1 for body, ok in self.handled if ok and marker in body)


@contextmanager
def watching_accrual(cloud: LocalCloud) -> Iterator[AccrualDeliveries]:
    """Wraps the handler registry (the queue pollers call it) to see each accrual delivery's outcome.
    Not re-entrant: one at a time."""
    registry = cloud.registry
    original: Callable[[Any, dict[str, Any]], Any] = registry.invoke
    deliveries = AccrualDeliveries()

    def invoke(function: Any, event: dict[str, Any]) -> Any:
        try:
            result = original(function, event)
        except Exception:
            if function.name == ACCRUAL_FUNCTION:
                deliveries.record(event, {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"]]})
            raise
        if function.name == ACCRUAL_FUNCTION:
            deliveries.record(event, result)
        return result

    vars(registry)["invoke"] = invoke  # shadows the method on this instance only
    try:
        yield deliveries
    finally:
        vars(registry).pop("invoke", None)


def dlq_bodies(sqs: Any, queue_url: str, marker: str) -> list[str]:
    """The bodies in a DLQ that mention `marker`. Reads every message (hiding each briefly), then
    makes them all visible again: other tests' messages stay where they were."""
    seen: list[dict[str, Any]] = []
    ids: set[str] = set()
    while True:
        messages = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, VisibilityTimeout=30, WaitTimeSeconds=0).get("Messages", [])
        fresh = [m for m in messages if m["MessageId"] not in ids]
        # A message seen twice means the first ones are visible again: every message has been read.
        if not fresh:
            break
        ids |= {m["MessageId"] for m in fresh}
        seen += fresh
    for message in seen:
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
    return [m["Body"] for m in seen if marker in m["Body"]]


# ---- the API -------------------------------------------------------------------------------------


def balance(api: Api, customer_id: str) -> dict[str, Any]:
    response = api.call("GET", f"/v1/customers/{customer_id}/points", as_=customer_id)
    assert response.status_code == 200, response.text
    return dict(response.json())


def available(api: Api, customer_id: str) -> int:
    return int(balance(api, customer_id)["available"])


def history_page(api: Api, customer_id: str, *, as_: str | None = None, **query: Any) -> requests.Response:
    path = f"/v1/customers/{customer_id}/points/history"
    if query:
        path += "?" + urlencode({k: str(v) for k, v in query.items()})
    return api.call("GET", path, as_=as_ or customer_id)


def history(api: Api, customer_id: str, **query: Any) -> list[dict[str, Any]]:
    """Every history entry, newest first, following `nextCursor`."""
    items: list[dict[str, Any]] = []
    while True:
        response = history_page(api, customer_id, **query)
        assert response.status_code == 200, response.text
        body = response.json()
        items += body["items"]
        if not body["nextCursor"]:
            return items
        query["cursor"] = body["nextCursor"]


def adjust(api: Api, customer_id: str, points: int, *, key: str = "auto", cost_centre: str = "cc-service") -> requests.Response:
    body = {"points": points, "reason": "test adjustment", "costCentre": cost_centre}
    return api.call("POST", f"/v1/admin/customers/{customer_id}/points/adjustments", body=body, idempotency_key=key, **OPERATOR)


def quote(api: Api, customer_id: str, detail: dict[str, Any], event_type: str = "CardTransactionPosted") -> requests.Response:
    return api.call("POST", QUOTE, as_=customer_id, body={"eventType": event_type, "detail": detail}, idempotency_key=None)


# ---- the table -----------------------------------------------------------------------------------


def _query(dynamodb: Any, pk: str) -> list[dict[str, Any]]:
    from loyalty.core.dynamo import from_item

    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "TableName": POINTS_TABLE,
        "KeyConditionExpression": "pk = :p",
        "ExpressionAttributeValues": {":p": {"S": pk}},
        "ConsistentRead": True,
    }
    while True:
        page = dynamodb.query(**request)
        items += [from_item(i) for i in page.get("Items", [])]
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@dataclass(frozen=True)
class Stored:
    """A customer's points items as stored: the balance, the lots and every ledger entry."""

    balance: dict[str, Any]
    lots: list[dict[str, Any]]
    entries: list[dict[str, Any]]

    @property
    def available(self) -> int:
        return int(self.balance.get("available", 0))

    @property
    def debt(self) -> int:
        return int(self.balance.get("debt", 0))

    def entries_of(self, kind: str) -> list[dict[str, Any]]:
        return [e for e in self.entries if e["kind"] == kind]

    def check_invariants(self) -> None:
        """The ledger's invariants (loyalty/points/ledger.py), on what the transactions wrote."""
        assert all(int(lot["remaining"]) > 0 for lot in self.lots), f"a lot at or below zero: {self.lots}"
        assert self.available >= 0 and self.debt >= 0, self.balance
        assert self.available == sum(int(lot["remaining"]) for lot in self.lots), (self.balance, self.lots)
        assert self.available - self.debt == sum(int(e["points"]) for e in self.entries), (self.balance, self.entries)
        growth = int(self.balance.get("growth", 0))
        assert growth == sum(int(e.get("growth", 0)) for e in self.entries), (self.balance, self.entries)
        assert growth == sum(int(v) for k, v in self.balance.items() if k.startswith("growth@")), self.balance


def stored(dynamodb: Any, customer_id: str) -> Stored:
    account = _query(dynamodb, f"ACCT#{customer_id}")
    found = [i for i in account if i["sk"] == "BALANCE"]
    return Stored(
        balance=found[0] if found else {},
        lots=[i for i in account if i["sk"].startswith("LOT#")],
        entries=_query(dynamodb, f"LEDGER#{customer_id}"),
    )


def all_balances_available(dynamodb: Any) -> int:
    total = 0
    request: dict[str, Any] = {"TableName": POINTS_TABLE, "FilterExpression": "sk = :b", "ExpressionAttributeValues": {":b": {"S": "BALANCE"}}}
    while True:
        page = dynamodb.scan(**request)
        total += sum(int(i.get("available", {}).get("N", 0)) for i in page.get("Items", []))
        if "LastEvaluatedKey" not in page:
            return total
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def seed_lot(dynamodb: Any, customer_id: str, *, points: int, expires_on: str, cost_centre: str) -> str:
    """Writes, for a customer with no points yet, what the ledger would have written for one earning:
    an entry, a lot dated `expires_on` and the balance, in one transaction. Returns the lot id."""
    from loyalty.core.dynamo import to_item

    lot_id = f"{expires_on}#{cost_centre}#seeded"
    entry_id = f"earn:Seeded:{lot_id}"
    at = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    account, ledger = f"ACCT#{customer_id}", f"LEDGER#{customer_id}"
    items = [
        {"pk": account, "sk": "BALANCE", "available": points, "debt": 0, "growth": 0, "version": 1, "customerId": customer_id},
        {"pk": account, "sk": f"LOT#{lot_id}", "lotId": lot_id, "expiresOn": expires_on, "remaining": points, "costCentre": cost_centre,
         "customerId": customer_id, **lot_index_keys(customer_id, lot_id, expires_on)},
        {"pk": ledger, "sk": f"ENTRY#{entry_id}", "entryId": entry_id, "kind": "earn", "points": points, "growth": 0, "debtChange": 0,
         "at": at, "costCentre": cost_centre, "source": json.dumps({"seeded": True}), "lots": json.dumps([[lot_id, points]]),
         "gsi1pk": f"HIST#{customer_id}", "gsi1sk": f"{at}#{entry_id}"},
    ]
    dynamodb.transact_write_items(
        TransactItems=[{"Put": {"TableName": POINTS_TABLE, "Item": to_item(i), "ConditionExpression": "attribute_not_exists(pk)"}} for i in items]
    )
    return lot_id


# ---- the bus ---------------------------------------------------------------------------------------

SCHEMAS = Path(__file__).resolve().parents[2] / "events" / "schemas" / "outbound"


class PointsTap(BusTap):
    """Everything with source `loyalty.points` that reaches the bus."""

    def __init__(self, cloud: LocalCloud, name: str):
        super().__init__(cloud, name, ["loyalty.points"])


def conforms(event: dict[str, Any]) -> dict[str, Any]:
    """The event's detail, once checked against its schema in events/schemas/outbound."""
    import jsonschema

    schema = json.loads((SCHEMAS / f"{event['detail-type']}.json").read_text())
    jsonschema.validate(event["detail"], schema, format_checker=jsonschema.FormatChecker())
    return dict(event["detail"])
