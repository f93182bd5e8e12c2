"""`loyalty.scoring.assess` and `inbound`: what a re-scoring stores and announces, and how events
become feature events (business dates in the bank's time zone)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import jsonschema

from loyalty.scoring import inbound
from loyalty.scoring.assess import churn_band, events_for, outcome_of, value_segment
from loyalty.scoring.defaults import DEFAULT_MODELS
from loyalty.scoring.models import ScoringModels
from loyalty.scoring.scores import Scores
from loyalty.scoring.segments import Facts, SegmentDefinition
from tests.unit.scoring.builders import EXAMPLE_MODELS

SCHEMAS = Path(__file__).resolve().parents[3] / "events" / "schemas" / "outbound"
SHANGHAI = ZoneInfo("Asia/Shanghai")
VERSIONS = {"rfm": 2, "value": 0, "lifecycle": 1, "churn": 0, "abuse": 0}


def scores(**changes: object) -> Scores:
    base = {"recency": 5, "frequency": 2, "monetary": 3, "value": 12.3456, "stage": "active", "churnRiskBps": 2999,
            "abuseRisk": 10.0, "abuseGated": False}
    return Scores(**{**base, **changes})  # type: ignore[arg-type]


GOLD = SegmentDefinition.model_validate({"segmentId": "gold", "name": "g", "rule": {"scores": {"rfmRecency": {"min": 5}}}})


def test_the_defaults_are_the_documented_example() -> None:
    assert ScoringModels.model_validate(DEFAULT_MODELS) == ScoringModels.model_validate(EXAMPLE_MODELS)


def test_the_outcome_rounds_the_float_scores_and_finds_the_segments() -> None:
    outcome = outcome_of(scores(), Facts(), [GOLD])
    assert outcome.scores == {"rfmRecency": 5, "rfmFrequency": 2, "rfmMonetary": 3, "value": 12.35, "churnRiskBps": 2999, "abuseRisk": 10.0}
    assert outcome.segments == ["gold"] and outcome.summary()["churnRiskBand"] == 2


def test_first_scoring_announces_every_summary_field_and_each_segment_entered() -> None:
    events = events_for("c-1", None, outcome_of(scores(), Facts(), [GOLD]), VERSIONS, "event")
    kinds = [(kind, d.get("score") or d.get("segmentId")) for kind, d in events]
    assert kinds == [("ScoreChanged", n) for n in ("rfmRecency", "rfmFrequency", "rfmMonetary", "lifecycleStage", "churnRiskBand", "abuseGated")] + [
        ("SegmentEntered", "gold")]
    assert all(d["from"] is None for kind, d in events if kind == "ScoreChanged")


def test_only_band_crossings_are_announced() -> None:
    # Given what a first scoring stored
    first = outcome_of(scores(), Facts(), [GOLD])
    stored = {"scores": first.scores, "stage": first.stage, "gated": first.gated, "segments": first.segments}
    # When the exact numbers move within their bands, nothing is announced
    assert events_for("c-1", stored, outcome_of(scores(value=99.0, churnRiskBps=2001, abuseRisk=12.0), Facts(), [GOLD]), VERSIONS, "nightly") == []
    # When recency drops a score (leaving the segment) and churn risk crosses into the next tenth
    after = outcome_of(scores(recency=4, churnRiskBps=3000), Facts(), [GOLD])
    events = events_for("c-1", stored, after, VERSIONS, "nightly")
    assert [(k, d.get("score"), d.get("from"), d.get("to")) for k, d in events] == [
        ("ScoreChanged", "rfmRecency", 5, 4), ("ScoreChanged", "churnRiskBand", 2, 3), ("SegmentLeft", None, None, None)]


def test_every_announced_detail_matches_its_schema() -> None:
    events = events_for("c-1", None, outcome_of(scores(abuseGated=True), Facts(), [GOLD]), VERSIONS, "event")
    events += events_for("c-1", {"segments": ["gold", "old"]}, outcome_of(scores(recency=1), Facts(), [GOLD]), VERSIONS, "nightly")
    envelope = {"eventId": "e-1", "occurredAt": "2026-11-23T04:00:00.000000Z"}
    for kind, detail in events:
        schema = json.loads((SCHEMAS / f"{kind}.json").read_text())
        jsonschema.validate({**envelope, **detail}, schema, format_checker=jsonschema.FormatChecker())
    assert {k for k, _ in events} == {"ScoreChanged", "SegmentEntered", "SegmentLeft"}


def test_churn_bands_are_tenths_with_certainty_in_the_top_one() -> None:
    assert [churn_band(b) for b in (0, 999, 1000, 9999, 10_000)] == [0, 0, 1, 9, 9]


def test_the_value_segment_is_the_first_listed_that_is_a_tag() -> None:
    model = ScoringModels.model_validate(DEFAULT_MODELS).value
    assert value_segment(model, Facts(frozenset({"affluent", "x"}))) == "affluent"
    assert value_segment(model, Facts(frozenset({"x"}))) == "mass"


def feature(detail_type: str, detail: dict[str, object], sent: datetime | None = None) -> list[dict[str, object]]:
    parsed = inbound.DETAIL_MODELS[detail_type].model_validate({"customerId": "c-1", **detail})
    return [e.model_dump(mode="json") for e in inbound.feature_events(detail_type, parsed, "e-1", sent, SHANGHAI)]


def test_bank_events_count_on_their_business_date_in_the_bank_zone() -> None:
    # 2026-11-23T17:00Z is 01:00 on the 24th in Shanghai
    assert feature("CardTransactionPosted", {"amountMinor": 500, "postedAt": "2026-11-23T17:00:00Z"}) == [
        {"kind": "card_spend", "eventId": "e-1", "day": "2026-11-24", "amountMinor": 500}]
    assert feature("DepositBalanceChanged", {"balanceMinor": 900, "previousBalanceMinor": 400, "changedAt": "2026-11-23T01:00:00Z"})[0][
        "amountMinor"] == 500
    assert feature("DepositBalanceChanged", {"balanceMinor": 100, "previousBalanceMinor": 400, "changedAt": "2026-11-23T01:00:00Z"}) == []
    assert feature("AccountOpened", {"productCode": "card", "openedAt": "2026-11-23T01:00:00Z"})[0]["kind"] == "product_opened"
    assert feature("MonthlyAumComputed", {"month": "2026-10", "averageAumMinor": 7})[0] == {
        "kind": "aum_month", "eventId": "e-1", "month": "2026-10", "averageAumMinor": 7}


def test_engine_events_count_claims_redemptions_offers_and_responses() -> None:
    at = {"occurredAt": "2026-11-23T01:00:00Z"}
    assert feature("CouponIssued", {**at, "source": "claim"})[0]["kind"] == "coupon_claim"
    assert feature("CouponIssued", {**at, "source": "campaign"}) == []  # a grant is not the customer's claim
    assert [e["kind"] for e in feature("CouponRedeemed", {**at, "campaignId": "cmp"})] == ["coupon_redemption", "campaign_response"]
    assert [e["kind"] for e in feature("RewardGranted", {**at, "campaignId": "cmp", "arm": "A"})] == ["campaign_offer"]
    assert feature("RewardGranted", {**at, "campaignId": "cmp", "arm": "control"}) == []
    # without its own time, the envelope's time dates the event
    sent = datetime(2026, 11, 23, 20, 0, tzinfo=UTC)
    assert feature("PointsEarned", {"points": 30}, sent)[0] == {"kind": "points_activity", "eventId": "e-1", "day": str(date(2026, 11, 24)), "amountMinor": 30}
