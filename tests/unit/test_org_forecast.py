"""The cash-need forecast: its arithmetic (loyalty.org.forecast, pure) and its reading
(loyalty.org.forecast_sources) over fake ports: which customers and campaigns are the unit's, what is
left out, and the bound on what it reads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from loyalty.campaigns.ports import BudgetBooks
from loyalty.core.errors import BusinessRuleViolation
from loyalty.coupons.ports import IssuedBooks, TemplateValue
from loyalty.customers.model import CustomerProfile
from loyalty.org import forecast as fc
from loyalty.org import forecast_sources
from loyalty.org.ports import InMemoryOrgUnits
from loyalty.points.ports import LotBooks, SettledBooks

SH = ZoneInfo("Asia/Shanghai")


def bank(year: int, month: int, day: int = 1, hour: int = 0) -> datetime:
    return datetime(year, month, day, hour, tzinfo=SH)


# ---- the months --------------------------------------------------------------------------------------


def test_the_months_start_with_the_one_in_progress_in_bank_time_and_cross_the_year() -> None:
    # 2026-12-31 20:00 UTC is already 2027-01-01 in Shanghai
    months = fc.months_ahead(datetime(2026, 12, 31, 20, tzinfo=UTC), 3, SH)
    assert [m.label for m in months] == ["2027-01", "2027-02", "2027-03"]
    assert months[0].starts == bank(2027, 1) and months[0].ends == bank(2027, 2) == months[1].starts
    assert [m.label for m in fc.months_ahead(bank(2026, 11, 15), 3, SH)] == ["2026-11", "2026-12", "2027-01"]


def test_half_up_rounds_halves_away_from_zero() -> None:
    assert [fc.half_up(Fraction(n, 2)) for n in (0, 1, 2, 3, 5)] == [0, 1, 1, 2, 3]
    assert fc.half_up(Fraction(249, 100)) == 2 and fc.half_up(Fraction(-5, 2)) == -3


# ---- campaigns -----------------------------------------------------------------------------------------

YEAR = (bank(2026, 1), bank(2027, 1))


def budget(total: int, spent: int, window: tuple[datetime, datetime] = YEAR) -> fc.CampaignBudget:
    return fc.CampaignBudget("c-1", total, spent, *window)


def test_a_budget_burns_at_its_observed_rate_month_by_month() -> None:
    # Given 181 days of the year gone at 1,000 a day, and plenty left
    now, months = bank(2026, 7), fc.months_ahead(bank(2026, 7), 8, SH)
    found = fc.campaign_forecast(budget(500_000, 181_000), now, months)
    # Then each month of what is left of the window gets 1,000 a day, and nothing after it ends
    assert found.method == "burn" and found.burn_per_day == 1000 and found.remaining == 319_000
    assert found.by_month == {"2026-07": 31_000, "2026-08": 31_000, "2026-09": 30_000, "2026-10": 31_000, "2026-11": 30_000,
                              "2026-12": 31_000, "2027-01": 0, "2027-02": 0}
    assert found.beyond == 0


def test_a_burn_is_capped_by_what_is_left() -> None:
    found = fc.campaign_forecast(budget(250_000, 181_000), bank(2026, 7), fc.months_ahead(bank(2026, 7), 6, SH))
    assert list(found.by_month.values()) == [31_000, 31_000, 7_000, 0, 0, 0] and found.beyond == 0


def test_what_the_spread_places_after_the_horizon_is_reported() -> None:
    found = fc.campaign_forecast(budget(500_000, 181_000), bank(2026, 7), fc.months_ahead(bank(2026, 7), 2, SH))
    assert list(found.by_month.values()) == [31_000, 31_000] and found.beyond == 184_000 - 62_000


def test_a_budget_with_nothing_spent_is_spread_evenly_over_what_is_left_of_its_window() -> None:
    # Given a campaign opening on 1 July for 92 days, with 920,001 to spend
    window = (bank(2026, 7), bank(2026, 10))
    found = fc.campaign_forecast(budget(920_001, 0, window), bank(2026, 6, 10), fc.months_ahead(bank(2026, 6, 10), 5, SH))
    # Then it is spread by days (31, 31, 30), the cumulative floored, so the months add up to the remaining
    assert found.method == "plan"
    assert found.by_month == {"2026-06": 0, "2026-07": 310_000, "2026-08": 310_000, "2026-09": 300_001, "2026-10": 0}
    assert sum(found.by_month.values()) == 920_001


def test_a_budget_spent_or_a_window_over_needs_nothing() -> None:
    months = fc.months_ahead(bank(2026, 7), 3, SH)
    assert fc.campaign_forecast(budget(100, 100), bank(2026, 7), months).method == "none"
    over = fc.campaign_forecast(budget(100, 10, (bank(2026, 1), bank(2026, 6))), bank(2026, 7), months)
    assert over.method == "none" and sum(over.by_month.values()) == 0


def test_a_campaign_open_less_than_a_day_has_no_burn_to_observe() -> None:
    found = fc.campaign_forecast(budget(1000, 10), bank(2026, 1, 1, 12), fc.months_ahead(bank(2026, 1, 1, 12), 1, SH))
    assert found.method == "plan"


# ---- coupons and points ------------------------------------------------------------------------------


def tally(template_id: str, redeemed: int, expired: int, revoked: int = 0, value: int = 1000, **outstanding: int) -> fc.TemplateTally:
    return fc.TemplateTally(template_id, value, "face", redeemed, expired, revoked, {k.replace("_", "-"): v for k, v in outstanding.items()})


def test_a_template_uses_its_own_rate_when_enough_settled_else_the_pooled_one_else_one() -> None:
    tallies = [tally("a", 15, 5, 5), tally("b", 1, 2), tally("c", 0, 0)]
    rates = fc.coupon_rates(tallies)
    assert rates["a"] == fc.Rate(Fraction(15, 25), "observed")
    assert rates["b"] == rates["c"] == fc.Rate(Fraction(16, 28), "pooled")
    assert fc.coupon_rates([tally("b", 1, 2)])["b"] == fc.Rate(Fraction(1), "assumed")


def test_coupons_are_value_times_outstanding_times_rate_in_the_month_their_validity_ends() -> None:
    tallies = [tally("a", 15, 5, 5, value=1001, m2026_08=3), tally("b", 20, 0, value=500, m2026_09=1)]
    tallies = [fc.TemplateTally(t.template_id, t.value_minor, t.basis, t.redeemed, t.expired, t.revoked,
                                {k.removeprefix("m"): v for k, v in t.outstanding.items()}) for t in tallies]
    amounts = fc.coupon_amounts(tallies, fc.coupon_rates(tallies), fc.months_ahead(bank(2026, 7), 3, SH))
    # 1001 × 3 × 0.6 = 1801.8 → 1802; 500 × 1 × 1 = 500
    assert amounts == {"2026-07": {}, "2026-08": {"a": 1802}, "2026-09": {"b": 500}}


def test_points_use_the_observed_rate_when_enough_settled_else_one() -> None:
    assert fc.points_rate(750, 250) == fc.Rate(Fraction(3, 4), "observed")
    assert fc.points_rate(10, 5) == fc.Rate(Fraction(1), "assumed")
    assert fc.points_amount(1001, fc.Rate(Fraction(3, 4), "observed"), Fraction(1, 2)) == (Fraction(3003, 4), 375)  # 375.375


# ---- the reading, over fake ports ----------------------------------------------------------------------

TREE = InMemoryOrgUnits.of(("hq", None, "head_office"), ("sh", "hq", "branch"), ("sh-1", "sh", "sub_branch"), ("bj", "hq", "branch"),
                           branch_codes={"B-SH": "sh", "B-SH1": "sh-1", "B-BJ": "bj"})
NOW = bank(2026, 7, 1, 12)


class Campaigns:
    def budgets(self) -> Iterator[BudgetBooks]:
        yield BudgetBooks("sh-camp", "sh-1", "approved", "minor", "CNY", 10_000, 0, bank(2026, 7), bank(2026, 8))
        yield BudgetBooks("bj-camp", "bj", "approved", "minor", "CNY", 10_000, 0, bank(2026, 7), bank(2026, 8))
        yield BudgetBooks("hq-camp", None, "approved", "minor", "CNY", 20_000, 0, bank(2026, 7), bank(2026, 8))
        yield BudgetBooks("sh-rewards", "sh", "approved", "rewards", None, 50, 0, bank(2026, 7), bank(2026, 8))
        yield BudgetBooks("sh-draft", "sh", "draft", "minor", "CNY", 50, 0, bank(2026, 7), bank(2026, 8))


def coupon(customer: str, status: str, until: datetime, template: str = "t-1") -> IssuedBooks:
    return IssuedBooks("coupon", f"{customer}-{status}-{until.isoformat()}", template_id=template, customer_id=customer, status=status,
                       valid_until=until.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"))


class Coupons:
    def __init__(self, issued: list[IssuedBooks]) -> None:
        self._issued = issued

    def template_values(self) -> Iterator[TemplateValue]:
        yield TemplateValue("t-1", "fixed_amount", 1000, "CNY", "face")
        yield TemplateValue("t-usd", "fixed_amount", 1000, "USD", "face")
        yield TemplateValue("t-bundle", "bundle", 0, None, "none")

    def issued(self, cursor: str | None, limit: int) -> tuple[list[IssuedBooks], str | None]:
        start = int(cursor or 0)
        following = start + limit
        return self._issued[start:following], str(following) if following < len(self._issued) else None


class Points:
    def lots(self, cursor: str | None, limit: int) -> tuple[list[LotBooks], str | None]:
        return [LotBooks("c-sh", "2026-07-31", 400), LotBooks("c-sh", "2026-06-30", 99), LotBooks("c-bj", "2026-08-31", 1000),
                LotBooks("c-sh1", "2027-12-31", 7)], None

    def settled(self, cursor: str | None, limit: int) -> tuple[list[SettledBooks], str | None]:
        return [SettledBooks("c-sh", "redeem", -900), SettledBooks("c-sh1", "expire", -300), SettledBooks("c-bj", "redeem", -5)], None


class Directory:
    def profiles(self, customer_ids: list[str]) -> dict[str, CustomerProfile]:
        branches = {"c-sh": "B-SH", "c-sh1": "B-SH1", "c-bj": "B-BJ", "c-nowhere": "B-UNKNOWN"}
        return {c: CustomerProfile(customerId=c, changedAt="x", sourceEventId="e", branchId=branches[c]) for c in customer_ids
                if c in branches}


@pytest.fixture
def books(monkeypatch: pytest.MonkeyPatch) -> Coupons:
    issued = [coupon("c-sh", "available", bank(2026, 8, 15)), coupon("c-sh1", "locked", bank(2026, 9, 2)),
              coupon("c-bj", "available", bank(2026, 8, 15)), coupon("c-nowhere", "available", bank(2026, 8, 15)),
              coupon("c-sh", "available", bank(2026, 6, 30)),  # lapsed, not swept yet: settled as expired
              coupon("c-sh", "available", bank(2027, 3, 1)),  # after the horizon
              coupon("c-sh", "available", bank(2026, 8, 1), "t-usd"),
              *(coupon(f"x{i}", "redeemed", bank(2026, 3)) for i in range(12)),
              *(coupon(f"y{i}", "expired", bank(2026, 3)) for i in range(7))]
    fake = Coupons(issued)
    monkeypatch.setattr("loyalty.campaigns.ports.books", lambda: Campaigns())
    monkeypatch.setattr("loyalty.coupons.ports.books", lambda: fake)
    monkeypatch.setattr("loyalty.points.ports.books", lambda: Points())
    monkeypatch.setattr("loyalty.customers.ports.directory", lambda: Directory())
    monkeypatch.setattr(forecast_sources, "PAGE_ITEMS", 4)
    monkeypatch.setenv("POINT_VALUE_MINOR", "0.5")
    return fake


def forecast_of(unit: str, months: int = 3) -> dict[str, Any]:
    found = TREE.get(unit)
    assert found is not None
    return forecast_sources.build(found, TREE, months, NOW)


def test_a_branch_counts_its_subtree_only(books: Coupons) -> None:
    found = forecast_of("sh")
    # campaigns: the sub-branch's (in minor units, approved); the branch's in rewards is listed as left out
    assert [c["campaignId"] for c in found["campaigns"]] == ["sh-camp"]
    assert found["leftOut"]["campaigns"] == [{"campaignId": "sh-rewards", "reason": "budget in rewards"}]
    assert found["leftOut"]["templates"] == [{"templateId": "t-usd", "reason": "value in USD"}]
    july, august, september = found["months"]
    assert july["campaigns"]["amountMinor"] == 10_000 and august["campaigns"]["amountMinor"] == 0
    # coupons: t-1 settled 12 redeemed of 20 (7 expired + 1 lapsed) = 0.6; the branch's live ones in August and September
    (template,) = found["templates"]
    assert (template["redeemed"], template["expired"], template["redemptionRate"], template["rateBasis"]) == (12, 8, 0.6, "observed")
    assert template["outstandingAfterHorizon"] == 1
    assert august["coupons"]["byTemplate"] == [{"templateId": "t-1", "outstanding": 1, "amountMinor": 600}]
    assert september["coupons"]["byTemplate"] == [{"templateId": "t-1", "outstanding": 1, "amountMinor": 600}]
    # points: the subtree's customers settled 900 + 300 → 0.75; July's 400 points × 0.75 × 0.5 = 150
    assert (found["points"]["redeemed"], found["points"]["expired"], found["points"]["redemptionRate"]) == (900, 300, 0.75)
    assert (july["points"]["expiringPoints"], july["points"]["amountMinor"]) == (400, 150)
    assert found["points"]["expiringAfterHorizon"] == 7
    assert found["totalMinor"] == 10_000 + 600 + 600 + 150


def test_the_head_office_counts_everything_and_campaigns_of_no_unit(books: Coupons) -> None:
    found = forecast_of("hq")
    assert {c["campaignId"] for c in found["campaigns"]} == {"sh-camp", "bj-camp", "hq-camp"}
    august = found["months"][1]
    # every live coupon in August, a customer of no unit's branch too: 3 × 1000 × 0.6
    assert august["coupons"]["byTemplate"] == [{"templateId": "t-1", "outstanding": 3, "amountMinor": 1800}]


def test_a_forecast_reading_more_than_its_bound_is_refused(books: Coupons, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FORECAST_MAX_ITEMS", "10")
    with pytest.raises(BusinessRuleViolation) as refused:
        forecast_of("sh")
    assert refused.value.code == "FORECAST_TOO_LARGE"
