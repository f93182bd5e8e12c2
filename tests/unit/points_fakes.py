"""An in-memory `PointsStore` (loyalty.points.storage) with the conditions `DynamoPointsStore` writes:

- a ledger change applies whole or not at all: the account at the version read (none yet for a new
  one), never below zero, each lot at the amount read, each counter within its ceiling;
- a guarded record (a new redemption or hold, a settlement, a decision) and each entry are written
  once: when one refuses, the change was already applied (`AlreadyApplied`), otherwise a refusal is a
  race (`StaleAccount`), as the Dynamo store maps DynamoDB's cancellation reasons;
- a new rule or ladder version moves the current pointer only from the version before (409).

Tests can make the next commits conflict (`conflicts`, DynamoDB's TransactionConflict) or let
another writer in between a read and its write (`before_commit`). `calls` counts each method.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from loyalty.core.errors import Conflict, NotFound
from loyalty.core.outbox import PendingEvent
from loyalty.points.ledger import Account, Change, Lot
from loyalty.points.model import Rule
from loyalty.points.storage import AlreadyApplied, CapUpdate, StaleAccount
from loyalty.points.tiers import TierLadder
from loyalty.points.writes import (
    OPEN_REDEMPTION,
    DecideRiskHold,
    GuardedWrite,
    NewRedemption,
    NewRiskHold,
    NotBooked,
    NotHeld,
    SettleRedemption,
)


class InMemoryPointsStore:
    def __init__(self) -> None:
        self.balances: dict[str, dict[str, Any]] = {}
        self.lots: dict[str, dict[str, Lot]] = {}
        self.caps: dict[str, dict[str, int]] = {}
        self.entries: dict[str, dict[str, dict[str, Any]]] = {}
        self.redemptions: dict[str, dict[str, Any]] = {}
        self.holds: dict[str, dict[str, Any]] = {}
        self.rule_versions: dict[tuple[str, int], Rule] = {}
        self.current_rules: dict[str, Rule] = {}
        self.ladders: dict[int, tuple[TierLadder, dict[str, Any]]] = {}
        self.current_ladder: int | None = None
        self.risk: dict[str, Any] | None = None
        self.catalogue: dict[str, dict[str, Any]] = {}
        self.outbox: list[PendingEvent] = []
        self.calls: Counter[str] = Counter()
        self.conflicts = 0
        self.before_commit: Callable[[], object] | None = None

    # ---- accounts ---------------------------------------------------------------------------------

    def load(self, customer_id: str) -> tuple[Account, dict[str, int]]:
        self.calls["load"] += 1
        stored = self.balances.get(customer_id, {})
        months = tuple(sorted((k.removeprefix("growth@"), v) for k, v in stored.items() if k.startswith("growth@")))
        account = Account(customer_id, stored.get("available", 0), stored.get("debt", 0), stored.get("growth", 0),
                          stored.get("version", 0), tuple(self.lots.get(customer_id, {}).values()), stored.get("held", 0),
                          stored.get("pending", 0), stored.get("tier"), months, stored.get("downgradeDueOn"),
                          stored.get("benefitsMonth"), bool(stored.get("erased")))
        return account, dict(self.caps.get(customer_id, {}))

    def commit(self, account: Account, change: Change, *, caps: Sequence[CapUpdate] = (),
               events: Sequence[PendingEvent] = (), ttl_epoch: int = 0) -> None:
        self.calls["commit"] += 1
        if self.before_commit is not None:
            racing, self.before_commit = self.before_commit, None
            racing()
        if self.conflicts:
            self.conflicts -= 1
            raise StaleAccount()
        customer = account.customer_id
        if not all(self._allowed(record) for record in change.records):
            raise AlreadyApplied()
        if any(e.entry_id in self.entries.get(customer, {}) for e in change.entries):
            raise AlreadyApplied()
        stored = self.balances.get(customer)
        if (stored or {}).get("version", 0) != account.version:
            raise StaleAccount()
        if (stored or {}).get("available", 0) + change.available < 0 or (stored or {}).get("debt", 0) + change.debt < 0:
            raise StaleAccount()
        lots = self.lots.get(customer, {})
        for lot_id, delta in change.lot_delta.items():
            if delta and (lots[lot_id].remaining if lot_id in lots else 0) != change.lots[lot_id].remaining:
                raise StaleAccount()
        counters = self.caps.get(customer, {})
        for key, add, ceiling in caps:
            if (counters[key] > ceiling - add) if key in counters else add > ceiling:
                raise StaleAccount()
        self._apply(account, change, caps, events)

    def _allowed(self, record: GuardedWrite) -> bool:
        if isinstance(record, NewRedemption):
            return record.fields["redemptionId"] not in self.redemptions
        if isinstance(record, SettleRedemption):
            return self.redemptions.get(record.redemption_id, {}).get("status") in OPEN_REDEMPTION
        if isinstance(record, NewRiskHold):
            return record.fields["holdId"] not in self.holds
        if isinstance(record, NotBooked):
            return record.entry_id not in self.entries.get(record.customer_id, {})
        if isinstance(record, NotHeld):
            return record.hold_id not in self.holds
        return self.holds.get(record.hold_id, {}).get("status") == "pending"

    def _apply(self, account: Account, change: Change, caps: Sequence[CapUpdate], events: Sequence[PendingEvent]) -> None:
        customer = account.customer_id
        for record in change.records:
            self._write(record)
        for e in change.entries:
            self.entries.setdefault(customer, {})[e.entry_id] = {
                "sk": f"ENTRY#{e.entry_id}", "entryId": e.entry_id, "kind": e.kind, "points": e.points, "growth": e.growth,
                "debtChange": e.debt_change, "at": e.at, "costCentre": e.cost_centre,
                "source": json.dumps(e.source, separators=(",", ":")), "lots": json.dumps(e.lots)}
        stored = self.balances.setdefault(customer, {"customerId": customer})
        for name in ("available", "debt", "growth", "held", "pending"):
            stored[name] = stored.get(name, 0) + getattr(change, name)
        stored["version"] = stored.get("version", 0) + 1
        if change.growth:
            month = f"growth@{change.growth_month}"
            stored[month] = stored.get(month, 0) + change.growth
        for name, value in change.balance_sets.items():
            if value is None:
                stored.pop(name, None)
            else:
                stored[name] = value
        lots = self.lots.setdefault(customer, {})
        for lot_id, delta in change.lot_delta.items():
            after = change.lots[lot_id].remaining + delta
            if after == 0:
                lots.pop(lot_id, None)
            elif delta:
                lots[lot_id] = replace(change.lots[lot_id], remaining=after)
        counters = self.caps.setdefault(customer, {})
        for key, add, _ in caps:
            counters[key] = counters.get(key, 0) + add
        self.outbox += events

    def _write(self, record: GuardedWrite) -> None:
        if isinstance(record, NewRedemption):
            fields = {k: v for k, v in record.fields.items() if v is not None}
            self.redemptions[fields["redemptionId"]] = {**fields, "indexed": "holdExpiresAt" in fields}
        elif isinstance(record, SettleRedemption):
            found = self.redemptions[record.redemption_id]
            found.update({k: v for k, v in record.fields.items() if v is not None}, indexed=False)
        elif isinstance(record, NewRiskHold):
            self.holds[record.fields["holdId"]] = {k: v for k, v in record.fields.items() if v is not None}
        elif isinstance(record, DecideRiskHold):
            self.holds[record.hold_id].update(status=record.status, decidedBy=record.decided_by, decidedAt=record.decided_at,
                                              note=record.note)

    # ---- entries and lots -------------------------------------------------------------------------

    def entries_with_prefix(self, customer_id: str, prefix: str) -> list[dict[str, Any]]:
        found = self.entries.get(customer_id, {})
        return [dict(found[k]) for k in sorted(found) if k.startswith(prefix)]

    def history(self, customer_id: str, kind: str | None, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        newest = sorted(self.entries.get(customer_id, {}).values(), key=lambda e: (e["at"], e["entryId"]), reverse=True)
        kept = [dict(e) for e in newest if kind is None or e["kind"] == kind]
        start = int(cursor or 0)
        return kept[start : start + limit], (str(start + limit) if start + limit < len(kept) else None)

    def _every_lot(self) -> Iterator[tuple[str, Lot]]:
        for customer, lots in self.lots.items():
            for lot in lots.values():
                yield customer, lot

    def lots_expiring_on(self, day: str) -> Iterator[tuple[str, Lot]]:
        return ((c, lot) for c, lot in self._every_lot() if lot.expires_on == day)

    def lots_lapsed_before(self, day: str) -> Iterator[tuple[str, Lot]]:
        return ((c, lot) for c, lot in self._every_lot() if lot.expires_on < day)

    def all_lots(self) -> Iterator[Lot]:
        return (lot for _, lot in self._every_lot())

    def balances_total(self) -> tuple[int, int]:
        return sum(b.get("available", 0) for b in self.balances.values()), sum(b.get("debt", 0) for b in self.balances.values())

    def balance_customers(self, segment: int, segments: int) -> Iterator[str]:
        return (c for i, c in enumerate(sorted(self.balances)) if i % segments == segment)

    # ---- redemptions and holds --------------------------------------------------------------------

    def redemption(self, redemption_id: str) -> dict[str, Any] | None:
        self.calls["redemption"] += 1
        found = self.redemptions.get(redemption_id)
        return {k: v for k, v in found.items() if k != "indexed"} if found else None

    def lapsed_holds(self, before: str) -> Iterator[str]:
        return (rid for rid, r in sorted(self.redemptions.items()) if r["indexed"] and r["holdExpiresAt"] < before)

    def risk_hold(self, hold_id: str) -> dict[str, Any] | None:
        found = self.holds.get(hold_id)
        return dict(found) if found else None

    def pending_risk_holds(self) -> list[dict[str, Any]]:
        return sorted((dict(h) for h in self.holds.values() if h["status"] == "pending"), key=lambda h: (h["heldAt"], h["holdId"]))

    # ---- configuration ----------------------------------------------------------------------------

    def catalogue_record(self, item_id: str) -> dict[str, Any] | None:
        return self.catalogue.get(item_id)

    def catalogue_records(self) -> list[dict[str, Any]]:
        return [self.catalogue[k] for k in sorted(self.catalogue)]

    def save_catalogue_record(self, item_id: str, item_json: str, operator: str, at: str) -> None:
        self.catalogue[item_id] = {"item": item_json, "updatedBy": operator, "updatedAt": at}

    def risk_settings(self) -> dict[str, Any] | None:
        self.calls["risk_settings"] += 1
        return self.risk

    def save_risk_settings(self, settings_json: str, operator: str, at: str) -> None:
        self.risk = {"settings": settings_json, "updatedBy": operator, "updatedAt": at}

    def ladder(self) -> tuple[TierLadder, int, dict[str, Any]] | None:
        self.calls["ladder"] += 1
        if self.current_ladder is None:
            return None
        ladder, record = self.ladders[self.current_ladder]
        return ladder, self.current_ladder, record

    def save_ladder(self, ladder: TierLadder, version: int, operator: str, at: str) -> None:
        if version in self.ladders or self.current_ladder != (None if version == 1 else version - 1):
            raise Conflict("the tier ladder changed meanwhile", code="TIERS_VERSION_CONFLICT")
        self.ladders[version] = (ladder, {"version": version, "updatedBy": operator, "updatedAt": at})
        self.current_ladder = version

    def rules(self) -> list[Rule]:
        self.calls["rules"] += 1
        return list(self.current_rules.values())

    def rule(self, rule_id: str, version: int | None = None) -> Rule:
        found = self.current_rules.get(rule_id) if version is None else self.rule_versions.get((rule_id, version))
        if found is None:
            raise NotFound(f"earn rule {rule_id} does not exist", code="RULE_NOT_FOUND")
        return found

    def save_rule(self, rule: Rule) -> None:
        rule_id, current = rule.definition.ruleId, self.current_rules.get(rule.definition.ruleId)
        if (rule_id, rule.version) in self.rule_versions or (current.version if current else 0) != rule.version - 1:
            raise Conflict(f"earn rule {rule_id} changed meanwhile (or already exists)", code="RULE_VERSION_CONFLICT")
        self.rule_versions[(rule_id, rule.version)] = self.current_rules[rule_id] = rule
