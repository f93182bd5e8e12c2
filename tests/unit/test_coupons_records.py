"""`loyalty.coupons.records`: the coupons table's items, mapped to and from domain objects without AWS."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest

from loyalty.coupons.logic import Coupon, give_back, lock, new_coupon, redeem
from loyalty.coupons.model import Template
from loyalty.coupons.records import (
    CODE_BUCKETS,
    code_bucket,
    code_key,
    coupon_from_item,
    coupon_item,
    coupon_view,
    template_from_item,
    template_item,
)
from tests.unit.coupon_builders import DAYS_30, KINDS, NOW, after, coupon, iso, locked, order, redeemed, template


def issued(kind: str, **template_fields: Any) -> Coupon:
    return new_coupon(
        template(kind=kind, **template_fields), coupon_id=f"cpn_{kind}", customer_id="c-001", now=NOW, source="campaign",
        fingerprint="fp", campaign_id="camp-1", command_id="cmd-1",
        code="CODE-1" if kind == "voucher_code" else None, bundle_id="cpn_b" if kind == "gift" else None,
    )


ALL_STATES = {
    "available": coupon(),
    "locked": locked("o-1"),
    "redeemed": redeemed("o-1"),
    "expired": coupon(status="expired", version=3),
}


# --- coupons ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_of_coupon_round_trips(kind: str) -> None:
    # Given a coupon of each kind as issued, with funding and redemption rules
    original = issued(kind, redemption={"merchants": ["m-1"], "channels": []})
    # When mapped to an item and straight back
    # Then it is the same coupon
    assert coupon_from_item(coupon_item(original)) == original


@pytest.mark.parametrize("state", ALL_STATES)
def test_every_state_round_trips(state: str) -> None:
    assert coupon_from_item(coupon_item(ALL_STATES[state])) == ALL_STATES[state]


def test_a_locked_then_redeemed_random_coupon_round_trips() -> None:
    # Given a random coupon locked and redeemed with order details
    random_coupon = issued("random_amount")
    held = lock(random_coupon, "o-1", 600, NOW, order())
    spent = redeem(held, "o-1", after(minutes=1))
    # When each is mapped to an item and back
    # Then each is the same coupon, the drawn amount and discount included
    for state in (held, spent):
        assert coupon_from_item(coupon_item(state)) == state
    assert spent.discount_minor == random_coupon.amount_minor


def test_the_item_is_keyed_and_indexed_by_customer() -> None:
    # Given a coupon
    item = coupon_item(coupon())
    # When mapped
    # Then its key is CPN#<id>/CPN and the wallet index is the customer, ordered by issue time
    assert (item["pk"], item["sk"]) == ("CPN#cpn_0001", "CPN")
    assert (item["gsi1pk"], item["gsi1sk"]) == ("CUST#c-001", f"{iso(after(days=-1))}#cpn_0001")


def test_nested_values_are_compact_json_text_and_nones_are_left_out() -> None:
    # Given an available coupon (no lock, no redemption, no campaign)
    item = coupon_item(coupon())
    # When mapped
    # Then benefit, funding and redemption are compact JSON text, and no attribute is None
    assert item["benefit"] == '{"kind":"fixed_amount","amountMinor":500,"currency":"CNY"}'
    assert json.loads(item["funding"]) == {"costCentre": "cc-marketing", "unitCostMinor": 500, "currency": "CNY"}
    assert json.loads(item["redemption"]) == {"merchants": [], "channels": []}
    assert None not in item.values()
    assert not {"lock_order_id", "locked_until", "redeemed_order_id", "campaign_id", "amount_minor"} & set(item)


def test_an_item_without_redemption_rules_reads_as_anywhere() -> None:
    # Given an item written before coupons carried redemption rules
    item = coupon_item(coupon())
    del item["redemption"]
    # When read
    # Then the coupon has no redemption rules
    assert coupon_from_item(item).redemption == {}


def test_reading_ignores_index_and_key_attributes() -> None:
    item = {**coupon_item(locked("o-1")), "expiresAt": 123, "somethingNew": "x"}
    assert coupon_from_item(item) == locked("o-1")


@pytest.mark.parametrize(("state", "indexed"), [("available", True), ("locked", True), ("redeemed", False), ("expired", False)])
def test_only_live_coupons_are_in_the_expiry_index(state: str, indexed: bool) -> None:
    # Given a coupon in each stored state, valid until 2026-07-01T12:00Z
    # When mapped
    item = coupon_item(ALL_STATES[state])
    # Then only available and locked coupons carry the expiry index, keyed by the UTC date of
    # validUntil and one of 16 shards
    if indexed:
        valid_until = ALL_STATES[state].valid_until
        assert item["gsi2pk"].rsplit("#", 1)[0] == "EXP#2026-07-01"
        assert 0 <= int(item["gsi2pk"].rsplit("#", 1)[1]) < 16
        assert item["gsi2sk"] == f"{valid_until}#cpn_0001"
    else:
        assert "gsi2pk" not in item and "gsi2sk" not in item


def test_a_returned_coupon_rejoins_the_expiry_index() -> None:
    item = coupon_item(give_back(redeemed("o-1"), "o-1", NOW))
    assert item["gsi2pk"].startswith("EXP#2026-07-01#")


def test_an_issued_red_packet_is_never_in_the_expiry_index() -> None:
    assert "gsi2pk" not in coupon_item(issued("red_packet"))


# --- the API view -------------------------------------------------------------------------------

INTERNAL = {"fingerprint", "version", "funding", "source", "commandId", "command_id", "lock_order_id", "redeemed_order_id"}


@pytest.mark.parametrize("state", ALL_STATES)
def test_the_view_omits_internal_bookkeeping(state: str) -> None:
    # Given a coupon in each state
    # When viewed with that status
    view = coupon_view(ALL_STATES[state], state)
    # Then no fingerprint, version, funding or snake_case attribute is shown
    assert not INTERNAL & set(view)
    assert "cc-marketing" not in json.dumps(view)
    assert view["status"] == state


def test_the_view_of_an_available_coupon() -> None:
    assert coupon_view(coupon(), "available") == {
        "couponId": "cpn_0001",
        "templateId": "tpl-1",
        "customerId": "c-001",
        "kind": "fixed_amount",
        "status": "available",
        "benefit": {"kind": "fixed_amount", "amountMinor": 500, "currency": "CNY"},
        "validFrom": iso(after(days=-1)),
        "validUntil": iso(after(days=30)),
        "issuedAt": iso(after(days=-1)),
    }


def test_the_lock_shows_only_while_locked() -> None:
    # Given a locked coupon
    held = locked("o-1")
    # When viewed as locked, and as available once its lock lapsed
    # Then the lock shows only in the first, and there is never a redemption
    assert coupon_view(held, "locked")["lock"] == {"orderId": "o-1", "until": held.locked_until}
    assert "lock" not in coupon_view(held, "available")
    assert "redemption" not in coupon_view(held, "locked")


def test_the_redemption_shows_only_when_redeemed() -> None:
    # Given a redeemed coupon
    spent = redeemed("o-1", discount_minor=321)
    # When viewed
    view = coupon_view(spent, "redeemed")
    # Then the redemption shows, with its order, time and discount, and there is no lock
    assert view["redemption"] == {"orderId": "o-1", "at": spent.redeemed_at, "discountMinor": 321}
    assert "lock" not in view
    assert "redemption" not in coupon_view(coupon(), "available")


def test_the_view_shows_what_the_customer_owns() -> None:
    # Given a random coupon with a voucher code, in a bundle, from a campaign
    owned = replace(coupon(), amount_minor=437, code="CODE-9", bundle_id="cpn_b", campaign_id="camp-1")
    # When viewed
    view = coupon_view(owned, "available")
    # Then the drawn amount, code, bundle and campaign show
    assert (view["amountMinor"], view["code"], view["bundleId"], view["campaignId"]) == (437, "CODE-9", "cpn_b", "camp-1")


# --- templates ----------------------------------------------------------------------------------

TEMPLATES: dict[str, Template] = {
    **{kind: template(kind=kind) for kind in KINDS},
    "days_after_claim": template(validity=DAYS_30),
    "offset_window": template(validity={"type": "window", "validFrom": "2026-05-01T08:00:00+08:00", "validUntil": "2026-07-01T00:00:00Z"}),
    "every_option": template(
        status="paused", dailyStock=80, shards=8, limits={"perCustomerLifetime": 3, "perCustomerDaily": 1},
        eligibility={"tiers": ["gold"], "segments": ["affluent"], "tags": ["payroll"], "channels": ["app"], "maxAbuseRiskScore": 40},
        funding={"merchantId": "m-1", "unitCostMinor": 0, "currency": "CNY"}, redemption={"merchants": ["m-1"], "channels": ["app"]},
    ),
}


@pytest.mark.parametrize("name", TEMPLATES)
def test_a_template_round_trips(name: str) -> None:
    # Given a template of each kind, validity, and one with every option
    original = TEMPLATES[name]
    # When mapped to an item and straight back
    # Then it is the same template, down to its JSON view
    back = template_from_item(template_item(original))
    assert back == original
    assert back.view() == original.view()


def test_a_template_item_is_keyed_and_listed() -> None:
    item = template_item(template())
    assert (item["pk"], item["sk"]) == ("TPL#tpl-1", "META")
    assert (item["gsi1pk"], item["gsi1sk"]) == ("TEMPLATES", "2026-04-01T00:00:00.000000Z#tpl-1")
    assert isinstance(item["definition"], str)


def test_a_template_item_with_numbers_as_decimals_reads() -> None:
    # Given an item whose counters come back as boto3 reads DynamoDB numbers (Decimal)
    from decimal import Decimal

    item = {**template_item(template()), "version": Decimal("3"), "stockAdded": Decimal("1500")}
    # When read
    back = template_from_item(item)
    # Then they are integers
    assert (back.version, back.stockAdded) == (3, 1500)
    assert isinstance(back.version, int) and isinstance(back.stockAdded, int)


# --- code buckets -------------------------------------------------------------------------------


def test_a_code_always_lands_in_the_same_bucket() -> None:
    codes = [f"CODE-{i}" for i in range(2_000)]
    assert [code_bucket(c) for c in codes] == [code_bucket(c) for c in codes]


def test_codes_spread_over_every_bucket_and_stay_in_range() -> None:
    buckets = {code_bucket(f"CODE-{i}") for i in range(2_000)}
    assert buckets == set(range(CODE_BUCKETS))


def test_a_code_key_uses_its_bucket() -> None:
    assert code_key("tpl-1", "ABC") == {"pk": f"CODE#tpl-1#{code_bucket('ABC')}", "sk": "ABC"}


def test_a_days_coupons_spread_over_the_expiry_index_shards() -> None:
    # Given 1,000 coupons of one flash grab, all valid until the same instant
    from dataclasses import replace

    base = ALL_STATES["available"]
    # When mapped
    keys = {coupon_item(replace(base, coupon_id=f"cpn_{i:04d}"))["gsi2pk"] for i in range(1000)}
    # Then they spread over every shard of that date, not one hot index key
    assert len(keys) == 16
