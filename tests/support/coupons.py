"""Coupon helpers shared by the integration and e2e tests: template bodies, an operator creating and
activating templates through the admin API, claims, wallets and the redemption calls.

Everything goes through `Api` (HTTP with dev tokens), except the table helpers at the end: reads of
what the API does not show (`coupons_in_table`, `coupons_of_template`, `coupon_item`), moving a
coupon's validity end into the past (`move_validity_end`), and deleting what a volume test issued
(`forget_template_activity`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

import requests

from tests.support.api import Api

OPERATOR: dict[str, Any] = {"as_": "op-coupons", "groups": ["operators"]}
TEMPLATES = "/v1/admin/coupon-templates"
CLAIMS = "/v1/coupons/claims"
COUPONS_TABLE = "coupons"
FUNDING = {"costCentre": "cc-marketing", "unitCostMinor": 500, "currency": "CNY"}


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def new_customer() -> str:
    return unique("cc")


def error_code(response: requests.Response) -> str:
    return str(response.json()["error"]["code"])


# ---- template bodies ---------------------------------------------------------------------------


def fixed_amount(amount_minor: int = 500, currency: str = "CNY") -> dict[str, Any]:
    return {"kind": "fixed_amount", "amountMinor": amount_minor, "currency": currency}


def threshold(threshold_minor: int = 10_000, amount_minor: int = 1_000, currency: str = "CNY") -> dict[str, Any]:
    return {"kind": "threshold", "thresholdMinor": threshold_minor, "amountMinor": amount_minor, "currency": currency}


def percentage(percent_off: int = 10, max_discount_minor: int = 2_000, currency: str = "CNY") -> dict[str, Any]:
    return {"kind": "percentage", "percentOff": percent_off, "maxDiscountMinor": max_discount_minor, "currency": currency}


def random_amount(min_minor: int = 100, max_minor: int = 888, currency: str = "CNY") -> dict[str, Any]:
    return {"kind": "random_amount", "minMinor": min_minor, "maxMinor": max_minor, "currency": currency}


def red_packet(amount_minor: int = 1_888, currency: str = "CNY") -> dict[str, Any]:
    return {"kind": "red_packet", "amountMinor": amount_minor, "currency": currency}


def voucher_code(provider: str = "coffee-co") -> dict[str, Any]:
    return {"kind": "voucher_code", "provider": provider}


def bundle(*parts: str) -> dict[str, Any]:
    return {"kind": "bundle", "parts": list(parts)}


def days_after_claim(days: int = 30) -> dict[str, Any]:
    return {"type": "days_after_claim", "days": days}


def window(valid_from: datetime, valid_until: datetime) -> dict[str, Any]:
    return {"type": "window", "validFrom": iso(valid_from), "validUntil": iso(valid_until)}


def iso(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def template_body(
    template_id: str | None = None,
    *,
    benefit: dict[str, Any] | None = None,
    stock: int = 100,
    shards: int = 1,
    validity: dict[str, Any] | None = None,
    lifetime_limit: int | None = None,
    daily_limit: int | None = None,
    eligibility: dict[str, Any] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A valid `TemplateCreate` body: a fixed 5.00 CNY off, valid 30 days after the claim, 100 in stock."""
    limits = {k: v for k, v in (("perCustomerLifetime", lifetime_limit), ("perCustomerDaily", daily_limit)) if v is not None}
    body: dict[str, Any] = {
        "templateId": template_id or unique("tpl"),
        "name": "Test coupon",
        "benefit": benefit or fixed_amount(),
        "totalStock": stock,
        "shards": shards,
        "validity": validity or days_after_claim(),
        "funding": dict(FUNDING),
    }
    if limits:
        body["limits"] = limits
    if eligibility is not None:
        body["eligibility"] = eligibility
    body.update(extra)
    return body


# ---- the admin API, as an operator -------------------------------------------------------------


def create_template(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    response = api.call("POST", TEMPLATES, body=body, **OPERATOR)
    assert response.status_code == 201, response.text
    return dict(response.json())


def set_status(api: Api, template_id: str, status: str) -> requests.Response:
    return api.call("PUT", f"{TEMPLATES}/{template_id}/status", body={"status": status}, **OPERATOR)


def activate(api: Api, template_id: str) -> None:
    response = set_status(api, template_id, "active")
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "active"


def active_template(api: Api, **template: Any) -> str:
    """Creates a template (see `template_body` for the arguments) and activates it; its id."""
    body = template_body(**template)
    create_template(api, body)
    activate(api, body["templateId"])
    return str(body["templateId"])


def get_template(api: Api, template_id: str) -> dict[str, Any]:
    response = api.call("GET", f"{TEMPLATES}/{template_id}", **OPERATOR)
    assert response.status_code == 200, response.text
    return dict(response.json())


def stock_left(api: Api, template_id: str) -> int:
    return int(get_template(api, template_id)["stockLeft"])


def add_stock(api: Api, template_id: str, amount: int) -> requests.Response:
    return api.call("POST", f"{TEMPLATES}/{template_id}/stock", body={"add": amount}, **OPERATOR)


def upload_codes(api: Api, template_id: str, codes: list[str]) -> requests.Response:
    return api.call("POST", f"{TEMPLATES}/{template_id}/codes", body={"codes": codes}, **OPERATOR)


# ---- customers: claims, wallet, redemption -----------------------------------------------------


def claim(api: Api, customer: str, template_id: str, *, key: str | None = None, **extra: Any) -> requests.Response:
    return api.call("POST", CLAIMS, as_=customer, body={"templateId": template_id, **extra}, idempotency_key=key or str(uuid.uuid4()))


def claimed(api: Api, customer: str, template_id: str) -> dict[str, Any]:
    """A successful claim's body (one coupon, or a bundle's `{"bundleId", "coupons"}`)."""
    response = claim(api, customer, template_id)
    assert response.status_code == 201, response.text
    return dict(response.json())


def wallet(api: Api, customer: str, *, as_: str | None = None, operator: bool = False, **query: Any) -> requests.Response:
    """GET the wallet as the customer, or as `as_` (an operator if `operator`); None query values are left out."""
    suffix = urlencode({k: v for k, v in query.items() if v is not None})
    path = f"/v1/customers/{customer}/coupons" + (f"?{suffix}" if suffix else "")
    return api.call("GET", path, as_=as_ or customer, groups=["operators"] if operator else None)


def wallet_items(api: Api, customer: str, **query: Any) -> list[dict[str, Any]]:
    """Every coupon of the customer's wallet, all pages, read as an operator."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        response = wallet(api, customer, as_=OPERATOR["as_"], operator=True, limit=100, cursor=cursor, **query)
        assert response.status_code == 200, response.text
        items += response.json()["items"]
        cursor = response.json()["nextCursor"]
        if not cursor:
            return items


def order(amount_minor: int = 20_000, currency: str = "CNY", merchant: str = "m-1", channel: str = "app") -> dict[str, Any]:
    return {"orderAmountMinor": amount_minor, "currency": currency, "merchantId": merchant, "channel": channel}


def coupon_action(api: Api, coupon_id: str, action: str, customer: str, body: dict[str, Any], **kwargs: Any) -> requests.Response:
    """POST /v1/coupons/{couponId}/{quote|lock|redeem|release|return} as `customer`."""
    return api.call("POST", f"/v1/coupons/{coupon_id}/{action}", as_=customer, body=body, **kwargs)


# ---- the table, for what the API does not show -------------------------------------------------


def coupons_in_table(dynamodb: Any, customer: str) -> list[dict[str, Any]]:
    """The customer's coupon items (raw attribute values), from the wallet index gsi1."""
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "TableName": COUPONS_TABLE,
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :p",
        "ExpressionAttributeValues": {":p": {"S": f"CUST#{customer}"}},
    }
    while True:
        page = dynamodb.query(**request)
        items += page.get("Items", [])
        if not page.get("LastEvaluatedKey"):
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def coupons_of_template(dynamodb: Any, template_id: str) -> list[dict[str, Any]]:
    """Every coupon item of a template (raw attribute values), with one paginated scan: in moto a
    GSI query costs as much as a scan, so one scan beats a query per customer."""
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {
        "TableName": COUPONS_TABLE,
        "FilterExpression": "sk = :cpn AND template_id = :t",
        "ExpressionAttributeValues": {":cpn": {"S": "CPN"}, ":t": {"S": template_id}},
        "ConsistentRead": True,
    }
    while True:
        page = dynamodb.scan(**request)
        items += page.get("Items", [])
        if not page.get("LastEvaluatedKey"):
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def forget_template_activity(dynamodb: Any, template_id: str) -> int:
    """Deletes a template's coupons, claim counters and outbox items (the template and its stock
    shards stay); how many. For tests that issue thousands: moto answers every GSI query by reading
    the whole table, so a big table slows every later test of the session that queries one."""
    keys: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": COUPONS_TABLE, "ProjectionExpression": "pk, sk, template_id, detail"}
    while True:
        page = dynamodb.scan(**request)
        for item in page.get("Items", []):
            pk = item["pk"]["S"]
            mine = (
                (pk.startswith("CPN#") and item.get("template_id", {}).get("S") == template_id)
                or pk.startswith(f"LIMIT#{template_id}#")
                or pk.startswith(f"DAYSTOCK#{template_id}#")
                or (pk.startswith("OUTBOX#") and f'"templateId":"{template_id}"' in item.get("detail", {}).get("S", ""))
            )
            if mine:
                keys.append({"pk": item["pk"], "sk": item["sk"]})
        if not page.get("LastEvaluatedKey"):
            break
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
    for start in range(0, len(keys), 25):
        batch: dict[str, Any] = {COUPONS_TABLE: [{"DeleteRequest": {"Key": key}} for key in keys[start : start + 25]]}
        while batch:
            batch = dynamodb.batch_write_item(RequestItems=batch).get("UnprocessedItems") or {}
    return len(keys)


def coupon_item(dynamodb: Any, coupon_id: str) -> dict[str, Any] | None:
    found = dynamodb.get_item(TableName=COUPONS_TABLE, Key={"pk": {"S": f"CPN#{coupon_id}"}, "sk": {"S": "CPN"}}, ConsistentRead=True)
    return found.get("Item")


def move_validity_end(dynamodb: Any, coupon_id: str, valid_until: datetime) -> None:
    """Rewrites a coupon's validUntil as if it had been issued so: the item is rebuilt with the
    library's own mapping (records.coupon_item), so the expiry index attributes (gsi2pk, gsi2sk)
    match whatever layout the index has."""
    from dataclasses import replace

    from loyalty.core.dynamo import from_item, to_item
    from loyalty.coupons import records

    stored = coupon_item(dynamodb, coupon_id)
    assert stored is not None, f"coupon {coupon_id} is not in the table"
    coupon = replace(records.coupon_from_item(from_item(stored)), valid_until=iso(valid_until))
    dynamodb.put_item(TableName=COUPONS_TABLE, Item=to_item(records.coupon_item(coupon)))


def earlier_today(seconds: int = 60) -> datetime:
    """An instant in the past that is still today (UTC), so the expiry sweep looks at its date."""
    now = datetime.now(UTC)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return max(now - timedelta(seconds=seconds), midnight + timedelta(microseconds=1))
