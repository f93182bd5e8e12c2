"""The `campaigns` table (models in `items`): definitions and their lifecycle, and grants that take
budget, frequency and notification allowance in one transaction with the reward's own commands.
Runs and uploaded audiences are in `store_runs`, a customer's progress and referrals in
`store_customer`, triggers parked before the profile in `store_parking`; the services depend on
`CampaignStore`, the union of the four protocols."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal, Protocol

from pynamodb.attributes import NumberAttribute
from pynamodb.expressions.condition import Condition

from loyalty.campaigns import records
from loyalty.campaigns.items import (
    ArmStats,
    BudgetCounter,
    CampaignAuditEntry,
    CampaignMeta,
    CampaignOutbox,
    CampaignVersion,
    CommandItem,
    FrequencyCounter,
    GrantItem,
    NotificationCounter,
    TargetedItem,
)
from loyalty.campaigns.items_runs import ReceiptMarker, SpendMarker
from loyalty.campaigns.refusals import AlreadyGranted, Contended, Refused
from loyalty.campaigns.store_customer import CustomerRecordStore, DynamoCustomerRecords
from loyalty.campaigns.store_parking import DynamoParkedTriggers, ParkingStore
from loyalty.campaigns.store_runs import DynamoRunRecords, RunStore, found, once
from loyalty.core.errors import Conflict, NotFound
from loyalty.core.outbox import PendingEvent
from loyalty.core.transactions import CONDITION_FAILED, Transaction
from loyalty.core.transactions import Refused as Cancelled
from loyalty.org.ports import POOL_LABEL, PoolDraw

__all__ = ["AlreadyGranted", "CampaignStore", "Contended", "DynamoCampaignStore", "GrantPlan", "Refused"]

BudgetFlag = Literal["exhaustedAt", "warnedAt"]


@dataclass
class GrantPlan:
    campaign_id: str
    version: int
    customer_id: str
    trigger: str
    arm: str
    cost: int
    record: dict[str, Any]
    ends_at: str
    spend_currency: str
    budgets: list[tuple[str, str, int]] = field(default_factory=list)  # (period, key, limit)
    paced: dict[str, int] = field(default_factory=dict)  # period: its pacing plan's running allowance today, below its limit
    frequency: list[tuple[str, int]] = field(default_factory=list)  # (key, limit)
    notify: tuple[str, int] | None = None  # (business date, daily cap)
    pool: tuple[str, date, str] | None = None  # the org unit, business date and measure its cost is drawn from too
    drawn: PoolDraw | None = None  # what the grant drew from its org unit's pool, once it landed
    commands: list[str] = field(default_factory=list)  # the reward commands' ids, to find this grant again
    stats: dict[str, int] = field(default_factory=dict)
    events: list[PendingEvent] = field(default_factory=list)


class DefinitionStore(Protocol):
    def get(self, campaign_id: str) -> dict[str, Any]:
        """The META item; 404 CAMPAIGN_NOT_FOUND."""

    def save(self, meta: dict[str, Any], *, expected_version: int, audit: dict[str, Any]) -> None:
        """A new version (with its META and audit entry), on the version it replaces and the campaign
        still a draft (0: a new campaign); else 409 CAMPAIGN_VERSION_CONFLICT."""

    def transition(self, campaign_id: str, before: str, fields: dict[str, Any], audit: dict[str, Any],
                   events: Sequence[PendingEvent] = ()) -> None:
        """Sets `fields` on META if its status is still `before`, with the audit entry and the events;
        else 409 CAMPAIGN_STATE_CONFLICT."""

    def audit(self, campaign_id: str) -> list[dict[str, Any]]: ...

    def listed(self) -> list[dict[str, Any]]: ...

    def by_trigger(self, index_key: str) -> list[dict[str, Any]]: ...

    def claim_slot(self, campaign_id: str, previous: str | None, slot: str) -> bool:
        """Moves a scheduled campaign's last slot from `previous` to `slot`; False if another run moved it first."""

    def grant(self, plan: GrantPlan) -> None:
        """All of the grant or nothing; raises AlreadyGranted, Contended or Refused(reason)."""

    def budget(self, campaign_id: str, period_key: str, *, consistent: bool = True) -> dict[str, Any] | None: ...

    def budgets(self, campaign_id: str) -> list[dict[str, Any]]: ...

    def arms(self, campaign_id: str) -> list[dict[str, Any]]: ...

    def flag_budget(self, campaign_id: str, period_key: str, flag: BudgetFlag, at: str, events: Sequence[PendingEvent],
                    *, spent_at_least: int | None = None) -> bool:
        """Sets `flag` on a budget period once (and only once `spent_at_least` is reached), with its
        events; False if it was set already or the condition does not hold."""

    def alert_pacing(self, pool_key: str, direction: Literal["ahead", "behind"], day: date, events: Sequence[PendingEvent]) -> bool:
        """Marks the org pool's pacing alert in this direction for the day, with its events, once;
        False if it was marked already."""

    def alert_campaign_pacing(self, campaign_id: str, direction: Literal["ahead", "behind"], day: date, events: Sequence[PendingEvent]) -> bool:
        """Marks the campaign's pacing alert in this direction for the day on its total, with its
        events, once; False if it was marked already."""

    def command(self, command_id: str) -> dict[str, Any] | None: ...

    def grant_record(self, pk: str, sk: str) -> dict[str, Any] | None: ...

    def advance_grant(self, grant: dict[str, Any], fields: dict[str, Any], *, give_back: int, stats: dict[str, int],
                      events: Sequence[PendingEvent]) -> bool:
        """One step of the grant's saga (`loyalty.campaigns.saga`): `fields` set (None removes one)
        and the version moved by one, on condition the grant is still at the version read (one
        written before sagas has none, and must still be at the status read); `give_back` returned to
        each budget period the grant took its cost from, `stats` added to its arm's counters, with
        the events. False if the grant moved meanwhile or another transaction held an item: read it
        again and decide again."""

    def count_redeemed(self, command: dict[str, Any], at: str) -> bool:
        """Counts a campaign coupon's redemption for its arm, once."""

    def uncount_redeemed(self, command: dict[str, Any]) -> bool:
        """Takes a counted redemption back out (the order was refunded), once."""

    def targeted(self, customer_id: str) -> list[dict[str, Any]]: ...

    def count_spend(self, campaign_id: str, arm: str, transaction_id: str, amount_minor: int, expires_at: int) -> bool:
        """Adds a card transaction's amount to the arm's spend, once per campaign and transaction."""

    def count_receipt(self, campaign_id: str, arm: str, notification_id: str, delivered: bool, expires_at: int) -> bool:
        """Counts a notification's delivery receipt (delivered, or failed for good) for its arm, once."""


class CampaignStore(DefinitionStore, RunStore, CustomerRecordStore, ParkingStore, Protocol):
    """Everything the campaign services keep in their table."""


def bounded(counter: NumberAttribute, add: int, limit: int) -> Condition:
    """The counter may take `add` without passing `limit`: the write itself refuses, so racing writers
    never overshoot. A counter not written yet is 0, so it takes `add` only when `add` fits the limit at
    all (a limit of 0, or one step dearer than the whole limit, refuses the first write too)."""
    room = counter <= limit - add
    return counter.does_not_exist() | room if add <= limit else room


def _audit_entry(campaign_id: str, audit: dict[str, Any]) -> CampaignAuditEntry:
    return CampaignAuditEntry(f"CAMPAIGN#{campaign_id}", f"AUDIT#{audit['at']}#{uuid.uuid4().hex[:8]}", **audit)


class DynamoCampaignStore(DynamoRunRecords, DynamoCustomerRecords, DynamoParkedTriggers):
    # ---- definitions and lifecycle ----------------------------------------------------------------

    def get(self, campaign_id: str) -> dict[str, Any]:
        meta = found(CampaignMeta, records.meta_key(campaign_id))
        if meta is None:
            raise NotFound(f"campaign {campaign_id} does not exist", code="CAMPAIGN_NOT_FOUND")
        return meta

    def save(self, meta: dict[str, Any], *, expected_version: int, audit: dict[str, Any]) -> None:
        version = meta["version"]
        guard = CampaignMeta.pk.does_not_exist()
        if expected_version:
            guard = (CampaignMeta.version == expected_version) & (CampaignMeta.status == "draft")
        transaction = Transaction()
        transaction.put("version", CampaignVersion(meta["pk"], f"V#{version:06d}", definition=meta["definition"], savedBy=meta["updatedBy"],
                                                   savedAt=meta["updatedAt"]), CampaignVersion.pk.does_not_exist())
        transaction.put("meta", CampaignMeta(**meta), guard)
        transaction.put("audit", _audit_entry(meta["campaignId"], audit), CampaignAuditEntry.pk.does_not_exist())
        try:
            transaction.commit()
        except Cancelled:
            raise Conflict(f"campaign {meta['campaignId']} changed meanwhile, exists already or is no longer a draft",
                           code="CAMPAIGN_VERSION_CONFLICT") from None

    def transition(self, campaign_id: str, before: str, fields: dict[str, Any], audit: dict[str, Any],
                   events: Sequence[PendingEvent] = ()) -> None:
        transaction = Transaction()
        transaction.update("meta", CampaignMeta(*records.split(records.meta_key(campaign_id))),
                           [getattr(CampaignMeta, name).set(value) for name, value in fields.items()], CampaignMeta.status == before)
        transaction.put("audit", _audit_entry(campaign_id, audit), CampaignAuditEntry.pk.does_not_exist())
        CampaignOutbox.add_to(transaction, events)
        try:
            transaction.commit()
        except Cancelled:
            raise Conflict(f"campaign {campaign_id} changed meanwhile", code="CAMPAIGN_STATE_CONFLICT") from None

    def audit(self, campaign_id: str) -> list[dict[str, Any]]:
        return [e.plain() for e in CampaignAuditEntry.query(f"CAMPAIGN#{campaign_id}", CampaignAuditEntry.sk.startswith("AUDIT#"))]

    def listed(self) -> list[dict[str, Any]]:
        return [m.plain() for m in CampaignMeta.listed.query("CAMPAIGNS")]

    def by_trigger(self, index_key: str) -> list[dict[str, Any]]:
        return [m.plain() for m in CampaignMeta.by_trigger.query(index_key)]

    def claim_slot(self, campaign_id: str, previous: str | None, slot: str) -> bool:
        from pynamodb.exceptions import UpdateError

        from loyalty.core.dynamo import is_condition_failure

        unchanged = CampaignMeta.lastSlot.does_not_exist() if previous is None else CampaignMeta.lastSlot == previous
        try:
            CampaignMeta(*records.split(records.meta_key(campaign_id))).update([CampaignMeta.lastSlot.set(slot)], condition=unchanged)
            return True
        except UpdateError as error:
            if is_condition_failure(error):
                return False
            raise

    # ---- grants -----------------------------------------------------------------------------------

    def grant(self, plan: GrantPlan) -> None:
        """Everything a grant is, or nothing: the grant record, the campaign still active at the
        version decided on, the customer not erased, each budget period, the customer's frequency
        counters, the day's notification allowance, the arm's counters and the reward's commands
        (outbox): one TransactWriteItems."""
        from loyalty.customers.ports import directory
        from loyalty.org.ports import pools

        cid, transaction = plan.campaign_id, Transaction()
        drawn = None
        if plan.pool is not None:
            # From the campaign's org unit's pool, alongside its own budget (docs/org-units.md, "Budget pools").
            unit_id, business_day, measure = plan.pool
            drawn = pools().draw(transaction, unit_id, business_day, plan.cost, measure)
            if drawn is None:
                raise Refused("pool_exhausted")  # the unit holds no pool for the day: nothing to draw from
            plan.record["poolKey"] = drawn.key
        transaction.put("granted", GrantItem(**plan.record), GrantItem.pk.does_not_exist())
        transaction.check("not_active", CampaignMeta, f"CAMPAIGN#{cid}", "META", condition=(CampaignMeta.status == "approved") & (CampaignMeta.version == plan.version))
        # Atomic with the grant, so an erasure racing a run cannot be rewarded (a missing profile passes).
        directory().require_not_erased(transaction, plan.customer_id)
        order = ["granted", "not_active", "customer-not-erased"]
        for period, key, limit in plan.budgets:
            transaction.update(f"budget:{period}", BudgetCounter(*records.split(records.budget_key(cid, key))),
                               [BudgetCounter.spent.add(plan.cost), BudgetCounter.limit.set(limit)],
                               bounded(BudgetCounter.spent, plan.cost, plan.paced.get(period, limit)))
            order.append(f"budget:{period}")
        order.append(POOL_LABEL)
        for key, limit in plan.frequency:
            transaction.update("frequency", FrequencyCounter(*records.split(records.freq_key(cid, plan.customer_id, key))),
                               [FrequencyCounter.grants.add(1)], bounded(FrequencyCounter.grants, 1, limit))
        if plan.notify is not None:
            day, cap = plan.notify
            transaction.update("notify", NotificationCounter(*records.split(records.notify_key(plan.customer_id, day))),
                               [NotificationCounter.notifications.add(1)], bounded(NotificationCounter.notifications, 1, cap))
        order += ["frequency", "notify"]
        for command in plan.commands:
            transaction.put("command", CommandItem(*records.split(records.command_key(command)), grantPk=plan.record["pk"], grantSk=plan.record["sk"],
                                                   campaignId=cid, arm=plan.arm), CommandItem.pk.does_not_exist())
        transaction.update("stats", ArmStats(*records.split(records.stats_key(cid, plan.arm))), [getattr(ArmStats, k).add(n) for k, n in plan.stats.items()])
        # The campaigns a customer was targeted by, so their card spend is counted with one query.
        transaction.put("targeted", TargetedItem(*records.split(records.targeted_key(plan.customer_id, cid)), arm=plan.arm, endsAt=plan.ends_at,
                                                 currency=plan.spend_currency))
        CampaignOutbox.add_to(transaction, plan.events)
        try:
            transaction.commit()
        except Cancelled as refused:
            if any(code != CONDITION_FAILED for code in refused.reasons.values()):
                raise Contended() from None
            first = next((label for label in order if refused.failed(label)), "not_active")
            if first == "granted":
                raise AlreadyGranted() from None
            if first == POOL_LABEL and drawn is not None:
                why = pools().refusal(drawn)
                if why == "changed":
                    raise Contended() from None  # the pool's allocation or plan moved meanwhile: draw again
                raise Refused(why) from None
            raise Refused("erased" if first == "customer-not-erased" else first) from None
        plan.drawn = drawn

    def budget(self, campaign_id: str, period_key: str, *, consistent: bool = True) -> dict[str, Any] | None:
        return found(BudgetCounter, records.budget_key(campaign_id, period_key), consistent=consistent)

    def budgets(self, campaign_id: str) -> list[dict[str, Any]]:
        return [b.plain() for b in BudgetCounter.query(f"BUDGET#{campaign_id}", consistent_read=True)]

    def arms(self, campaign_id: str) -> list[dict[str, Any]]:
        return [a.plain() for a in ArmStats.query(f"STATS#{campaign_id}", consistent_read=True)]

    def flag_budget(self, campaign_id: str, period_key: str, flag: BudgetFlag, at: str, events: Sequence[PendingEvent],
                    *, spent_at_least: int | None = None) -> bool:
        flagged = BudgetCounter.exhaustedAt if flag == "exhaustedAt" else BudgetCounter.warnedAt
        condition = flagged.does_not_exist()
        if spent_at_least is not None:
            condition &= BudgetCounter.spent >= spent_at_least
        transaction = Transaction()
        transaction.update("budget", BudgetCounter(*records.split(records.budget_key(campaign_id, period_key))), [flagged.set(at)], condition)
        return _announced_once(transaction, events)

    def alert_campaign_pacing(self, campaign_id: str, direction: Literal["ahead", "behind"], day: date, events: Sequence[PendingEvent]) -> bool:
        flag = BudgetCounter.alertedAhead if direction == "ahead" else BudgetCounter.alertedBehind
        transaction = Transaction()
        transaction.update("budget", BudgetCounter(*records.split(records.budget_key(campaign_id, "TOTAL"))), [flag.set(day.isoformat())],
                           BudgetCounter.pk.exists() & (flag.does_not_exist() | (flag != day.isoformat())))
        return _announced_once(transaction, events)

    def alert_pacing(self, pool_key: str, direction: Literal["ahead", "behind"], day: date, events: Sequence[PendingEvent]) -> bool:
        from loyalty.org.ports import pools

        transaction = Transaction()
        pools().flag_alert(transaction, pool_key, direction, day)
        return _announced_once(transaction, events)

    # ---- what happens to rewards after the grant ----------------------------------------------------

    def command(self, command_id: str) -> dict[str, Any] | None:
        return found(CommandItem, records.command_key(command_id))

    def grant_record(self, pk: str, sk: str) -> dict[str, Any] | None:
        return found(GrantItem, {"pk": pk, "sk": sk})

    def advance_grant(self, grant: dict[str, Any], fields: dict[str, Any], *, give_back: int, stats: dict[str, int],
                      events: Sequence[PendingEvent]) -> bool:
        cid, version = grant["campaignId"], grant.get("version")
        unchanged = (GrantItem.version == version) if version is not None else (
            GrantItem.version.does_not_exist() & (GrantItem.status == grant["status"]))
        changes = [getattr(GrantItem, name).remove() if value is None else getattr(GrantItem, name).set(value) for name, value in fields.items()]
        transaction = Transaction()
        transaction.update("grant", GrantItem(grant["pk"], grant["sk"]), [*changes, GrantItem.version.set(int(version or 0) + 1)], unchanged)
        if give_back:
            for key in grant.get("budgetKeys", []):
                transaction.update(f"budget:{key}", BudgetCounter(*records.split(records.budget_key(cid, key))),
                                   [BudgetCounter.spent.add(-give_back)])
            if grant.get("poolKey"):
                from loyalty.org.ports import pools

                pools().give_back(transaction, str(grant["poolKey"]), give_back)
        if stats:
            transaction.update("stats", ArmStats(*records.split(records.stats_key(cid, grant["arm"]))),
                               [getattr(ArmStats, name).add(n) for name, n in stats.items()])
        CampaignOutbox.add_to(transaction, events)
        try:
            transaction.commit()
            return True
        except Cancelled as refused:
            if refused.failed("grant") or refused.conflicted:
                return False
            raise

    def count_redeemed(self, command: dict[str, Any], at: str) -> bool:
        transaction = Transaction()
        transaction.update("command", CommandItem(command["pk"], command["sk"]), [CommandItem.redeemedAt.set(at)],
                           CommandItem.redeemedAt.does_not_exist())
        transaction.update("stats", ArmStats(*records.split(records.stats_key(command["campaignId"], command["arm"]))), [ArmStats.redeemed.add(1)])
        return once(transaction, "command")

    def uncount_redeemed(self, command: dict[str, Any]) -> bool:
        transaction = Transaction()
        transaction.update("command", CommandItem(command["pk"], command["sk"]), [CommandItem.redeemedAt.remove()],
                           CommandItem.redeemedAt.exists())
        transaction.update("stats", ArmStats(*records.split(records.stats_key(command["campaignId"], command["arm"]))), [ArmStats.redeemed.add(-1)])
        return once(transaction, "command")

    def targeted(self, customer_id: str) -> list[dict[str, Any]]:
        return [t.plain() for t in TargetedItem.query(f"TARGETED#{customer_id}", consistent_read=True)]

    def count_spend(self, campaign_id: str, arm: str, transaction_id: str, amount_minor: int, expires_at: int) -> bool:
        transaction = Transaction()
        transaction.put("marker", SpendMarker(f"SPEND#{campaign_id}", transaction_id, expiresAt=expires_at), SpendMarker.pk.does_not_exist())
        transaction.update("stats", ArmStats(*records.split(records.stats_key(campaign_id, arm))), [ArmStats.spendMinor.add(amount_minor)])
        return once(transaction, "marker")


    def count_receipt(self, campaign_id: str, arm: str, notification_id: str, delivered: bool, expires_at: int) -> bool:
        transaction = Transaction()
        transaction.put("marker", ReceiptMarker(f"RECEIPT#{notification_id}", "RECEIPT", expiresAt=expires_at), ReceiptMarker.pk.does_not_exist())
        counter = ArmStats.notificationsDelivered if delivered else ArmStats.notificationsFailed
        transaction.update("stats", ArmStats(*records.split(records.stats_key(campaign_id, arm))), [counter.add(1)])
        return once(transaction, "marker")


def _announced_once(transaction: Transaction, events: Sequence[PendingEvent]) -> bool:
    """A flag's conditioned write with its events in the outbox: False when the condition refused it
    (announced already), so the events go out once."""
    CampaignOutbox.add_to(transaction, events)
    try:
        transaction.commit()
        return True
    except Cancelled:
        return False
