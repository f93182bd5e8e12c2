"""The coupons table's PynamoDB models against items as today's code wrote them: every stored name
and value reads back unchanged, and the models write exactly that shape again (no AWS: the models
only (de)serialize here)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import pytest

from loyalty.coupons.items import ClaimCounter, CodeItem, DayStock, StockShard, SweepMarker, TemplateItem, UploadChunk
from loyalty.coupons.items_coupon import BundleRecord, CouponItem, IssueFailure, cpn_item
from loyalty.coupons.logic import BundleClaim, Coupon, IssueRefusal, lock
from tests.unit.coupon_builders import NOW, order, template

# Written by the code before the models (`to_item(records.coupon_item(coupon))`): a random-amount
# coupon from a campaign, locked for an order. Snake_case stored names, JSON text, numbers as N.
LEGACY_COUPON: dict[str, Any] = {
    "amount_minor": {"N": "767"},
    "benefit": {"S": '{"kind":"random_amount","minMinor":100,"maxMinor":999,"currency":"CNY","distribution":"uniform"}'},
    "campaign_id": {"S": "camp-1"},
    "command_id": {"S": "cmd-1"},
    "coupon_id": {"S": "cpn_legacy"},
    "customer_id": {"S": "c-001"},
    "discount_minor": {"N": "767"},
    "fingerprint": {"S": "fp"},
    "funding": {"S": '{"costCentre":"cc-marketing","unitCostMinor":500,"currency":"CNY"}'},
    "gsi1pk": {"S": "CUST#c-001"},
    "gsi1sk": {"S": "2026-06-01T12:00:00.000000Z#cpn_legacy"},
    "gsi2pk": {"S": "EXP#2026-07-01#0"},
    "gsi2sk": {"S": "2026-07-01T00:00:00.000000Z#cpn_legacy"},
    "issued_at": {"S": "2026-06-01T12:00:00.000000Z"},
    "kind": {"S": "random_amount"},
    "lock_order_id": {"S": "o-1"},
    "locked_until": {"S": "2026-06-01T12:10:00.000000Z"},
    "pk": {"S": "CPN#cpn_legacy"},
    "redemption": {"S": '{"merchants":["m-1"],"channels":[]}'},
    "sk": {"S": "CPN"},
    "source": {"S": "campaign"},
    "status": {"S": "locked"},
    "template_id": {"S": "tpl-1"},
    "valid_from": {"S": "2026-05-01T00:00:00.000000Z"},
    "valid_until": {"S": "2026-07-01T00:00:00.000000Z"},
    "version": {"N": "2"},
}
LEGACY_COUPON_VALUES = Coupon(
    coupon_id="cpn_legacy", template_id="tpl-1", customer_id="c-001", kind="random_amount",
    benefit={"kind": "random_amount", "minMinor": 100, "maxMinor": 999, "currency": "CNY", "distribution": "uniform"},
    status="locked", valid_from="2026-05-01T00:00:00.000000Z", valid_until="2026-07-01T00:00:00.000000Z",
    issued_at="2026-06-01T12:00:00.000000Z", source="campaign", funding={"costCentre": "cc-marketing", "unitCostMinor": 500, "currency": "CNY"},
    fingerprint="fp", redemption={"merchants": ["m-1"], "channels": []}, version=2, campaign_id="camp-1", command_id="cmd-1",
    amount_minor=767, lock_order_id="o-1", locked_until="2026-06-01T12:10:00.000000Z", discount_minor=767,
)
LEGACY_TEMPLATE: dict[str, Any] = {
    "createdAt": {"S": "2026-04-01T00:00:00.000000Z"},
    "createdBy": {"S": "op-1"},
    "definition": {"S": '{"templateId":"tpl-1","name":"5 yuan off","benefit":{"kind":"fixed_amount","amountMinor":500,"currency":"CNY"},'
                        '"totalStock":1000,"dailyStock":80,"shards":8,"validity":{"type":"window","validFrom":"2026-05-01T00:00:00Z",'
                        '"validUntil":"2026-07-01T00:00:00Z"},"limits":{"perCustomerLifetime":null,"perCustomerDaily":null},'
                        '"eligibility":{"tiers":[],"segments":[],"tags":[],"channels":[],"maxAbuseRiskScore":null},'
                        '"funding":{"costCentre":"cc-marketing","merchantId":null,"unitCostMinor":500,"currency":"CNY"},'
                        '"redemption":{"merchants":[],"channels":[]}}'},
    "gsi1pk": {"S": "TEMPLATES"},
    "gsi1sk": {"S": "2026-04-01T00:00:00.000000Z#tpl-1"},
    "pk": {"S": "TPL#tpl-1"},
    "sk": {"S": "META"},
    "status": {"S": "paused"},
    "stockAdded": {"N": "1000"},
    "updatedAt": {"S": "2026-04-01T00:00:00.000000Z"},
    "version": {"N": "1"},
}
LEGACY_BUNDLE = {"pk": {"S": "CPN#cpn_b"}, "sk": {"S": "CPN"}, "bundleParts": {"L": [{"S": "cpn_p0"}, {"S": "cpn_p1"}]},
                 "templateId": {"S": "tpl-ab"}, "customerId": {"S": "c-001"}, "fingerprint": {"S": "fp"}}
LEGACY_FAILURE = {"pk": {"S": "CPN#cpn_cmd"}, "sk": {"S": "CPN"}, "failure": {"S": "COUPON_OUT_OF_STOCK"}}


# ---- the coupon: snake_case on disk, camelCase in Python -------------------------------------------


def test_a_coupon_written_by_todays_code_reads_back_unchanged() -> None:
    # Given a coupon item exactly as the code before the models wrote it
    # When read through the model
    item = CouponItem.from_raw_data(copy.deepcopy(LEGACY_COUPON))
    # Then it is the same coupon, every field, integers exact
    assert item.coupon() == LEGACY_COUPON_VALUES
    assert isinstance(item.coupon().amount_minor, int) and isinstance(item.coupon().version, int)
    # And written back it is the same item, attribute by attribute (stored names unchanged)
    assert item.serialize() == LEGACY_COUPON


def test_the_model_writes_what_todays_readers_read() -> None:
    # Given the same coupon, built by the domain (issued, then locked for the order)
    from loyalty.coupons.logic import new_coupon

    issued = new_coupon(template(kind="random_amount", redemption={"merchants": ["m-1"], "channels": []}), coupon_id="cpn_legacy",
                        customer_id="c-001", now=NOW, source="campaign", fingerprint="fp", campaign_id="camp-1", command_id="cmd-1")
    held = lock(issued, "o-1", 600, NOW, order())
    # When the model makes its item
    # Then it is the item today's code wrote
    assert CouponItem.of(held).serialize() == LEGACY_COUPON


def test_python_names_are_camel_case_and_stored_names_are_kept() -> None:
    attributes = CouponItem.get_attributes()
    assert attributes["couponId"].attr_name == "coupon_id" and attributes["lockOrderId"].attr_name == "lock_order_id"
    assert all("_" not in name for name in attributes)
    # every stored name is the domain's field name, as the code before the models wrote them
    fields = {f.name for f in dataclasses.fields(Coupon)}
    assert {a.attr_name for a in attributes.values()} == fields | {"pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"}
    assert set(LEGACY_COUPON) <= {a.attr_name for a in attributes.values()}


def test_an_old_coupon_without_redemption_rules_reads_as_usable_anywhere() -> None:
    raw = {k: v for k, v in LEGACY_COUPON.items() if k != "redemption"}
    assert CouponItem.from_raw_data(raw).coupon().redemption == {}


def test_a_redeemed_coupon_leaves_the_expiry_index() -> None:
    from dataclasses import replace

    spent = replace(LEGACY_COUPON_VALUES, status="redeemed", lock_order_id=None, locked_until=None, redeemed_order_id="o-1",
                    redeemed_at="2026-06-01T12:05:00.000000Z")
    serialized = CouponItem.of(spent).serialize()
    assert "gsi2pk" not in serialized and "gsi2sk" not in serialized
    assert serialized["redeemed_order_id"] == {"S": "o-1"} and "lock_order_id" not in serialized


def test_large_amounts_stay_exact_integers() -> None:
    raw = {**LEGACY_COUPON, "amount_minor": {"N": "9007199254740993"}}
    assert CouponItem.from_raw_data(raw).coupon().amount_minor == 9007199254740993


# ---- versions: what PynamoDB's VersionAttribute makes of a write ------------------------------------


def test_a_transition_carries_the_version_read_and_a_new_coupon_none() -> None:
    from dataclasses import replace

    before = LEGACY_COUPON_VALUES
    after = replace(before, status="available", lock_order_id=None, locked_until=None, discount_minor=None, version=3)
    # The model holds the version read (PynamoDB conditions the write on it and stores it + 1)
    assert CouponItem.written_over(before, after).version == 2
    assert CouponItem.written_over(None, replace(after, version=1)).version is None
    # A transition that skips a version would put the disk and the domain apart: refused
    with pytest.raises(ValueError):
        CouponItem.written_over(before, replace(after, version=4))


def test_a_template_change_carries_the_version_read() -> None:
    before = template()
    after = before.model_copy(update={"status": "paused", "version": 2})
    assert TemplateItem.written_over(before, after).version == 1
    assert TemplateItem.written_over(None, before).version is None
    with pytest.raises(ValueError):
        TemplateItem.written_over(before, before)


# ---- the other shapes ----------------------------------------------------------------------------


def test_a_template_written_by_todays_code_reads_back_unchanged() -> None:
    item = TemplateItem.from_raw_data(copy.deepcopy(LEGACY_TEMPLATE))
    expected = template(status="paused", dailyStock=80, shards=8)
    assert item.template() == expected
    assert item.serialize() == LEGACY_TEMPLATE
    assert TemplateItem.of(expected).serialize() == LEGACY_TEMPLATE


@pytest.mark.parametrize(("raw", "model"), [(LEGACY_COUPON, CouponItem), (LEGACY_BUNDLE, BundleRecord), (LEGACY_FAILURE, IssueFailure)])
def test_the_cpn_discriminator_tells_the_shapes_apart(raw: dict[str, Any], model: type) -> None:
    # Given each shape today's code writes under CPN#<id>
    # When read by the discriminator
    item = cpn_item(copy.deepcopy(raw))
    # Then it is that shape's model, and it writes the same item back
    assert type(item) is model
    assert item.serialize() == raw


def test_a_bundle_record_and_a_refusal_map_to_the_domain_and_back() -> None:
    claim = BundleClaim("cpn_b", ("cpn_p0", "cpn_p1"), "tpl-ab", "c-001", "fp")
    assert BundleRecord.from_raw_data(copy.deepcopy(LEGACY_BUNDLE)).claim() == claim
    assert BundleRecord.of(claim).serialize() == LEGACY_BUNDLE
    refusal = IssueRefusal("cpn_cmd", "COUPON_OUT_OF_STOCK")
    assert IssueFailure.from_raw_data(copy.deepcopy(LEGACY_FAILURE)).refusal() == refusal
    assert IssueFailure.of(refusal).serialize() == LEGACY_FAILURE


def test_stock_counters_codes_and_markers_keep_their_keys_and_stored_names() -> None:
    shard = StockShard.key("tpl-1", 3)
    shard.left, shard.active = 125, True
    assert shard.serialize() == {"pk": {"S": "STOCK#tpl-1#3"}, "sk": {"S": "STOCK"}, "left": {"N": "125"}, "active": {"BOOL": True}}
    day = DayStock.from_raw_data({"pk": {"S": "DAYSTOCK#tpl-1#2026-06-01#3"}, "sk": {"S": "DAY"}, "count": {"N": "7"}, "expiresAt": {"N": "1780000000"}})
    assert (day.issued, day.expiresAt) == (7, 1780000000)
    assert DayStock.key("tpl-1", "2026-06-01", 3).pk == day.pk
    life = ClaimCounter.from_raw_data({"pk": {"S": "LIMIT#tpl-1#c-001"}, "sk": {"S": "LIFE"}, "count": {"N": "2"}})
    assert (life.claims, life.expiresAt) == (2, None)
    assert (ClaimCounter.key("tpl-1", "c-001", "LIFE").pk, ClaimCounter.key("tpl-1", "c-001", "DAY#2026-06-01").sk) == (life.pk, "DAY#2026-06-01")
    code = CodeItem.uploaded("tpl-1", "ABC", "u-1").serialize()
    assert code["pk"]["S"].startswith("CODE#tpl-1#") and code["sk"] == {"S": "ABC"} and code["uploadId"] == {"S": "u-1"}
    assert code["gsi2pk"] == {"S": f"FREECODE#tpl-1#{code['pk']['S'].rsplit('#', 1)[1]}"} and code["gsi2sk"] == {"S": "ABC"}
    assert UploadChunk("UPLOAD#tpl-1#u-1", "CHUNK#0", expiresAt=1).serialize()["expiresAt"] == {"N": "1"}
    assert SweepMarker("SWEEP", "expiry", value="2026-06-01").serialize() == {"pk": {"S": "SWEEP"}, "sk": {"S": "expiry"}, "value": {"S": "2026-06-01"}}
