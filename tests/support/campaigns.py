"""Campaign helpers shared by the integration and e2e tests: definitions, the maker-checker
lifecycle as two operators, and triggers."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import requests

from tests.support.api import Api

if TYPE_CHECKING:
    from infra.local.cloud import LocalCloud

ROOT = "/v1/admin/campaigns"
# A grant that stands: its rewards on their way, or all delivered (loyalty.campaigns.saga).
STANDING = ("granted", "delivered")
AUTHOR: dict[str, Any] = {"as_": "op-maker", "groups": ["operators"]}
APPROVER: dict[str, Any] = {"as_": "op-checker", "groups": ["operators", "approvers"]}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def open_window(days: int = 30) -> dict[str, str]:
    now = datetime.now(UTC)
    return {"startsAt": iso(now - timedelta(minutes=5)), "endsAt": iso(now + timedelta(days=days))}


def coupon_campaign(template_id: str, *, merchant_mcc: str = "5812", min_amount: int = 100_000, budget_total: int = 1000,
                    control: int = 0, **overrides: Any) -> dict[str, Any]:
    """Spend at least `min_amount` in `merchant_mcc`, get the coupon; budget in reward units, once per
    customer. Only at the merchant named like the campaign (`card_spend(..., merchant=campaign id)`):
    campaigns stay active for the whole session, and must not reward other tests' transactions."""
    campaign_id = unique("camp")
    body: dict[str, Any] = {
        "campaignId": campaign_id,
        "name": "Spend 1000 get a coupon",
        "window": open_window(),
        "trigger": {"type": "event", "eventType": "CardTransactionPosted", "minAmountMinor": min_amount, "mccs": [merchant_mcc],
                    "pattern": {"merchantId": [campaign_id]}},
        "audience": {"requireProfile": False},
        "variants": [{"variantId": "main", "weightPercent": 100, "actions": [{"type": "issue_coupon", "templateId": template_id}]}],
        "controlPercent": control,
        "budget": {"unit": "rewards", "total": budget_total},
        "frequencyCaps": {"lifetime": 1},
        "fundingCostCentre": "cc-marketing",
    }
    body.update(overrides)
    return body


def create(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = api.call("POST", ROOT, body=body, **AUTHOR)
    assert response.status_code == 201, response.text
    return dict(response.json())


def act(api: Api, campaign_id: str, action: str, who: dict[str, Any], note: str | None = None) -> requests.Response:
    return api.call("POST", f"{ROOT}/{campaign_id}/{action}", body={"note": note} if note else {}, **who)


def launch(api: Api, body: dict[str, Any]) -> str:
    """Created by one operator, submitted, approved by another: active in its window."""
    campaign_id = create(api, body)["campaignId"]
    for action, who in (("submit", AUTHOR), ("approve", APPROVER)):
        response = act(api, campaign_id, action, who)
        assert response.status_code == 200, response.text
    return str(campaign_id)


def report(api: Api, campaign_id: str) -> dict[str, Any]:
    response = api.call("GET", f"{ROOT}/{campaign_id}/report", **AUTHOR)
    assert response.status_code == 200, response.text
    return dict(response.json())


def arm(body: dict[str, Any], name: str) -> dict[str, Any]:
    return next(a for a in body["arms"] if a["arm"] == name)


def card_spend(customer_id: str, amount_minor: int, mcc: str = "5812", transaction_id: str | None = None,
               merchant: str = "m-campaign") -> dict[str, Any]:
    return {"transactionId": transaction_id or unique("tx"), "customerId": customer_id, "amountMinor": amount_minor, "currency": "CNY",
            "merchantId": merchant, "mcc": mcc, "channel": "pos", "postedAt": iso(datetime.now(UTC))}


def trigger(cloud: LocalCloud, detail_type: str, detail: dict[str, Any], event_id: str | None = None) -> dict[str, Any]:
    """The triggers function, in-process, with one SQS record carrying the bus event."""
    from tests.support.points import envelope

    record = {"messageId": "m-0", "body": envelope(detail_type, detail, event_id), "eventSource": "aws:sqs"}
    return dict(cloud.registry.invoke(cloud.topology.function("campaigns-triggers"), {"Records": [record]}))


def grants_of(dynamodb: Any, campaign_id: str, customer_id: str) -> list[dict[str, Any]]:
    from loyalty.core.dynamo import from_item

    items = dynamodb.query(TableName="campaigns", KeyConditionExpression="pk = :p",
                           ExpressionAttributeValues={":p": {"S": f"GRANT#{campaign_id}#{customer_id}"}}, ConsistentRead=True)["Items"]
    return [from_item(i) for i in items]
