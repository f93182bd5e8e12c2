"""Checkout in the integration tests: the worked example's order, a policy put in force by a maker and
a checker, templates for a basket, a tap on checkout's events, and the session calls."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from infra.local.cloud import LocalCloud
from tests.support import coupons as cpn
from tests.support import org
from tests.support.api import Api, eventually
from tests.support.bus import BusTap

POLICY = "/v1/admin/stacking-policy"
SESSIONS = "/v1/checkout/sessions"
MAKER: dict[str, Any] = {"as_": "op-maker", "groups": ["operators"], "org": org.HEAD_OFFICE}
CHECKER: dict[str, Any] = {"as_": "op-checker", "groups": ["operators", "approvers"], "org": org.HEAD_OFFICE}
ORDER: dict[str, Any] = {"merchantId": "m-coffee", "channel": "app", "currency": "CNY", "lines": [
    {"lineId": "l1", "sku": "beans", "category": "food", "unitPriceMinor": 8_900, "quantity": 2},
    {"lineId": "l2", "sku": "mug", "category": "gift", "unitPriceMinor": 4_500, "quantity": 1},
    {"lineId": "l3", "sku": "latte", "category": "drink", "unitPriceMinor": 1_250, "quantity": 3}]}
BASKET_POLICY: dict[str, Any] = {"groups": {"default": {"combinesWith": ["*"]}, "bank-card": {"combinesWith": ["*"]},
                                            "vip": {"exclusive": True}},
                                 "points": {"pointValueMinor": 1, "maxSharePercent": 50}, "maxCoupons": 5}
SCHEMAS = {p.stem: json.loads(p.read_text()) for p in (Path(__file__).resolve().parents[2] / "events" / "schemas").rglob("*.json")}


def in_force(api: Api, policy: dict[str, Any]) -> int:
    """`policy` proposed by one operator and approved by another; its version."""
    proposed = api.call("PUT", POLICY, body={"policy": policy, "note": "test"}, **MAKER)
    assert proposed.status_code == 200, proposed.text
    version = proposed.json()["version"]
    approved = api.call("POST", f"{POLICY}/versions/{version}/approve", **CHECKER)
    assert approved.status_code == 200, approved.text
    return int(version)


@pytest.fixture(scope="module")
def basket_templates(api: Api) -> dict[str, str]:
    """The worked example's templates (a threshold, a percentage for food and drink, an exclusive VIP
    one) and one whose coupons a refund never returns, under a policy naming them."""
    threshold = cpn.active_template(api, benefit=cpn.threshold(threshold_minor=20_000, amount_minor=3_000))
    percent = cpn.active_template(api, benefit=cpn.percentage(percent_off=10, max_discount_minor=2_000))
    vip = cpn.active_template(api, benefit=cpn.fixed_amount(4_000))
    kept = cpn.active_template(api, benefit=cpn.fixed_amount(500), redemption={"returnPolicy": "never"})
    in_force(api, {**BASKET_POLICY, "templateGroups": {threshold: "bank-card", vip: "vip"},
                   "lineScopes": {percent: {"categories": ["food", "drink"]}}})
    return {"threshold": threshold, "percent": percent, "vip": vip, "kept": kept}


@pytest.fixture(scope="module")
def checkout_tap(cloud: LocalCloud) -> Iterator[BusTap]:
    """Every `loyalty.checkout` event that reaches the bus."""
    tap = BusTap(cloud, cpn.unique("checkout-events-tap"), ["loyalty.checkout"])
    yield tap
    tap.close()


def open_session(api: Api, customer: str, **body: Any) -> Any:
    return api.call("POST", SESSIONS, as_=customer, body={"order": ORDER, **body})


def act(api: Api, customer: str, session_id: str, action: str, body: dict[str, Any] | None = None) -> Any:
    """POST /v1/checkout/sessions/{id}/{confirm|cancel|refunds} as the customer."""
    return api.call("POST", f"{SESSIONS}/{session_id}/{action}", as_=customer, body=body if body is not None else {})


def coupon_status(api: Api, customer: str, coupon_id: str) -> str:
    """As the customer's wallet shows it."""
    return str(next(c["status"] for c in cpn.wallet_items(api, customer) if c["couponId"] == coupon_id))


def checked(tap: BusTap, detail_type: str, session_id: str, count: int = 1) -> list[dict[str, Any]]:
    """The events of that type for the session once `count` reached the bus, each valid to its schema."""
    found: list[dict[str, Any]] = []

    def arrived() -> bool:
        found[:] = [e["detail"] for e in tap.drain() if e["detail-type"] == detail_type and e["detail"]["sessionId"] == session_id]
        return len(found) >= count

    eventually(arrived, timeout_s=20)
    for detail in found:
        jsonschema.validate(detail, SCHEMAS[detail_type])
    return found
