"""Member levels (会员等级), pure: qualifying growth over months, upgrades at once, downgrades only
after the grace period, and benefits through IssueCoupon."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from loyalty.points.ledger import Account, Change
from loyalty.points.tiers import TierLadder, qualifying_growth, reevaluate, upgrade_on_growth

AT = "2026-06-15T04:00:00Z"


def ladder(**overrides: Any) -> TierLadder:
    data: dict[str, Any] = {
        "tiers": [
            {"tierId": "standard", "name": "Standard", "minGrowth": 0},
            {"tierId": "silver", "name": "Silver", "minGrowth": 1000,
             "benefits": [{"templateId": "tpl-silver-monthly", "cadence": "monthly"}]},
            {"tierId": "gold", "name": "Gold", "minGrowth": 5000,
             "benefits": [{"templateId": "tpl-gold-welcome", "cadence": "on_upgrade"},
                          {"templateId": "tpl-gold-monthly", "cadence": "monthly"}]},
        ],
        "qualifyingMonths": 12,
        "downgradeGraceDays": 30,
        **overrides,
    }
    return TierLadder.model_validate(data)


def account(tier: str | None = None, months: dict[str, int] | None = None, **fields: Any) -> Account:
    return Account("c-1", version=3, tier=tier, growth_by_month=tuple(sorted((months or {}).items())), **fields)


def earning(growth: int, month: str = "2026-06") -> Change:
    return Change(growth=growth, growth_month=month)


def kinds(events: list[Any]) -> list[str]:
    return [e.detail_type for e in events]


# ---- the ladder ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tiers", "problem"),
    [
        ([{"tierId": "a", "name": "A", "minGrowth": 10}], "starts at minGrowth 0"),
        ([{"tierId": "a", "name": "A", "minGrowth": 0}, {"tierId": "b", "name": "B", "minGrowth": 0}], "strictly ascending"),
        ([{"tierId": "a", "name": "A", "minGrowth": 0}, {"tierId": "a", "name": "B", "minGrowth": 5}], "unique"),
        ([{"tierId": "a", "name": "A", "minGrowth": -1}], "greater than or equal"),
    ],
)
def test_a_ladder_that_does_not_climb_from_zero_is_refused(tiers: list[dict[str, Any]], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        TierLadder.model_validate({"tiers": tiers})


def test_qualifying_growth_counts_the_last_n_months_including_this_one() -> None:
    # Given growth in June 2025 (13 months back), July 2025 (12 back), and this month, June 2026
    months = (("2025-06", 100), ("2025-07", 20), ("2026-06", 3))
    # Then twelve months ending in June 2026 start in July 2025, across the year end
    assert qualifying_growth(months, "2026-06", 12) == 23
    assert qualifying_growth(months, "2026-06", 1) == 3
    assert qualifying_growth(months, "2026-01", 12) == 120  # February 2025 to January 2026


# ---- upgrades ------------------------------------------------------------------------------------


def test_crossing_a_threshold_upgrades_at_once_with_the_welcome_benefit() -> None:
    # Given a silver customer with 4900 growth this year
    acc, change = account("silver", {"2026-01": 4900}), earning(150)
    # When 150 more growth is earned (5050: gold)
    events = upgrade_on_growth(ladder(), acc, change, AT)
    # Then the account moves to gold in this change, with TierChanged and the on-upgrade coupon
    assert change.balance_sets == {"tier": "gold", "tierSince": AT, "downgradeDueOn": None}
    assert kinds(events) == ["TierChanged", "IssueCoupon"]
    assert events[0].detail == {"customerId": "c-1", "fromTier": "silver", "toTier": "gold", "direction": "up",
                                "qualifyingGrowth": 5050, "qualifyingMonths": 12, "changedAt": AT}
    assert events[1].detail["templateId"] == "tpl-gold-welcome" and events[1].detail["source"] == "tier_benefit"


def test_a_new_customer_jumps_straight_to_the_tier_earned() -> None:
    events = upgrade_on_growth(ladder(), account(None), earning(1200), AT)
    assert events[0].detail["fromTier"] == "standard" and events[0].detail["toTier"] == "silver"


def test_growth_below_the_next_threshold_changes_nothing() -> None:
    change = earning(10)
    assert upgrade_on_growth(ladder(), account("silver", {"2026-05": 1500}), change, AT) == []
    assert change.balance_sets == {}


def test_growth_older_than_the_qualifying_months_does_not_count() -> None:
    # Given 4950 growth earned 13 months ago
    events = upgrade_on_growth(ladder(), account("silver", {"2025-05": 4950}), earning(100), AT)
    # Then 100 this month does not make gold
    assert events == []


def test_earning_the_tier_back_cancels_a_pending_downgrade() -> None:
    change = earning(600)
    upgrade_on_growth(ladder(), account("silver", {"2026-06": 500}, downgrade_due_on="2026-07-01"), change, AT)
    assert change.balance_sets == {"downgradeDueOn": None}


# ---- the periodic re-evaluation --------------------------------------------------------------------


def test_a_downgrade_waits_for_the_grace_period() -> None:
    # Given a gold customer whose qualifying growth has fallen to silver
    acc = account("gold", {"2025-07": 5000, "2026-05": 1200}, benefits_month="2026-07")
    # When the August run finds it (July 2025 has left the window)
    first = Change()
    events = reevaluate(ladder(), acc, first, date(2026, 8, 1), AT)
    # Then the tier stays, with a downgrade due 30 days later
    assert first.balance_sets["downgradeDueOn"] == "2026-08-31" and "tier" not in first.balance_sets
    assert "TierChanged" not in kinds(events)
    # And the September run, past the due date, lowers it
    later = account("gold", {"2026-05": 1200}, downgrade_due_on="2026-08-31", benefits_month="2026-08")
    second = Change()
    events = reevaluate(ladder(), later, second, date(2026, 9, 1), AT)
    assert second.balance_sets["tier"] == "silver" and second.balance_sets["downgradeDueOn"] is None
    assert events[0].detail["direction"] == "down" and events[0].detail["toTier"] == "silver"
    # And the new tier's monthly benefit goes out, not the old one's
    assert [e.detail["templateId"] for e in events if e.detail_type == "IssueCoupon"] == ["tpl-silver-monthly"]


def test_a_customer_who_earns_the_tier_again_keeps_it() -> None:
    acc = account("gold", {"2026-08": 6000}, downgrade_due_on="2026-08-31", benefits_month="2026-09")
    change = Change()
    assert reevaluate(ladder(), acc, change, date(2026, 9, 1), AT) == []
    assert change.balance_sets == {"downgradeDueOn": None}


def test_monthly_benefits_go_out_once_a_month_with_stable_command_ids() -> None:
    # Given a gold customer whose benefits for June have not gone out
    acc = account("gold", {"2026-06": 5000})
    first, again = Change(), Change()
    events = reevaluate(ladder(), acc, first, date(2026, 6, 1), AT)
    repeat = reevaluate(ladder(), acc, again, date(2026, 6, 1), AT)
    # Then the monthly coupon goes out and the month is recorded; a repeat names the same command
    assert [e.detail["templateId"] for e in events] == ["tpl-gold-monthly"]
    assert first.balance_sets == {"benefitsMonth": "2026-06"}
    assert repeat[0].detail["commandId"] == events[0].detail["commandId"]
    # And once the month is recorded, nothing more is sent
    sent = account("gold", {"2026-06": 5000}, benefits_month="2026-06")
    assert reevaluate(ladder(), sent, Change(), date(2026, 6, 20), AT) == []
