"""`loyalty.core.occurrence`: one key per occurrence, whatever envelope id the event came under."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from loyalty.core.occurrence import occurrence_key


def test_the_key_is_the_business_id_when_there_is_one() -> None:
    detail = {"transactionId": "tx-1", "customerId": "c-1", "amountMinor": 100}
    assert occurrence_key("CardTransactionPosted", detail, "evt-1") == occurrence_key("CardTransactionPosted", detail, "evt-2")
    assert occurrence_key("CardTransactionPosted", detail, "evt-1") == "CardTransactionPosted:tx-1"
    assert occurrence_key("LoanDrawdown", {"customerId": "c-1", "loanId": "ln-9"}, "evt-1") == "LoanDrawdown:ln-9"
    assert occurrence_key("AccountOpened", {"customerId": "c-1", "accountId": "acc-4"}, "evt-1") == "AccountOpened:acc-4"


def test_an_event_without_a_business_id_is_keyed_by_what_makes_it_unique() -> None:
    # Given a balance change re-published under a new envelope id, with its instant in another offset
    at_utc = datetime(2026, 12, 4, 1, 0, tzinfo=UTC)
    first = {"customerId": "c-1", "accountId": "acc-1", "changedAt": at_utc}
    again = {**first, "changedAt": at_utc.astimezone(ZoneInfo("Asia/Shanghai")).isoformat()}
    # Then both are one occurrence, and another instant on the same account is another
    assert occurrence_key("DepositBalanceChanged", first, "evt-1") == occurrence_key("DepositBalanceChanged", again, "evt-2")
    assert occurrence_key("DepositBalanceChanged", first, "evt-1") != occurrence_key(
        "DepositBalanceChanged", {**first, "changedAt": at_utc + timedelta(seconds=1)}, "evt-1")
    # And a check-in is one per business date, an AUM figure one per month
    assert occurrence_key("CheckInCompleted", {"customerId": "c-1", "businessDate": date(2026, 12, 4)}, "e") == "CheckInCompleted:2026-12-04"
    assert occurrence_key("MonthlyAumComputed", {"customerId": "c-1", "month": "2026-11"}, "e") == "MonthlyAumComputed:2026-11"


def test_the_engines_own_events_are_keyed_by_their_event_id() -> None:
    assert occurrence_key("CouponIssued", {"customerId": "c-1", "eventId": "ev-9"}, "evt-1") == "CouponIssued:ev-9"
    assert occurrence_key("TierChanged", {"customerId": "c-1", "eventId": "ev-9"}, "evt-2") == "TierChanged:ev-9"


def test_without_those_fields_the_envelope_id_is_the_key() -> None:
    assert occurrence_key("SalaryCredited", {"customerId": "c-1"}, "evt-7") == "SalaryCredited:evt-7"
    assert occurrence_key("SalaryCredited", {"customerId": "c-1", "transactionId": ""}, "evt-7") == "SalaryCredited:evt-7"
    # And two event types with the same business id are different occurrences
    assert occurrence_key("SalaryCredited", {"transactionId": "x"}, "e") != occurrence_key("CardTransactionPosted", {"transactionId": "x"}, "e")



def test_a_key_too_long_to_store_is_replaced_by_its_digest() -> None:
    long_id = "t" * 200
    key = occurrence_key("CardTransactionPosted", {"transactionId": long_id}, "e")
    assert len(key) <= 128 and key.startswith("CardTransactionPosted:sha256:")
    assert key == occurrence_key("CardTransactionPosted", {"transactionId": long_id}, "e-2")
    assert key != occurrence_key("CardTransactionPosted", {"transactionId": long_id + "x"}, "e")
