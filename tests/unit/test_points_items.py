"""The points table's models against items as today's code writes them (raw attribute values, built
here as the pre-PynamoDB store built them): they read back unchanged, integers exact, and the models
write the same attributes. Also: the account's version condition, and how a refused ledger
transaction is told apart (already applied, or raced). No AWS."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from loyalty.core.dynamo import from_item, to_item
from loyalty.core.outbox import PendingEvent
from loyalty.core.transactions import Refused
from loyalty.points import store as points_store
from loyalty.points import store_writes
from loyalty.points.items import (
    BalanceItem,
    CapItem,
    EntryItem,
    LadderItem,
    LotItem,
    PointsItem,
    RedemptionItem,
    RiskHoldItem,
    RuleItem,
    lot_index_keys,
)
from loyalty.points.ledger import Account, Change, Entry, Lot
from loyalty.points.storage import AlreadyApplied, StaleAccount
from loyalty.points.writes import NewRedemption, NewRiskHold, NotHeld

CUSTOMER = "c-001"
BIG = 9_007_199_254_740_993  # past a float's exact integers

# ---- items as the raw-dict store wrote them -----------------------------------------------------------

OLD_BALANCE = {"pk": f"ACCT#{CUSTOMER}", "sk": "BALANCE", "available": BIG, "debt": 0, "growth": 150, "version": 7,
               "held": 100, "pending": 0, "customerId": CUSTOMER, "tier": "silver", "tierSince": "2026-06-01T00:00:00Z",
               "growth@2026-05": 100, "growth@2026-06": 50}
OLD_LOT = {"pk": f"ACCT#{CUSTOMER}", "sk": "LOT#2027-06-30#cc-cards#r1", "lotId": "2027-06-30#cc-cards#r1",
           "expiresOn": "2027-06-30", "remaining": 128, "costCentre": "cc-cards", "ruleId": "r1", "customerId": CUSTOMER,
           **lot_index_keys(CUSTOMER, "2027-06-30#cc-cards#r1", "2027-06-30")}
OLD_CAP = {"pk": f"ACCT#{CUSTOMER}", "sk": "CAP#r1#D#2026-06-01", "count": 128, "expiresAt": 1_800_000_000}
OLD_ENTRY = {"pk": f"LEDGER#{CUSTOMER}", "sk": "ENTRY#earn:Card:tx-1:r1", "entryId": "earn:Card:tx-1:r1", "kind": "earn",
             "points": 128, "growth": 0, "debtChange": 0, "at": "2026-06-01T12:00:00.000000Z", "costCentre": "cc-cards",
             "source": json.dumps({"ruleId": "r1", "amountMinor": 128_800}, separators=(",", ":")),
             "lots": json.dumps((("2027-06-30#cc-cards#r1", 128),)), "gsi1pk": f"HIST#{CUSTOMER}",
             "gsi1sk": "2026-06-01T12:00:00.000000Z#earn:Card:tx-1:r1"}
OLD_REDEMPTION = {"pk": "REDEMPTION#rdm-1", "sk": "REDEMPTION", "redemptionId": "rdm-1", "customerId": CUSTOMER,
                  "itemId": "umbrella", "kind": "mall_item", "points": 100, "cashMinor": 990, "currency": "CNY",
                  "status": "held", "createdAt": "2026-06-01T12:00:00.000000Z", "fingerprint": "f" * 32,
                  "holdExpiresAt": "2026-06-01T12:30:00.000000Z", "gsi2pk": "HOLDS",
                  "gsi2sk": "2026-06-01T12:30:00.000000Z#rdm-1", "lots": [["2027-06-30#cc-cards#r1", -100]]}
PLANNED = {"entry_id": "earn:Card:tx-9:r1", "points": 600, "growth": False, "expires_on": "2027-06-30",
           "cost_centre": "cc-cards", "source": {"ruleId": "r1", "ruleVersion": 1, "amountMinor": 600_000}}
OLD_HOLD = {"pk": "RISKHOLD#rh-1", "sk": "RISKHOLD", "holdId": "rh-1", "customerId": CUSTOMER, "status": "pending",
            "heldAt": "2026-06-01T12:00:00.000000Z", "points": 600, "growth": 0, "planned": [PLANNED],
            "reason": "points_per_day", "observed": 600, "limit": 500, "eventType": "CardTransactionPosted",
            "sourceEventId": "evt-9", "earnedOn": "2026-06-01", "gsi2pk": "RISKHOLDS",
            "gsi2sk": "2026-06-01T12:00:00.000000Z#rh-1", "gsi1pk": f"RISKHOLDS#{CUSTOMER}",
            "gsi1sk": "2026-06-01T12:00:00.000000Z#rh-1"}
OLD_RULE = {"pk": "RULES", "sk": "r1", "definition": '{"ruleId":"r1"}', "version": 3, "updatedAt": "2026-06-01T12:00:00Z",
            "updatedBy": "op-1"}
OLD_LADDER = {"pk": "TIERS", "sk": "CURRENT", "ladder": '{"tiers":[]}', "version": 2, "updatedBy": "op-1",
              "updatedAt": "2026-06-01T12:00:00Z"}


@pytest.mark.parametrize(("old", "model"), [
    (OLD_BALANCE, BalanceItem), (OLD_LOT, LotItem), (OLD_CAP, CapItem), (OLD_ENTRY, EntryItem),
])
def test_an_account_partition_item_written_by_todays_code_reads_back_as_its_model_unchanged(old: dict[str, Any], model: Any) -> None:
    # Given an item as the raw-dict store wrote it
    raw = to_item(old)
    # When it is read through the table's base model (an account query answers every kind)
    item: Any = PointsItem.from_raw_data(raw)
    # Then it is its own model, and shows exactly what was stored, integers exact
    assert type(item) is model
    assert item.plain() == from_item(raw) == old


@pytest.mark.parametrize(("old", "model"), [
    (OLD_REDEMPTION, RedemptionItem), (OLD_HOLD, RiskHoldItem), (OLD_RULE, RuleItem), (OLD_LADDER, LadderItem),
])
def test_a_record_written_by_todays_code_reads_back_unchanged(old: dict[str, Any], model: Any) -> None:
    raw = to_item(old)
    assert model.from_raw_data(raw).plain() == old


def test_the_account_read_from_a_stored_balance_keeps_every_sum_and_month() -> None:
    # Given the balance as stored, and its lot
    balance, lot = BalanceItem.from_raw_data(to_item(OLD_BALANCE)), LotItem.from_raw_data(to_item(OLD_LOT))
    # When the account is made of them
    account = points_store.account_of(CUSTOMER, balance, [points_store.lot_of(lot)])
    # Then the sums, the version and the growth per month are the stored ones
    assert (account.available, account.held, account.version, account.tier) == (BIG, 100, 7, "silver")
    assert account.growth_by_month == (("2026-05", 100), ("2026-06", 50))
    assert account.lots == (Lot("2027-06-30#cc-cards#r1", "2027-06-30", 128, "cc-cards", "r1"),)


# ---- what the models write --------------------------------------------------------------------------


def test_an_entry_a_lot_a_redemption_and_a_hold_are_written_with_todays_attributes() -> None:
    # Given the entry, lot, redemption and hold the raw-dict store would have written
    entry = Entry("earn:Card:tx-1:r1", "earn", 128, "2026-06-01T12:00:00.000000Z", "cc-cards",
                  {"ruleId": "r1", "amountMinor": 128_800}, lots=(("2027-06-30#cc-cards#r1", 128),))
    lot = LotItem(OLD_LOT["pk"], OLD_LOT["sk"], lotId=OLD_LOT["lotId"], expiresOn="2027-06-30", remaining=128,
                  costCentre="cc-cards", ruleId="r1", customerId=CUSTOMER, gsi2pk=OLD_LOT["gsi2pk"], gsi2sk=OLD_LOT["gsi2sk"])
    redemption = {k: v for k, v in OLD_REDEMPTION.items() if k not in ("pk", "sk", "gsi2pk", "gsi2sk")}
    hold = {k: v for k, v in OLD_HOLD.items() if not k.startswith(("pk", "sk", "gsi"))}
    # When the models serialize them, Then the attributes are today's, names and values
    assert points_store._entry_item(CUSTOMER, entry).serialize() == to_item(OLD_ENTRY)
    assert lot.serialize() == to_item(OLD_LOT)
    assert store_writes.redemption_item(NewRedemption({**redemption, "templateId": None})).serialize() == to_item(OLD_REDEMPTION)
    assert store_writes.risk_hold_item(NewRiskHold(hold)).serialize() == to_item(OLD_HOLD)


@pytest.fixture
def bound(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The models bound to their table (names from the default settings) on a client that never sends."""
    from loyalty.core import aws, tables

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    aws.dynamodb.cache_clear()
    yield
    tables.unbind_all()
    aws.dynamodb.cache_clear()


def test_the_account_write_is_conditioned_on_the_version_read_as_before(bound: None) -> None:
    # Given an account read at version 7, and a new one (no balance yet)
    read, new = BalanceItem.key(CUSTOMER), BalanceItem.key("c-new")
    read.version = 7
    # When their updates are made
    at_seven = read.get_update_kwargs_from_instance([BalanceItem.available.add(5)], BalanceItem.available >= 0)
    first = new.get_update_kwargs_from_instance([BalanceItem.available.add(5)])
    # Then the first requires version 7 (beside its own condition) and adds 1; the new one requires no version and sets 1
    names = at_seven["ExpressionAttributeNames"]
    assert at_seven["ConditionExpression"] == "(#0 >= :0 AND #1 = :1)" and names["#1"] == "version"
    assert at_seven["ExpressionAttributeValues"][":1"] == {"N": "7"}
    assert "ADD #0 :2, #1 :3" in at_seven["UpdateExpression"] and at_seven["ExpressionAttributeValues"][":3"] == {"N": "1"}
    assert first["ConditionExpression"] == "attribute_not_exists (#0)" and first["ExpressionAttributeNames"]["#0"] == "version"
    assert first["UpdateExpression"].startswith("SET #0 = :0") and first["ExpressionAttributeValues"][":0"] == {"N": "1"}


# ---- a refused ledger transaction -------------------------------------------------------------------


class RefusingTransaction:
    """Records what a commit adds, and refuses it with the given reasons (by label)."""

    reasons: dict[str, str] = {}
    last: RefusingTransaction | None = None

    def __init__(self) -> None:
        self.labels: list[str] = []
        RefusingTransaction.last = self

    def _add(self, label: str, *args: Any, **kwargs: Any) -> None:
        self.labels.append(label)

    put = update = delete = check = _add

    def commit(self) -> None:
        if self.reasons:
            raise Refused(dict(self.reasons))


@pytest.fixture
def refusing(monkeypatch: pytest.MonkeyPatch) -> type[RefusingTransaction]:
    monkeypatch.setattr(points_store, "Transaction", RefusingTransaction)
    return RefusingTransaction


def commit_earning(refusals: dict[str, str]) -> None:
    lot = Lot("2027-06-30#cc#r1", "2027-06-30", 0, "cc", "r1")
    change = Change(entries=[Entry("earn:x", "earn", 10, "2026-06-01T12:00:00Z", "cc")], lots={lot.lot_id: lot},
                    lot_delta={lot.lot_id: 10}, available=10, records=[NotHeld("rh-1")])
    RefusingTransaction.reasons = refusals
    points_store.DynamoPointsStore().commit(Account(CUSTOMER, version=3), change, caps=[("r1#D#2026-06-01", 10, 500)],
                                            events=[PendingEvent("loyalty.points", "PointsEarned", {})])


def test_an_earning_is_one_transaction_of_its_guard_entry_account_lot_cap_and_event(refusing: type[RefusingTransaction]) -> None:
    commit_earning({})
    assert refusing.last is not None
    assert refusing.last.labels == ["record-0", "entry:earn:x", "account", "lot:2027-06-30#cc#r1", "cap:r1#D#2026-06-01", "outbox"]


@pytest.mark.parametrize(("reasons", "outcome"), [
    ({"entry:earn:x": "ConditionalCheckFailed"}, AlreadyApplied),
    ({"record-0": "ConditionalCheckFailed", "account": "ConditionalCheckFailed"}, AlreadyApplied),
    ({"account": "ConditionalCheckFailed"}, StaleAccount),
    ({"lot:2027-06-30#cc#r1": "ConditionalCheckFailed"}, StaleAccount),
    ({"cap:r1#D#2026-06-01": "ConditionalCheckFailed"}, StaleAccount),
    ({"entry:earn:x": "TransactionConflict"}, StaleAccount),
])
def test_a_refused_ledger_transaction_is_already_applied_only_when_a_guard_or_entry_refused_it(
        refusing: type[RefusingTransaction], reasons: dict[str, str], outcome: type[Exception]) -> None:
    # Given a transaction refused for these reasons, When it is committed, Then the store says which it was
    with pytest.raises(outcome):
        commit_earning(reasons)
