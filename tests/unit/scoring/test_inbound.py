"""`loyalty.scoring.inbound` and `service.caught_up`: profile, tier and operator-tag changes add no
features but re-score the customer, once the profile shows the change."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from loyalty.scoring import inbound
from loyalty.scoring.service import caught_up

AT = "2026-12-02T10:00:00Z"
STORED_AT = "2026-12-02T10:00:00.000000Z"  # as the profile stores times: fixed-width ISO UTC
EARLIER, LATER = "2026-12-02T09:59:59.999999Z", "2026-12-02T10:00:00.000001Z"


@pytest.mark.parametrize(
    ("detail_type", "profile_field"),
    [("CustomerProfileChanged", "changedAt"), ("TierChanged", "tierChangedAt"), ("CustomerTagsChanged", "operatorTagsChangedAt")],
)
def test_a_profile_event_re_scores_once_its_own_field_is_that_new(detail_type: str, profile_field: str) -> None:
    # Given a profile event, parsed as scoring parses it
    detail = inbound.DETAIL_MODELS[detail_type].model_validate({"customerId": "c-1", "changedAt": AT, "operatorTags": ["vip"]})
    # Then it adds no features, and is a profile event (re-scored even so)
    assert inbound.feature_events(detail_type, detail, "e-1", None, ZoneInfo("Asia/Shanghai")) == []
    assert detail_type in inbound.PROFILE_EVENTS
    # And it is caught up only when the profile's field for it is at least as new
    assert not caught_up(detail_type, detail, {})
    assert not caught_up(detail_type, detail, {profile_field: EARLIER})
    assert caught_up(detail_type, detail, {profile_field: STORED_AT})
    assert caught_up(detail_type, detail, {profile_field: LATER})
    # And another event's field does not count
    others = {"changedAt", "tierChangedAt", "operatorTagsChangedAt"} - {profile_field}
    assert not caught_up(detail_type, detail, dict.fromkeys(others, LATER))


def test_an_event_dated_beyond_the_bank_s_tomorrow_is_refused() -> None:
    from datetime import date

    zone = ZoneInfo("Asia/Shanghai")
    today = date(2026, 11, 23)

    def card(posted_at: str) -> list[inbound.FeatureEvent]:
        detail = inbound.CardTransactionPosted.model_validate({"customerId": "c-1", "amountMinor": 100, "postedAt": posted_at})
        return inbound.feature_events("CardTransactionPosted", detail, "e-1", None, zone)

    # Given today in Shanghai, an event of tomorrow (a clock a little ahead) is accepted
    assert inbound.dated_ahead(card("2026-11-24T15:00:00Z"), today) is None
    # But one dated the day after, or a year ahead (a typo), is not
    assert inbound.dated_ahead(card("2026-11-24T16:00:00Z"), today) == date(2026, 11, 25)
    assert inbound.dated_ahead(card("2027-11-23T04:00:00Z"), today) == date(2027, 11, 23)
    # And an AUM figure for a month not begun yet is refused; this month's is not
    aum = inbound.MonthlyAumComputed.model_validate({"customerId": "c-1", "month": "2026-12", "averageAumMinor": 1})
    assert inbound.dated_ahead(inbound.feature_events("MonthlyAumComputed", aum, "e", None, zone), today) == date(2026, 12, 1)
    now = aum.model_copy(update={"month": "2026-11"})
    assert inbound.dated_ahead(inbound.feature_events("MonthlyAumComputed", now, "e", None, zone), today) is None


def test_the_parts_of_one_bundle_are_one_claim() -> None:
    def issued(coupon: str, bundle: str | None) -> inbound.CouponEvent:
        detail = {"customerId": "c-1", "couponId": coupon, "source": "claim", "bundleId": bundle, "occurredAt": AT}
        return inbound.CouponEvent.model_validate(detail)

    # Given the parts of one bundle, each published with its own eventId
    parts = [inbound.occurrence_of("CouponIssued", issued(f"cpn-{i}", "cpn-b"), f"CouponIssued:ev-{i}") for i in range(3)]
    # Then they are one occurrence; a coupon outside a bundle keeps its own
    assert set(parts) == {"CouponIssued:bundle:cpn-b"}
    assert inbound.occurrence_of("CouponIssued", issued("cpn-9", None), "CouponIssued:ev-9") == "CouponIssued:ev-9"
