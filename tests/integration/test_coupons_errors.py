"""Refusals: every bad or disallowed coupon call gets a clear 4xx and changes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from infra.local.cloud import LocalCloud
from tests.integration.test_customer_profiles import envelope, invoke_ingest
from tests.support.api import Api
from tests.support.coupons import (
    CLAIMS,
    OPERATOR,
    TEMPLATES,
    active_template,
    bundle,
    claim,
    claimed,
    coupon_action,
    create_template,
    error_code,
    fixed_amount,
    new_customer,
    order,
    percentage,
    set_status,
    stock_left,
    template_body,
    threshold,
    unique,
    upload_codes,
    voucher_code,
    wallet,
    wallet_items,
    window,
)


def assert_refused(response: Any, status: int, code: str) -> None:
    assert (response.status_code, error_code(response)) == (status, code), response.text
    assert set(response.json()["error"]) == {"code", "message", "details"}


# ---- claims ------------------------------------------------------------------------------------


def test_claiming_an_unknown_template_is_404(api: Api) -> None:
    customer = new_customer()
    assert_refused(claim(api, customer, unique("no-such-template")), 404, "TEMPLATE_NOT_FOUND")
    assert wallet_items(api, customer) == []


@pytest.mark.parametrize("status", ["draft", "paused", "ended"])
def test_only_an_active_template_issues(api: Api, status: str) -> None:
    # Given a template in `status`
    body = template_body(stock=5)
    template_id = body["templateId"]
    create_template(api, body)
    for step in {"draft": [], "paused": ["active", "paused"], "ended": ["ended"]}[status]:
        assert set_status(api, template_id, step).status_code == 200
    # When a customer claims it
    customer = new_customer()
    response = claim(api, customer, template_id)
    # Then it is refused as not active, and nothing was taken
    assert_refused(response, 422, "TEMPLATE_NOT_ACTIVE")
    assert stock_left(api, template_id) == 5
    assert wallet_items(api, customer) == []


def test_a_template_whose_window_has_ended_does_not_issue(api: Api) -> None:
    now = datetime.now(UTC)
    template_id = active_template(api, stock=5, validity=window(now - timedelta(days=2), now - timedelta(days=1)))
    assert_refused(claim(api, new_customer(), template_id), 422, "TEMPLATE_NOT_ACTIVE")
    assert stock_left(api, template_id) == 5


def test_pausing_stops_claims_at_once(api: Api) -> None:
    # Given an active template that issued one coupon
    template_id = active_template(api, stock=5)
    claimed(api, new_customer(), template_id)
    # When an operator pauses it
    assert set_status(api, template_id, "paused").status_code == 200
    # Then the very next claim is refused
    assert_refused(claim(api, new_customer(), template_id), 422, "TEMPLATE_NOT_ACTIVE")
    # And reactivating it lets claims through again
    assert set_status(api, template_id, "active").status_code == 200
    claimed(api, new_customer(), template_id)
    assert stock_left(api, template_id) == 3


def test_a_claimer_with_a_stale_cached_template_is_stopped_by_the_shards(cloud: LocalCloud, api: Api) -> None:
    # Given a claimer (another Lambda instance) holding the template in its 5 s cache as active
    from loyalty.core import config_cache
    from loyalty.coupons import service

    template_id = active_template(api, stock=5, shards=4)
    store = service.default_store()  # the store the in-process handlers share
    cached_active = store.get_template(template_id, fresh=True)
    # When an operator pauses the template, and the claimer still has the active copy in its cache
    assert set_status(api, template_id, "paused").status_code == 200
    config_cache.forget(service.template_cache_key(template_id))
    config_cache.cached(service.template_cache_key(template_id), 60, lambda: cached_active)
    assert service.cached_template(store, template_id).status == "active"
    customer = new_customer()
    response = claim(api, customer, template_id)
    # Then the shards' active flags refuse the claim: not active, not out of stock
    assert_refused(response, 422, "TEMPLATE_NOT_ACTIVE")
    assert stock_left(api, template_id) == 5
    assert wallet_items(api, customer) == []


def test_eligibility_by_tag_from_the_profile_or_from_operators(cloud: LocalCloud, api: Api) -> None:
    # Given a template for customers tagged "vip"
    template_id = active_template(api, stock=10, eligibility={"tags": ["vip"]})
    unknown, plain, vip, promoted = (new_customer() for _ in range(4))
    invoke_ingest(cloud, envelope(plain, "2026-11-23T10:00:00Z", tags=["payroll"]))
    invoke_ingest(cloud, envelope(vip, "2026-11-23T10:00:00Z", tags=["payroll", "vip"]))
    invoke_ingest(cloud, envelope(promoted, "2026-11-23T10:00:00Z", tags=["payroll"]))
    # When a customer with no profile, one without the tag, one with it, and one tagged by an operator claim
    not_known = claim(api, unknown, template_id)
    not_tagged = claim(api, plain, template_id)
    tagged = claim(api, vip, template_id)
    assert api.call("PUT", f"/v1/admin/customers/{promoted}/tags", body={"tags": ["vip"]}, **OPERATOR).status_code == 200
    operator_tagged = claim(api, promoted, template_id)
    # Then only the tagged ones get a coupon
    assert_refused(not_known, 422, "NOT_ELIGIBLE")
    assert_refused(not_tagged, 422, "NOT_ELIGIBLE")
    assert not_tagged.json()["error"]["details"] == ["the customer needs one of the tags ['vip']"]
    assert tagged.status_code == 201, tagged.text
    assert operator_tagged.status_code == 201, operator_tagged.text
    assert stock_left(api, template_id) == 8
    assert wallet_items(api, plain) == []


def test_a_channel_restricted_template_needs_the_channel(api: Api) -> None:
    template_id = active_template(api, stock=5, eligibility={"channels": ["branch"]})
    customer = new_customer()
    assert_refused(claim(api, customer, template_id), 422, "NOT_ELIGIBLE")
    assert_refused(claim(api, customer, template_id, channel="app"), 422, "NOT_ELIGIBLE")
    assert claim(api, customer, template_id, channel="branch").status_code == 201
    assert stock_left(api, template_id) == 4


@pytest.mark.parametrize(
    ("raw", "status", "code"),
    [
        ("{not json", 400, "MALFORMED_JSON"),
        ('{"templateId": "t", "colour": "red"}', 400, "VALIDATION_ERROR"),
        ('{"templateId": 7}', 400, "VALIDATION_ERROR"),
        ('{"templateId": "has spaces"}', 400, "VALIDATION_ERROR"),
        ("", 400, "BODY_REQUIRED"),
    ],
    ids=["malformed-json", "unknown-field", "wrong-type", "bad-template-id", "empty"],
)
def test_a_bad_claim_body_is_400(api: Api, raw: str, status: int, code: str) -> None:
    customer = new_customer()
    response = api.call("POST", CLAIMS, as_=customer, raw=raw)
    assert_refused(response, status, code)
    assert wallet_items(api, customer) == []


# ---- templates ---------------------------------------------------------------------------------


def _bad(**change: Any) -> dict[str, Any]:
    return template_body(**change)


BAD_TEMPLATES: dict[str, dict[str, Any]] = {
    "missing-benefit": {k: v for k, v in template_body().items() if k != "benefit"},
    "negative-amount": _bad(benefit=fixed_amount(-500)),
    "zero-amount": _bad(benefit=fixed_amount(0)),
    "decimal-amount": _bad(benefit={"kind": "fixed_amount", "amountMinor": 5.5, "currency": "CNY"}),
    "fractional-amount": _bad(benefit={"kind": "fixed_amount", "amountMinor": 500.5, "currency": "CNY"}),
    "string-amount": _bad(benefit={"kind": "fixed_amount", "amountMinor": "500", "currency": "CNY"}),
    "percentage-101": _bad(benefit=percentage(101)),
    "percentage-0": _bad(benefit=percentage(0)),
    "threshold-below-discount": _bad(benefit=threshold(threshold_minor=100, amount_minor=200)),
    "random-min-above-max": _bad(benefit={"kind": "random_amount", "minMinor": 900, "maxMinor": 100, "currency": "CNY"}),
    "unknown-currency": _bad(benefit=fixed_amount(500, "XXX")),
    "unknown-kind": _bad(benefit={"kind": "cashback", "amountMinor": 500, "currency": "CNY"}),
    "unknown-field": _bad(colour="red"),
    "unknown-benefit-field": _bad(benefit={**fixed_amount(), "colour": "red"}),
    "negative-stock": _bad(stock=-1),
    "too-many-shards": _bad(shards=65),
    "zero-shards": _bad(shards=0),
    "daily-stock-below-shards": _bad(shards=4, dailyStock=2),
    "window-backwards": _bad(validity={"type": "window", "validFrom": "2026-12-02T00:00:00Z", "validUntil": "2026-12-01T00:00:00Z"}),
    "window-without-zone": _bad(validity={"type": "window", "validFrom": "2026-12-01T00:00:00", "validUntil": "2026-12-02T00:00:00"}),
    "funding-without-payer": _bad(funding={"unitCostMinor": 500, "currency": "CNY"}),
    "voucher-with-stock": _bad(benefit=voucher_code(), stock=10),
    "bundle-of-one": _bad(benefit={"kind": "bundle", "parts": ["a"]}),
    "bundle-repeating-a-part": _bad(benefit=bundle("a", "a")),
    "zero-lifetime-limit": _bad(lifetime_limit=0),
    "bad-template-id": _bad(template_id="has spaces/slash"),
}


@pytest.mark.parametrize("body", BAD_TEMPLATES.values(), ids=BAD_TEMPLATES.keys())
def test_a_bad_template_is_refused_with_400_and_not_created(api: Api, body: dict[str, Any]) -> None:
    response = api.call("POST", TEMPLATES, body=body, **OPERATOR)
    assert_refused(response, 400, "VALIDATION_ERROR")
    assert api.call("GET", f"{TEMPLATES}/{body['templateId']}", **OPERATOR).status_code in (404, 400)


def test_an_existing_template_id_is_409_and_keeps_the_first(api: Api) -> None:
    body = template_body(stock=5)
    create_template(api, body)
    again = api.call("POST", TEMPLATES, body={**body, "totalStock": 999}, **OPERATOR)
    assert_refused(again, 409, "TEMPLATE_EXISTS")
    assert stock_left(api, body["templateId"]) == 5


def test_a_bundle_of_a_bundle_or_of_an_unknown_part_is_refused(api: Api) -> None:
    part_a, part_b = active_template(api), active_template(api)
    inner = active_template(api, benefit=bundle(part_a, part_b))
    nested = api.call("POST", TEMPLATES, body=template_body(benefit=bundle(inner, part_a)), **OPERATOR)
    assert_refused(nested, 400, "VALIDATION_ERROR")
    unknown = api.call("POST", TEMPLATES, body=template_body(benefit=bundle(part_a, unique("missing"))), **OPERATOR)
    assert_refused(unknown, 400, "VALIDATION_ERROR")


def test_an_ended_template_cannot_come_back_or_take_stock(api: Api) -> None:
    template_id = active_template(api, stock=5)
    assert set_status(api, template_id, "ended").status_code == 200
    assert_refused(set_status(api, template_id, "active"), 422, "INVALID_STATUS_TRANSITION")
    assert_refused(api.call("POST", f"{TEMPLATES}/{template_id}/stock", body={"add": 5}, **OPERATOR), 422, "TEMPLATE_ENDED")
    assert stock_left(api, template_id) == 5


def test_admin_reads_of_an_unknown_template_are_404(api: Api) -> None:
    missing = unique("missing")
    assert_refused(api.call("GET", f"{TEMPLATES}/{missing}", **OPERATOR), 404, "TEMPLATE_NOT_FOUND")
    assert_refused(set_status(api, missing, "active"), 404, "TEMPLATE_NOT_FOUND")
    assert_refused(api.call("POST", f"{TEMPLATES}/{missing}/stock", body={"add": 1}, **OPERATOR), 404, "TEMPLATE_NOT_FOUND")


ADMIN_CALLS = [
    ("POST", TEMPLATES, template_body()),
    ("GET", TEMPLATES, None),
    ("GET", f"{TEMPLATES}/{{t}}", None),
    ("PUT", f"{TEMPLATES}/{{t}}/status", {"status": "ended"}),
    ("POST", f"{TEMPLATES}/{{t}}/stock", {"add": 100}),
    ("POST", f"{TEMPLATES}/{{t}}/codes", {"codes": ["X-1"]}),
]


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_CALLS, ids=[f"{m} {p}" for m, p, _ in ADMIN_CALLS])
def test_customers_cannot_use_the_admin_routes(api: Api, method: str, path: str, body: dict[str, Any] | None) -> None:
    # Given an active template, and a customer token (even one in another group)
    template_id = active_template(api, stock=5)
    # When the customer calls an admin route
    response = api.call(method, path.format(t=template_id), as_=new_customer(), groups=["approvers"], body=body)
    # Then it is forbidden, and the template is untouched
    assert_refused(response, 403, "OPERATOR_REQUIRED")
    template = api.call("GET", f"{TEMPLATES}/{template_id}", **OPERATOR).json()
    assert (template["status"], template["stockLeft"], template["version"]) == ("active", 5, 2)


def test_voucher_code_uploads_refuse_duplicates_within_and_across_uploads(api: Api) -> None:
    # Given a voucher template
    body = template_body(benefit=voucher_code(), stock=0)
    template_id = body["templateId"]
    create_template(api, body)
    # When an upload repeats codes
    within = upload_codes(api, template_id, ["A-1", "A-2", "A-1", "A-3", "A-2"])
    # Then it is refused, naming the repeated codes, and nothing is added
    assert_refused(within, 400, "DUPLICATE_CODES")
    assert within.json()["error"]["details"] == ["A-1", "A-2"]
    assert stock_left(api, template_id) == 0
    # And when a good upload is followed by one holding codes already uploaded
    assert upload_codes(api, template_id, ["A-1", "A-2", "A-3"]).status_code == 201
    across = upload_codes(api, template_id, ["A-4", "A-3", "A-1"])
    # Then it is refused, naming them, and only the first upload counts
    assert_refused(across, 400, "DUPLICATE_CODES")
    assert across.json()["error"]["details"] == ["A-1", "A-3"]
    assert stock_left(api, template_id) == 3
    # And stock for a voucher template comes only from codes
    assert_refused(api.call("POST", f"{TEMPLATES}/{template_id}/stock", body={"add": 5}, **OPERATOR), 422, "USE_CODE_UPLOAD")
    assert_refused(upload_codes(api, active_template(api), ["Z-1"]), 422, "NOT_A_VOUCHER_TEMPLATE")


# ---- redemption --------------------------------------------------------------------------------


@pytest.fixture()
def owned(api: Api) -> tuple[str, str]:
    """A customer and an available coupon of theirs."""
    customer = new_customer()
    return customer, str(claimed(api, customer, active_template(api, stock=5))["couponId"])


def coupon_status(api: Api, customer: str, coupon_id: str) -> str:
    return next(str(c["status"]) for c in wallet_items(api, customer) if c["couponId"] == coupon_id)


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("quote", order()),
        ("lock", {"orderId": "o-1"}),
        ("redeem", {"orderId": "o-1"}),
        ("release", {"orderId": "o-1"}),
        ("return", {"orderId": "o-1"}),
    ],
)
def test_a_customer_cannot_act_on_another_customers_coupon(api: Api, owned: tuple[str, str], action: str, body: dict[str, Any]) -> None:
    customer, coupon_id = owned
    response = coupon_action(api, coupon_id, action, new_customer(), body)
    assert_refused(response, 403, "NOT_RESOURCE_OWNER")
    assert coupon_status(api, customer, coupon_id) == "available"


def test_a_customer_cannot_read_another_customers_wallet(api: Api, owned: tuple[str, str]) -> None:
    customer, _ = owned
    assert_refused(wallet(api, customer, as_=new_customer()), 403, "NOT_RESOURCE_OWNER")


def test_an_unknown_coupon_is_404(api: Api) -> None:
    customer = new_customer()
    assert_refused(coupon_action(api, "cpn_nope", "lock", customer, {"orderId": "o-1"}), 404, "COUPON_NOT_FOUND")
    assert_refused(coupon_action(api, "cpn_nope", "quote", customer, order()), 404, "COUPON_NOT_FOUND")


def test_redeeming_for_a_second_order_is_409(api: Api, owned: tuple[str, str]) -> None:
    # Given a coupon redeemed for order o-1
    customer, coupon_id = owned
    assert coupon_action(api, coupon_id, "redeem", customer, {"orderId": "o-1"}).status_code == 200
    # When it is redeemed for order o-2
    again = coupon_action(api, coupon_id, "redeem", customer, {"orderId": "o-2"})
    # Then it is refused, and it stays redeemed for o-1
    assert_refused(again, 409, "COUPON_ALREADY_REDEEMED")
    item = next(c for c in wallet_items(api, customer) if c["couponId"] == coupon_id)
    assert item["status"] == "redeemed" and item["redemption"]["orderId"] == "o-1"


def test_redeeming_again_for_the_same_order_under_a_new_key_is_a_no_op(api: Api, owned: tuple[str, str]) -> None:
    customer, coupon_id = owned
    first = coupon_action(api, coupon_id, "redeem", customer, {"orderId": "o-1"})
    again = coupon_action(api, coupon_id, "redeem", customer, {"orderId": "o-1"})
    assert first.status_code == again.status_code == 200
    assert again.json()["redemption"] == first.json()["redemption"]


def test_releasing_a_redeemed_coupon_is_409(api: Api, owned: tuple[str, str]) -> None:
    customer, coupon_id = owned
    assert coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-1"}).status_code == 200
    assert coupon_action(api, coupon_id, "redeem", customer, {"orderId": "o-1"}).status_code == 200
    assert_refused(coupon_action(api, coupon_id, "release", customer, {"orderId": "o-1"}), 409, "COUPON_ALREADY_REDEEMED")
    assert coupon_status(api, customer, coupon_id) == "redeemed"


def test_locking_for_another_order_or_releasing_an_unlocked_coupon_is_409(api: Api, owned: tuple[str, str]) -> None:
    customer, coupon_id = owned
    assert_refused(coupon_action(api, coupon_id, "release", customer, {"orderId": "o-1"}), 409, "COUPON_NOT_LOCKED")
    assert_refused(coupon_action(api, coupon_id, "return", customer, {"orderId": "o-1"}), 409, "COUPON_NOT_REDEEMED")
    assert coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-1"}).status_code == 200
    assert_refused(coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-2"}), 409, "COUPON_LOCKED")
    assert_refused(coupon_action(api, coupon_id, "redeem", customer, {"orderId": "o-2"}), 409, "COUPON_LOCKED")
    assert_refused(coupon_action(api, coupon_id, "release", customer, {"orderId": "o-2"}), 409, "COUPON_LOCKED")
    assert coupon_status(api, customer, coupon_id) == "locked"


def test_a_coupon_that_does_not_apply_to_the_order_is_not_locked(api: Api) -> None:
    # Given a 100.00-threshold coupon
    customer = new_customer()
    coupon_id = claimed(api, customer, active_template(api, benefit=threshold(10_000, 1_000)))["couponId"]
    # When it is locked for a 50.00 order, or an order in another currency
    small = coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-1", "order": order(5_000)})
    foreign = coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-1", "order": order(50_000, "USD")})
    # Then both are refused with the reason, and it stays available
    assert_refused(small, 422, "COUPON_NOT_APPLICABLE")
    assert small.json()["error"]["details"] == ["THRESHOLD_NOT_MET"]
    assert foreign.json()["error"]["details"] == ["CURRENCY_MISMATCH"]
    assert coupon_status(api, customer, coupon_id) == "available"


@pytest.mark.parametrize(
    ("action", "raw", "code"),
    [
        ("lock", "{not json", "MALFORMED_JSON"),
        ("lock", '{"orderId": "o-1", "ttlSeconds": 5}', "VALIDATION_ERROR"),
        ("lock", '{"orderId": "o-1", "ttlSeconds": 3601}', "VALIDATION_ERROR"),
        ("redeem", '{"orderId": ""}', "VALIDATION_ERROR"),
        ("redeem", '{"orderId": "o-1", "extra": true}', "VALIDATION_ERROR"),
        ("quote", '{"orderAmountMinor": -1, "currency": "CNY", "merchantId": "m", "channel": "app"}', "VALIDATION_ERROR"),
        ("quote", '{"orderAmountMinor": 10.5, "currency": "CNY", "merchantId": "m", "channel": "app"}', "VALIDATION_ERROR"),
    ],
    ids=["malformed-json", "ttl-too-short", "ttl-too-long", "empty-order-id", "unknown-field", "negative-amount", "decimal-amount"],
)
def test_a_bad_redemption_body_is_400_and_changes_nothing(api: Api, owned: tuple[str, str], action: str, raw: str, code: str) -> None:
    customer, coupon_id = owned
    response = api.call("POST", f"/v1/coupons/{coupon_id}/{action}", as_=customer, raw=raw)
    assert_refused(response, 400, code)
    assert coupon_status(api, customer, coupon_id) == "available"


def test_lock_redeem_release_and_return_need_an_idempotency_key(api: Api, owned: tuple[str, str]) -> None:
    customer, coupon_id = owned
    for action in ("lock", "redeem", "release", "return"):
        response = coupon_action(api, coupon_id, action, customer, {"orderId": "o-1"}, idempotency_key=None)
        assert_refused(response, 400, "IDEMPOTENCY_KEY_REQUIRED")
    assert coupon_status(api, customer, coupon_id) == "available"


def test_a_redemption_key_reused_for_another_order_is_422(api: Api, owned: tuple[str, str]) -> None:
    customer, coupon_id = owned
    key = str(uuid.uuid4())
    assert coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-1"}, idempotency_key=key).status_code == 200
    reused = coupon_action(api, coupon_id, "lock", customer, {"orderId": "o-2"}, idempotency_key=key)
    assert_refused(reused, 422, "IDEMPOTENCY_KEY_REUSED")


def test_wallet_query_parameters_are_checked(api: Api, owned: tuple[str, str]) -> None:
    customer, _ = owned
    assert_refused(wallet(api, customer, status="used"), 400, "VALIDATION_ERROR")
    assert_refused(wallet(api, customer, limit=0), 400, "VALIDATION_ERROR")
    assert_refused(wallet(api, customer, limit=101), 400, "VALIDATION_ERROR")
    assert_refused(wallet(api, customer, cursor="not-a-cursor"), 400, "INVALID_CURSOR")
