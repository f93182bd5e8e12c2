"""`loyalty.coupons.logic`: ids, stock sharding, random draws, eligibility, issuing and quotes."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from loyalty.core.clock import iso_utc
from loyalty.coupons.logic import (
    CustomerFacts,
    Quote,
    claim_coupon_id,
    command_coupon_id,
    draw_random_amount,
    eligibility_failures,
    event_detail,
    issue_not_allowed,
    new_coupon,
    part_coupon_id,
    quote,
    request_fingerprint,
    shard_order,
    split,
)
from loyalty.coupons.model import Eligibility
from tests.unit.coupon_builders import BENEFITS, DAYS_30, KINDS, NOW, after, coupon, iso, order, template

# --- ids --------------------------------------------------------------------------------------------


def test_ids_derive_deterministically_from_their_inputs() -> None:
    # Given the same inputs twice
    # When each id is derived
    # Then it is the same both times, "cpn_" and 24 hex digits
    for derive in (
        lambda: claim_coupon_id("c-001", "key-1"),
        lambda: command_coupon_id("cmd-1"),
        lambda: part_coupon_id("cpn_abc", 0),
        lambda: request_fingerprint("claim", '{"templateId":"tpl-1"}'),
    ):
        assert derive() == derive()
    for coupon_id in (claim_coupon_id("c-001", "key-1"), command_coupon_id("cmd-1"), part_coupon_id("cpn_abc", 0)):
        assert coupon_id.startswith("cpn_")
        assert len(coupon_id) == 28
        int(coupon_id[4:], 16)


def test_ids_differ_per_input() -> None:
    # Given different customers, keys, commands, bundles and part indexes
    ids = [
        claim_coupon_id("c-001", "key-1"),
        claim_coupon_id("c-002", "key-1"),
        claim_coupon_id("c-001", "key-2"),
        command_coupon_id("cmd-1"),
        command_coupon_id("cmd-2"),
        *[part_coupon_id("cpn_abc", i) for i in range(10)],
        *[part_coupon_id("cpn_abd", i) for i in range(10)],
    ]
    # When derived
    # Then no two collide
    assert len(set(ids)) == len(ids)


def test_ids_are_domain_separated() -> None:
    # Given a claim key and a command id with the same text
    # When both ids are derived
    # Then they differ: a claim and a command never meet the same coupon
    assert command_coupon_id("x") != claim_coupon_id("", "x")
    assert command_coupon_id("x") != part_coupon_id("x", 0)


def test_fingerprints_differ_per_request() -> None:
    assert request_fingerprint("claim", "a") != request_fingerprint("claim", "b")
    assert request_fingerprint("claim", "a") != request_fingerprint("command", "a")


# --- split ------------------------------------------------------------------------------------------


def test_500_over_8_shards() -> None:
    # Given 500 coupons over 8 shards
    # When split
    parts = split(500, 8)
    # Then it is 63,63,63,63,62,62,62,62: the first take the remainder
    assert parts == [63, 63, 63, 63, 62, 62, 62, 62]


@pytest.mark.parametrize(("total", "shards", "expected"), [(0, 4, [0, 0, 0, 0]), (3, 8, [1, 1, 1, 0, 0, 0, 0, 0]), (7, 1, [7]), (64, 64, [1] * 64)])
def test_split_edge_cases(total: int, shards: int, expected: list[int]) -> None:
    assert split(total, shards) == expected


@given(total=st.integers(0, 10**9), shards=st.integers(1, 64))
def test_split_sums_to_the_total_and_differs_by_at_most_one(total: int, shards: int) -> None:
    # Given any stock and any number of shards
    # When split
    parts = split(total, shards)
    # Then one part per shard, summing to the stock, as even as integers allow, largest first
    assert len(parts) == shards
    assert sum(parts) == total
    assert max(parts) - min(parts) <= 1
    assert parts == sorted(parts, reverse=True)


# --- shard order ------------------------------------------------------------------------------------


@given(shards=st.integers(1, 64), seed=st.text(max_size=40))
def test_shard_order_visits_every_shard_once(shards: int, seed: str) -> None:
    # Given any number of shards and any seed
    # When ordered
    visits = shard_order(shards, seed)
    # Then it is a permutation of all shards, the same for the same seed
    assert sorted(visits) == list(range(shards))
    assert shard_order(shards, seed) == visits


def test_shard_order_spreads_starts_over_every_shard() -> None:
    # Given 8 shards and 1,000 seeds
    # When each is ordered
    starts = Counter(shard_order(8, f"cpn_{i}")[0] for i in range(1_000))
    # Then every shard is a start at least once (and none takes much more than its share)
    assert set(starts) == set(range(8))
    assert max(starts.values()) < 250


def test_one_shard_is_always_shard_zero() -> None:
    assert {tuple(shard_order(1, f"s{i}")) for i in range(50)} == {(0,)}


# --- random amounts ---------------------------------------------------------------------------------


@given(coupon_id=st.text(min_size=1, max_size=40), low=st.integers(1, 10**6), span=st.integers(0, 10**6))
def test_a_random_amount_is_within_its_range_and_the_same_on_replay(coupon_id: str, low: int, span: int) -> None:
    # Given a coupon id and a range
    high = low + span
    # When drawn twice
    amount = draw_random_amount(coupon_id, low, high)
    # Then it is within [low, high] and the same both times
    assert low <= amount <= high
    assert draw_random_amount(coupon_id, low, high) == amount


def test_a_random_amount_is_roughly_uniform() -> None:
    # Given 10,000 coupon ids drawing from 1..10
    counts = Counter(draw_random_amount(f"cpn_{i:06d}", 1, 10) for i in range(10_000))
    # When counted
    # Then every value occurs, each about 1,000 times
    assert set(counts) == set(range(1, 11))
    assert all(800 <= n <= 1_200 for n in counts.values()), counts


def test_a_single_value_range_always_draws_it() -> None:
    assert {draw_random_amount(f"c{i}", 42, 42) for i in range(100)} == {42}


def test_the_draw_reaches_both_ends_of_the_range() -> None:
    draws = {draw_random_amount(f"cpn_{i}", 1, 3) for i in range(100)}
    assert draws == {1, 2, 3}


# --- eligibility ------------------------------------------------------------------------------------

KNOWN = CustomerFacts("c-001", known=True, tags=frozenset({"payroll", "young"}), tier="gold", segments=frozenset({"affluent"}), abuse_risk_score=20)


def rules(**fields: Any) -> Eligibility:
    return Eligibility.model_validate(fields)


def test_no_rules_means_eligible_without_facts() -> None:
    # Given a template without eligibility rules
    # When checked with no facts, unknown facts and no channel
    # Then there is nothing to fail
    assert eligibility_failures(rules(), None, None) == []
    assert eligibility_failures(rules(), CustomerFacts("c-x", known=False), None) == []
    assert not rules().needs_customer_facts


def test_channels_need_no_customer_facts() -> None:
    # Given a template for the app channel only
    only_app = rules(channels=["app", "wechat"])
    # When checked without facts
    # Then the app passes, another channel or none fails, naming the channels
    assert not only_app.needs_customer_facts
    assert eligibility_failures(only_app, None, "app") == []
    assert eligibility_failures(only_app, None, "web") == ["channel must be one of ['app', 'wechat']"]
    assert len(eligibility_failures(only_app, None, None)) == 1


@pytest.mark.parametrize(
    ("fields", "ok_facts", "failing_facts"),
    [
        ({"tiers": ["gold", "platinum"]}, {"tier": "gold"}, {"tier": "silver"}),
        ({"tiers": ["gold"]}, {"tier": "gold"}, {"tier": None}),
        ({"segments": ["affluent", "hnwi"]}, {"segments": frozenset({"mass", "hnwi"})}, {"segments": frozenset({"mass"})}),
        ({"tags": ["payroll", "new"]}, {"tags": frozenset({"new"})}, {"tags": frozenset({"other"})}),
        ({"tags": ["payroll"]}, {"tags": frozenset({"payroll"})}, {"tags": frozenset()}),
        ({"maxAbuseRiskScore": 50}, {"abuse_risk_score": 50}, {"abuse_risk_score": 51}),
        ({"maxAbuseRiskScore": 0}, {"abuse_risk_score": 0}, {"abuse_risk_score": 1}),
    ],
)
def test_each_customer_rule(fields: dict[str, Any], ok_facts: dict[str, Any], failing_facts: dict[str, Any]) -> None:
    # Given a rule on the customer's tier, segments, tags (any of them) or abuse-risk score
    rule = rules(**fields)
    assert rule.needs_customer_facts
    # When checked against a customer meeting it, and one not meeting it
    # Then the first is eligible and the second fails exactly that rule
    assert eligibility_failures(rule, replace(KNOWN, **ok_facts), None) == []
    assert len(eligibility_failures(rule, replace(KNOWN, **failing_facts), None)) == 1


def test_an_unknown_abuse_risk_score_does_not_pass_a_risk_limit() -> None:
    # Given a template capping the abuse-risk score, and a known customer whose score is unknown
    # (ProfileFacts never knows the score yet)
    facts = replace(KNOWN, abuse_risk_score=None)
    # When checked
    # Then it fails, as an unknown tier or segment does
    assert eligibility_failures(rules(maxAbuseRiskScore=50), facts, None) != []


def test_every_failed_rule_is_listed() -> None:
    # Given a template with every kind of rule, and a customer failing all of them
    rule = rules(channels=["app"], tiers=["gold"], segments=["affluent"], tags=["payroll"], maxAbuseRiskScore=10)
    facts = CustomerFacts("c-002", known=True, tags=frozenset({"x"}), tier="silver", segments=frozenset({"mass"}), abuse_risk_score=99)
    # When checked from the web
    failures = eligibility_failures(rule, facts, "web")
    # Then all five are reported
    assert len(failures) == 5


@pytest.mark.parametrize("facts", [None, CustomerFacts("c-009", known=False)])
@pytest.mark.parametrize("fields", [{"tiers": ["gold"]}, {"segments": ["a"]}, {"tags": ["t"]}, {"maxAbuseRiskScore": 100}])
def test_an_unknown_customer_fails_any_customer_rule(fields: dict[str, Any], facts: CustomerFacts | None) -> None:
    # Given a rule that needs customer facts, and no facts or a customer not known yet
    # When checked
    # Then the only failure is that the profile is not known
    assert eligibility_failures(rules(**fields), facts, None) == ["the customer's profile is not known yet"]


def test_an_unknown_customer_also_fails_the_channel() -> None:
    # Given a channel rule and a tag rule, an unknown customer on the wrong channel
    # When checked
    failures = eligibility_failures(rules(channels=["app"], tags=["t"]), None, "web")
    # Then both are reported
    assert failures == ["channel must be one of ['app']", "the customer's profile is not known yet"]


# --- issuing ----------------------------------------------------------------------------------------


def issue(kind: str = "fixed_amount", **template_fields: Any) -> Any:
    tpl = template(kind=kind, **template_fields)
    return new_coupon(tpl, coupon_id="cpn_new", customer_id="c-001", now=NOW, source="claim", fingerprint="fp")


@pytest.mark.parametrize("kind", KINDS)
def test_a_new_coupon_snapshots_its_template(kind: str) -> None:
    # Given an active template of each kind with a fixed window, funding and redemption rules
    # When a coupon is issued from it
    issued = issue(kind, redemption={"merchants": ["m-1"], "channels": ["app"]},
                   funding={"costCentre": "cc-1", "unitCostMinor": 300, "currency": "CNY"})
    # Then it copies the benefit, the funding (without empty payers) and the redemption rules
    assert (issued.coupon_id, issued.template_id, issued.customer_id, issued.kind) == ("cpn_new", "tpl-1", "c-001", kind)
    assert issued.benefit == {**BENEFITS[kind], **issued.benefit} and issued.benefit["kind"] == kind
    assert issued.funding == {"costCentre": "cc-1", "unitCostMinor": 300, "currency": "CNY"}
    assert issued.redemption == {"merchants": ["m-1"], "channels": ["app"]}
    # And it is valid over the template's window, issued now, version 1
    assert (issued.valid_from, issued.valid_until) == ("2026-05-01T00:00:00.000000Z", "2026-07-01T00:00:00.000000Z")
    assert issued.issued_at == iso(NOW)
    assert (issued.version, issued.source, issued.fingerprint) == (1, "claim", "fp")
    assert issued.lock_order_id is None and issued.locked_until is None


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "red_packet"])
def test_a_new_coupon_is_available_and_unredeemed(kind: str) -> None:
    issued = issue(kind)
    assert issued.status == "available"
    assert (issued.redeemed_order_id, issued.redeemed_at, issued.discount_minor) == (None, None, None)


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "random_amount"])
def test_only_a_random_coupon_draws_an_amount(kind: str) -> None:
    assert issue(kind).amount_minor is None


def test_a_red_packet_is_created_redeemed_by_the_credit() -> None:
    # Given a red-packet template
    # When a coupon is issued
    issued = issue("red_packet")
    # Then it is already spent: redeemed now, for the order "credit"
    assert (issued.status, issued.redeemed_order_id, issued.redeemed_at) == ("redeemed", "credit", iso(NOW))


def test_a_random_coupon_draws_its_amount_from_its_id() -> None:
    # Given a random-amount template (100..999)
    # When a coupon is issued
    issued = issue("random_amount")
    # Then its amount is the draw for its id
    assert issued.amount_minor == draw_random_amount("cpn_new", 100, 999)
    assert 100 <= issued.amount_minor <= 999


def test_days_after_claim_counts_from_now() -> None:
    # Given a template valid 30 days after the claim
    # When issued at NOW
    issued = issue(validity=DAYS_30)
    # Then it is valid from NOW for 30 days
    assert (issued.valid_from, issued.valid_until) == (iso(NOW), iso(NOW + timedelta(days=30)))


def test_a_window_in_another_offset_is_stored_in_utc() -> None:
    # Given a window from 2026-05-01 08:00+08:00 to 2026-07-01 08:00+08:00
    window = {"type": "window", "validFrom": "2026-05-01T08:00:00+08:00", "validUntil": "2026-07-01T08:00:00+08:00"}
    # When issued
    issued = issue(validity=window)
    # Then the coupon's window is the same instants in UTC
    assert (issued.valid_from, issued.valid_until) == ("2026-05-01T00:00:00.000000Z", "2026-07-01T00:00:00.000000Z")


def test_funding_by_a_merchant_drops_the_missing_cost_centre() -> None:
    issued = issue(funding={"merchantId": "m-9", "unitCostMinor": 0, "currency": "CNY"})
    assert issued.funding == {"merchantId": "m-9", "unitCostMinor": 0, "currency": "CNY"}


def test_a_new_coupon_records_where_it_came_from() -> None:
    # Given a campaign command for a voucher code that is part of a bundle
    tpl = template(kind="voucher_code")
    # When issued
    issued = new_coupon(tpl, coupon_id="cpn_p", customer_id="c-001", now=NOW, source="campaign", fingerprint="fp",
                        campaign_id="camp-1", command_id="cmd-1", bundle_id="cpn_b", code="CODE-123")
    # Then it carries the campaign, command, bundle and code
    assert (issued.source, issued.campaign_id, issued.command_id, issued.bundle_id, issued.code) == (
        "campaign", "camp-1", "cmd-1", "cpn_b", "CODE-123")


def test_new_coupon_is_deterministic() -> None:
    assert issue("random_amount") == issue("random_amount")


# --- may the template issue? ------------------------------------------------------------------------


@pytest.mark.parametrize("status", ["draft", "paused", "ended"])
def test_only_an_active_template_issues(status: Any) -> None:
    # Given a template that is not active
    # When asked whether it may issue now
    # Then it may not, and the reason names its status
    assert issue_not_allowed(template(status=status), NOW) == f"the template is {status}"


def test_an_active_template_in_its_window_issues() -> None:
    assert issue_not_allowed(template(), NOW) is None


def test_a_template_whose_window_ended_does_not_issue() -> None:
    # Given an active template whose window ends at 2026-07-01T00:00Z
    tpl = template()
    # When asked at, and after, the end
    # Then it may not issue; a moment before, it may
    ends = tpl.definition.validity.validUntil  # type: ignore[union-attr]
    assert issue_not_allowed(tpl, ends) == "the template's validity window has ended"
    assert issue_not_allowed(tpl, ends + timedelta(days=1)) == "the template's validity window has ended"
    assert issue_not_allowed(tpl, ends - timedelta(microseconds=1)) is None


def test_a_template_issues_before_its_window_starts() -> None:
    # Given a window starting 2026-05-01
    # When asked a month earlier
    # Then it may issue (the coupon is simply not valid yet)
    assert issue_not_allowed(template(), NOW - timedelta(days=60)) is None


def test_a_days_after_claim_template_never_runs_out_of_window() -> None:
    assert issue_not_allowed(template(validity=DAYS_30), NOW + timedelta(days=10_000)) is None


# --- quotes -----------------------------------------------------------------------------------------


def payment(kind: str, **fields: Any) -> Any:
    return coupon(kind=kind, benefit={**BENEFITS[kind], **fields})


@pytest.mark.parametrize(("amount", "discount"), [(20_000, 500), (500, 500), (300, 300), (0, 0)])
def test_a_fixed_amount_is_capped_at_the_order(amount: int, discount: int) -> None:
    # Given a 5.00 coupon
    # When quoted on an order
    # Then the discount is 5.00, or the whole order if it is smaller
    assert quote(payment("fixed_amount"), order(orderAmountMinor=amount)) == Quote(True, discount)


@pytest.mark.parametrize(("amount", "expected"), [(9_999, Quote(False, 0, "THRESHOLD_NOT_MET")), (10_000, Quote(True, 1_500)), (50_000, Quote(True, 1_500))])
def test_a_threshold_applies_from_the_threshold(amount: int, expected: Quote) -> None:
    # Given "15.00 off 100.00"
    # When quoted below, at and above the threshold
    # Then it applies at and above
    assert quote(payment("threshold"), order(orderAmountMinor=amount)) == expected


@pytest.mark.parametrize(("amount", "discount"), [(10_000, 1_500), (999, 149), (6, 0), (13_333, 1_999), (13_334, 2_000), (1_000_000, 2_000)])
def test_a_percentage_rounds_down_and_is_capped(amount: int, discount: int) -> None:
    # Given 15% off, at most 20.00
    # When quoted
    # Then it rounds down in the bank's favour, and never exceeds 20.00
    assert quote(payment("percentage"), order(orderAmountMinor=amount)) == Quote(True, discount)


def test_a_hundred_percent_takes_the_whole_order_up_to_the_cap() -> None:
    free = payment("percentage", percentOff=100, maxDiscountMinor=5_000)
    assert quote(free, order(orderAmountMinor=4_321)) == Quote(True, 4_321)
    assert quote(free, order(orderAmountMinor=9_999)) == Quote(True, 5_000)


@pytest.mark.parametrize(("amount", "discount"), [(20_000, 437), (400, 400)])
def test_a_random_coupon_uses_its_drawn_amount(amount: int, discount: int) -> None:
    # Given a random coupon that drew 4.37
    drawn = replace(payment("random_amount"), amount_minor=437)
    # When quoted
    # Then the discount is the drawn amount, capped at the order
    assert quote(drawn, order(orderAmountMinor=amount)) == Quote(True, discount)


@pytest.mark.parametrize("kind", ["red_packet", "gift", "voucher_code", "bundle"])
def test_other_kinds_are_not_payment_coupons(kind: str) -> None:
    assert quote(payment(kind), order()) == Quote(False, 0, "NOT_A_PAYMENT_COUPON")


@pytest.mark.parametrize("kind", ["fixed_amount", "threshold", "percentage", "random_amount"])
def test_a_coupon_in_another_currency_does_not_apply(kind: str) -> None:
    assert quote(replace(payment(kind), amount_minor=100), order(currency="USD")) == Quote(False, 0, "CURRENCY_MISMATCH")


def test_redemption_rules_come_from_the_template() -> None:
    # Given a coupon issued from a template for merchants m-1 and m-2 through the app
    tpl = template(redemption={"merchants": ["m-1", "m-2"], "channels": ["app"]})
    issued = new_coupon(tpl, coupon_id="cpn_r", customer_id="c-001", now=NOW, source="claim", fingerprint="fp")
    # When quoted at m-2 in the app, at m-3, and at m-1 on the web
    # Then only the first applies
    assert quote(issued, order(merchantId="m-2")) == Quote(True, 500)
    assert quote(issued, order(merchantId="m-3")) == Quote(False, 0, "MERCHANT_NOT_ALLOWED")
    assert quote(issued, order(channel="web")) == Quote(False, 0, "CHANNEL_NOT_ALLOWED")


def test_empty_redemption_rules_mean_anywhere() -> None:
    issued = new_coupon(template(), coupon_id="cpn_r", customer_id="c-001", now=NOW, source="claim", fingerprint="fp")
    assert quote(issued, order(merchantId="anyone", channel="anywhere")) == Quote(True, 500)


def test_the_currency_is_checked_before_the_merchant() -> None:
    restricted = coupon(redemption={"merchants": ["m-1"], "channels": []})
    assert quote(restricted, order(currency="USD", merchantId="m-9")).reason == "CURRENCY_MISMATCH"


@given(amount=st.integers(0, 10**9), percent=st.integers(1, 100), cap=st.integers(1, 10**7))
def test_a_discount_never_exceeds_the_order_or_the_cap(amount: int, percent: int, cap: int) -> None:
    result = quote(payment("percentage", percentOff=percent, maxDiscountMinor=cap), order(orderAmountMinor=amount))
    assert result.applicable
    assert 0 <= result.discount_minor <= min(amount, cap)


# --- events -----------------------------------------------------------------------------------------


def test_event_detail_carries_cost_and_funding_for_allocation() -> None:
    # Given a campaign coupon funded by a cost centre
    issued = replace(coupon(), campaign_id="camp-1", command_id="cmd-1")
    # When its event detail is built with extras, one of them None
    detail = event_detail(issued, orderId="o-1", discountMinor=None)
    # Then it carries the ids, the unit cost and the payer, and omits what is absent (bundle, None extra)
    assert detail == {
        "couponId": "cpn_0001", "templateId": "tpl-1", "customerId": "c-001", "kind": "fixed_amount",
        "campaignId": "camp-1", "commandId": "cmd-1", "source": "claim",
        "cost": {"amountMinor": 500, "currency": "CNY"}, "funding": {"costCentre": "cc-marketing"}, "orderId": "o-1",
    }


def test_event_detail_uses_iso_times() -> None:
    assert event_detail(coupon(), lockedUntil=iso_utc(after(minutes=15)))["lockedUntil"] == "2026-06-01T12:15:00.000000Z"
