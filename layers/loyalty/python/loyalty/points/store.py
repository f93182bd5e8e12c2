"""The `points` table (models: `loyalty.points.items`). Each ledger change is one transaction,
conditioned on the account version it read; the services see only its port,
`loyalty.points.storage.PointsStore`."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from pynamodb.expressions.condition import Condition
from pynamodb.expressions.operand import Path
from pynamodb.expressions.update import Action

from loyalty.core.dynamo import GSI1_KEYS, checked_start, decode_cursor
from loyalty.core.errors import Conflict, NotFound
from loyalty.core.outbox import PendingEvent
from loyalty.core.tables import page
from loyalty.core.transactions import Refused, Transaction
from loyalty.points import store_writes
from loyalty.points.items import (
    BALANCE,
    GROWTH_MONTH_PREFIX,
    HOLDS_INDEX_KEY,
    LOT_INDEX_BUCKETS,
    RISK_INDEX_KEY,
    BalanceItem,
    CapItem,
    CatalogueRecord,
    EntryItem,
    LadderItem,
    LotItem,
    PointsItem,
    PointsOutboxItem,
    RedemptionItem,
    RiskHoldItem,
    RiskSettingsItem,
    RuleItem,
    account_pk,
    ledger_pk,
    lot_index_keys,
)
from loyalty.points.ledger import Account, Change, Entry, Lot
from loyalty.points.model import Rule, RuleDefinition
from loyalty.points.storage import AlreadyApplied, CapUpdate, StaleAccount
from loyalty.points.tiers import TierLadder

CAP_TTL_SECONDS = 40 * 86400
# The balance attributes a change may set or remove besides its sums (tiers.py's `balance_sets`).
BALANCE_SETS = ("tier", "tierSince", "downgradeDueOn", "benefitsMonth")


def account_of(customer_id: str, balance: BalanceItem | None, lots: Sequence[Lot]) -> Account:
    if balance is None:
        return Account(customer_id, lots=tuple(lots))
    return Account(
        customer_id,
        int(balance.available or 0),
        int(balance.debt or 0),
        int(balance.growth or 0),
        int(balance.version or 0),
        tuple(lots),
        held=int(balance.held or 0),
        pending=int(balance.pending or 0),
        tier=balance.tier,
        growth_by_month=tuple(sorted(balance.growthByMonth.items())),
        downgrade_due_on=balance.downgradeDueOn,
        benefits_month=balance.benefitsMonth,
        erased=bool(balance.erased),
    )


def lot_of(item: LotItem) -> Lot:
    return Lot(item.lotId, item.expiresOn, int(item.remaining), item.costCentre, item.ruleId)


def _all_of(conditions: Sequence[Condition]) -> Condition | None:
    combined: Condition | None = None
    for condition in conditions:
        combined = condition if combined is None else combined & condition
    return combined


class DynamoPointsStore:
    # ---- accounts ---------------------------------------------------------------------------------

    def load(self, customer_id: str) -> tuple[Account, dict[str, int]]:
        balance: BalanceItem | None = None
        lots: list[Lot] = []
        caps: dict[str, int] = {}
        for item in PointsItem.query(account_pk(customer_id), consistent_read=True):
            if isinstance(item, BalanceItem):
                balance = item
            elif isinstance(item, LotItem):
                lots.append(lot_of(item))
            elif isinstance(item, CapItem):
                caps[item.sk.removeprefix("CAP#")] = int(item.total or 0)
        return account_of(customer_id, balance, lots), caps

    def commit(self, account: Account, change: Change, *, caps: Sequence[CapUpdate] = (),
               events: Sequence[PendingEvent] = (), ttl_epoch: int = 0) -> None:
        transaction = Transaction()
        applied_once = self.stage(transaction, account, change, caps=caps, events=events, ttl_epoch=ttl_epoch)
        try:
            transaction.commit()
        except Refused as refused:
            raise why_refused(refused, applied_once) from None

    def stage(self, transaction: Transaction, account: Account, change: Change, *, caps: Sequence[CapUpdate] = (),
              events: Sequence[PendingEvent] = (), ttl_epoch: int = 0) -> list[str]:
        """The change's writes added to `transaction` (the caller's: checkout holds points in the
        transaction that locks its coupons). Returns the labels of the writes that happen once, in
        order: `why_refused` reads a refusal by them."""
        customer = account.customer_id
        applied_once = [store_writes.add(transaction, f"record-{i}", record) for i, record in enumerate(change.records)]
        for entry in change.entries:
            transaction.put(f"entry:{entry.entry_id}", _entry_item(customer, entry), EntryItem.pk.does_not_exist())
            applied_once.append(f"entry:{entry.entry_id}")
        self._balance_update(transaction, account, change)
        for lot_id, delta in change.lot_delta.items():
            if delta:
                _lot_write(transaction, customer, change.lots[lot_id], change.lots[lot_id].remaining + delta)
        for key, add, ceiling in caps:
            _cap_update(transaction, customer, key, add, ceiling, ttl_epoch + CAP_TTL_SECONDS)
        PointsOutboxItem.add_to(transaction, events)
        return applied_once

    @staticmethod
    def _balance_update(transaction: Transaction, account: Account, change: Change) -> None:
        balance = BalanceItem.key(account.customer_id)
        # The version read: PynamoDB's VersionAttribute conditions on it (`version = v`, or no version
        # yet for a new account, left unset) and adds 1.
        if account.version:
            balance.version = account.version
        actions: list[Action] = [BalanceItem.available.add(change.available), BalanceItem.debt.add(change.debt),
                                 BalanceItem.growth.add(change.growth), BalanceItem.held.add(change.held),
                                 BalanceItem.pending.add(change.pending), BalanceItem.customerId.set(account.customer_id)]
        if change.growth:
            actions.append(Path([f"{GROWTH_MONTH_PREFIX}{change.growth_month}"]).add(change.growth))
        for name, value in sorted(change.balance_sets.items()):
            if name not in BALANCE_SETS:
                raise ValueError(f"{name} is not a balance attribute a change sets")
            attribute = getattr(BalanceItem, name)
            actions.append(attribute.remove() if value is None else attribute.set(value))
        # Never negative, whatever the arithmetic concluded: the write itself refuses it.
        floors: list[Condition] = [BalanceItem.available >= -change.available] if change.available < 0 else []
        floors += [BalanceItem.debt >= -change.debt] if change.debt < 0 else []
        transaction.update("account", balance, actions, _all_of(floors))

    # ---- entries ----------------------------------------------------------------------------------

    def entries_with_prefix(self, customer_id: str, prefix: str) -> list[dict[str, Any]]:
        found = EntryItem.query(ledger_pk(customer_id), EntryItem.sk.startswith(f"ENTRY#{prefix}"), consistent_read=True)
        return [entry.plain() for entry in found]

    def history(self, customer_id: str, kind: str | None, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        partition = f"HIST#{customer_id}"
        # `limit` bounds the items read per request and the items returned: a filtered page is
        # followed by the next until `limit` entries are found, and the cursor resumes after the last.
        results = EntryItem.history.query(partition, filter_condition=(EntryItem.kind == kind) if kind else None,
                                          scan_index_forward=False, limit=limit,
                                          last_evaluated_key=checked_start(decode_cursor(cursor), GSI1_KEYS, ("gsi1pk", partition)))
        entries, next_cursor = page(results, limit)
        return [entry.plain() for entry in entries], next_cursor

    # ---- lots by expiry, and the liability --------------------------------------------------------

    def lots_expiring_on(self, day: str) -> Iterator[tuple[str, Lot]]:
        yield from self._lots_by_expiry(LotItem.gsi2sk.startswith(f"{day}#"))

    def lots_lapsed_before(self, day: str) -> Iterator[tuple[str, Lot]]:
        yield from self._lots_by_expiry(LotItem.gsi2sk < day)

    @staticmethod
    def _lots_by_expiry(dated: Condition) -> Iterator[tuple[str, Lot]]:
        for bucket in range(LOT_INDEX_BUCKETS):
            for item in LotItem.byExpiry.query(f"LOTEXP#{bucket}", dated):
                yield item.customerId, lot_of(item)

    def all_lots(self) -> Iterator[Lot]:
        for item in LotItem.scan(LotItem.sk.startswith("LOT#")):
            yield lot_of(item)

    def balances_total(self) -> tuple[int, int]:
        available = debt = 0
        for item in BalanceItem.scan(BalanceItem.sk == BALANCE):
            available += int(item.available or 0)
            debt += int(item.debt or 0)
        return available, debt

    def balance_customers(self, segment: int, segments: int) -> Iterator[str]:
        """The customers with a balance, in one segment of a parallel scan."""
        for item in BalanceItem.scan(BalanceItem.sk == BALANCE, segment=segment, total_segments=segments,
                                     attributes_to_get=["customerId"]):
            yield str(item.customerId)

    # ---- redemptions and risk holds ---------------------------------------------------------------

    def redemption(self, redemption_id: str) -> dict[str, Any] | None:
        key = RedemptionItem.key(redemption_id)
        return _found(RedemptionItem, key.pk, key.sk)

    def lapsed_holds(self, before: str) -> Iterator[str]:
        for item in RedemptionItem.holds.query(HOLDS_INDEX_KEY, RedemptionItem.gsi2sk < before):
            yield item.redemptionId

    def risk_hold(self, hold_id: str) -> dict[str, Any] | None:
        key = RiskHoldItem.key(hold_id)
        return _found(RiskHoldItem, key.pk, key.sk)

    def pending_risk_holds(self) -> list[dict[str, Any]]:
        return [item.plain() for item in RiskHoldItem.awaiting.query(RISK_INDEX_KEY, RiskHoldItem.gsi2sk < "~")]

    # ---- the catalogue and the risk limits --------------------------------------------------------

    def catalogue_record(self, item_id: str) -> dict[str, Any] | None:
        return _found(CatalogueRecord, "CATALOGUE", item_id)

    def catalogue_records(self) -> list[dict[str, Any]]:
        return [record.plain() for record in CatalogueRecord.query("CATALOGUE", consistent_read=True)]

    def save_catalogue_record(self, item_id: str, item_json: str, operator: str, at: str) -> None:
        CatalogueRecord("CATALOGUE", item_id, item=item_json, updatedBy=operator, updatedAt=at).save()

    def risk_settings(self) -> dict[str, Any] | None:
        return _found(RiskSettingsItem, "RISK", "CURRENT")

    def save_risk_settings(self, settings_json: str, operator: str, at: str) -> None:
        RiskSettingsItem("RISK", "CURRENT", settings=settings_json, updatedBy=operator, updatedAt=at).save()

    # ---- the tier ladder --------------------------------------------------------------------------

    def ladder(self) -> tuple[TierLadder, int, dict[str, Any]] | None:
        record = _found(LadderItem, "TIERS", "CURRENT")
        if record is None:
            return None
        return TierLadder.model_validate_json(record["ladder"]), int(record["version"]), record

    def save_ladder(self, ladder: TierLadder, version: int, operator: str, at: str) -> None:
        body: dict[str, Any] = {"ladder": ladder.model_dump_json(), "version": version, "updatedBy": operator, "updatedAt": at}
        try:
            _new_version(LadderItem("TIERS", f"V#{version:06d}", **body), LadderItem("TIERS", "CURRENT", **body),
                         LadderItem.version, version)
        except Refused:
            raise Conflict("the tier ladder changed meanwhile", code="TIERS_VERSION_CONFLICT") from None

    # ---- rules ------------------------------------------------------------------------------------

    def rules(self) -> list[Rule]:
        return [_rule_of(item) for item in RuleItem.query("RULES")]

    def rule(self, rule_id: str, version: int | None = None) -> Rule:
        key = ("RULES", rule_id) if version is None else (f"RULE#{rule_id}", f"V#{version:06d}")
        try:
            return _rule_of(RuleItem.get(*key, consistent_read=True))
        except RuleItem.DoesNotExist:
            raise NotFound(f"earn rule {rule_id}{'' if version is None else f' version {version}'} does not exist",
                           code="RULE_NOT_FOUND") from None

    def save_rule(self, rule: Rule) -> None:
        rule_id = rule.definition.ruleId
        body: dict[str, Any] = {"definition": rule.definition.model_dump_json(), "version": rule.version, "updatedAt": rule.updatedAt,
                "updatedBy": rule.updatedBy}
        try:
            _new_version(RuleItem(f"RULE#{rule_id}", f"V#{rule.version:06d}", **body), RuleItem("RULES", rule_id, **body),
                         RuleItem.version, rule.version)
        except Refused:
            raise Conflict(f"earn rule {rule_id} changed meanwhile (or already exists)", code="RULE_VERSION_CONFLICT") from None


def _entry_item(customer: str, entry: Entry) -> EntryItem:
    return EntryItem(ledger_pk(customer), f"ENTRY#{entry.entry_id}", entryId=entry.entry_id, kind=entry.kind,
                     points=entry.points, growth=entry.growth, debtChange=entry.debt_change, at=entry.at,
                     costCentre=entry.cost_centre, source=json.dumps(entry.source, separators=(",", ":")),
                     lots=json.dumps(entry.lots), gsi1pk=f"HIST#{customer}", gsi1sk=f"{entry.at}#{entry.entry_id}")


def _lot_write(transaction: Transaction, customer: str, lot: Lot, after: int) -> None:
    """The lot as it is after the change, only from the amount it was read at (a new lot: none)."""
    label, sk = f"lot:{lot.lot_id}", f"LOT#{lot.lot_id}"
    seen = LotItem.pk.does_not_exist() if lot.remaining == 0 else LotItem.remaining == lot.remaining
    if after == 0:
        transaction.delete(label, LotItem(account_pk(customer), sk), seen)
        return
    index = lot_index_keys(customer, lot.lot_id, lot.expires_on)
    transaction.put(label, LotItem(account_pk(customer), sk, lotId=lot.lot_id, expiresOn=lot.expires_on, remaining=after,
                                   costCentre=lot.cost_centre, ruleId=lot.rule_id, customerId=customer,
                                   gsi2pk=index["gsi2pk"], gsi2sk=index["gsi2sk"]), seen)


def _cap_update(transaction: Transaction, customer: str, key: str, add: int, ceiling: int, expires_at: int) -> None:
    """Adds to a counter that may never pass `ceiling`: the write refuses, so racing writers never
    overshoot. A counter not written yet is 0, so it takes `add` only if `add` fits at all."""
    room = CapItem.total <= ceiling - add
    condition = (CapItem.total.does_not_exist() | room) if add <= ceiling else room
    transaction.update(f"cap:{key}", CapItem(account_pk(customer), f"CAP#{key}"),
                       [CapItem.total.add(add), CapItem.expiresAt.set(CapItem.expiresAt | expires_at)], condition)


def _new_version(version_item: PointsItem, current: PointsItem, version: Any, number: int) -> None:
    """A new version item, and the current pointer moved to it only from the version before."""
    transaction = Transaction()
    transaction.put("version", version_item, PointsItem.pk.does_not_exist())
    transaction.put("current", current, PointsItem.pk.does_not_exist() if number == 1 else version == number - 1)
    transaction.commit()


def _found(model: type[PointsItem], pk: str, sk: str) -> dict[str, Any] | None:
    try:
        return model.get(pk, sk, consistent_read=True).plain()
    except model.DoesNotExist:
        return None


def _rule_of(item: RuleItem) -> Rule:
    return Rule(definition=RuleDefinition.model_validate_json(item.definition), version=int(item.version),
                updatedAt=item.updatedAt, updatedBy=item.updatedBy)


def why_refused(refused: Refused, applied_once: Sequence[str]) -> AlreadyApplied | StaleAccount:
    """A staged change's refusal: the first once-only write refused means it was already applied;
    anything else (the version, a lot, a cap, a conflict) that the account moved on since the read:
    every write moves the version, so reading again sees it."""
    first = next((label for label in applied_once if label in refused.reasons), None)
    return AlreadyApplied() if first is not None and refused.failed(first) else StaleAccount()
