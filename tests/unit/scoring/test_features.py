"""`loyalty.scoring.features`: daily buckets, window edges, pruning, AUM trend, products and the snapshot."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from typing import get_args

import pytest
from pydantic import TypeAdapter, ValidationError

from loyalty.scoring.features import (
    RECENT_IDS,
    Activity,
    AumFigure,
    CustomerFeatures,
    FeatureEvent,
    FeatureName,
    FeatureState,
    ProductOpened,
    apply,
    snapshot,
    window,
)
from tests.unit.scoring.builders import AS_OF, activity

EVENT = TypeAdapter(FeatureEvent)


def _state(*events: Activity | AumFigure | ProductOpened) -> FeatureState:
    state = FeatureState()
    for event in events:
        state = apply(state, event)
    return state


def _days_ago(n: int) -> date:
    return AS_OF - timedelta(days=n)


def _aum(month: str, amount: int) -> AumFigure:
    return AumFigure(kind="aum_month", eventId=f"aum-{month}-{amount}", month=month, averageAumMinor=amount)


def _opened(code: str, day: date) -> ProductOpened:
    return ProductOpened(kind="product_opened", eventId=f"open-{code}-{day}", day=day, productCode=code)


def test_a_30_day_window_holds_the_30_business_days_ending_at_the_as_of_date() -> None:
    # Given spend 29 and 30 days before the as-of date, and on it
    state = _state(
        activity("card_spend", _days_ago(29), 100),
        activity("card_spend", _days_ago(30), 1_000),
        activity("card_spend", AS_OF, 10),
    )
    # When the 30-day window to the as-of date is summed
    w = window(state, AS_OF, 30)
    # Then day 29 back (the first day of the window) and the as-of date count; day 30 back does not
    assert (w.count("card_spend"), w.amount("card_spend"), w.recency("card_spend")) == (2, 110, 0)
    assert window(state, AS_OF - timedelta(days=1), 30).amount("card_spend") == 1_100  # a day earlier: 30 back is in, today out


def test_recency_is_days_since_the_newest_event_or_the_window_length_when_none() -> None:
    # Given a deposit 3 days ago and a card spend 12 days ago
    state = _state(activity("deposit", _days_ago(3), 5), activity("card_spend", _days_ago(12), 7))
    # Then recency counts from the newest of the kinds asked for; a kind absent from the window gives its length
    w = window(state, AS_OF, 30)
    assert (w.recency("deposit", "card_spend"), w.recency("card_spend"), w.recency("login")) == (3, 12, 30)
    assert window(state, AS_OF, 7).recency("card_spend") == 7


def test_buckets_older_than_365_days_from_the_newest_are_pruned() -> None:
    # Given spend on a day, and later spend 364 days after it
    first = date(2025, 1, 1)
    kept = _state(activity("card_spend", first, 1), activity("card_spend", first + timedelta(days=364), 2))
    # Then the first day is still the 365th day kept
    assert sorted(kept.days) == [first, first + timedelta(days=364)]
    # When spend arrives 365 days after it
    pruned = apply(kept, activity("card_spend", first + timedelta(days=365), 3))
    # Then the first day's bucket is gone, and an event that old arriving late is ignored
    assert sorted(pruned.days) == [first + timedelta(days=364), first + timedelta(days=365)]
    assert apply(pruned, activity("card_spend", first, 9, event_id="late")) == pruned


def test_a_window_reaching_before_the_kept_days_is_refused() -> None:
    # Given the newest bucket on the as-of date
    state = _state(activity("login", AS_OF))
    # When a 365-day window ends a day earlier, or a window is longer than a year
    # Then both are refused rather than answered inexactly
    with pytest.raises(ValueError, match="starts before"):
        window(state, AS_OF - timedelta(days=1), 365)
    with pytest.raises(ValueError, match="1 to 365"):
        window(state, AS_OF, 366)
    # But a 30-day window may end up to 335 days before the newest bucket
    assert window(state, AS_OF - timedelta(days=335), 30).counts == {}
    with pytest.raises(ValueError):
        window(state, AS_OF - timedelta(days=336), 30)


def test_an_event_redelivered_soon_is_counted_once() -> None:
    # Given a card spend delivered twice with the same id
    spend = activity("card_spend", AS_OF, 500, event_id="tx-1")
    state = _state(spend, spend)
    # Then it counts once; only the last RECENT_IDS ids are remembered
    assert window(state, AS_OF, 30).amount("card_spend") == 500
    assert len(_state(*(activity("login", AS_OF, event_id=f"l-{i}") for i in range(RECENT_IDS + 5))).recentEventIds) == RECENT_IDS


def test_aum_is_the_newest_month_and_its_trend_the_slope_over_the_mean() -> None:
    # Given three monthly figures, published out of order, and an older one
    state = _state(_aum("2026-10", 1_200_000), _aum("2026-07", 9), _aum("2026-08", 1_000_000), _aum("2026-09", 1_100_000))
    # Then the three newest are kept; AUM is October's; trend = 3·(1.2M − 1.0M) / (2·3.3M) per month
    features = snapshot(state, AS_OF)
    assert state.aumByMonth == {"2026-08": 1_000_000, "2026-09": 1_100_000, "2026-10": 1_200_000}
    assert (features.aumMinor, features.aumTrend) == (1_200_000, 600_000 / 6_600_000)


def test_a_missing_month_counts_as_zero_aum_and_a_republished_month_replaces() -> None:
    # Given September and November only, November published twice
    state = _state(_aum("2026-09", 300), _aum("2026-11", 100), _aum("2026-11", 600))
    # Then November is 600 and October 0: trend = 3·(600 − 300) / (2·900)
    assert (snapshot(state, AS_OF).aumMinor, snapshot(state, AS_OF).aumTrend) == (600, 0.5)
    # And with no figure at all both are 0
    assert (snapshot(FeatureState(), AS_OF).aumMinor, snapshot(FeatureState(), AS_OF).aumTrend) == (0, 0.0)


def test_products_are_distinct_codes_and_onboarding_is_the_first_opening() -> None:
    # Given a debit account, then a credit card, then the debit account again (another account)
    state = _state(
        _opened("debit-std", _days_ago(40)), _opened("credit-gold", _days_ago(100)), _opened("debit-std", _days_ago(5))
    )
    # Then two products, onboarded 100 days ago
    features = snapshot(state, AS_OF)
    assert (features.productsHeld, features.daysSinceOnboarding) == (2, 100)


def test_snapshot_reads_every_feature_from_its_window() -> None:
    # Given a year of mixed activity
    state = _state(
        activity("card_spend", _days_ago(2), 10_000),
        activity("deposit", _days_ago(45), 500_000),
        activity("card_spend", _days_ago(200), 70_000),
        activity("login", _days_ago(6)),
        activity("login", _days_ago(40)),
        activity("coupon_claim", _days_ago(6)),
        activity("coupon_claim", _days_ago(7)),
        activity("coupon_redemption", _days_ago(80)),
        activity("points_activity", _days_ago(1), 30),
        activity("campaign_offer", _days_ago(300)),
        activity("campaign_offer", _days_ago(20)),
        activity("campaign_offer", _days_ago(10)),
        activity("campaign_response", _days_ago(9)),
        _opened("debit-std", _days_ago(400)),
    )
    # When the features are taken on the as-of date, with 2 accounts sharing a device
    features = snapshot(state, AS_OF, shared_identity_accounts=2)
    # Then each is what its window says
    assert features == CustomerFeatures(
        recency30=2, frequency30=1, monetary30Minor=10_000,
        recency90=2, frequency90=2, monetary90Minor=510_000,
        recency365=2, frequency365=3, monetary365Minor=580_000,
        logins30=1, daysSinceLastLogin=6, couponClaims7=1, couponClaims30=2, couponRedemptions90=1, pointsEvents90=1,
        campaignResponseRate=1 / 3, aumMinor=0, aumTrend=0.0, productsHeld=1, daysSinceOnboarding=400, sharedIdentityAccounts=2,
    )  # fmt: skip


def test_a_customer_with_nothing_kept_has_window_length_recencies_and_no_login_for_365_days() -> None:
    features = snapshot(FeatureState(), AS_OF)
    assert (features.recency30, features.recency90, features.recency365, features.daysSinceLastLogin) == (30, 90, 365, 365)
    assert (features.productsHeld, features.daysSinceOnboarding, features.campaignResponseRate) == (0, 0, 0.0)


def test_the_state_round_trips_through_json_as_a_dynamodb_item_would() -> None:
    # Given a state with buckets, AUM, products and ids
    state = _state(activity("card_spend", AS_OF, 12), _aum("2026-10", 5), _opened("debit-std", AS_OF))
    # When dumped to JSON and read back
    item = json.loads(json.dumps(state.model_dump(mode="json")))
    # Then nothing is lost, and dates are ISO strings
    assert FeatureState.model_validate(item) == state
    assert item["days"] == {"2026-11-23": {"card_spend": {"count": 1, "amountMinor": 12}}}


@pytest.mark.parametrize(
    "event",
    [
        {"kind": "card_spend", "eventId": "e", "day": "2026-11-23", "amountMinor": -1},
        {"kind": "card_spend", "eventId": "e", "day": "2026-11-23", "amountMinor": 1.5},
        {"kind": "card_spend", "eventId": "e", "day": "2026-11-23", "merchant": "m"},
        {"kind": "salary", "eventId": "e", "day": "2026-11-23"},
        {"kind": "aum_month", "eventId": "e", "month": "2026-13", "averageAumMinor": 1},
        {"kind": "product_opened", "eventId": "", "day": "2026-11-23", "productCode": "x"},
    ],
)
def test_malformed_feature_events_are_refused(event: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        EVENT.validate_python(event)


def test_feature_names_are_the_fields_of_customer_features() -> None:
    assert get_args(FeatureName) == tuple(f.name for f in dataclasses.fields(CustomerFeatures))
