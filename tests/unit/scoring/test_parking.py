"""The parking decisions (loyalty.scoring.parking), pure: what happens to an event given what is known
of its customer's profile, what a parked event keeps, and the order parked events are applied in
(staleness and the sweep's index, shared by every consumer: tests/unit/test_parking.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from loyalty.core import parking as shared
from loyalty.scoring import inbound, parking

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=UTC)
DEVICE, PHONE = "d" * 64, "p" * 64


def opened(**fields: object) -> inbound.Inbound:
    return inbound.AccountOpened.model_validate({"customerId": "c-1", "productCode": "debit", "openedAt": "2026-11-20T02:00:00Z",
                                                 "deviceHash": DEVICE, "phoneHash": PHONE, **fields})


def event(occurrence: str, occurred_at: str, parked_at: str = "2026-11-23T04:00:00.000000Z") -> parking.ParkedEvent:
    return parking.ParkedEvent(customerId="c-1", occurrence=occurrence, detailType="CardTransactionPosted", detail={},
                               occurredAt=occurred_at, parkedAt=parked_at, expiresAt=0)


# ---- the decision ----------------------------------------------------------------------------------


@pytest.mark.parametrize("detail_type", ["CardTransactionPosted", "AccountOpened", "CouponIssued", "TierChanged", "CustomerTagsChanged"])
def test_an_event_without_a_profile_is_parked_and_with_one_applied(detail_type: str) -> None:
    # Given an event of a customer core banking has not published yet / Then it is parked, never refused
    assert parking.decide(detail_type, has_profile=False) == "park"
    # And once the profile exists it is applied
    assert parking.decide(detail_type, has_profile=True) == "apply"


def test_the_profile_s_own_event_waits_for_customers_ingest_instead_of_parking() -> None:
    # Given a CustomerProfileChanged that reached scoring before customers-ingest stored it
    # Then it is retried (it is the profile arriving): parked, nothing would ever apply it
    assert parking.decide("CustomerProfileChanged", has_profile=False) == "await_profile"
    assert parking.decide("CustomerProfileChanged", has_profile=True) == "apply"


def test_a_parked_event_applied_while_there_is_still_no_profile_stays_parked() -> None:
    assert parking.decide("CardTransactionPosted", has_profile=False, drained=True) == "keep"
    assert parking.decide("CardTransactionPosted", has_profile=True, drained=True) == "apply"


def test_an_erased_customer_s_event_is_dropped_parked_or_not() -> None:
    for drained in (False, True):
        assert parking.decide("CardTransactionPosted", has_profile=True, erased=True, drained=drained) == "drop"


# ---- what is parked ----------------------------------------------------------------------------------


def test_a_parked_event_keeps_what_scoring_reads_with_its_hashes_keyed_only() -> None:
    # When an account opening carrying the bank's device and phone hashes is parked (keyed by the caller)
    keyed = {"hk:device": "device", "hk:phone": "phone"}
    parked = parking.parked("AccountOpened", opened(), "AccountOpened:acc-1", None, keyed, NOW, keep_days=30)
    # Then the hashes as received are nowhere in it; the keyed ones are
    assert DEVICE not in repr(parked) and PHONE not in repr(parked)
    assert parked.identities == keyed and "deviceHash" not in parked.detail and "phoneHash" not in parked.detail
    # And it reads back as the event scoring reads (the same fields), ordered by its own time, kept 30 days
    assert parked.model() == opened(deviceHash=None, phoneHash=None)
    assert parked.occurredAt == "2026-11-20T02:00:00.000000Z" and parked.parkedAt == "2026-11-23T04:00:00.000000Z"
    assert parked.expiresAt == int((NOW + timedelta(days=30)).timestamp())


def test_an_event_without_its_own_time_is_ordered_by_when_it_was_sent() -> None:
    aum = inbound.MonthlyAumComputed.model_validate({"customerId": "c-1", "month": "2026-10", "averageAumMinor": 5})
    sent = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    assert parking.occurred_at(aum, sent, NOW) == sent
    assert parking.occurred_at(aum, None, NOW) == NOW
    parked = parking.parked("MonthlyAumComputed", aum, "MonthlyAumComputed:2026-10", sent, {}, NOW, keep_days=30)
    assert parked.sent_at() == sent and parked.model() == aum


# ---- the order they are applied in, and staleness -------------------------------------------------


def test_parked_events_are_applied_in_the_order_they_occurred_and_the_profile_takes_its_place() -> None:
    # Given three events parked in another order than they occurred
    late, early, middle = event("b", "2026-11-22T00:00:00.000000Z"), event("z", "2026-11-20T00:00:00.000000Z"), \
        event("a", "2026-11-21T00:00:00.000000Z")
    # Then they are applied oldest first (ties by occurrence)
    assert [e.occurrence for e in shared.in_order([late, early, middle])] == ["z", "a", "b"]
    tie = event("0", "2026-11-21T00:00:00.000000Z")
    assert [e.occurrence for e in shared.in_order([middle, tie])] == ["0", "a"]
    # And a profile snapshot of the 21st at noon comes after those of the 20th and 21st, before the 22nd's
    before, after = parking.around([late, early, middle], datetime(2026, 11, 21, 12, tzinfo=UTC))
    assert [e.occurrence for e in before] == ["z", "a"] and [e.occurrence for e in after] == ["b"]


def test_the_ttl_must_outlive_the_report_limit() -> None:
    from pydantic import ValidationError

    from loyalty.core.config import Settings

    assert Settings().scoring_parked_report_days == 7 and Settings().scoring_parked_keep_days == 30
    with pytest.raises(ValidationError, match="SCORING_PARKED_KEEP_DAYS"):
        Settings(scoring_parked_report_days=7, scoring_parked_keep_days=7)


def test_a_parked_event_is_the_same_after_the_store_s_item_holds_it() -> None:
    from loyalty.core.dynamo import to_item
    from loyalty.scoring.items import ParkedEventItem
    from loyalty.scoring.store_parking import parked_event_of

    # Given an account opening parked with its keyed hashes
    parked = parking.parked("AccountOpened", opened(), "AccountOpened:acc-1", NOW, {"hk:device": "device"}, NOW, keep_days=30)
    # When the item the store writes is read back
    stored = {"pk": "CUST#c-1", "sk": "PARKED#AccountOpened:acc-1", "customerId": "c-1", "occurrence": parked.occurrence,
              "detailType": "AccountOpened", "detail": shared.to_json(parked.detail), "identities": parked.identities,
              "occurredAt": parked.occurredAt, "sentAt": parked.sentAt, "parkedAt": parked.parkedAt, "expiresAt": parked.expiresAt,
              "gsi1pk": "PARKED#7", "gsi1sk": shared.index_sort_key(parked)}
    # Then it is the same parked event
    assert parked_event_of(ParkedEventItem.from_raw_data(to_item(stored))) == parked
