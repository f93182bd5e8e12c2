"""The campaign services against in-memory ports (the store and the customers directory), without AWS:
grants and their refusals, retries of conflicting transactions, progress read again after a lost race,
the lifecycle's conflicts, the cached trigger index, outcomes counted once, runs' work items, invite
codes and uploads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from loyalty.campaigns import granting, outcomes, referrals, runs, service, tasks, uploads
from loyalty.campaigns.model import TRIGGER_DETAILS, CampaignDefinition, Transition
from loyalty.campaigns.uploads import AudienceUpload
from loyalty.core import config_cache
from loyalty.core.auth import Caller
from loyalty.core.errors import Conflict
from tests.unit.campaigns_fakes import InMemoryCampaignStore, InMemoryDirectory
from tests.unit.fakes import FakeClock

NOW = datetime(2027, 2, 10, 4, 0, tzinfo=UTC)  # noon in Shanghai: no quiet hours
MAKER = Caller("op-maker", frozenset({"operators"}))
CHECKER = Caller("op-checker", frozenset({"operators", "approvers"}))


@pytest.fixture
def directory(monkeypatch: pytest.MonkeyPatch) -> InMemoryDirectory:
    fake = InMemoryDirectory()
    monkeypatch.setattr("loyalty.customers.ports.directory", lambda: fake)
    return fake


@pytest.fixture
def store(directory: InMemoryDirectory, monkeypatch: pytest.MonkeyPatch) -> Iterator[InMemoryCampaignStore]:
    monkeypatch.setattr(granting.time, "sleep", lambda _: None)
    monkeypatch.setattr(tasks.time, "sleep", lambda _: None)
    config_cache.clear()
    yield InMemoryCampaignStore(directory)
    config_cache.clear()


def definition(campaign_id: str = "camp-1", **overrides: Any) -> CampaignDefinition:
    body: dict[str, Any] = {
        "campaignId": campaign_id,
        "name": "Spend 1000, get a coupon",
        "window": {"startsAt": "2027-01-01T00:00:00+08:00", "endsAt": "2027-04-01T00:00:00+08:00"},
        "trigger": {"type": "event", "eventType": "CardTransactionPosted", "minAmountMinor": 100_000, "mccs": ["5812"]},
        "audience": {"requireProfile": False},
        "variants": [{"variantId": "main", "weightPercent": 100, "actions": [
            {"type": "issue_coupon", "templateId": "tpl-1"}, {"type": "notify", "channel": "push", "templateId": "notice-1"}]}],
        "controlPercent": 0,
        "budget": {"unit": "rewards", "total": 10},
        "frequencyCaps": {"lifetime": 1},
        "fundingCostCentre": "cc-marketing",
        **overrides,
    }
    return CampaignDefinition.model_validate(body)


def launch(store: InMemoryCampaignStore, campaign: CampaignDefinition) -> dict[str, Any]:
    service.save(store, campaign, MAKER.subject, NOW, create=True)
    service.transition(store, campaign.campaignId, "submit", Transition(), MAKER, NOW)
    service.transition(store, campaign.campaignId, "approve", Transition(), CHECKER, NOW)
    return store.get(campaign.campaignId)


def spend(customer_id: str, transaction_id: str = "tx-1") -> dict[str, Any]:
    detail = {"customerId": customer_id, "transactionId": transaction_id, "amountMinor": 150_000, "currency": "CNY", "mcc": "5812",
              "postedAt": NOW.isoformat()}
    return TRIGGER_DETAILS["CardTransactionPosted"].model_validate(detail).model_dump()


def events(store: InMemoryCampaignStore, detail_type: str) -> list[dict[str, Any]]:
    return [e.detail for e in store.outbox if e.detail_type == detail_type]


# ---- grants --------------------------------------------------------------------------------------


def test_a_grant_takes_the_budget_the_cap_and_the_arm_and_a_replay_finds_it_granted(store: InMemoryCampaignStore) -> None:
    # Given an active campaign
    meta = launch(store, definition())
    # When a customer is granted for a transaction, and the same transaction is delivered again
    first = granting.grant(store, meta, "c-1", "tx-1", NOW)
    again = granting.grant(store, meta, "c-1", "tx-1", NOW)
    # Then the first is granted with its coupon command, the replay finds it, and the books count one
    assert (first, again) == ("granted", "already")
    assert [e["customerId"] for e in events(store, "IssueCoupon")] == ["c-1"] and len(events(store, "RewardGranted")) == 1
    assert store.budget("camp-1", "TOTAL") == {"pk": "BUDGET#camp-1", "sk": "TOTAL", "spent": 1, "limit": 10}
    (arm,) = store.arms("camp-1")
    assert {k: arm[k] for k in ("targeted", "granted", "notified", "cost")} == {"targeted": 1, "granted": 1, "notified": 0, "cost": 1}
    # And the notice waits for the coupon: once it is issued the grant is delivered and the notice goes, once
    command = events(store, "IssueCoupon")[0]["commandId"]
    assert not events(store, "NotificationRequested")
    assert [outcomes.on_answer(store, command, "delivered", None, NOW) for _ in range(2)] == ["delivered", None]
    assert len(events(store, "NotificationRequested")) == 1 and store.arms("camp-1")[0]["notified"] == 1


def test_a_grant_whose_transaction_conflicts_is_tried_again_until_it_commits(store: InMemoryCampaignStore) -> None:
    # Given an active campaign, and three transactions that will conflict with other writers first
    meta = launch(store, definition())
    store.conflicts = 3
    # When a customer is granted
    outcome = granting.grant(store, meta, "c-1", "tx-1", NOW)
    # Then it is decided again after each conflict, and granted once
    assert outcome == "granted" and store.grant_attempts == 4
    assert store.budget("camp-1", "TOTAL") == {"pk": "BUDGET#camp-1", "sk": "TOTAL", "spent": 1, "limit": 10}


def test_a_grant_that_keeps_conflicting_is_refused_as_contended_and_takes_nothing(store: InMemoryCampaignStore) -> None:
    # Given a campaign whose items every transaction finds held
    meta = launch(store, definition())
    store.conflicts = 1_000
    # When a customer is granted
    with pytest.raises(Conflict) as refused:
        granting.grant(store, meta, "c-1", "tx-1", NOW)
    # Then, after its attempts, the trigger is refused to be retried later, and nothing was taken
    assert refused.value.code == "CAMPAIGN_CONTENDED" and store.grant_attempts == granting.MAX_ATTEMPTS
    assert store.budget("camp-1", "TOTAL") is None and store.outbox == [e for e in store.outbox if e.detail_type == "CampaignStatusChanged"]


def test_the_last_reward_of_the_total_budget_pauses_the_campaign_and_it_is_announced_once(store: InMemoryCampaignStore) -> None:
    # Given a campaign whose total budget is one reward
    meta = launch(store, definition(budget={"unit": "rewards", "total": 1}))
    # When three customers qualify, each with the definition read before any grant
    outcomes_ = [granting.grant(store, meta, c, "tx-1", NOW) for c in ("c-1", "c-2", "c-3")]
    # Then the first is granted; the second finds the budget spent, which pauses the campaign; the third finds it paused
    assert outcomes_ == ["granted", "budget_exhausted", "not_active"]
    assert store.get("camp-1")["status"] == "paused" and store.get("camp-1")["pausedReason"] == "budget_exhausted"
    assert [e["period"] for e in events(store, "BudgetExhausted")] == ["total"]


def test_a_daily_budget_refuses_for_the_day_and_is_announced_once_without_pausing(store: InMemoryCampaignStore) -> None:
    # Given a campaign of one reward a day
    meta = launch(store, definition(budget={"unit": "rewards", "total": 10, "daily": 1}))
    # When three customers qualify the same day
    outcomes_ = [granting.grant(store, meta, c, "tx-1", NOW) for c in ("c-1", "c-2", "c-3")]
    # Then only the first is granted, the day's exhaustion is announced once, and the campaign stays approved
    assert outcomes_ == ["granted", "budget_exhausted", "budget_exhausted"]
    assert [e["period"] for e in events(store, "BudgetExhausted")] == ["daily"]
    assert store.get("camp-1")["status"] == "approved"


def test_the_frequency_cap_and_an_erased_customer_are_refused_at_the_write(store: InMemoryCampaignStore,
                                                                           directory: InMemoryDirectory) -> None:
    # Given an active campaign of once per customer, and an erased customer
    meta = launch(store, definition())
    directory.add("c-gone", erased=True)
    # When a customer qualifies twice, and the erased one once
    first, second = granting.grant(store, meta, "c-1", "tx-1", NOW), granting.grant(store, meta, "c-1", "tx-2", NOW)
    erased = granting.grant(store, meta, "c-gone", "tx-3", NOW)
    # Then the second is capped, the erased customer gets nothing, and only one reward was taken
    assert (first, second, erased) == ("granted", "capped", "erased")
    assert store.budget("camp-1", "TOTAL") == {"pk": "BUDGET#camp-1", "sk": "TOTAL", "spent": 1, "limit": 10}


def test_a_customer_out_of_notifications_today_still_gets_the_reward_without_one(store: InMemoryCampaignStore) -> None:
    # Given a customer who had all of today's notifications already
    meta = launch(store, definition())
    store.items[("NOTIFY#c-1", "2027-02-10")] = {"pk": "NOTIFY#c-1", "sk": "2027-02-10", "count": 3}
    # When they qualify
    outcome = granting.grant(store, meta, "c-1", "tx-1", NOW)
    # Then the reward is granted without a notice, and the arm counts none notified, even once it is delivered
    assert outcome == "granted" and events(store, "IssueCoupon")
    outcomes.on_answer(store, events(store, "IssueCoupon")[0]["commandId"], "delivered", None, NOW)
    assert not events(store, "NotificationRequested") and store.arms("camp-1")[0]["notified"] == 0


def test_a_campaign_paused_after_the_grant_was_decided_refuses_it_at_the_write(store: InMemoryCampaignStore) -> None:
    # Given an active campaign read by a trigger, then paused (the kill switch)
    meta = launch(store, definition())
    service.transition(store, "camp-1", "pause", Transition(note="stop"), MAKER, NOW)
    # When the trigger grants with what it read
    outcome = granting.grant(store, meta, "c-1", "tx-1", NOW)
    # Then nothing is granted
    assert outcome == "not_active" and store.budget("camp-1", "TOTAL") is None


# ---- task progress -------------------------------------------------------------------------------


def task() -> CampaignDefinition:
    trigger = {"type": "event", "eventType": "CardTransactionPosted", "minAmountMinor": 100_000, "mccs": ["5812"],
               "target": {"count": 2, "withinDays": 30}}
    return definition("task-1", trigger=trigger)


def test_progress_written_meanwhile_by_another_delivery_is_read_again_and_the_task_pays_once(store: InMemoryCampaignStore) -> None:
    # Given a task of two transactions, one counted already
    meta = launch(store, task())
    assert tasks.on_progress(store, meta, "c-1", spend("c-1", "tx-1"), "occ-1", NOW) == "counted"
    # When the second arrives while another delivery writes the progress first
    store.progress_races = 1
    outcome = tasks.on_progress(store, meta, "c-1", spend("c-1", "tx-2"), "occ-2", NOW)
    # Then the progress is read again, the task is paid once, and the next cycle begins
    assert outcome == "granted" and store.progress_races == 0
    assert [g["sk"] for g in store.items.values() if g["pk"] == "GRANT#task-1#c-1"] == ["task:0"]
    progress = store.progress("c-1", "task-1")
    assert progress is not None and progress["state"]["cycle"] == 1 and progress["version"] == 4


def test_an_erased_customers_progress_is_not_written(store: InMemoryCampaignStore, directory: InMemoryDirectory) -> None:
    # Given a task campaign and a customer erased since the event was sent
    meta = launch(store, task())
    directory.add("c-gone", erased=True)
    # When their transaction arrives
    outcome = tasks.on_progress(store, meta, "c-gone", spend("c-gone"), "occ-1", NOW)
    # Then nothing of theirs is written
    assert outcome == "erased" and store.progress("c-gone", "task-1") is None


# ---- the lifecycle's conflicts and the cached trigger index ----------------------------------------


def test_a_campaign_id_taken_or_a_draft_no_longer_a_draft_is_a_version_conflict(store: InMemoryCampaignStore) -> None:
    # Given a campaign submitted for approval
    service.save(store, definition(), MAKER.subject, NOW, create=True)
    service.transition(store, "camp-1", "submit", Transition(), MAKER, NOW)
    # When it is created again, or edited
    for create in (True, False):
        with pytest.raises(Conflict) as refused:
            service.save(store, definition(), MAKER.subject, NOW, create=create)
        # Then both are refused, and the stored version is untouched
        assert refused.value.code == "CAMPAIGN_VERSION_CONFLICT"
    assert store.get("camp-1")["version"] == 1 and store.get("camp-1")["status"] == "pending_approval"


def test_an_approval_racing_another_decision_is_a_state_conflict(store: InMemoryCampaignStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a campaign pending approval, read by an approver, then rejected by another
    service.save(store, definition(), MAKER.subject, NOW, create=True)
    service.transition(store, "camp-1", "submit", Transition(), MAKER, NOW)
    read = store.get("camp-1")
    service.transition(store, "camp-1", "reject", Transition(note="no"), CHECKER, NOW)
    monkeypatch.setattr(store, "get", lambda campaign_id: read)
    # When the first approver approves what they read
    with pytest.raises(Conflict) as refused:
        service.transition(store, "camp-1", "approve", Transition(), Caller("op-other", frozenset({"approvers"})), NOW)
    # Then the write refuses it: the campaign is a draft again
    assert refused.value.code == "CAMPAIGN_STATE_CONFLICT" and store.items[("CAMPAIGN#camp-1", "META")]["status"] == "draft"


def test_the_campaigns_a_trigger_concerns_are_read_once_within_the_cache_time_and_again_after(
        store: InMemoryCampaignStore, monkeypatch: pytest.MonkeyPatch) -> None:
    # Given an active campaign, and the cache's clock under the test's control
    launch(store, definition())
    clock = FakeClock(1_000.0)
    monkeypatch.setattr(service, "_clock", clock)
    service.forget_cached_campaigns()
    reads = store.index_reads
    # When its trigger's campaigns are asked for twice within the cache time
    first = service.campaigns_for(store, "TRIGGER#CardTransactionPosted")
    second = service.campaigns_for(store, "TRIGGER#CardTransactionPosted")
    # Then the index is read once
    assert [m["campaignId"] for m in first] == ["camp-1"] and second == first and store.index_reads == reads + 1
    # And again once the cache time has passed
    clock.advance(service.get_settings().template_cache_seconds + 0.1)
    service.campaigns_for(store, "TRIGGER#CardTransactionPosted")
    assert store.index_reads == reads + 2
    # And at once after this process changes a campaign (a pause is seen by its next read)
    service.transition(store, "camp-1", "pause", Transition(), MAKER, NOW)
    assert service.campaigns_for(store, "TRIGGER#CardTransactionPosted") == [] and store.index_reads == reads + 3


# ---- outcomes, runs, invite codes, uploads ---------------------------------------------------------------


def test_a_returned_coupon_gives_the_budget_back_once_and_a_redemption_is_counted_once(store: InMemoryCampaignStore) -> None:
    # Given two granted customers
    meta = launch(store, definition())
    for customer in ("c-1", "c-2"):
        granting.grant(store, meta, customer, "tx-1", NOW)
    returned, redeemed = (granting.command_id("camp-1", c, "tx-1", 0) for c in ("c-1", "c-2"))
    # When one coupon is returned twice and the other redeemed twice
    gave = [outcomes.on_answer(store, returned, "refused", "CouponReturned:returned", NOW) is not None for _ in range(2)]
    counted = [outcomes.count_redeemed(store, redeemed, NOW) for _ in range(2)]
    # Then each counts once: the budget and the arm give one reward back, and one redemption is counted
    assert gave == [True, False] and counted == [True, False]
    assert store.budget("camp-1", "TOTAL") == {"pk": "BUDGET#camp-1", "sk": "TOTAL", "spent": 1, "limit": 10}
    (arm,) = store.arms("camp-1")
    assert {k: arm[k] for k in ("granted", "cancelled", "redeemed", "cost")} == {"granted": 1, "cancelled": 1, "redeemed": 1, "cost": 1}
    assert [e["customerId"] for e in events(store, "RewardCancelled")] == ["c-1"]


def coupon_and_points(**overrides: Any) -> CampaignDefinition:
    """A campaign whose reward is a coupon, 200 points and a notice."""
    actions = [{"type": "issue_coupon", "templateId": "tpl-1", "costMinor": 3000},
               {"type": "award_points", "points": 200, "costCentre": "cc-marketing", "costMinor": 2000},
               {"type": "notify", "channel": "push", "templateId": "notice-1"}]
    return definition(variants=[{"variantId": "main", "weightPercent": 100, "actions": actions}], **overrides)


def commands_of(store: InMemoryCampaignStore) -> tuple[str, str]:
    return events(store, "IssueCoupon")[0]["commandId"], events(store, "AwardPoints")[0]["commandId"]


def test_a_refused_coupon_undoes_the_grant_its_points_are_reversed_and_the_budget_is_given_back(store: InMemoryCampaignStore) -> None:
    # Given a grant of a coupon and points, whose points were booked
    meta = launch(store, coupon_and_points())
    granting.grant(store, meta, "c-1", "tx-1", NOW)
    coupon, points = commands_of(store)
    assert outcomes.on_answer(store, points, "delivered", None, NOW) == "granted"
    # When the coupon is refused: the customer is at the template's limit
    assert outcomes.on_answer(store, coupon, "refused", "CouponIssueFailed:COUPON_LIMIT_REACHED", NOW) == "compensating"
    # Then the points are asked back, naming the grant, and no notice goes
    (reverse,) = events(store, "ReversePoints")
    grant = store.grant_record("GRANT#camp-1#c-1", "tx-1")
    assert grant is not None and reverse == {"commandId": points, "customerId": "c-1", "campaignId": "camp-1", "grantId": grant["grantId"],
                                             "reason": "CouponIssueFailed:COUPON_LIMIT_REACHED"}
    assert not events(store, "NotificationRequested")
    assert {k: store.arms("camp-1")[0][k] for k in ("granted", "compensating", "cost")} == {"granted": 0, "compensating": 1, "cost": 1}
    # And when points answer that they took the award back (twice: the answer is redelivered)
    answered = [outcomes.on_answer(store, points, "compensated", None, NOW) for _ in range(2)]
    # Then the grant is compensated once, its cost back in the budget, and announced
    assert answered == ["compensated", None]
    (arm,) = store.arms("camp-1")
    assert {k: arm[k] for k in ("granted", "compensating", "compensated", "cost")} == {"granted": 0, "compensating": 0, "compensated": 1,
                                                                                       "cost": 0}
    assert store.budget("camp-1", "TOTAL")["spent"] == 0  # type: ignore[index]
    settled = store.grant_record("GRANT#camp-1#c-1", "tx-1")
    assert settled is not None and (settled["status"], settled["givenBack"], settled["keptCost"]) == ("compensated", 1, 0)
    assert "notification" not in settled and not events(store, "NotificationRequested")
    assert [(e["status"], e["givenBack"]) for e in events(store, "RewardCompensated")] == [("compensated", 1)]


def test_a_coupon_returned_after_delivery_leaves_the_grant_delivered_and_uncounts_its_redemption(store: InMemoryCampaignStore) -> None:
    # Given a campaign whose grant of a coupon and points was delivered, and the coupon redeemed
    meta = launch(store, coupon_and_points(budget={"unit": "minor", "currency": "CNY", "total": 100_000}))
    granting.grant(store, meta, "c-1", "tx-1", NOW)
    coupon, points = commands_of(store)
    for command in (coupon, points):
        outcomes.on_answer(store, command, "delivered", None, NOW)
    assert outcomes.count_redeemed(store, coupon, NOW)
    # When the order is refunded and the coupon returned (twice: a redelivery)
    assert outcomes.uncount_redeemed(store, coupon) and not outcomes.uncount_redeemed(store, coupon)
    # Then nothing is compensated and the cost stays: the customer holds both rewards; the redemption is no longer counted
    assert not events(store, "ReversePoints") and not events(store, "RevokeCoupon")
    assert store.budget("camp-1", "TOTAL")["spent"] == 5000  # type: ignore[index]
    (arm,) = store.arms("camp-1")
    assert (arm["granted"], arm["redeemed"]) == (1, 0)


def test_a_coupon_kept_by_the_customer_keeps_its_cost_and_the_grant_is_partly_delivered(store: InMemoryCampaignStore) -> None:
    # Given a campaign in minor units granting two coupons (3000 and 1500) and points (2000), the first coupon and the points delivered
    actions = [{"type": "issue_coupon", "templateId": "tpl-1", "costMinor": 3000}, {"type": "issue_coupon", "templateId": "tpl-2", "costMinor": 1500},
               {"type": "award_points", "points": 200, "costCentre": "cc-marketing", "costMinor": 2000}]
    meta = launch(store, definition(variants=[{"variantId": "main", "weightPercent": 100, "actions": actions}],
                                    budget={"unit": "minor", "currency": "CNY", "total": 100_000}))
    granting.grant(store, meta, "c-1", "tx-1", NOW)
    first, second = (e["commandId"] for e in events(store, "IssueCoupon"))
    points = events(store, "AwardPoints")[0]["commandId"]
    for command in (first, points):
        outcomes.on_answer(store, command, "delivered", None, NOW)
    # When the second coupon is refused, and the first, already redeemed, cannot be revoked
    outcomes.on_answer(store, second, "refused", "CouponIssueFailed:COUPON_LIMIT_REACHED", NOW)
    assert {e["commandId"] for e in events(store, "RevokeCoupon")} == {first} and {e["commandId"] for e in events(store, "ReversePoints")} == {points}
    outcomes.on_answer(store, first, "kept", "COUPON_ALREADY_REDEEMED", NOW)
    assert outcomes.on_answer(store, points, "compensated", None, NOW) == "partly_delivered"
    # Then the redeemed coupon's cost stays spent, in the budget and the report, and it is recorded as not compensable
    assert store.budget("camp-1", "TOTAL")["spent"] == 3000  # type: ignore[index]
    (arm,) = store.arms("camp-1")
    assert {k: arm[k] for k in ("granted", "partlyDelivered", "cost")} == {"granted": 0, "partlyDelivered": 1, "cost": 3000}
    (announced,) = events(store, "RewardCompensated")
    assert (announced["status"], announced["givenBack"], announced["keptCost"]) == ("partly_delivered", 3500, 3000)
    assert announced["notCompensable"] == [{"commandId": first, "kind": "coupon", "reason": "COUPON_ALREADY_REDEEMED"}]
    report = service.report(store, "camp-1", NOW)
    main = next(r for r in report["arms"] if r["arm"] == "main")
    assert (main["partlyDelivered"], main["cost"]) == (1, report["budget"]["total"]["spent"])


def test_an_answer_to_a_command_of_no_grant_changes_nothing(store: InMemoryCampaignStore) -> None:
    assert outcomes.on_answer(store, "cg-unknown", "refused", "x", NOW) is None and store.outbox == []


def test_a_work_item_delivered_twice_grants_each_customer_once_and_counts_once(store: InMemoryCampaignStore) -> None:
    # Given a manual campaign and a run of it
    launch(store, definition(trigger={"type": "manual"}))
    run = runs.fire(store, "camp-1", "req-1", MAKER.subject, NOW)
    item = {"campaignId": "camp-1", "runId": run["runId"], "itemId": "0-0", "customerIds": ["c-1", "c-2"]}
    # When its work item is delivered twice
    first, again = runs.work(store, item, NOW), runs.work(store, item, NOW)
    # Then both customers are granted by the first, the second finds them granted, and the run counts them once
    assert first == {"granted": 2} and again == {"already": 2}
    assert runs.get(store, "camp-1", run["runId"])["progress"] == "2/0"
    assert [e["page"] for e in events(store, "CampaignRunPageRequested")] == [0]


def test_an_invite_code_taken_by_another_customer_moves_to_the_next_candidate(store: InMemoryCampaignStore) -> None:
    # Given the first candidate of a customer's code registered by someone else
    taken = referrals.code_candidate("c-1", 0)
    store.items[("INVITE#" + taken, "CODE")] = {"pk": "INVITE#" + taken, "sk": "CODE", "customerId": "c-other", "code": taken}
    # When the customer asks for their code, twice
    first, again = referrals.invite_code(store, "c-1", NOW), referrals.invite_code(store, "c-1", NOW)
    # Then they get the next candidate, and the same one again
    assert first["code"] == again["code"] == referrals.code_candidate("c-1", 1)


def test_an_upload_imports_known_customers_and_reports_the_erased_unknown_and_malformed(store: InMemoryCampaignStore,
                                                                                       directory: InMemoryDirectory) -> None:
    # Given a draft campaign with an uploaded audience, a known customer and an erased one
    service.save(store, definition(audience={"uploaded": True}), MAKER.subject, NOW, create=True)
    directory.add("c-known")
    directory.add("c-gone", erased=True)
    # When a batch names them, a stranger and a malformed id
    result = uploads.upload(store, "camp-1", AudienceUpload(uploadId="u-1", csv="customerId\nc-known\nc-gone\nc-stranger\nbad id!\n"),
                            MAKER, NOW)
    # Then only the known one joins the audience, and the upload adds up
    assert result["batch"] == {"received": 4, "imported": 1, "unknown": ["c-gone", "c-stranger"], "invalid": ["bad id!"]}
    assert store.is_member("camp-1", "c-known") and not store.is_member("camp-1", "c-gone")
    assert result["progress"] == {"batches": 1, "imported": 1, "unknown": 2, "invalid": 1, "lastBatchAt": "2027-02-10T04:00:00.000000Z"}


def test_a_run_asked_for_later_starts_when_due_only_while_the_campaign_is_active(store: InMemoryCampaignStore) -> None:
    # Given a run a bank scheduler asked for in an hour
    launch(store, definition(trigger={"type": "manual"}))
    later = runs.fire(store, "camp-1", "bank-1", "bank", NOW, not_before=NOW + timedelta(hours=1))
    # When the scheduler looks before its time, and after
    before, after = runs.start_due_runs(store, NOW), runs.start_due_runs(store, NOW + timedelta(hours=2))
    # Then it starts once, after its time, with its first page requested
    assert later["status"] == "scheduled" and (before, after) == (0, 1)
    assert runs.get(store, "camp-1", later["runId"])["status"] == "running"
    assert runs.start_due_runs(store, NOW + timedelta(hours=3)) == 0
