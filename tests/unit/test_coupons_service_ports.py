"""`loyalty.coupons.service` against in-memory ports (`tests.unit.coupon_fakes`): the template cache,
the claim's retries and refusals, idempotent replays, version conflicts and the sweep, without AWS."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

from loyalty.core import config_cache
from loyalty.core.auth import Caller
from loyalty.core.errors import DomainError
from loyalty.coupons import service
from loyalty.coupons.claims import MAX_BUSY_RETRIES
from loyalty.coupons.logic import BundleClaim, Coupon, CustomerFacts
from loyalty.coupons.model import (
    ClaimRequest,
    CodeUpload,
    IssueCouponCommand,
    LockRequest,
    RedeemRequest,
    RevokeCouponCommand,
    Template,
    TemplateCreate,
)
from tests.unit.coupon_builders import BENEFITS, NOW, after, template_data
from tests.unit.coupon_fakes import InMemoryCouponStore
from tests.unit.fakes import FakeClock

OPERATOR = "op-1"


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeClock]:
    """The configuration cache on a clock that moves only when told to, empty for each test."""
    fake = FakeClock(1_000.0)
    monkeypatch.setattr(config_cache, "cached", functools.partial(config_cache.cached, clock=fake))
    config_cache.clear()
    yield fake
    config_cache.clear()


class Facts:
    """The customer facts port: what the customers capability knows, by customer id."""

    def __init__(self, **known: CustomerFacts) -> None:
        self.known = known
        self.asked: list[str] = []

    def facts(self, customer_id: str) -> CustomerFacts:
        self.asked.append(customer_id)
        return self.known.get(customer_id, CustomerFacts(customer_id, known=False))


def active(store: InMemoryCouponStore, template_id: str = "tpl-1", **fields: Any) -> Template:
    """A template created and activated through the service, as an operator would."""
    definition = TemplateCreate.model_validate(template_data(templateId=template_id, validity={"type": "days_after_claim", "days": 30}, **fields))
    service.create_template(store, definition, OPERATOR, NOW)
    return service.change_status(store, template_id, "active", NOW)


def claim(store: InMemoryCouponStore, customer: str, template_id: str = "tpl-1", key: str = "k-1", facts: Facts | None = None,
          **body: Any) -> service.Issued:
    return service.claim(store, facts or Facts(), customer, ClaimRequest(templateId=template_id, **body), key, NOW)


def refused(call: Callable[[], Any], code: str) -> DomainError:
    with pytest.raises(DomainError) as raised:
        call()
    assert raised.value.code == code, f"{raised.value.code}: {raised.value.message}"
    return raised.value


# ---- the template, read from memory for template_cache_seconds -------------------------------------


def test_claims_read_the_template_once_within_the_cache_window_and_again_after_it(monkeypatch: pytest.MonkeyPatch, clock: FakeClock) -> None:
    # Given a template cached for 30 s (TEMPLATE_CACHE_SECONDS), and no read of it yet in this process
    monkeypatch.setenv("TEMPLATE_CACHE_SECONDS", "30")
    store = InMemoryCouponStore()
    active(store, totalStock=10)
    config_cache.clear()
    store.reads.clear()
    # When three customers claim within 29 s
    for n in range(3):
        claim(store, f"c-{n}", key=f"k-{n}")
        clock.advance(14.5)
    # Then the template was read once
    assert store.reads["template"] == 1
    # And when the window has passed, the next claim reads it again
    clock.advance(1.0)
    claim(store, "c-late", key="k-late")
    assert store.reads["template"] == 2


def test_a_cache_of_zero_seconds_reads_the_template_for_every_claim(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEMPLATE_CACHE_SECONDS", "0")
    store = InMemoryCouponStore()
    active(store, totalStock=10)
    store.reads.clear()
    for n in range(3):
        claim(store, f"c-{n}", key=f"k-{n}")
    assert store.reads["template"] == 3


def test_an_operators_change_reaches_this_processs_next_claim_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a long cache and an active template this process has cached
    monkeypatch.setenv("TEMPLATE_CACHE_SECONDS", "3600")
    store = InMemoryCouponStore()
    active(store, totalStock=10)
    claim(store, "c-1")
    # When an operator of this process pauses it
    service.change_status(store, "tpl-1", "paused", NOW)
    # Then the next claim sees the pause (the write forgot the cached copy), before any write
    refused(lambda: claim(store, "c-2", key="k-2"), "TEMPLATE_NOT_ACTIVE")
    assert store.writes == 1


def test_a_stale_cached_template_is_stopped_by_the_shards(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a claimer holding the template as active in its cache, paused meanwhile by another process
    monkeypatch.setenv("TEMPLATE_CACHE_SECONDS", "3600")
    store = InMemoryCouponStore()
    before = active(store, totalStock=5, shards=4)
    claim(store, "c-1")
    paused = before.model_copy(update={"status": "paused", "version": before.version + 1})
    store.change_status(before, paused, [])
    assert service.cached_template(store, "tpl-1").status == "active"
    # When a customer claims
    # Then the shard's active flag refuses it: not active, not out of stock, and nothing is issued
    refused(lambda: claim(store, "c-2", key="k-2"), "TEMPLATE_NOT_ACTIVE")
    assert store.stock_left(paused) == 4
    assert [c.customer_id for c in store.coupons()] == ["c-1"]


# ---- the claim's retries and refusals --------------------------------------------------------------


def test_a_claim_cancelled_by_a_conflicting_transaction_is_retried_on_the_next_shard() -> None:
    # Given a template over 4 shards, and DynamoDB cancelling the first two tries (a conflict on the stock)
    store = InMemoryCouponStore()
    active(store, totalStock=8, shards=4)
    store.busy = lambda attempt: {"stock#0"} if attempt <= 2 else set()
    # When a customer claims
    issued = claim(store, "c-1")
    # Then the third try is served: one coupon, one unit of stock, and never "out of stock"
    assert store.writes == 3
    assert [c.coupon_id for c in issued.coupons] == [c.coupon_id for c in store.coupons()]
    assert store.stock_left(store.templates["tpl-1"]) == 7
    # And each busy try moved the claim to another shard
    drawn = [shard for (_, shard), held in store.shards.items() if held.left == 1]
    assert len(drawn) == 1


def test_a_claim_throttled_throughout_is_429_and_issues_nothing() -> None:
    store = InMemoryCouponStore()
    active(store, totalStock=8, shards=2)
    store.busy = lambda attempt: {"coupon#0"}
    refused(lambda: claim(store, "c-1"), "CLAIMS_THROTTLED")
    assert store.writes == MAX_BUSY_RETRIES + 1
    assert store.coupons() == [] and store.stock_left(store.templates["tpl-1"]) == 8


def test_an_empty_shard_moves_the_claim_to_a_shard_with_stock_after_one_read() -> None:
    # Given 2 units over 4 shards: two shards are empty
    store = InMemoryCouponStore()
    active(store, totalStock=2, shards=4)
    # When two customers claim
    claim(store, "c-1", key="k-1")
    claim(store, "c-2", key="k-2")
    # Then both are served, and no claim wrote more than twice
    assert len(store.coupons()) == 2
    assert store.writes <= 4
    # And a third is out of stock after one read of the shards, not a write per shard
    writes, reads = store.writes, store.reads["shards"]
    refused(lambda: claim(store, "c-3", key="k-3"), "COUPON_OUT_OF_STOCK")
    assert (store.writes - writes, store.reads["shards"] - reads) == (1, 1)


def test_a_customer_over_the_lifetime_limit_is_refused() -> None:
    store = InMemoryCouponStore()
    active(store, totalStock=10, limits={"perCustomerLifetime": 1})
    claim(store, "c-1", key="k-1")
    refused(lambda: claim(store, "c-1", key="k-2"), "COUPON_LIMIT_REACHED")
    assert len(store.coupons()) == 1 and store.stock_left(store.templates["tpl-1"]) == 9


def test_a_customer_over_the_daily_limit_is_refused_but_another_is_served() -> None:
    store = InMemoryCouponStore()
    active(store, totalStock=10, limits={"perCustomerDaily": 1})
    claim(store, "c-1", key="k-1")
    refused(lambda: claim(store, "c-1", key="k-2"), "COUPON_LIMIT_REACHED")
    claim(store, "c-2", key="k-1")
    assert sorted(c.customer_id for c in store.coupons()) == ["c-1", "c-2"]


def test_the_daily_stock_runs_out_before_the_total() -> None:
    store = InMemoryCouponStore()
    active(store, totalStock=10, dailyStock=2, shards=2)
    claim(store, "c-1", key="k-1")
    claim(store, "c-2", key="k-2")
    error = refused(lambda: claim(store, "c-3", key="k-3"), "COUPON_OUT_OF_STOCK")
    assert "today's" in error.message


def test_an_ineligible_customer_is_refused_from_the_facts_port_before_any_write() -> None:
    store = InMemoryCouponStore()
    active(store, totalStock=10, eligibility={"tiers": ["gold"]})
    facts = Facts(gold=CustomerFacts("gold", known=True, tier="gold"), silver=CustomerFacts("silver", known=True, tier="silver"))
    error = refused(lambda: claim(store, "silver", facts=facts), "NOT_ELIGIBLE")
    assert error.details == ["tier must be one of ['gold']"]
    assert store.writes == 0
    claim(store, "gold", facts=facts)
    assert facts.asked == ["silver", "gold"]


def test_a_template_without_customer_conditions_never_asks_for_facts() -> None:
    store = InMemoryCouponStore()
    active(store, totalStock=10)
    facts = Facts()
    claim(store, "c-1", facts=facts)
    assert facts.asked == []


# ---- idempotent replays ------------------------------------------------------------------------------


def test_a_claim_retried_with_the_same_key_answers_the_same_coupon() -> None:
    # Given a served claim
    store = InMemoryCouponStore()
    active(store, totalStock=10)
    first = claim(store, "c-1")
    # When it is sent again with the same key and body
    again = claim(store, "c-1")
    # Then the same coupon is answered as a replay, and nothing more was issued
    assert again.replayed and again.coupons == first.coupons
    assert len(store.coupons()) == 1 and store.stock_left(store.templates["tpl-1"]) == 9


def test_the_same_key_with_another_body_is_refused() -> None:
    store = InMemoryCouponStore()
    active(store, totalStock=10)
    claim(store, "c-1")
    refused(lambda: claim(store, "c-1", channel="branch"), "IDEMPOTENCY_KEY_REUSED")


def test_a_served_claim_retried_after_the_template_was_paused_is_still_answered() -> None:
    store = InMemoryCouponStore()
    active(store, totalStock=10)
    first = claim(store, "c-1")
    service.change_status(store, "tpl-1", "paused", NOW)
    assert claim(store, "c-1").coupons == first.coupons


def test_a_bundle_claim_is_replayed_whole() -> None:
    # Given two active part templates and an active bundle of them
    store = InMemoryCouponStore()
    active(store, "tpl-a", totalStock=5)
    active(store, "tpl-b", totalStock=5)
    active(store, "tpl-ab", totalStock=5, benefit=BENEFITS["bundle"] | {"parts": ["tpl-a", "tpl-b"]})
    # When a customer claims the bundle, twice with the same key
    first = claim(store, "c-1", "tpl-ab")
    again = claim(store, "c-1", "tpl-ab")
    # Then one coupon per part, under the bundle's record, and the replay answers the same parts
    assert [c.template_id for c in first.coupons] == ["tpl-a", "tpl-b"]
    record = store.records[str(first.bundle_id)]
    assert isinstance(record, BundleClaim) and list(record.parts) == [c.coupon_id for c in first.coupons]
    assert again.replayed and again.coupons == first.coupons and again.bundle_id == first.bundle_id
    assert [store.stock_left(store.templates[t]) for t in ("tpl-a", "tpl-b", "tpl-ab")] == [4, 4, 4]


def test_a_voucher_code_taken_meanwhile_is_replaced_by_another() -> None:
    # Given a voucher template with two codes, one of them assigned by another claim after this one picked it
    store = InMemoryCouponStore()
    definition = TemplateCreate.model_validate(template_data(benefit=BENEFITS["voucher_code"], totalStock=0))
    service.create_template(store, definition, OPERATOR, NOW)
    service.upload_codes(store, "tpl-1", CodeUpload(codes=["A-1", "B-2"]), "u-1")
    service.change_status(store, "tpl-1", "active", NOW)
    taken: list[str] = []

    def take_its_code(attempt: int, coupons: list[Coupon]) -> None:
        if attempt == 1:
            code = str(coupons[0].code)
            store.codes[("tpl-1", code)].assigned_to = "cpn_someone_else"
            taken.append(code)

    store.racing = take_its_code
    # When a customer claims
    issued = claim(store, "c-1")
    # Then they get the other code, on the second try
    assert store.writes == 2 and len(taken) == 1
    assert issued.coupons[0].code == ({"A-1", "B-2"} - set(taken)).pop()
    assert store.codes[("tpl-1", str(issued.coupons[0].code))].assigned_to == issued.coupons[0].coupon_id


# ---- IssueCoupon commands ----------------------------------------------------------------------------


def command(customer: str = "c-1", template_id: str = "tpl-1") -> IssueCouponCommand:
    return IssueCouponCommand(commandId="cmd-1", customerId=customer, templateId=template_id, source="campaign", campaignId="camp-1")


def test_a_refused_command_is_recorded_once_and_announced_once() -> None:
    # Given a template out of stock
    store = InMemoryCouponStore()
    active(store, totalStock=1)
    claim(store, "c-0")
    # When the same command is delivered twice
    first = service.issue_for_command(store, Facts(), command(), NOW)
    again = service.issue_for_command(store, Facts(), command(), NOW)
    # Then neither issues, and one CouponIssueFailed names the reason
    assert first is None and again is None
    failures = [e for e in store.events if e.detail_type == "CouponIssueFailed"]
    assert [e.detail["reason"] for e in failures] == ["COUPON_OUT_OF_STOCK"]


def test_a_command_for_an_unknown_template_is_refused_not_failed() -> None:
    store = InMemoryCouponStore()
    assert service.issue_for_command(store, Facts(), command(template_id="nope"), NOW) is None
    assert [e.detail["reason"] for e in store.events] == ["TEMPLATE_NOT_FOUND"]


def test_a_served_command_delivered_again_answers_its_coupon() -> None:
    store = InMemoryCouponStore()
    active(store, totalStock=5)
    first = service.issue_for_command(store, Facts(), command(), NOW)
    again = service.issue_for_command(store, Facts(), command(), NOW)
    assert first is not None and again is not None and again.replayed and again.coupons == first.coupons
    assert len(store.coupons()) == 1


# ---- RevokeCoupon: a campaign grant's compensation ------------------------------------------------------


def revoke_command(command_id: str = "cmd-1") -> RevokeCouponCommand:
    return RevokeCouponCommand(commandId=command_id, customerId="c-1", grantId="gr-1", campaignId="camp-1",
                               reason="CouponIssueFailed:COUPON_LIMIT_REACHED")


def answers(store: InMemoryCouponStore) -> list[tuple[str, dict[str, Any]]]:
    return [(e.detail_type, e.detail) for e in store.events if e.detail_type in ("CouponRevoked", "CouponRevocationRefused")]


def test_an_unused_coupon_is_revoked_once_however_often_the_compensation_arrives() -> None:
    # Given a coupon a campaign's command issued
    store = InMemoryCouponStore()
    active(store, totalStock=5)
    issued = service.issue_for_command(store, Facts(), command(), NOW)
    assert issued is not None
    # When its grant's compensation arrives twice
    outcomes = [service.revoke_for_command(store, revoke_command(), NOW) for _ in range(2)]
    # Then the coupon is revoked once, answered once, and can no longer be used
    assert outcomes == ["revoked", "duplicate"]
    coupon = store.get_coupon(issued.coupons[0].coupon_id)
    assert coupon.status == "revoked" and coupon.revoked_at is not None
    assert answers(store) == [("CouponRevoked", {"commandId": "cmd-1", "customerId": "c-1", "campaignId": "camp-1", "grantId": "gr-1",
                                                 "source": "campaign", "issued": True, "couponIds": [coupon.coupon_id]})]
    caller = Caller("c-1", frozenset())
    refused(lambda: service.redeem(store, caller, coupon.coupon_id, RedeemRequest(orderId="o-1"), NOW), "COUPON_REVOKED")
    refused(lambda: service.lock(store, caller, coupon.coupon_id, LockRequest(orderId="o-1"), NOW), "COUPON_REVOKED")


def test_a_redeemed_coupon_cannot_be_revoked_and_the_refusal_is_answered_once() -> None:
    # Given a campaign's coupon the customer has redeemed
    store = InMemoryCouponStore()
    active(store, totalStock=5)
    issued = service.issue_for_command(store, Facts(), command(), NOW)
    assert issued is not None
    service.redeem(store, Caller("c-1", frozenset()), issued.coupons[0].coupon_id, RedeemRequest(orderId="o-1"), NOW)
    # When its grant's compensation arrives, twice
    outcomes = [service.revoke_for_command(store, revoke_command(), NOW) for _ in range(2)]
    # Then it stays redeemed, and the refusal is answered once, with its reason
    assert outcomes == ["COUPON_ALREADY_REDEEMED", "duplicate"]
    assert store.get_coupon(issued.coupons[0].coupon_id).status == "redeemed"
    assert [(t, d["reason"]) for t, d in answers(store)] == [("CouponRevocationRefused", "COUPON_ALREADY_REDEEMED")]


def test_a_compensation_before_the_issue_forestalls_it_for_good() -> None:
    # Given a campaign's command not served yet
    store = InMemoryCouponStore()
    active(store, totalStock=5)
    # When its compensation arrives first, and then the command
    assert service.revoke_for_command(store, revoke_command(), NOW) == "not_issued"
    late = service.issue_for_command(store, Facts(), command(), NOW)
    # Then no coupon is ever issued, and nothing but the revocation is announced
    assert late is None and store.coupons() == []
    assert [(t, d["issued"]) for t, d in answers(store)] == [("CouponRevoked", False)]
    assert [e.detail_type for e in store.events if e.detail_type.startswith("CouponIssue")] == []


def test_a_compensation_of_a_refused_command_answers_that_nothing_was_issued() -> None:
    # Given a campaign's command refused (out of stock)
    store = InMemoryCouponStore()
    active(store, totalStock=1)
    claim(store, "c-0")
    assert service.issue_for_command(store, Facts(), command(), NOW) is None
    # When its compensation arrives
    # Then nothing was issued, and the refusal stays recorded
    assert service.revoke_for_command(store, revoke_command(), NOW) == "not_issued"
    assert answers(store)[0][1]["issued"] is False and store.get_issue_failure(issued_id("cmd-1")) == "COUPON_OUT_OF_STOCK"


def issued_id(command_id: str) -> str:
    from loyalty.coupons.logic import command_coupon_id

    return command_coupon_id(command_id)


# ---- versions ------------------------------------------------------------------------------------------


def test_a_template_changed_between_read_and_write_is_a_version_conflict() -> None:
    # Given an active template that another operator pauses right after this one read it
    store = InMemoryCouponStore()
    before = active(store, totalStock=5)
    other = before.model_copy(update={"status": "paused", "version": before.version + 1})
    store.meanwhile = lambda: store.templates.update({"tpl-1": other}) if store.templates["tpl-1"] is before else None
    # When this operator adds stock
    refused(lambda: service.add_stock(store, "tpl-1", 10, NOW), "VERSION_CONFLICT")
    # Then nothing was added, and the other change stands
    assert store.templates["tpl-1"] == other and store.stock_left(other) == 5
    # And a retry reads the template again and succeeds on its new version
    store.meanwhile = lambda: None
    assert service.add_stock(store, "tpl-1", 10, NOW).version == other.version + 1


def test_a_coupon_changed_between_read_and_write_is_refused_and_unchanged() -> None:
    # Given a coupon that another request locks right after this one read it
    store = InMemoryCouponStore()
    active(store, totalStock=5)
    (coupon,) = claim(store, "c-1").coupons
    other = replace(coupon, status="locked", lock_order_id="o-other", locked_until="2999-01-01T00:00:00.000000Z", version=2)
    store.meanwhile = lambda: store.records.update({coupon.coupon_id: other}) if store.records[coupon.coupon_id] is coupon else None
    from loyalty.core.auth import Caller

    caller = Caller(subject="c-1", groups=frozenset())
    # When this request locks it for its own order
    refused(lambda: service.lock(store, caller, coupon.coupon_id, LockRequest(orderId="o-1"), NOW), "COUPON_CHANGED")
    # Then the other lock stands, and a retry reads it again and is refused for what it is
    assert store.records[coupon.coupon_id] == other
    refused(lambda: service.lock(store, caller, coupon.coupon_id, LockRequest(orderId="o-1"), NOW), "COUPON_LOCKED")


def test_the_sweep_skips_a_coupon_changed_meanwhile_and_expires_it_on_its_next_run() -> None:
    # Given a lapsed coupon, changed by another writer right after the sweep read it
    store = InMemoryCouponStore()
    active(store, totalStock=5)
    (coupon,) = claim(store, "c-1").coupons
    lapsed = replace(coupon, valid_until=_iso(NOW - timedelta(hours=1)))
    store.records[coupon.coupon_id] = lapsed
    moved = replace(lapsed, version=lapsed.version + 1)
    original_lapsed = store.lapsed_coupons

    def read_then_change(expiry_date: str, before: str) -> Iterator[Coupon]:
        for found in original_lapsed(expiry_date, before):
            store.records[found.coupon_id] = moved
            yield found

    store.lapsed_coupons = read_then_change  # type: ignore[method-assign]
    # When the sweep runs
    first = service.sweep_expired(store, NOW)
    # Then it expired nothing, and the next run reads the coupon again and expires it
    assert first["expired"] == 0
    store.lapsed_coupons = original_lapsed  # type: ignore[method-assign]
    assert service.sweep_expired(store, after(minutes=5))["expired"] == 1
    stored = store.records[coupon.coupon_id]
    assert isinstance(stored, Coupon) and stored.status == "expired" and stored.version == moved.version + 1
    assert [e.detail_type for e in store.events].count("CouponExpired") == 1


def _iso(value: datetime) -> str:
    from loyalty.core.clock import iso_utc

    return iso_utc(value)
