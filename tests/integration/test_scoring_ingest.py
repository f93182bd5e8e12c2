"""Scoring keeps features and scores current from events: once per event, for known customers (an
event that comes before its customer's profile waits for it), and announces changes (ScoreChanged, SegmentEntered, SegmentLeft) through the scoring table's outbox."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from infra.local.cloud import LocalCloud
from tests.support.api import Api, eventually
from tests.support.bus import BusTap
from tests.support.points import conforms
from tests.support.scoring import (
    OPERATOR,
    TEST_LIFECYCLE,
    ScoringTap,
    card,
    create_segment,
    envelope,
    hours_ago,
    ingest,
    ingest_ok,
    opened,
    profile,
    profile_snapshot,
    put_profile,
    save_model,
    scores_of,
    stored_profile,
    unique,
)


@pytest.fixture(scope="module")
def tap(cloud: LocalCloud) -> Iterator[ScoringTap]:
    scoring_tap = ScoringTap(cloud, f"scoring-tap-{uuid.uuid4().hex[:8]}")
    yield scoring_tap
    scoring_tap.close()


@pytest.fixture(scope="module", autouse=True)
def lifecycle(api: Api) -> None:
    save_model(api, "lifecycle", TEST_LIFECYCLE)


def test_the_same_event_three_times_counts_once(cloud: LocalCloud, api: Api) -> None:
    # Given a known customer
    customer = unique("sc")
    put_profile(cloud, customer)
    # When the same card transaction is delivered three times (one batch, then twice more)
    body = envelope(*card(customer, 25_000))
    assert ingest(cloud, body, body) == {"batchItemFailures": []}
    assert ingest(cloud, body) == {"batchItemFailures": []}
    # Then it is counted once
    features = scores_of(api, customer)["features"]
    assert features["frequency30"] == 1 and features["monetary30Minor"] == 25_000
    assert scores_of(api, customer)["version"] == 1


def test_an_event_re_published_under_new_envelope_ids_counts_once(cloud: LocalCloud, api: Api) -> None:
    # Given a known customer, and one card transaction and one coupon claim of theirs
    customer = unique("sc")
    put_profile(cloud, customer)
    transaction = card(customer, 25_000)
    claim = {"eventId": unique("ev"), "customerId": customer, "couponId": unique("cpn"), "source": "claim", "occurredAt": hours_ago(1)}
    # When each is published three times, each time under a new envelope id (a bank's retry; the outbox relay resending)
    for _ in range(3):
        assert ingest(cloud, envelope(*transaction), envelope("CouponIssued", claim, source="loyalty.coupons")) == {"batchItemFailures": []}
    # Then each counted once
    features = scores_of(api, customer)["features"]
    assert features["frequency30"] == 1 and features["monetary30Minor"] == 25_000
    assert features["couponClaims7"] == 1


def test_claiming_a_bundle_counts_one_claim_not_one_per_part(cloud: LocalCloud, api: Api) -> None:
    # Given a known customer who claims a bundle (礼包) of five coupons: five CouponIssued events
    customer = unique("sc")
    put_profile(cloud, customer)
    bundle = unique("cpn")
    parts = [{"eventId": unique("ev"), "customerId": customer, "couponId": unique("cpn"), "bundleId": bundle, "source": "claim",
              "occurredAt": hours_ago(1)} for _ in range(5)]
    # When they arrive
    assert ingest(cloud, *(envelope("CouponIssued", part, source="loyalty.coupons") for part in parts)) == {"batchItemFailures": []}
    # Then the customer claimed once, as far as the abuse signals go
    assert scores_of(api, customer)["features"]["couponClaims7"] == 1


def test_an_event_dated_a_year_ahead_is_refused_and_the_history_stays(cloud: LocalCloud, api: Api) -> None:
    # Given a customer with a card transaction counted
    customer = unique("sc")
    put_profile(cloud, customer)
    ingest_ok(cloud, card(customer, 25_000))
    # When a transaction dated a year ahead arrives (a typo in the year)
    result = ingest(cloud, envelope(*card(customer, 99_000, hours=-365 * 24)))
    # Then it is reported failed (for the DLQ after retries), and nothing of it counted
    assert result == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}
    features = scores_of(api, customer)["features"]
    assert features["frequency30"] == 1 and features["monetary30Minor"] == 25_000


def test_an_event_for_an_unknown_customer_is_acknowledged_and_counts_once_the_profile_arrives(cloud: LocalCloud, api: Api) -> None:
    # (parking in detail, the sweep and the DLQs: test_scoring_parking.py)
    # Given a customer core banking has not published yet
    customer = unique("sc")
    body = envelope(*card(customer, 10_000))
    # When their transaction arrives, it is acknowledged (parked, not retried) and nothing is scored yet
    assert ingest(cloud, body) == {"batchItemFailures": []}
    assert api.call("GET", f"/v1/admin/customers/{customer}/scores", as_="op", groups=["operators"]).status_code == 404
    # And when the profile has arrived, the transaction counts
    profile_snapshot(cloud, customer)
    assert scores_of(api, customer)["features"]["frequency30"] == 1


def test_transactions_move_a_customer_from_new_to_active_with_events_on_the_bus(cloud: LocalCloud, api: Api, tap: ScoringTap) -> None:
    # Given a segment of active customers, and a customer who opened an account 10 days ago
    segment = unique("active")
    create_segment(api, segment, lifecycleStages=["active"])
    customer = unique("sc")
    put_profile(cloud, customer, tags=["payroll"])
    ingest_ok(cloud, opened(customer))
    assert scores_of(api, customer)["lifecycleStage"] == "new"
    # When two card transactions are posted
    ingest_ok(cloud, card(customer, 30_000), card(customer, 20_000))
    # Then the customer is active, in the segment, on the profile too
    scored = scores_of(api, customer)
    assert scored["lifecycleStage"] == "active" and segment in scored["segments"]
    profile = stored_profile(cloud, customer)
    assert profile["lifecycleStage"] == "active" and segment in profile["segments"]
    assert profile["scores"]["rfmFrequency"] == scored["scores"]["rfmFrequency"]
    # And SegmentEntered and ScoreChanged (new -> active) reached the bus, each conforming to its schema
    (entered,) = eventually(lambda: [e for e in tap.of(customer, "SegmentEntered") if e["detail"]["segmentId"] == segment], timeout_s=15)
    assert conforms(entered)["cause"] == "event"
    stages = eventually(lambda: [e for e in tap.of(customer, "ScoreChanged") if e["detail"]["score"] == "lifecycleStage"
                                 and e["detail"]["to"] == "active"], timeout_s=15)
    assert conforms(stages[0])["from"] == "new"
    # And the customer sees their stage, not their scores
    own = api.call("GET", f"/v1/customers/{customer}", as_=customer).json()
    assert own["lifecycleStage"] == "active" and "scores" not in own and "segments" not in own


def test_a_customer_who_no_longer_matches_leaves_the_segment(cloud: LocalCloud, api: Api, tap: ScoringTap) -> None:
    # Given a segment of customers with at most one transaction-frequency point... i.e. rfmFrequency below 2
    segment = unique("quiet")
    create_segment(api, segment, scores={"rfmFrequency": {"max": 2}})
    customer = unique("sc")
    put_profile(cloud, customer)
    ingest_ok(cloud, opened(customer))
    assert segment in scores_of(api, customer)["segments"]
    # When enough transactions raise their frequency score (cut points 2, 6, ...: 3 transactions score 2)
    ingest_ok(cloud, card(customer), card(customer), card(customer))
    # Then they left it, and SegmentLeft reached the bus
    assert segment not in scores_of(api, customer)["segments"]
    (left,) = eventually(lambda: [e for e in tap.of(customer, "SegmentLeft") if e["detail"]["segmentId"] == segment], timeout_s=15)
    assert conforms(left)["customerId"] == customer


def outside_a_tag_segment(cloud: LocalCloud, api: Api) -> tuple[str, str, str]:
    """(tag, segment, customer): a scored customer outside a new segment on a tag nobody has yet."""
    tag, segment, customer = unique("tag"), unique("tagged"), unique("sc")
    create_segment(api, segment, tagsAny=[tag])
    put_profile(cloud, customer)
    ingest_ok(cloud, opened(customer))
    assert segment not in scores_of(api, customer)["segments"]
    return tag, segment, customer


def test_an_operator_tag_moves_the_customer_s_segments_without_waiting_for_their_next_event(cloud: LocalCloud, api: Api) -> None:
    # Given a scored customer, a segment on an operator tag they do not have, and a tap on the bus
    tag, segment, customer = outside_a_tag_segment(cloud, api)
    tap = BusTap(cloud, unique("tags-tap"), ["loyalty.customers", "loyalty.scoring"])
    try:
        # When an operator tags them, through the API
        assert api.call("PUT", f"/v1/admin/customers/{customer}/tags", body={"tags": [tag]}, **OPERATOR).status_code == 200
        # Then CustomerTagsChanged goes on the bus, scoring re-scores them from it, and they enter the segment
        (announced,) = eventually(lambda: tap.of(customer, "CustomerTagsChanged"), timeout_s=15)
        assert conforms(announced)["operatorTags"] == [tag]
        eventually(lambda: [e for e in tap.of(customer, "SegmentEntered") if e["detail"]["segmentId"] == segment], timeout_s=15)
        assert segment in scores_of(api, customer)["segments"] and segment in stored_profile(cloud, customer)["segments"]
        # And when the operator removes the tag, they leave it the same way
        assert api.call("PUT", f"/v1/admin/customers/{customer}/tags", body={"tags": []}, **OPERATOR).status_code == 200
        eventually(lambda: [e for e in tap.of(customer, "SegmentLeft") if e["detail"]["segmentId"] == segment], timeout_s=15)
        assert segment not in scores_of(api, customer)["segments"]
    finally:
        tap.close()


def test_a_profile_change_re_scores_the_customer_once_the_profile_shows_it(cloud: LocalCloud, api: Api) -> None:
    # Given a scored customer, and a segment on a tag they do not have yet
    tag, segment, customer = outside_a_tag_segment(cloud, api)
    # When core banking adds the tag, and scoring sees the event before customers-ingest stored it
    change = envelope(*profile(customer, tags=[tag], changedAt=hours_ago(0.5)))
    assert ingest(cloud, change) == {"batchItemFailures": [{"itemIdentifier": "m-0"}]}  # retried: not caught up
    # Then once the profile shows it, the retry puts the customer in the segment
    records = [{"messageId": "p", "body": change}]
    assert cloud.registry.invoke(cloud.topology.function("customers-ingest"), {"Records": records}) == {"batchItemFailures": []}
    assert ingest(cloud, change) == {"batchItemFailures": []}
    assert segment in scores_of(api, customer)["segments"] and segment in stored_profile(cloud, customer)["segments"]
