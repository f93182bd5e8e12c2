"""The DynamoDB requests each coupons operation sends, counted on the library's one client
(`loyalty.core.aws.dynamodb()`, botocore's `before-parameter-build` per API call, this thread only).
The figures are the ones the code sent before the PynamoDB models: the models must not add one."""

from __future__ import annotations

import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from loyalty.core import config_cache
from loyalty.core.auth import Caller
from loyalty.core.errors import DomainError
from loyalty.coupons import service
from loyalty.coupons.model import ClaimRequest, CodeUpload, IssueCouponCommand, LockRequest, RedeemRequest, TemplateCreate

OPERATOR = "op-requests"


@contextmanager
def requests() -> Iterator[Counter[str]]:
    from loyalty.core.aws import dynamodb

    sent: Counter[str] = Counter()
    me = threading.get_ident()

    def hook(model: Any, **_: Any) -> None:
        if threading.get_ident() == me:
            sent[model.name] += 1

    client = dynamodb()
    client.meta.events.register("before-parameter-build.dynamodb.*", hook)
    try:
        yield sent
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.*", hook)


def counted(operation: Callable[[], Any]) -> dict[str, int]:
    with requests() as sent, suppress(DomainError):
        operation()
    return dict(sent)


def definition(template_id: str, **fields: Any) -> TemplateCreate:
    body: dict[str, Any] = {
        "templateId": template_id, "name": "requests", "benefit": {"kind": "fixed_amount", "amountMinor": 100, "currency": "CNY"},
        "totalStock": 4, "validity": {"type": "days_after_claim", "days": 7},
        "funding": {"costCentre": "cc", "unitCostMinor": 100, "currency": "CNY"}, **fields,
    }
    return TemplateCreate.model_validate(body)


@pytest.fixture()
def now(cloud: LocalCloud) -> datetime:
    config_cache.clear()
    return datetime.now(UTC)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_template_operations(now: datetime) -> None:
    store = service.default_store()
    template_id = unique("rq")
    assert counted(lambda: service.create_template(store, definition(template_id, shards=4), OPERATOR, now)) == {"TransactWriteItems": 1}
    assert counted(lambda: service.change_status(store, template_id, "active", now)) == {"GetItem": 1, "TransactWriteItems": 1}
    assert counted(lambda: service.add_stock(store, template_id, 4, now)) == {"GetItem": 1, "TransactWriteItems": 1}
    assert counted(lambda: service.template_view(store, template_id)) == {"GetItem": 1, "BatchGetItem": 1}
    assert counted(lambda: store.list_templates(5, None)) == {"Query": 1}


def test_claim_operations(now: datetime) -> None:
    store = service.default_store()
    template_id = unique("rq")
    service.create_template(store, definition(template_id, totalStock=2, limits={"perCustomerLifetime": 1}), OPERATOR, now)
    service.change_status(store, template_id, "active", now)
    facts = service.ProfileFacts()
    request = ClaimRequest(templateId=template_id)

    run = unique("c")

    def claim(customer: str, key: str) -> Any:
        return service.claim(store, facts, f"{run}-{customer}", request, key, now)

    # The first claim after the activation reads the template; the next ones find it in memory
    assert counted(lambda: claim("c-1", "k-1")) == {"GetItem": 1, "TransactWriteItems": 1}
    assert counted(lambda: claim("c-2", "k-2")) == {"TransactWriteItems": 1}
    # A replay: the cancelled transaction, then what the first try left under the id, then the coupon
    assert counted(lambda: claim("c-1", "k-1")) == {"TransactWriteItems": 1, "GetItem": 2}
    # Over the limit, or out of stock on the one shard: refused in the one transaction
    assert counted(lambda: claim("c-1", "k-3")) == {"TransactWriteItems": 1}
    assert counted(lambda: claim("c-3", "k-3")) == {"TransactWriteItems": 1}


def test_an_out_of_stock_claim_over_shards_reads_them_once(now: datetime) -> None:
    store = service.default_store()
    template_id = unique("rq")
    service.create_template(store, definition(template_id, shards=4, totalStock=0), OPERATOR, now)
    service.change_status(store, template_id, "active", now)
    claim = lambda: service.claim(store, service.ProfileFacts(), unique("c"), ClaimRequest(templateId=template_id), "k-1", now)  # noqa: E731
    # The template, one cancelled transaction on the first shard, one read of the other three
    assert counted(claim) == {"GetItem": 1, "TransactWriteItems": 1, "BatchGetItem": 1}


def test_eligibility_reads_the_profile_once(now: datetime) -> None:
    store = service.default_store()
    template_id = unique("rq")
    service.create_template(store, definition(template_id, eligibility={"tags": ["vip"]}), OPERATOR, now)
    service.change_status(store, template_id, "active", now)
    request = ClaimRequest(templateId=template_id)
    # An unknown customer: the template (the activation left none in memory), the profile, and the
    # claim's id (an earlier try of this very claim may have been served before the refusal): no write
    assert counted(lambda: service.claim(store, service.ProfileFacts(), unique("c"), request, "k", now)) == {"GetItem": 3}


def test_command_operations(now: datetime) -> None:
    store = service.default_store()
    template_id = unique("rq")
    service.create_template(store, definition(template_id, totalStock=1), OPERATOR, now)
    service.change_status(store, template_id, "active", now)

    def command(command_id: str) -> IssueCouponCommand:
        return IssueCouponCommand(commandId=command_id, customerId=unique("c"), templateId=template_id, source="campaign")

    first, second = command(unique("cmd")), command(unique("cmd"))
    assert counted(lambda: service.issue_for_command(store, service.ProfileFacts(), first, now)) == {"GetItem": 1, "TransactWriteItems": 1}
    # Out of stock: the cancelled claim, then the refusal with its event
    assert counted(lambda: service.issue_for_command(store, service.ProfileFacts(), second, now)) == {"TransactWriteItems": 2}
    # Delivered again: the claim collides with the refusal under the command's id, which is read once
    assert counted(lambda: service.issue_for_command(store, service.ProfileFacts(), second, now)) == {"TransactWriteItems": 1, "GetItem": 1}


def test_wallet_and_redemption_operations(now: datetime) -> None:
    store = service.default_store()
    template_id = unique("rq")
    service.create_template(store, definition(template_id), OPERATOR, now)
    service.change_status(store, template_id, "active", now)
    customer = unique("c")
    (coupon,) = service.claim(store, service.ProfileFacts(), customer, ClaimRequest(templateId=template_id), "k", now).coupons
    caller = Caller(subject=customer, groups=frozenset())
    assert counted(lambda: service.wallet(store, customer, None, 20, None, now)) == {"Query": 1}
    lock = LockRequest(orderId="o-1")
    assert counted(lambda: service.lock(store, caller, coupon.coupon_id, lock, now)) == {"GetItem": 1, "TransactWriteItems": 1}
    assert counted(lambda: service.lock(store, caller, coupon.coupon_id, lock, now)) == {"GetItem": 1}
    assert counted(lambda: service.redeem(store, caller, coupon.coupon_id, RedeemRequest(orderId="o-1"), now)) == {"GetItem": 1, "TransactWriteItems": 1}
    assert counted(lambda: service.give_back(store, caller, coupon.coupon_id, "o-1", now)) == {"GetItem": 1, "TransactWriteItems": 1}


def test_voucher_code_operations(now: datetime) -> None:
    store = service.default_store()
    template_id = unique("rq")
    voucher = {"kind": "voucher_code", "provider": "Coffee Co"}
    service.create_template(store, definition(template_id, benefit=voucher, totalStock=0), OPERATOR, now)
    codes = CodeUpload(codes=[unique("CODE"), unique("CODE")])
    assert counted(lambda: service.upload_codes(store, template_id, codes, unique("u"))) == {"GetItem": 1, "BatchGetItem": 1, "TransactWriteItems": 1}
    service.change_status(store, template_id, "active", now)
    claimed = counted(lambda: service.claim(store, service.ProfileFacts(), unique("c"), ClaimRequest(templateId=template_id), "k", now))
    # A free code is looked up bucket by bucket (16, in random order) until one holds a code
    assert (claimed["GetItem"], claimed["TransactWriteItems"]) == (1, 1) and 1 <= claimed["Query"] <= 16
    assert set(claimed) == {"GetItem", "Query", "TransactWriteItems"}


def test_the_sweep_reads_its_marker_and_each_expiry_shard_of_today(now: datetime) -> None:
    store = service.default_store()
    service.sweep_expired(store, now)  # whatever earlier tests left lapsed, and the marker up to yesterday
    sent = counted(lambda: service.sweep_expired(store, now))
    assert (sent.get("GetItem"), sent.get("Query"), sent.get("PutItem")) == (1, 16, None)
