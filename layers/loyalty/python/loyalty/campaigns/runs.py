"""Audience runs: a manual fire, a scheduled slot or a bank scheduler's request grants the reward to
everyone in the audience.

The run pages through the audience (an uploaded list, or every profile, through the customers
capability's port, filtered by the rule),
sends work items of up to 10 customers to the `campaign-grants` queue in batches of 10, and moves its
cursor in one transaction with the event that asks for the next page, so each page hands over to
exactly one next page. A page retried after a crash re-sends its work items; workers grant once per
(campaign, customer, run) anyway, and count each work item once. So a run that failed halfway
resumes without double grants.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from loyalty.campaigns import records, service, targeting
from loyalty.campaigns.granting import grant
from loyalty.campaigns.store import CampaignStore
from loyalty.core.clock import business_date, iso_utc
from loyalty.core.config import get_settings
from loyalty.core.errors import NotFound
from loyalty.core.outbox import PendingEvent

PAGE_SIZE = 500
CUSTOMERS_PER_ITEM = 10
SQS_BATCH = 10
WORK_MARKER_DAYS = 30


def run_id_for(campaign_id: str, request_id: str) -> str:
    return "run-" + hashlib.sha256(f"{campaign_id}\x1f{request_id}".encode()).hexdigest()[:24]


def fire(store: CampaignStore, campaign_id: str, request_id: str, requested_by: str, now: datetime,
         customer_ids: list[str] | None = None, not_before: datetime | None = None) -> dict[str, Any]:
    """Starts a run (or schedules it for `not_before`), once per request id: the same request
    answers the run it started."""
    meta = store.get(campaign_id)
    run_id = run_id_for(campaign_id, request_id)
    existing = store.run(campaign_id, run_id)
    if existing is not None:
        return view(existing)
    later = not_before is not None and not_before > now
    if not later:
        service.require_active(meta, now)
    run: dict[str, Any] = {**records.run_key(campaign_id, run_id), "runId": run_id, "campaignId": campaign_id, "status": "scheduled" if later else "running",
           "requestId": request_id, "requestedBy": requested_by, "startedAt": iso_utc(now), "page": 0, "total": 0, "processed": 0,
           "granted": 0, "workItems": 0}
    if customer_ids is not None:
        run["customerIds"] = customer_ids
    if later:
        at = iso_utc(not_before)  # type: ignore[arg-type]
        run.update(notBefore=at, gsi2pk="PENDINGRUNS", gsi2sk=f"{at}#{campaign_id}#{run_id}")
    if not store.start_run(run, None if later else _first_page(campaign_id, run_id)):
        return view(store.run(campaign_id, run_id) or run)
    return view(run)


def _first_page(campaign_id: str, run_id: str) -> PendingEvent:
    return PendingEvent(service.SOURCE, "CampaignRunPageRequested", {"campaignId": campaign_id, "runId": run_id, "page": 0})


def start_due_runs(store: CampaignStore, now: datetime) -> int:
    """Runs a bank scheduler asked for later (`runAt`) start once their time comes, if the campaign
    is active then; otherwise they are cancelled, with the reason."""
    started = 0
    for run in store.due_runs(iso_utc(now)):
        meta = store.get(run["campaignId"])
        active = service.view(meta, now)["effectiveStatus"] == "active"
        first = _first_page(run["campaignId"], run["runId"]) if active else None
        started += int(store.begin_due_run(run["campaignId"], run["runId"], "running" if active else "cancelled_not_active", first) and active)
    return started


def view(run: dict[str, Any]) -> dict[str, Any]:
    fields = ("runId", "campaignId", "status", "requestedBy", "startedAt", "total", "processed", "granted", "finishedPagingAt")
    shown = {k: run[k] for k in fields if run.get(k) is not None}
    done = run.get("status") == "paged" and int(run.get("processed", 0)) >= int(run.get("total", 0))
    return {**shown, "status": "completed" if done else shown.get("status"), "progress": f"{run.get('processed', 0)}/{run.get('total', 0)}"}


def get(store: CampaignStore, campaign_id: str, run_id: str) -> dict[str, Any]:
    run = store.run(campaign_id, run_id)
    if run is None:
        raise NotFound(f"run {run_id} of campaign {campaign_id} does not exist", code="RUN_NOT_FOUND")
    return view(run)


def page(store: CampaignStore, campaign_id: str, run_id: str, number: int, now: datetime) -> int:
    """One page of the audience into work items; the number of customers sent (0 if done already)."""
    run = store.run(campaign_id, run_id)
    if run is None or int(run["page"]) != number or run["status"] != "running":
        return 0  # this page was handed over already: a redelivered request
    definition = service.definition_of(store.get(campaign_id))
    customers, cursor = _audience_page(store, run, definition, number, now)
    items = [customers[i : i + CUSTOMERS_PER_ITEM] for i in range(0, len(customers), CUSTOMERS_PER_ITEM)]
    _send_work(campaign_id, run_id, number, items)
    following = None if cursor is None else PendingEvent(service.SOURCE, "CampaignRunPageRequested",
                                                          {"campaignId": campaign_id, "runId": run_id, "page": number + 1})
    store.page_done(campaign_id, run_id, number, cursor=cursor, customers=len(customers), work_items=len(items), at=iso_utc(now),
                    next_page=following)
    return len(customers)


def _audience_page(store: CampaignStore, run: dict[str, Any], definition: Any, number: int, now: datetime) -> tuple[list[str], str | None]:
    """One page of the run's customers: its audience's, and of a unit's campaign only those of the unit's subtree."""
    ids, cursor = _audience_ids(store, run, definition, number, now)
    if definition.orgUnitId is None or not ids:
        return ids, cursor
    from loyalty.campaigns.granting import within_unit
    from loyalty.campaigns.uploads import profiles_of

    profiles = profiles_of(ids)
    return [i for i in ids if within_unit(definition.orgUnitId, profiles.get(i))], cursor


def _audience_ids(store: CampaignStore, run: dict[str, Any], definition: Any, number: int, now: datetime) -> tuple[list[str], str | None]:
    if "customerIds" in run or definition.audience.customerIds:
        ids = run.get("customerIds") or definition.audience.customerIds
        chunk = ids[number * PAGE_SIZE : (number + 1) * PAGE_SIZE]
        if run.get("customerIds"):
            chunk = _within_audience(store, definition, chunk, now)
        return chunk, (str(number + 1) if (number + 1) * PAGE_SIZE < len(ids) else None)
    if definition.audience.uploaded:
        return store.members_page(run["campaignId"], PAGE_SIZE, run.get("cursor") or None)
    from loyalty.customers.ports import directory

    profiles, cursor = directory().page(run.get("cursor") or None, PAGE_SIZE)
    today = business_date(now, get_settings().bank_zone)
    return [p.customerId for p in profiles if targeting.in_audience(definition.audience, p.customerId, p.model_dump(), today)], cursor


def _within_audience(store: CampaignStore, definition: Any, ids: list[str], now: datetime) -> list[str]:
    """The ids of a fire's override that are in the audience the checker approved: an override
    narrows the audience (who, of them, today), never widens it, so no single operator can point an
    approved budget at people of their choosing."""
    audience = definition.audience
    if audience.uploaded:
        return [i for i in ids if store.is_member(definition.campaignId, i)]
    from loyalty.campaigns.uploads import profiles_of

    profiles, today = profiles_of(ids), business_date(now, get_settings().bank_zone)
    return [i for i in ids if targeting.in_audience(audience, i, profiles.get(i), today)]


def _send_work(campaign_id: str, run_id: str, number: int, items: list[list[str]]) -> None:
    from loyalty.core.aws import sqs

    url = get_settings().campaign_grants_queue_url
    entries: list[Any] = [{"Id": str(i), "MessageBody": json.dumps({"campaignId": campaign_id, "runId": run_id, "itemId": f"{number}-{i}", "customerIds": c})}
               for i, c in enumerate(items)]
    for start in range(0, len(entries), SQS_BATCH):
        result = sqs().send_message_batch(QueueUrl=url, Entries=entries[start : start + SQS_BATCH])
        if result.get("Failed"):
            raise RuntimeError(f"work items not sent: {result['Failed']}")  # the page is retried; grants are idempotent


def work(store: CampaignStore, item: dict[str, Any], now: datetime) -> dict[str, int]:
    """Grants to each customer of a work item, and counts the item once toward the run's progress."""
    campaign_id, run_id = item["campaignId"], item["runId"]
    meta = store.get(campaign_id)
    outcomes: dict[str, int] = {}
    for customer_id in item["customerIds"]:
        outcome = grant(store, meta, customer_id, f"run:{run_id}", now)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    store.work_done(campaign_id, run_id, item["itemId"], processed=len(item["customerIds"]), granted=outcomes.get("granted", 0),
                    expires_at=int(now.timestamp()) + WORK_MARKER_DAYS * 86400)
    return outcomes


def tick(store: CampaignStore, now: datetime) -> list[str]:
    """Every minute: scheduled campaigns whose cron (or one shot) came due start a run, once per
    slot (the slot is claimed on the campaign before the run starts)."""
    started = []
    for meta in service.campaigns_for(store, "SCHEDULED"):
        if service.view(meta, now)["effectiveStatus"] != "active":
            continue
        trigger = service.definition_of(meta).trigger
        last = datetime.fromisoformat(meta["lastSlot"]) if meta.get("lastSlot") else None
        slot = targeting.due_slot(trigger.expression, trigger.timezone, last, now)  # type: ignore[union-attr]
        if slot is not None and store.claim_slot(meta["campaignId"], meta.get("lastSlot"), slot.isoformat()):
            service.forget_cached_campaigns()
            started.append(fire(store, meta["campaignId"], f"slot:{slot.isoformat()}", "scheduler", now)["runId"])
    return started
