"""The daily reconciliation against in-memory books (no AWS): books that agree report 0, every kind
of disagreement is found with the ids to repair it, moving things are not judged until they settle,
and a run stopped by its time resumes from its checkpoint to the same report."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from loyalty.campaigns.ports import ActionBooks, CampaignBooks, GrantBooks
from loyalty.checkout.ports import SessionBooks
from loyalty.core.errors import BusinessRuleViolation
from loyalty.core.events import OutboundEvent
from loyalty.coupons.ports import CommandOutcome, IssuedBooks, TemplateBooks
from loyalty.points.ports import AccountBooks, AwardBooks, RedemptionBooks
from loyalty.reconciliation import service
from loyalty.reconciliation.service import Sources
from tests.unit.reconciliation_fakes import (
    CampaignsBooksInMemory,
    CheckoutBooksInMemory,
    CouponsBooksInMemory,
    PointsBooksInMemory,
    RunStoreInMemory,
)

NOW = datetime(2026, 12, 7, 8, 0, tzinfo=UTC)  # 16:00 in Shanghai
TODAY = date(2026, 12, 7)
AN_HOUR_AGO = (NOW - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
JUST_NOW = (NOW - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def coupon(cid: str, template: str = "tpl-1", command: str | None = None, source: str = "claim", in_wallet: bool = True) -> IssuedBooks:
    return IssuedBooks("coupon", cid, template, "c-1", "available", AN_HOUR_AGO, command, source, in_wallet)


def grant(gid: str, status: str, charged: int, *actions: ActionBooks, at: str = AN_HOUR_AGO) -> GrantBooks:
    return GrantBooks(gid, "cmp-1", "c-1", status, at, 1, charged, actions)


def agreeing_bank() -> Sources:
    """A campaign of a coupon and points: one grant delivered, one compensated (the coupon refused,
    the points reversed), one partly delivered (a coupon refused, the other already redeemed); a
    claim; a points redemption for a coupon; an account whose ledger, balance and lots agree."""
    grants = [
        grant("g1", "delivered", 1, ActionBooks("cmd-c1", "coupon", 1, "delivered"), ActionBooks("cmd-p1", "points", 1, "delivered")),
        grant("g2", "compensated", 0, ActionBooks("cmd-c2", "coupon", 1, "refused"), ActionBooks("cmd-p2", "points", 1, "compensated")),
        grant("g3", "partly_delivered", 1, ActionBooks("cmd-c3", "coupon", 1, "refused"), ActionBooks("cmd-c4", "coupon", 1, "kept")),
    ]
    campaigns = CampaignsBooksInMemory(grants, [CampaignBooks("cmp-1", 2, 2)], {"cmd-c1", "cmd-c2", "cmd-c3", "cmd-c4"})
    coupons = CouponsBooksInMemory(
        [TemplateBooks("tpl-1", 10, 6)],
        [coupon("k1"), coupon("x1", command="cmd-c1", source="campaign"), coupon("x4", command="cmd-c4", source="campaign"),
         coupon("x9", command="red-1", source="points_mall"), IssuedBooks("refused", "x2"), IssuedBooks("refused", "x3")],
        {"cmd-c1": CommandOutcome("cmd-c1", "issued", "c-1", ("available",)), "cmd-c2": CommandOutcome("cmd-c2", "refused"),
         "cmd-c3": CommandOutcome("cmd-c3", "refused"),
         "cmd-c4": CommandOutcome("cmd-c4", "issued", "c-1", ("redeemed",), "COUPON_ALREADY_REDEEMED"),
         "red-1": CommandOutcome("red-1", "issued", "c-1", ("available",))},
    )
    points = PointsBooksInMemory(
        [AccountBooks("c-1", 150, 0, 150, 150, 4)],
        [RedemptionBooks("red-1", "c-1", "coupon", "completed", AN_HOUR_AGO), RedemptionBooks("red-2", "c-1", "goods", "held", AN_HOUR_AGO)],
        {"cmd-p1": AwardBooks("cmd-p1", 100, False), "cmd-p2": AwardBooks("cmd-p2", 100, True)},
    )
    return Sources(campaigns, coupons, points, CheckoutBooksInMemory())


ANNOUNCED: list[OutboundEvent] = []


def work(store: RunStoreInMemory, sources: Sources, run: service.Run, time_left: Callable[[], float] = lambda: float("inf")) -> service.Run:
    return service.work(store, sources, run, lambda: NOW, time_left, ANNOUNCED.extend)


def reconcile(sources: Sources, store: RunStoreInMemory | None = None, day: date = TODAY) -> service.Run:
    store = store or RunStoreInMemory()
    return work(store, sources, service.request(store, day, NOW, "tester"))


def findings(run: service.Run) -> list[dict[str, Any]]:
    return [f for check in run.books.checks.values() for f in check.findings]


def test_books_that_agree_report_no_discrepancy_and_count_what_they_checked() -> None:
    # Given a bank whose capabilities' books agree
    # When it is reconciled
    ANNOUNCED.clear()
    run = reconcile(agreeing_bank())
    # Then it is done with no discrepancy, and each check says what it examined
    assert run.status == "done" and run.books.discrepancies == 0, findings(run)
    checks = run.books.checks
    assert checks["campaign_costs"].counts == {"delivered": 1, "compensated": 1, "partly_delivered": 1,
                                               "costReported": 2, "costOfGrants": 2, "costOfRewards": 2}
    assert checks["template_stock"].counts == {"available": 4, "stockTaken": 4, "issued": 4, "inWallets": 4}
    assert checks["points_ledger"].counts["available"] == 150 and checks["redemption_coupons"].examined == 1
    assert checks["issue_commands"].examined == 5 and checks["issue_commands"].counts["issuedByKnownCommand"] == 3
    assert all(check.ofTheDay == check.examined for name, check in checks.items() if name != "points_ledger")
    # And nothing is announced
    assert ANNOUNCED == []


def test_a_grant_that_says_delivered_while_its_coupon_was_revoked_is_found_with_its_ids() -> None:
    # Given a delivered grant whose coupon coupons have revoked
    sources = agreeing_bank()
    assert isinstance(sources.coupons, CouponsBooksInMemory)
    sources.coupons.outcome_of["cmd-c1"] = CommandOutcome("cmd-c1", "issued", "c-1", ("revoked",), "revoked")
    # When it is reconciled
    run = reconcile(sources)
    # Then the action and the campaign's cost are both reported, with what repairs them, and announced
    assert ANNOUNCED[-1].detail_type == "ReconciliationFailed" and ANNOUNCED[-1].detail["byCheck"] == {"campaign_costs": 1}
    codes = {f["code"]: f for f in findings(run)}
    assert codes["GRANT_ACTION_MISMATCH"] == {"code": "GRANT_ACTION_MISMATCH", "grantId": "g1", "campaignId": "cmp-1", "customerId": "c-1",
                                              "commandId": "cmd-c1", "kind": "coupon", "recorded": "delivered", "found": "compensated"}
    # (in reward units a reward the customer still holds keeps the grant's whole unit: the cost agrees)
    assert "GRANTS_NOT_REWARDS" not in codes


def test_a_campaign_whose_grants_cost_more_than_the_rewards_held_is_found() -> None:
    # Given a budget in minor units, and a delivered grant of 100 whose 60 coupon was revoked
    sources = agreeing_bank()
    assert isinstance(sources.campaigns, CampaignsBooksInMemory) and isinstance(sources.coupons, CouponsBooksInMemory)
    sources.campaigns.grant_list = [GrantBooks("g1", "cmp-1", "c-1", "delivered", AN_HOUR_AGO, 100, 100,
                                               (ActionBooks("cmd-c1", "coupon", 60, "delivered"), ActionBooks("cmd-p1", "points", 40, "delivered")))]
    sources.campaigns.campaign_list = [CampaignBooks("cmp-1", 100, None)]
    sources.coupons.outcome_of["cmd-c1"] = CommandOutcome("cmd-c1", "issued", "c-1", ("revoked",), "revoked")
    # When it is reconciled
    run = reconcile(sources)
    # Then the campaign's cost is 60 more than the rewards its customer holds
    gap = next(f for f in findings(run) if f["code"] == "GRANTS_NOT_REWARDS")
    assert gap == {"code": "GRANTS_NOT_REWARDS", "campaignId": "cmp-1", "grants": 100, "rewards": 40}


def test_budget_and_report_cost_that_disagree_with_the_grants_are_found() -> None:
    sources = agreeing_bank()
    assert isinstance(sources.campaigns, CampaignsBooksInMemory)
    sources.campaigns.campaign_list = [CampaignBooks("cmp-1", 3, 1)]
    run = reconcile(sources)
    assert {f["code"] for f in findings(run)} == {"COST_NOT_GRANTS", "BUDGET_NOT_GRANTS"}


def test_a_saga_under_way_is_not_judged_until_it_has_had_time_to_settle() -> None:
    # Given a grant still compensating a minute ago, and one compensating for an hour
    sources = agreeing_bank()
    assert isinstance(sources.campaigns, CampaignsBooksInMemory)
    pending = ActionBooks("cmd-c9", "coupon", 1, "compensating")
    sources.campaigns.grant_list += [grant("g8", "compensating", 1, pending, at=JUST_NOW), grant("g9", "compensating", 1, pending, at=AN_HOUR_AGO)]
    sources.campaigns.campaign_list = [CampaignBooks("cmp-1", 4, 4)]
    # When it is reconciled
    run = reconcile(sources)
    # Then the young one is in flight, and the old one (and its command without an answer) are stuck
    assert run.books.checks["campaign_costs"].inFlight == 2
    assert [(f["code"], f.get("grantId")) for f in findings(run)] == [("STUCK_GRANT", "g9"), ("COMMAND_WITHOUT_OUTCOME", None)]


def test_stock_wallets_ledger_and_lots_that_disagree_are_each_found() -> None:
    sources = agreeing_bank()
    assert isinstance(sources.coupons, CouponsBooksInMemory) and isinstance(sources.points, PointsBooksInMemory)
    sources.coupons.template_list = [TemplateBooks("tpl-1", 10, 5)]  # one more taken than issued
    sources.coupons.items[0] = replace(sources.coupons.items[0], in_wallet=False)
    sources.points.account_list = [AccountBooks("c-1", 150, 10, 140, 150, 4)]
    run = reconcile(sources)
    assert sorted(f["code"] for f in findings(run)) == ["COUPON_NOT_IN_WALLET", "ISSUED_NOT_IN_WALLETS", "LEDGER_NOT_BALANCE",
                                                         "LOTS_NOT_LIABILITY", "STOCK_NOT_ISSUED"]
    ledger = next(f for f in findings(run) if f["code"] == "LEDGER_NOT_BALANCE")
    assert ledger == {"code": "LEDGER_NOT_BALANCE", "customerId": "c-1", "entries": 150, "balance": 140}


def test_redemptions_and_coupons_must_match_one_for_one() -> None:
    sources = agreeing_bank()
    assert isinstance(sources.coupons, CouponsBooksInMemory) and isinstance(sources.points, PointsBooksInMemory)
    sources.points.redemption_list = [RedemptionBooks("red-1", "c-1", "coupon", "released", AN_HOUR_AGO),
                                      RedemptionBooks("red-3", "c-1", "coupon", "completed", AN_HOUR_AGO)]
    sources.coupons.items.append(coupon("x7", command="cmd-nobody", source="campaign"))
    sources.coupons.template_list = [TemplateBooks("tpl-1", 10, 5)]
    run = reconcile(sources)
    assert sorted(f["code"] for f in findings(run)) == ["COMMAND_WITHOUT_OUTCOME", "COMPLETED_WITHOUT_COUPON", "COUPON_WITHOUT_COMMAND",
                                                         "RELEASED_WITH_COUPON"]


def checkout_bank() -> Sources:
    """Checkout sessions whose coupons and points agree: one confirmed (two coupons redeemed for it,
    its points spent), one refunded whole (its coupon given back, its points back), one cancelled
    (its coupon free, its points back), one still locked and not lapsed."""
    an_hour_on = (NOW + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    sessions = [SessionBooks("s-paid", "c-1", "confirmed", AN_HOUR_AGO, AN_HOUR_AGO, (("k1", False), ("k2", False)), 500),
                SessionBooks("s-back", "c-1", "refunded", AN_HOUR_AGO, AN_HOUR_AGO, (("k3", True),), 200),
                SessionBooks("s-off", "c-1", "cancelled", AN_HOUR_AGO, AN_HOUR_AGO, (("k4", False),), 100),
                SessionBooks("s-open", "c-1", "locked", JUST_NOW, an_hour_on, (("k5", False),), 0)]
    coupons = CouponsBooksInMemory(holder_of={"k1": ("redeemed", "s-paid"), "k2": ("redeemed", "s-paid"), "k3": ("available", None),
                                              "k4": ("available", None), "k5": ("locked", "s-open")})
    points = PointsBooksInMemory(redemption_list=[RedemptionBooks("chk-s-paid", "c-1", "checkout", "completed", AN_HOUR_AGO),
                                                  RedemptionBooks("chk-s-back", "c-1", "checkout", "completed", AN_HOUR_AGO),
                                                  RedemptionBooks("chk-s-off", "c-1", "checkout", "released", AN_HOUR_AGO)])
    return Sources(CampaignsBooksInMemory(), coupons, points, CheckoutBooksInMemory(sessions))


def test_checkout_sessions_that_agree_with_their_coupons_and_points_report_nothing() -> None:
    run = reconcile(checkout_bank())
    check = run.books.checks["checkout_sessions"]
    assert (check.examined, check.inFlight, check.discrepancies) == (4, 1, 0), check
    assert check.counts == {"confirmed": 1, "refunded": 1, "cancelled": 1, "locked": 1}


def test_checkout_sessions_whose_coupons_or_points_disagree_are_found() -> None:
    # Given a confirmed session's coupon not redeemed for it, a refunded one's coupon still redeemed,
    # a cancelled one's points still held, and a session locked long past its time (the sweep missed it)
    sources = checkout_bank()
    assert isinstance(sources.coupons, CouponsBooksInMemory) and isinstance(sources.checkout, CheckoutBooksInMemory)
    assert isinstance(sources.points, PointsBooksInMemory)
    sources.coupons.holder_of.update(k2=("available", None), k3=("redeemed", "s-back"))
    sources.points.redemption_list[2] = replace(sources.points.redemption_list[2], status="held")
    sources.checkout.session_list[3] = replace(sources.checkout.session_list[3], lapses_at=AN_HOUR_AGO)
    # Then each is found, with the ids to repair it
    run = reconcile(sources)
    found = sorted((f["code"], f["sessionId"]) for f in findings(run) if "sessionId" in f)
    assert found == [("COUPON_NOT_REDEEMED", "s-paid"), ("COUPON_STILL_HELD", "s-back"), ("POINTS_NOT_SETTLED", "s-off"),
                     ("STUCK_SESSION", "s-open")]


def test_a_day_with_no_activity_reports_zeros() -> None:
    run = reconcile(Sources(CampaignsBooksInMemory(), CouponsBooksInMemory(), PointsBooksInMemory(), CheckoutBooksInMemory()))
    assert run.status == "done"
    assert all(c.examined == c.ofTheDay == c.inFlight == c.discrepancies == 0 and not c.findings for c in run.books.checks.values())


def test_a_business_date_still_to_come_is_refused() -> None:
    with pytest.raises(BusinessRuleViolation) as refused:
        service.request(RunStoreInMemory(), TODAY + timedelta(days=1), NOW, "tester")
    assert refused.value.code == "BUSINESS_DATE_IN_FUTURE"


def test_a_run_stopped_by_its_time_resumes_from_its_checkpoint_to_the_same_report(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given pages of one record, and an invocation with time for three pages
    monkeypatch.setenv("RECONCILIATION_PAGE_ITEMS", "1")
    from loyalty.core.config import get_settings

    get_settings.cache_clear()
    try:
        store, sources = RunStoreInMemory(), agreeing_bank()
        run = service.request(store, TODAY, NOW, "tester")
        budget = iter([999.0] * 3 + [0.0])
        stopped = work(store, sources, run, lambda: next(budget))
        # Then it stopped running, checkpointed after each page
        assert stopped.status == "running" and stopped.pages == 3 and store.runs[TODAY.isoformat()] == stopped
        # And when the next invocation takes it up from the store, it finishes with the report a run in one go makes
        resumed = work(store, sources, store.unfinished()[0])
        in_one_go = reconcile(agreeing_bank())
        assert resumed.status == "done" and resumed.books.to_json() == in_one_go.books.to_json()
    finally:
        get_settings.cache_clear()


def test_two_invocations_on_one_run_never_both_advance_it() -> None:
    # Given a run both invocations read
    store, sources = RunStoreInMemory(), agreeing_bank()
    run = service.request(store, TODAY, NOW, "tester")
    # When one finishes it
    done = work(store, sources, run)
    # Then the other, still at the first step, stops at its first checkpoint and answers the stored run
    late = work(store, sources, run)
    assert late == done and store.runs[TODAY.isoformat()] == done


def test_a_run_under_way_is_answered_as_it_is_and_a_finished_one_is_replaced() -> None:
    store = RunStoreInMemory()
    first = service.request(store, TODAY, NOW, "a")
    assert service.request(store, TODAY, NOW, "b") == first
    work(store, agreeing_bank(), first)
    again = service.request(store, TODAY, NOW, "b")
    assert again.run_id != first.run_id and again.status == "running" and again.requested_by == "b"


def test_the_run_state_does_not_grow_with_the_number_of_customers() -> None:
    # Given 50 and then 5,000 accounts that agree
    def state_size(customers: int) -> int:
        accounts = [AccountBooks(f"c-{i}", 100, 0, 100, 100, 2) for i in range(customers)]
        run = reconcile(Sources(CampaignsBooksInMemory(), CouponsBooksInMemory(), PointsBooksInMemory(accounts), CheckoutBooksInMemory()))
        return len(json.dumps(run.books.to_json()))

    # Then the state stored with each checkpoint is the same size but for the counts' digits
    assert state_size(5_000) - state_size(50) < 40
