"""The DynamoDB store's reading of a cancelled transaction, without AWS: each refusing item's label
becomes the domain's answer (already granted, which budget, erased, contended, done already), and a
grant is one transaction of the same items as before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import pytest

from loyalty.campaigns import records, store_customer, store_runs
from loyalty.campaigns import store as campaign_store
from loyalty.campaigns.refusals import AlreadyGranted, Contended, Refused
from loyalty.campaigns.store import DynamoCampaignStore, GrantPlan
from loyalty.core.errors import Conflict
from loyalty.core.outbox import PendingEvent
from loyalty.core.transactions import CONDITION_FAILED, Transaction
from loyalty.core.transactions import Refused as Cancelled

CONFLICT = "TransactionConflict"


class ScriptedTransaction:
    """A `Transaction` that records its items' labels and, on commit, is cancelled with `reasons`."""

    reasons: ClassVar[dict[str, str]] = {}
    last: ClassVar[ScriptedTransaction | None] = None

    def __init__(self) -> None:
        self.labels: list[str] = []
        ScriptedTransaction.last = self

    def __len__(self) -> int:
        return len(self.labels)

    def _add(self, label: str, *args: Any, **kwargs: Any) -> None:
        self.labels.append(label)

    check = put = update = delete = _add

    def commit(self) -> None:
        if ScriptedTransaction.reasons:
            raise Cancelled(dict(ScriptedTransaction.reasons))

    commit_once = Transaction.commit_once  # the real one, over this commit


@pytest.fixture(autouse=True)
def scripted(monkeypatch: pytest.MonkeyPatch) -> Iterator[type[ScriptedTransaction]]:
    for module in (campaign_store, store_runs, store_customer):
        monkeypatch.setattr(module, "Transaction", ScriptedTransaction)
    ScriptedTransaction.reasons = {}
    yield ScriptedTransaction
    ScriptedTransaction.reasons = {}


def plan() -> GrantPlan:
    record = {**records.grant_key("c-1", "cust-1", "tx-1"), "campaignId": "c-1", "customerId": "cust-1", "trigger": "tx-1", "arm": "main",
              "at": "2027-01-01T00:00:00.000000Z", "status": "granted", "cost": 1, "budgetKeys": ["TOTAL", "D#2027-01-01"]}
    events = [PendingEvent("loyalty.campaigns", "IssueCoupon", {"commandId": "cg-1"}), PendingEvent("loyalty.campaigns", "RewardGranted", {})]
    return GrantPlan("c-1", 3, "cust-1", "tx-1", "main", 1, record, "2027-04-01T00:00:00.000000Z", "CNY",
                     budgets=[("total", "TOTAL", 100), ("daily", "D#2027-01-01", 10)], frequency=[("LIFETIME", 1)],
                     notify=("2027-01-01", 3), commands=["cg-1"], stats={"targeted": 1, "granted": 1}, events=events)


def test_a_grant_is_one_transaction_of_the_grant_its_checks_counters_commands_and_events() -> None:
    # When a grant is written
    DynamoCampaignStore().grant(plan())
    # Then one transaction holds every item a grant was before: 2 budgets, a cap, a notification, a command, 2 events
    assert ScriptedTransaction.last is not None
    assert ScriptedTransaction.last.labels == ["granted", "not_active", "customer-not-erased", "budget:total", "budget:daily",
                                               "frequency", "notify", "command", "stats", "targeted", "outbox", "outbox"]


@pytest.mark.parametrize(("reasons", "expected"), [
    ({"granted": CONDITION_FAILED, "frequency": CONDITION_FAILED}, AlreadyGranted()),
    ({"not_active": CONDITION_FAILED, "budget:total": CONDITION_FAILED}, Refused("not_active")),
    ({"customer-not-erased": CONDITION_FAILED, "budget:total": CONDITION_FAILED}, Refused("erased")),
    ({"budget:daily": CONDITION_FAILED, "frequency": CONDITION_FAILED}, Refused("budget:daily")),
    ({"frequency": CONDITION_FAILED, "notify": CONDITION_FAILED}, Refused("frequency")),
    ({"notify": CONDITION_FAILED}, Refused("notify")),
    ({"outbox": CONDITION_FAILED}, Refused("not_active")),
    ({"granted": CONDITION_FAILED, "stats": CONFLICT}, Contended()),
])
def test_a_refused_grant_names_the_first_refusal_in_the_order_the_grant_decides(reasons: dict[str, str], expected: Exception) -> None:
    # Given a grant the table refuses for these reasons
    ScriptedTransaction.reasons = reasons
    # When it is written
    with pytest.raises(type(expected)) as raised:
        DynamoCampaignStore().grant(plan())
    # Then the refusal is the one the grant acts on
    assert getattr(raised.value, "reason", None) == getattr(expected, "reason", None)


def test_progress_refused_for_the_erased_customer_is_erased_and_for_its_version_is_a_retry() -> None:
    # Given a customer's progress, refused once with the customer erased, once for its version alone
    record = {**records.progress_key("cust-1", "task-1"), "campaignId": "task-1", "customerId": "cust-1", "state": {"cycle": 0, "seen": []}}
    ScriptedTransaction.reasons = {"customer-not-erased": CONDITION_FAILED, "progress": CONDITION_FAILED}
    # When it is written, Then the erasure wins
    with pytest.raises(Refused) as erased:
        DynamoCampaignStore().put_progress(record, 2, "cust-1")
    assert erased.value.reason == "erased"
    # And a version written meanwhile is False: read again and retry
    ScriptedTransaction.reasons = {"progress": CONDITION_FAILED}
    assert DynamoCampaignStore().put_progress(record, 2, "cust-1") is False


def test_a_write_done_already_answers_false_and_anything_else_refusing_it_is_contended() -> None:
    # Given a redemption counted already (its marker refuses)
    command = {**records.command_key("cg-1"), "campaignId": "c-1", "arm": "main"}
    ScriptedTransaction.reasons = {"command": CONDITION_FAILED}
    # Then counting it again answers False
    assert DynamoCampaignStore().count_redeemed(command, "2027-01-01T00:00:00.000000Z") is False
    # And a conflict on the counters is a 409 to retry, not "done already"
    ScriptedTransaction.reasons = {"stats": CONFLICT}
    with pytest.raises(Conflict) as contended:
        DynamoCampaignStore().count_redeemed(command, "2027-01-01T00:00:00.000000Z")
    assert contended.value.code == "CAMPAIGN_CONTENDED"


def test_an_invite_code_taken_is_false_and_a_conflict_on_it_is_not_swallowed() -> None:
    # Given a code another customer holds: registering it answers False (the next candidate is tried)
    ScriptedTransaction.reasons = {"code": CONDITION_FAILED}
    assert DynamoCampaignStore().register_code("cust-1", "ABCD2345", "2027-01-01T00:00:00.000000Z") is False
    # And a conflict is raised, as before, not taken for a code in use
    ScriptedTransaction.reasons = {"inviter": CONFLICT}
    with pytest.raises(Cancelled):
        DynamoCampaignStore().register_code("cust-1", "ABCD2345", "2027-01-01T00:00:00.000000Z")


def test_a_lifecycle_write_refused_is_the_lifecycles_conflict() -> None:
    meta = {**records.meta_key("c-1"), "campaignId": "c-1", "status": "draft", "version": 2, "definition": "{}", "author": "op",
            "updatedBy": "op", "updatedAt": "2027-01-01T00:00:00.000000Z", "startsAt": "2027-01-01T00:00:00.000000Z",
            "endsAt": "2027-04-01T00:00:00.000000Z"}
    audit = {"who": "op", "at": "2027-01-01T00:00:00.000000Z", "action": "edit", "after": "draft", "version": 2}
    # Given the META item refusing (another version, or another state)
    ScriptedTransaction.reasons = {"meta": CONDITION_FAILED}
    # When a new version is saved, or the campaign moved, Then each is its own 409
    with pytest.raises(Conflict) as version:
        DynamoCampaignStore().save(meta, expected_version=1, audit=audit)
    with pytest.raises(Conflict) as state:
        DynamoCampaignStore().transition("c-1", "draft", {"status": "pending_approval"}, audit)
    assert (version.value.code, state.value.code) == ("CAMPAIGN_VERSION_CONFLICT", "CAMPAIGN_STATE_CONFLICT")
