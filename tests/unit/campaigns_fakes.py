"""The campaigns store and the customers directory in memory, with the conditions the DynamoDB store
enforces: a write refused there is refused here, and a transaction is all or nothing."""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, Literal

from loyalty.campaigns import records
from loyalty.campaigns.parking import ParkedTrigger
from loyalty.campaigns.refusals import AlreadyGranted, Contended, Refused
from loyalty.campaigns.store import BudgetFlag, CampaignStore, GrantPlan
from loyalty.core.errors import Conflict, NotFound
from loyalty.core.outbox import PendingEvent
from loyalty.core.parking import bucket, index_sort_key
from loyalty.core.transactions import Transaction
from loyalty.customers.model import CustomerProfile

Key = tuple[str, str]


class InMemoryDirectory:
    """`loyalty.customers.ports.CustomerDirectory`: profiles by id; `erased` marks a tombstone."""

    def __init__(self) -> None:
        self.profiles_by_id: dict[str, CustomerProfile] = {}
        self.reads = 0

    def add(self, customer_id: str, **fields: Any) -> None:
        self.profiles_by_id[customer_id] = CustomerProfile(customerId=customer_id, changedAt="2026-01-01T00:00:00.000000Z",
                                                           sourceEventId="seed", **fields)

    def is_erased(self, customer_id: str) -> bool:
        found = self.profiles_by_id.get(customer_id)
        return bool(found and found.erased)

    def profile(self, customer_id: str) -> CustomerProfile | None:
        self.reads += 1
        return self.profiles_by_id.get(customer_id)

    def profiles(self, customer_ids: Sequence[str]) -> dict[str, CustomerProfile]:
        return {i: self.profiles_by_id[i] for i in customer_ids if i in self.profiles_by_id}

    def page(self, cursor: str | None, limit: int) -> tuple[list[CustomerProfile], str | None]:
        ids = sorted(self.profiles_by_id)
        start = int(cursor or 0)
        return [self.profiles_by_id[i] for i in ids[start : start + limit]], str(start + limit) if start + limit < len(ids) else None

    def require_not_erased(self, transaction: Transaction, customer_id: str) -> None:
        raise AssertionError("the in-memory store checks erasure itself")

    def record_scores(self, transaction: Transaction, customer_id: str, stage: str, segments: list[str], scores: dict[str, Any],
                      at: str) -> None:
        raise AssertionError("campaigns never write scores")


class InMemoryCampaignStore:
    """`CampaignStore` over a dict of items by (pk, sk). `conflicts` makes that many grants fail with a
    TransactionConflict first; `progress_races` makes that many progress writes lose to another writer.
    Parked triggers are kept by (customer, occurrence); `before_park` runs just before a parking lands
    (a profile arriving meanwhile)."""

    def __init__(self, directory: InMemoryDirectory) -> None:
        self.directory = directory
        self.items: dict[Key, dict[str, Any]] = {}
        self.outbox: list[PendingEvent] = []
        self.conflicts = 0
        self.progress_races = 0
        self.index_reads = 0
        self.grant_attempts = 0
        # The org pools grants draw from (loyalty.org.ports, in memory): room left per unit (a unit not
        # here holds no pool), and the units whose pacing plan has no room today.
        self.pool_room: dict[str, int] = {}
        self.paced_out: set[str] = set()
        self.pacing_alerts: list[tuple[str, str, str]] = []
        self.parked: dict[Key, ParkedTrigger] = {}
        self.before_park: Callable[[ParkedTrigger], None] | None = None

    # ---- helpers ----------------------------------------------------------------------------------------

    def _get(self, key: dict[str, str]) -> dict[str, Any] | None:
        found = self.items.get((key["pk"], key["sk"]))
        return copy.deepcopy(found) if found is not None else None

    def _put(self, item: dict[str, Any]) -> None:
        self.items[(item["pk"], item["sk"])] = copy.deepcopy({k: v for k, v in item.items() if v is not None})

    def _item(self, key: dict[str, str]) -> dict[str, Any]:
        """The stored item itself, made if missing (as an update makes it)."""
        return self.items.setdefault((key["pk"], key["sk"]), {"pk": key["pk"], "sk": key["sk"]})

    def _field(self, key: dict[str, str], name: str) -> Any:
        return (self.items.get((key["pk"], key["sk"])) or {}).get(name)

    def _under(self, pk: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(v) for (p, _), v in sorted(self.items.items()) if p == pk]

    def _add(self, key: dict[str, str], counts: dict[str, int]) -> None:
        item = self._item(key)
        for name, n in counts.items():
            item[name] = item.get(name, 0) + n

    @staticmethod
    def _fits(item: dict[str, Any] | None, attribute: str, add: int, limit: int) -> bool:
        """`bounded`: a counter not written yet takes `add` only if it fits the limit at all."""
        current = (item or {}).get(attribute)
        return add <= limit if current is None else current <= limit - add

    # ---- definitions and lifecycle ------------------------------------------------------------------

    def get(self, campaign_id: str) -> dict[str, Any]:
        meta = self._get(records.meta_key(campaign_id))
        if meta is None:
            raise NotFound(f"campaign {campaign_id} does not exist", code="CAMPAIGN_NOT_FOUND")
        return meta

    def save(self, meta: dict[str, Any], *, expected_version: int, audit: dict[str, Any]) -> None:
        current = self._get(records.meta_key(meta["campaignId"]))
        allowed = current is None if not expected_version else (
            current is not None and current["version"] == expected_version and current["status"] == "draft")
        if not allowed or (meta["pk"], f"V#{meta['version']:06d}") in self.items:
            raise Conflict("changed meanwhile", code="CAMPAIGN_VERSION_CONFLICT")
        self._put({"pk": meta["pk"], "sk": f"V#{meta['version']:06d}", "definition": meta["definition"]})
        self._put(meta)
        self._put({"pk": meta["pk"], "sk": f"AUDIT#{audit['at']}#{len(self.items)}", **audit})

    def transition(self, campaign_id: str, before: str, fields: dict[str, Any], audit: dict[str, Any],
                   events: Sequence[PendingEvent] = ()) -> None:
        current = self._get(records.meta_key(campaign_id))
        if current is None or current["status"] != before:
            raise Conflict("changed meanwhile", code="CAMPAIGN_STATE_CONFLICT")
        self._put({**current, **fields})
        self._put({"pk": f"CAMPAIGN#{campaign_id}", "sk": f"AUDIT#{audit['at']}#{len(self.items)}", **audit})
        self.outbox += events

    def audit(self, campaign_id: str) -> list[dict[str, Any]]:
        return [i for i in self._under(f"CAMPAIGN#{campaign_id}") if i["sk"].startswith("AUDIT#")]

    def listed(self) -> list[dict[str, Any]]:
        self.index_reads += 1
        return [copy.deepcopy(i) for i in self.items.values() if i.get("gsi1pk") == "CAMPAIGNS"]

    def by_trigger(self, index_key: str) -> list[dict[str, Any]]:
        self.index_reads += 1
        return [copy.deepcopy(i) for i in self.items.values() if i.get("gsi2pk") == index_key and i["sk"] == "META"]

    def claim_slot(self, campaign_id: str, previous: str | None, slot: str) -> bool:
        if self._field(records.meta_key(campaign_id), "lastSlot") != previous:
            return False
        self._item(records.meta_key(campaign_id))["lastSlot"] = slot
        return True

    # ---- grants -------------------------------------------------------------------------------------

    def grant(self, plan: GrantPlan) -> None:
        self.grant_attempts += 1
        if self.conflicts:
            self.conflicts -= 1
            raise Contended()
        cid = plan.campaign_id
        if self._get(plan.record) is not None:
            raise AlreadyGranted()
        meta = self._get(records.meta_key(cid)) or {}
        if meta.get("status") != "approved" or meta.get("version") != plan.version:
            raise Refused("not_active")
        if self.directory.is_erased(plan.customer_id):
            raise Refused("erased")
        for period, key, limit in plan.budgets:
            if not self._fits(self._get(records.budget_key(cid, key)), "spent", plan.cost, plan.paced.get(period, limit)):
                raise Refused(f"budget:{period}")
        for key, limit in plan.frequency:
            if not self._fits(self._get(records.freq_key(cid, plan.customer_id, key)), "count", 1, limit):
                raise Refused("frequency")
        if plan.notify is not None and not self._fits(self._get(records.notify_key(plan.customer_id, plan.notify[0])), "count", 1,
                                                      plan.notify[1]):
            raise Refused("notify")
        if any(self._get(records.command_key(c)) is not None for c in plan.commands):
            raise Refused("not_active")
        if plan.pool is not None:
            unit = plan.pool[0]
            if self.pool_room.get(unit, 0) < plan.cost:
                raise Refused("pool_exhausted")
            if unit in self.paced_out:
                raise Refused("pool_pacing")
            self.pool_room[unit] -= plan.cost
            plan.record["poolKey"] = f"{unit}/{plan.pool[1].year}/{plan.pool[2]}"
        self._put(plan.record)
        for _, key, limit in plan.budgets:
            self._add(records.budget_key(cid, key), {"spent": plan.cost})
            self._item(records.budget_key(cid, key))["limit"] = limit
        for key, _ in plan.frequency:
            self._add(records.freq_key(cid, plan.customer_id, key), {"count": 1})
        if plan.notify is not None:
            self._add(records.notify_key(plan.customer_id, plan.notify[0]), {"count": 1})
        for command in plan.commands:
            self._put({**records.command_key(command), "grantPk": plan.record["pk"], "grantSk": plan.record["sk"], "campaignId": cid,
                       "arm": plan.arm})
        self._add(records.stats_key(cid, plan.arm), plan.stats)
        self._put({**records.targeted_key(plan.customer_id, cid), "arm": plan.arm, "endsAt": plan.ends_at, "currency": plan.spend_currency})
        self.outbox += plan.events

    def budget(self, campaign_id: str, period_key: str, *, consistent: bool = True) -> dict[str, Any] | None:
        return self._get(records.budget_key(campaign_id, period_key))

    def budgets(self, campaign_id: str) -> list[dict[str, Any]]:
        return self._under(f"BUDGET#{campaign_id}")

    def arms(self, campaign_id: str) -> list[dict[str, Any]]:
        return self._under(f"STATS#{campaign_id}")

    def flag_budget(self, campaign_id: str, period_key: str, flag: BudgetFlag, at: str, events: Sequence[PendingEvent],
                    *, spent_at_least: int | None = None) -> bool:
        budget = self._get(records.budget_key(campaign_id, period_key)) or {}
        if flag in budget or (spent_at_least is not None and budget.get("spent", -1) < spent_at_least):
            return False
        self._item(records.budget_key(campaign_id, period_key))[flag] = at
        self.outbox += events
        return True

    def alert_pacing(self, pool_key: str, direction: Literal["ahead", "behind"], day: date, events: Sequence[PendingEvent]) -> bool:
        mark = (pool_key, direction, day.isoformat())
        if mark in self.pacing_alerts:
            return False
        self.pacing_alerts.append(mark)
        self.outbox += events
        return True

    def alert_campaign_pacing(self, campaign_id: str, direction: Literal["ahead", "behind"], day: date, events: Sequence[PendingEvent]) -> bool:
        return self.alert_pacing(f"campaign:{campaign_id}", direction, day, events)

    def command(self, command_id: str) -> dict[str, Any] | None:
        return self._get(records.command_key(command_id))

    def grant_record(self, pk: str, sk: str) -> dict[str, Any] | None:
        return self._get({"pk": pk, "sk": sk})

    def advance_grant(self, grant: dict[str, Any], fields: dict[str, Any], *, give_back: int, stats: dict[str, int],
                      events: Sequence[PendingEvent]) -> bool:
        current = self._get(grant)
        if current is None or current.get("version") != grant.get("version") or current.get("status") != grant.get("status"):
            return False
        updated = {**current, **fields, "version": int(grant.get("version") or 0) + 1}
        self._put(updated)  # a None field is removed, as the store's REMOVE
        if give_back:
            for key in grant.get("budgetKeys", []):
                self._add(records.budget_key(grant["campaignId"], key), {"spent": -give_back})
        if stats:
            self._add(records.stats_key(grant["campaignId"], grant["arm"]), stats)
        self.outbox += events
        return True

    def count_redeemed(self, command: dict[str, Any], at: str) -> bool:
        if self._field(command, "redeemedAt") is not None:
            return False
        self._item(command)["redeemedAt"] = at
        self._add(records.stats_key(command["campaignId"], command["arm"]), {"redeemed": 1})
        return True

    def uncount_redeemed(self, command: dict[str, Any]) -> bool:
        if self._field(command, "redeemedAt") is None:
            return False
        self._item(command).pop("redeemedAt")
        self._add(records.stats_key(command["campaignId"], command["arm"]), {"redeemed": -1})
        return True

    def targeted(self, customer_id: str) -> list[dict[str, Any]]:
        return self._under(f"TARGETED#{customer_id}")

    def count_spend(self, campaign_id: str, arm: str, transaction_id: str, amount_minor: int, expires_at: int) -> bool:
        if (f"SPEND#{campaign_id}", transaction_id) in self.items:
            return False
        self._put({"pk": f"SPEND#{campaign_id}", "sk": transaction_id, "expiresAt": expires_at})
        self._add(records.stats_key(campaign_id, arm), {"spendMinor": amount_minor})
        return True

    def count_receipt(self, campaign_id: str, arm: str, notification_id: str, delivered: bool, expires_at: int) -> bool:
        if (f"RECEIPT#{notification_id}", "RECEIPT") in self.items:
            return False
        self._put({"pk": f"RECEIPT#{notification_id}", "sk": "RECEIPT", "expiresAt": expires_at})
        self._add(records.stats_key(campaign_id, arm), {"notificationsDelivered" if delivered else "notificationsFailed": 1})
        return True

    # ---- runs and uploaded audiences ------------------------------------------------------------------

    def run(self, campaign_id: str, run_id: str) -> dict[str, Any] | None:
        return self._get(records.run_key(campaign_id, run_id))

    def start_run(self, run: dict[str, Any], first_page: PendingEvent | None) -> bool:
        if self._get(run) is not None:
            return False
        self._put(run)
        self.outbox += [first_page] if first_page else []
        return True

    def due_runs(self, before: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(i) for i in self.items.values() if i.get("gsi2pk") == "PENDINGRUNS" and i["gsi2sk"] < before]

    def begin_due_run(self, campaign_id: str, run_id: str, status: str, first_page: PendingEvent | None) -> bool:
        if self._field(records.run_key(campaign_id, run_id), "status") != "scheduled":
            return False
        run = self._item(records.run_key(campaign_id, run_id))
        run.update(status=status)
        run.pop("gsi2pk", None)
        run.pop("gsi2sk", None)
        self.outbox += [first_page] if first_page else []
        return True

    def page_done(self, campaign_id: str, run_id: str, number: int, *, cursor: str | None, customers: int, work_items: int,
                  at: str, next_page: PendingEvent | None) -> bool:
        if self._field(records.run_key(campaign_id, run_id), "page") != number:
            return False
        run = self._item(records.run_key(campaign_id, run_id))
        run.update(page=number + 1, cursor=cursor or "", status="paged" if next_page is None else "running")
        if next_page is None:
            run["finishedPagingAt"] = at
        self._add(records.run_key(campaign_id, run_id), {"total": customers, "workItems": work_items})
        self.outbox += [next_page] if next_page else []
        return True

    def work_done(self, campaign_id: str, run_id: str, item_id: str, *, processed: int, granted: int, expires_at: int) -> bool:
        if (f"RUNITEM#{run_id}", item_id) in self.items:
            return False
        self._put({"pk": f"RUNITEM#{run_id}", "sk": item_id, "expiresAt": expires_at})
        self._add(records.run_key(campaign_id, run_id), {"processed": processed, "granted": granted})
        return True

    def is_member(self, campaign_id: str, customer_id: str) -> bool:
        return self._get(records.audience_key(campaign_id, customer_id)) is not None

    def members_page(self, campaign_id: str, size: int, cursor: str | None) -> tuple[list[str], str | None]:
        members = [i["sk"] for i in self._under(f"AUDIENCE#{campaign_id}") if cursor is None or i["sk"] > cursor]
        return members[:size], members[size - 1] if len(members) > size else None

    def add_members(self, campaign_id: str, upload_id: str, customer_ids: Sequence[str]) -> None:
        for customer_id in customer_ids:
            self._put({**records.audience_key(campaign_id, customer_id), "uploadId": upload_id})

    def count_upload(self, campaign_id: str, upload_id: str, *, imported: int, unknown: int, invalid: int, at: str, by: str) -> None:
        self._add(records.upload_key(campaign_id, upload_id), {"batches": 1, "imported": imported, "unknown": unknown, "invalid": invalid})
        self._item(records.upload_key(campaign_id, upload_id)).update(lastBatchAt=at, uploadedBy=by)

    def upload(self, campaign_id: str, upload_id: str) -> dict[str, Any] | None:
        return self._get(records.upload_key(campaign_id, upload_id))

    # ---- progress, invite codes, referrals ------------------------------------------------------------

    def progress(self, customer_id: str, campaign_id: str) -> dict[str, Any] | None:
        return self._get(records.progress_key(customer_id, campaign_id))

    def progress_of(self, customer_id: str) -> list[dict[str, Any]]:
        return self._under(f"PROGRESS#{customer_id}")

    def put_progress(self, record: dict[str, Any], expected_version: int, customer_id: str) -> bool:
        if self.directory.is_erased(customer_id):
            raise Refused("erased")
        current = self._get(record)
        if self.progress_races and current is not None:
            self.progress_races -= 1
            self._item(record)["version"] = current["version"] + 1  # another delivery wrote it meanwhile
            current = self._get(record)
        if (current or {}).get("version", 0) != expected_version:
            return False
        self._put({**record, "version": expected_version + 1})
        return True

    def inviter(self, customer_id: str, *, consistent: bool = True) -> dict[str, Any] | None:
        return self._get(records.inviter_key(customer_id))

    def invite(self, code: str) -> dict[str, Any] | None:
        return self._get(records.invite_key(code))

    def register_code(self, customer_id: str, code: str, at: str) -> bool:
        if self.inviter(customer_id) is not None or self.invite(code) is not None:
            return False
        self._put({**records.inviter_key(customer_id), "customerId": customer_id, "code": code, "createdAt": at})
        self._put({**records.invite_key(code), "customerId": customer_id, "code": code, "createdAt": at})
        return True

    def bind_referral(self, record: dict[str, Any], event: PendingEvent) -> bool:
        if self._get(record) is not None:
            return False
        self._put(record)
        self.outbox.append(event)
        return True

    def referral(self, campaign_id: str, invitee_id: str) -> dict[str, Any] | None:
        return self._get(records.referral_key(campaign_id, invitee_id))

    def qualify_referral(self, campaign_id: str, invitee_id: str, transaction_id: str, at: str, event: PendingEvent) -> bool:
        if self._field(records.referral_key(campaign_id, invitee_id), "status") != "bound":
            return False
        self._item(records.referral_key(campaign_id, invitee_id)).update(status="qualified", qualifiedAt=at, qualifyingTransaction=transaction_id)
        self.outbox.append(event)
        return True

    def referrals_made(self, customer_id: str) -> list[dict[str, Any]]:
        return [copy.deepcopy(i) for i in self.items.values() if i.get("gsi1pk") == f"INVITER#{customer_id}"]

    # ---- triggers parked before the profile -----------------------------------------------------------

    def park_trigger(self, trigger: ParkedTrigger) -> bool:
        if self.before_park is not None:
            self.before_park(trigger)
        key = (trigger.customerId, trigger.occurrence)
        new = key not in self.parked
        self.parked.setdefault(key, copy.deepcopy(trigger))
        return new

    def parked_triggers(self, customer_id: str) -> list[ParkedTrigger]:
        return [copy.deepcopy(t) for (c, _), t in sorted(self.parked.items()) if c == customer_id]

    def unpark_trigger(self, customer_id: str, occurrence: str) -> None:
        self.parked.pop((customer_id, occurrence), None)

    def triggers_parked_before(self, number: int, before: str, limit: int, cursor: dict[str, Any] | None
                               ) -> tuple[list[ParkedTrigger], dict[str, Any] | None]:
        ordered = sorted((index_sort_key(t), t) for t in self.parked.values() if bucket(t.customerId) == number and index_sort_key(t) < before)
        after = [(k, t) for k, t in ordered if cursor is None or k > cursor["at"]]
        chosen = after[:limit]
        return [copy.deepcopy(t) for _, t in chosen], {"at": chosen[-1][0]} if len(after) > limit else None


def _typed(store: InMemoryCampaignStore) -> CampaignStore:
    return store  # mypy: the fake implements the whole protocol
