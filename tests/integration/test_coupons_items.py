"""The coupons table's models against the emulator: items written by the code before the models are
served by the store, the versions condition writes as they did, and the privacy port exports what
privacy's own export gives for the coupons table."""

from __future__ import annotations

import copy
import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from loyalty.core.errors import Conflict
from loyalty.coupons import service
from loyalty.coupons.model import LockRequest
from tests.support.api import Api
from tests.support.coupons import COUPONS_TABLE, active_template, claimed, coupon_action, order
from tests.unit.test_coupons_items import LEGACY_COUPON, LEGACY_COUPON_VALUES, LEGACY_TEMPLATE


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def legacy_coupon(coupon_id: str, customer_id: str) -> dict[str, Any]:
    """LEGACY_COUPON (as the code before the models wrote it) under another id and customer."""
    raw = copy.deepcopy(LEGACY_COUPON)
    raw.update({"pk": {"S": f"CPN#{coupon_id}"}, "coupon_id": {"S": coupon_id}, "customer_id": {"S": customer_id},
                "gsi1pk": {"S": f"CUST#{customer_id}"}, "gsi1sk": {"S": f"2026-06-01T12:00:00.000000Z#{coupon_id}"},
                "gsi2sk": {"S": f"2026-07-01T00:00:00.000000Z#{coupon_id}"}})
    return raw


def test_a_coupon_written_by_todays_code_is_served_by_the_store(cloud: LocalCloud) -> None:
    # Given a coupon item put exactly as the code before the models wrote it
    coupon_id, customer = unique("cpn"), unique("c")
    cloud.clients.dynamodb.put_item(TableName=COUPONS_TABLE, Item=legacy_coupon(coupon_id, customer))
    store = service.default_store()
    # When the store reads it, alone and in the customer's wallet
    # Then it is the coupon it always was
    expected = replace(LEGACY_COUPON_VALUES, coupon_id=coupon_id, customer_id=customer)
    assert store.get_coupon(coupon_id) == expected
    assert [c for c, _ in store.wallet_pages(customer, None)] == [expected]


def test_a_template_written_by_todays_code_is_served_by_the_store(cloud: LocalCloud) -> None:
    template_id = unique("tpl")
    raw = copy.deepcopy(LEGACY_TEMPLATE)
    raw["pk"] = {"S": f"TPL#{template_id}"}
    raw["definition"] = {"S": raw["definition"]["S"].replace('"templateId":"tpl-1"', f'"templateId":"{template_id}"')}
    cloud.clients.dynamodb.put_item(TableName=COUPONS_TABLE, Item=raw)
    template = service.default_store().get_template(template_id, fresh=True)
    assert (template.template_id, template.status, template.version, template.stockAdded) == (template_id, "paused", 1, 1000)


def test_a_claimed_coupon_is_stored_in_todays_shape(cloud: LocalCloud, api: Api) -> None:
    # Given a coupon claimed through the API
    template_id = active_template(api, stock=5)
    coupon = claimed(api, unique("c"), template_id)
    # When its item is read raw
    item = cloud.clients.dynamodb.get_item(TableName=COUPONS_TABLE, Key={"pk": {"S": f"CPN#{coupon['couponId']}"}, "sk": {"S": "CPN"}},
                                           ConsistentRead=True)["Item"]
    # Then it has today's stored names and version 1
    assert {"coupon_id", "template_id", "customer_id", "valid_from", "valid_until", "issued_at", "gsi2pk"} <= set(item)
    assert item["version"] == {"N": "1"} and item["coupon_id"] == {"S": coupon["couponId"]}


def test_a_stale_coupon_write_is_refused_and_changes_nothing(cloud: LocalCloud, api: Api) -> None:
    # Given a coupon locked for one order
    customer = unique("c")
    coupon_id = claimed(api, customer, active_template(api, stock=5))["couponId"]
    assert coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-1", "order": order()}).status_code == 200
    store = service.default_store()
    locked = store.get_coupon(coupon_id)
    # When a writer that read it before the lock (version 1) saves its own change
    stale = replace(locked, status="available", lock_order_id=None, locked_until=None, discount_minor=None, version=1)
    with pytest.raises(Conflict) as refused:
        store.save_transitions([(stale, replace(stale, status="expired", version=2))], [])
    # Then it is refused, and the lock stands at version 2
    assert refused.value.code == "COUPON_CHANGED"
    assert store.get_coupon(coupon_id) == locked and locked.version == 2


def test_a_stale_template_change_is_a_version_conflict(api: Api) -> None:
    store = service.default_store()
    template_id = active_template(api, stock=5)
    current = store.get_template(template_id, fresh=True)
    stale = current.model_copy(update={"version": current.version - 1})
    with pytest.raises(Conflict) as refused:
        store.change_status(stale, stale.model_copy(update={"status": "paused", "version": current.version}), [])
    assert refused.value.code == "VERSION_CONFLICT"
    assert store.get_template(template_id, fresh=True) == current


def test_a_template_created_twice_is_refused(api: Api) -> None:
    store = service.default_store()
    template_id = active_template(api, stock=5)
    with pytest.raises(Conflict) as refused:
        store.create_template(store.get_template(template_id, fresh=True).model_copy(update={"status": "draft", "version": 1}))
    assert refused.value.code == "TEMPLATE_EXISTS"


# ---- PIPL: the privacy port -------------------------------------------


def test_the_privacy_export_is_every_coupon_of_the_customer_as_stored(cloud: LocalCloud, api: Api) -> None:
    from loyalty.coupons import ports

    # Given a customer with a locked coupon, a redeemed one, and one written before the models
    customer = unique("c")
    template_id = active_template(api, stock=5)
    first = claimed(api, customer, template_id)["couponId"]
    second = claimed(api, customer, template_id)["couponId"]
    assert coupon_action(api, first, "lock", customer, {"orderId": "o-1"}).status_code == 200
    assert coupon_action(api, second, "redeem", customer, {"orderId": "o-2"}).status_code == 200
    legacy = unique("cpn")
    cloud.clients.dynamodb.put_item(TableName=COUPONS_TABLE, Item=legacy_coupon(legacy, customer))
    # When the coupons port exports them
    exported = ports.privacy().export(customer)
    # Then it is every coupon of theirs, in each state, keys and index attributes left out
    assert set(exported) == {"coupons"} and len(exported["coupons"]) == 3
    assert {c.get("couponId", c.get("coupon_id")) for c in exported["coupons"]} == {first, second, legacy}
    assert all("pk" not in c and "gsi1pk" not in c and "gsi2pk" not in c for c in exported["coupons"])


def test_the_privacy_export_of_a_customer_without_coupons_is_empty() -> None:
    from loyalty.coupons import ports

    assert ports.privacy().export(unique("c")) == {"coupons": []}


def test_an_erasure_keeps_the_coupons_unchanged(cloud: LocalCloud, api: Api) -> None:
    from loyalty.coupons import ports

    # Given a customer's coupon
    customer = unique("c")
    coupon_id = claimed(api, customer, active_template(api, stock=5))["couponId"]
    key = {"pk": {"S": f"CPN#{coupon_id}"}, "sk": {"S": "CPN"}}
    before = cloud.clients.dynamodb.get_item(TableName=COUPONS_TABLE, Key=key, ConsistentRead=True)["Item"]
    # When the coupons port erases the customer
    result = ports.privacy().erase(customer, datetime.now(UTC))
    # Then the coupon is kept as it was (the books need it), and the port says so
    assert result == {"kept": ["coupons"]}
    assert cloud.clients.dynamodb.get_item(TableName=COUPONS_TABLE, Key=key, ConsistentRead=True)["Item"] == before


def test_claims_lock_through_the_service_on_a_coupon_written_before_the_models(cloud: LocalCloud) -> None:
    # Given an available coupon item in today's shape, valid for a year
    from loyalty.core.auth import Caller

    coupon_id, customer = unique("cpn"), unique("c")
    raw = legacy_coupon(coupon_id, customer)
    for name in ("lock_order_id", "locked_until", "discount_minor"):
        del raw[name]
    raw.update({"status": {"S": "available"}, "version": {"N": "1"}, "kind": {"S": "fixed_amount"},
                "benefit": {"S": '{"kind":"fixed_amount","amountMinor":500,"currency":"CNY"}'},
                "valid_until": {"S": "2999-01-01T00:00:00.000000Z"}, "redemption": {"S": '{"merchants":[],"channels":[]}'}})
    cloud.clients.dynamodb.put_item(TableName=COUPONS_TABLE, Item=raw)
    # When its owner locks it through the service
    locked = service.lock(service.default_store(), Caller(subject=customer, groups=frozenset()), coupon_id, LockRequest(orderId="o-1"),
                          datetime.now(UTC))
    # Then the item moved to version 2, locked, with its stored names kept
    item = cloud.clients.dynamodb.get_item(TableName=COUPONS_TABLE, Key={"pk": {"S": f"CPN#{coupon_id}"}, "sk": {"S": "CPN"}},
                                           ConsistentRead=True)["Item"]
    assert locked.version == 2 and item["version"] == {"N": "2"} and item["lock_order_id"] == {"S": "o-1"}
    assert item["status"] == {"S": "locked"} and "lockOrderId" not in item

