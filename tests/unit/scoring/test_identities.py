"""The identity index's pure parts (`loyalty.scoring.identities`): what an event carries, how a
customer's hashes grow, the `sharedIdentityAccounts` feature and who is re-scored at once; and
what scoring keeps of the profile for the relationship-manager index."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from loyalty.core import pii
from loyalty.scoring import identities
from loyalty.scoring.inbound import AccountOpened, LoginCompleted, ProfileChanged
from loyalty.scoring.scores import abuse_risk
from loyalty.scoring.segments import Facts
from loyalty.scoring.store import manager_moves
from tests.unit.scoring.builders import features, models

DEVICE, PHONE = "d" * 64, "p" * 64
AT = "2026-11-23T04:12:00Z"


def login(**fields: Any) -> LoginCompleted:
    return LoginCompleted.model_validate({"customerId": "c-1", "loggedInAt": AT, **fields})


def test_each_event_carries_its_hashes_with_their_kind() -> None:
    # Given a login from a device, an account opened with a device and a phone, and a profile without either
    opened = AccountOpened.model_validate({"customerId": "c-1", "productCode": "debit", "openedAt": AT, "deviceHash": DEVICE, "phoneHash": PHONE})
    profile = ProfileChanged.model_validate({"customerId": "c-1", "changedAt": AT})
    # When their hashes are read
    # Then each comes with its kind, and an event without any carries none
    assert identities.carried(login(deviceHash=DEVICE)) == {DEVICE: "device"}
    assert identities.carried(opened) == {DEVICE: "device", PHONE: "phone"}
    assert identities.carried(profile) == {} and identities.carried(login()) == {}


def test_the_same_value_sent_as_device_and_phone_is_one_identity() -> None:
    profile = ProfileChanged.model_validate({"customerId": "c-1", "changedAt": AT, "deviceHash": DEVICE, "phoneHash": DEVICE})
    assert identities.carried(profile) == {DEVICE: "device"}


@pytest.mark.parametrize("value", ["short", "x" * 129])
def test_a_hash_outside_the_contract_makes_the_event_malformed(value: str) -> None:
    # Given a deviceHash shorter than 16 or longer than 128 characters (events/schemas/inbound)
    # Then the event is refused (it goes to the DLQ after its retries)
    with pytest.raises(ValidationError):
        login(deviceHash=value)


def test_a_hash_as_received_never_shows_in_the_event_s_repr() -> None:
    # Given a login carrying a device hash (a plain hash of a phone number is reversible)
    event = login(deviceHash=DEVICE)
    # Then printing or logging the parsed event does not show it
    assert DEVICE not in repr(event) and DEVICE not in str(event)


def test_new_hashes_are_added_and_known_ones_keep_their_kind() -> None:
    # Given a customer known on a phone
    known = {"hk1:a": "phone"}
    # When an event brings the same hash as a device, and a new device
    merged, added = identities.merge(known, {"hk1:a": "device", "hk1:b": "device"})
    # Then only the new one is added; the known one stays a phone
    assert merged == {"hk1:a": "phone", "hk1:b": "device"} and added == {"hk1:b": "device"}
    # And the same event again adds nothing
    assert identities.merge(merged, {"hk1:a": "device", "hk1:b": "device"}) == (merged, {})


def test_a_customer_keeps_at_most_the_first_hashes_up_to_the_limit() -> None:
    # Given a customer with as many hashes as the limit
    known = {f"hk1:{i}": "device" for i in range(identities.MAX_IDENTITIES)}
    # When one more arrives, it is not recorded; the first ones stay
    assert identities.merge(known, {"hk1:new": "device"}) == (known, {})
    merged, added = identities.merge({"hk1:0": "phone"}, {"hk1:1": "device", "hk1:2": "device"}, limit=2)
    assert merged == {"hk1:0": "phone", "hk1:1": "device"} and added == {"hk1:1": "device"}


def test_a_newer_profile_snapshot_retires_the_phones_it_does_not_name_and_keeps_devices() -> None:
    # Given a customer known on an old phone and a device, the phone named by a snapshot at 04:00
    known = {"hk1:old": "phone", "hk1:dev": "device"}
    # When a snapshot at 05:00 names another phone
    kept, seen, retired, as_of = identities.replace_phone(known, {"hk1:new": "phone"}, "2026-11-23T05:00:00Z", "2026-11-23T04:00:00Z")
    # Then the old phone is retired, the device stays and the new phone is to be added, as of 05:00
    assert kept == {"hk1:dev": "device"} and seen == {"hk1:new": "phone"} and retired == ["hk1:old"]
    assert as_of == "2026-11-23T05:00:00Z"
    # And the first snapshot ever retires the phone an account opening brought, unless it names it
    assert identities.replace_phone(known, {"hk1:new": "phone"}, "2026-11-23T05:00:00Z", None) == (
        {"hk1:dev": "device"}, {"hk1:new": "phone"}, ["hk1:old"], "2026-11-23T05:00:00Z")
    assert identities.replace_phone(known, {"hk1:old": "phone"}, "2026-11-23T05:00:00Z", None) == (
        known, {"hk1:old": "phone"}, [], "2026-11-23T05:00:00Z")


def test_an_older_snapshot_arriving_late_neither_retires_nor_brings_back_a_phone() -> None:
    # Given a customer whose phone was named by a snapshot at 05:00
    known = {"hk1:new": "phone"}
    # When a snapshot from 04:00, naming the phone they had before, arrives late
    kept, seen, retired, as_of = identities.replace_phone(known, {"hk1:old": "phone", "hk1:dev": "device"},
                                                          "2026-11-23T04:00:00Z", "2026-11-23T05:00:00Z")
    # Then nothing is retired, the old phone is not added back (its device still is), and 05:00 stands
    assert kept == known and seen == {"hk1:dev": "device"} and retired == [] and as_of == "2026-11-23T05:00:00Z"


def test_a_snapshot_without_a_phone_retires_nothing() -> None:
    known = {"hk1:old": "phone"}
    assert identities.replace_phone(known, {"hk1:dev": "device"}, "2026-11-23T05:00:00Z", None) == (
        known, {"hk1:dev": "device"}, [], None)


@pytest.mark.parametrize(
    ("others", "expected"),
    [([], 0), ([0], 0), ([2, 0], 2), ([1, 3, 2], 3), ([identities.SHARED_CAP + 10], identities.SHARED_CAP)],
)
def test_shared_accounts_is_the_most_others_on_any_one_hash_capped(others: list[int], expected: int) -> None:
    # (the largest, not the sum: a device and a phone shared with the same person are one other account)
    assert identities.shared_accounts(others) == expected


def test_the_abuse_score_rises_with_shared_accounts_until_the_signal_is_full() -> None:
    # Given the example model: sharedAccountsFull 3, weight 0.4 of 1.0
    abuse = models().abuse
    risks = [abuse_risk(features(sharedIdentityAccounts=n, daysSinceOnboarding=400), abuse) for n in (0, 1, 3, 50)]
    # Then 0, a third of 40, 40, 40
    assert risks == pytest.approx([0.0, 40 / 3, 40.0, 40.0])


def test_the_customers_already_on_a_new_hash_are_re_scored_only_while_their_signal_can_move() -> None:
    # Given counts of other customers on the hashes a customer has (two of them just added), full at 3
    others = {"hk1:old": 2, "hk1:alone": 0, "hk1:few": 3, "hk1:many": 4}
    added = ["hk1:alone", "hk1:few", "hk1:many"]
    # Then only the new hash with 1 to 3 others: nobody on "alone", and "many" were already full
    assert identities.neighbours_to_rescore(others, added, shared_accounts_full=3) == ["hk1:few"]
    # And never more than the re-scoring limit, whatever the model says is full
    crowd = {"hk1:c": identities.NEIGHBOUR_RESCORE_LIMIT + 1}
    assert identities.neighbours_to_rescore(crowd, ["hk1:c"], shared_accounts_full=1000) == []


def test_the_index_item_holds_the_keyed_hash_only() -> None:
    # Given a device hash as the bank sent it, keyed
    from loyalty.scoring.items import IdentityItem

    keyed = pii.keyed_hash(DEVICE)
    # When the index item is made for a customer, as the re-scoring writes it
    item = IdentityItem.of(keyed, "c-1")
    item.customerId, item.kind, item.firstSeenAt = "c-1", "device", AT
    stored = item.serialize()
    # Then its key is the keyed hash and the customer, and the raw value is nowhere in it
    assert {k: stored[k] for k in ("pk", "sk")} == {"pk": {"S": f"IDENT#{keyed}"}, "sk": {"S": "CUST#c-1"}}
    assert DEVICE not in str(stored)


def test_scoring_keeps_the_relationship_manager_with_the_profile_facts() -> None:
    facts = Facts.of_profile({"customerId": "c-1", "relationshipManagerId": "rm-7", "tags": ["payroll"]})
    assert facts.relationshipManagerId == "rm-7" and facts.as_record()["relationshipManagerId"] == "rm-7"
    assert Facts.of_profile({"customerId": "c-2"}).as_record()["relationshipManagerId"] is None


def manager_ops(was: str | None, manager: str | None, value_changed: bool = False) -> list[tuple[str, str]]:
    leave, join = manager_moves(was, manager, value_changed)
    return [*([("Delete", f"RM#{leave}")] if leave else []), *([("Put", f"RM#{join}")] if join else [])]


def test_a_customer_moving_to_another_manager_leaves_the_former_s_book_in_the_same_writes() -> None:
    assert manager_ops("rm-1", "rm-2") == [("Delete", "RM#rm-1"), ("Put", "RM#rm-2")]


def test_a_profile_without_a_manager_any_more_removes_the_customer_from_the_book() -> None:
    assert manager_ops("rm-1", None) == [("Delete", "RM#rm-1")]


def test_the_manager_s_entry_is_written_when_the_value_changed_or_first_and_only_then() -> None:
    assert manager_ops(None, "rm-1") == [("Put", "RM#rm-1")]
    assert manager_ops("rm-1", "rm-1", value_changed=True) == [("Put", "RM#rm-1")]
    assert manager_ops("rm-1", "rm-1") == [] and manager_ops(None, None, value_changed=True) == []
