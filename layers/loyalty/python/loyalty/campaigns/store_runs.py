"""Audience runs and uploaded audiences in the `campaigns` table (models in `items_runs`)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from pynamodb.expressions.update import Action

from loyalty.campaigns import records
from loyalty.campaigns.items import CampaignOutbox
from loyalty.campaigns.items_runs import AudienceMember, RunItem, RunWorkItemMarker, UploadItem
from loyalty.core.errors import Conflict
from loyalty.core.outbox import PendingEvent
from loyalty.core.transactions import Refused as Cancelled
from loyalty.core.transactions import Transaction


class RunStore(Protocol):
    def run(self, campaign_id: str, run_id: str) -> dict[str, Any] | None: ...

    def start_run(self, run: dict[str, Any], first_page: PendingEvent | None) -> bool:
        """Creates the run (with the request for its first page, if it starts now); False if it exists."""

    def due_runs(self, before: str) -> list[dict[str, Any]]:
        """Scheduled runs whose time is before `before`."""

    def begin_due_run(self, campaign_id: str, run_id: str, status: str, first_page: PendingEvent | None) -> bool:
        """A scheduled run becomes `status` (running, or cancelled), once; with its first page's request."""

    def page_done(self, campaign_id: str, run_id: str, number: int, *, cursor: str | None, customers: int, work_items: int,
                  at: str, next_page: PendingEvent | None) -> bool:
        """Page `number` was sent: the run moves to the next page (or to `paged` when `next_page` is
        None) with the next page's request, once."""

    def work_done(self, campaign_id: str, run_id: str, item_id: str, *, processed: int, granted: int, expires_at: int) -> bool:
        """A work item counted toward the run's progress, once."""

    def is_member(self, campaign_id: str, customer_id: str) -> bool: ...

    def members_page(self, campaign_id: str, size: int, cursor: str | None) -> tuple[list[str], str | None]:
        """A page of the uploaded audience and the cursor of the next (None at the end)."""

    def add_members(self, campaign_id: str, upload_id: str, customer_ids: Sequence[str]) -> None: ...

    def count_upload(self, campaign_id: str, upload_id: str, *, imported: int, unknown: int, invalid: int, at: str, by: str) -> None: ...

    def upload(self, campaign_id: str, upload_id: str) -> dict[str, Any] | None: ...


def once(transaction: Transaction, first: str) -> bool:
    """Commits a transaction whose item `first` says "not done yet": False if it was done already;
    409 CAMPAIGN_CONTENDED if anything else refused it (a retry decides again)."""
    try:
        return transaction.commit_once(first)
    except Cancelled:
        raise Conflict("the campaign's counters changed meanwhile; retry", code="CAMPAIGN_CONTENDED") from None


def found(model: Any, key: dict[str, str], *, consistent: bool = True) -> dict[str, Any] | None:
    """The item as plain values, or None: one GetItem."""
    try:
        return model.get(key["pk"], key["sk"], consistent_read=consistent).plain()  # type: ignore[no-any-return]
    except model.DoesNotExist:
        return None


class DynamoRunRecords:
    def run(self, campaign_id: str, run_id: str) -> dict[str, Any] | None:
        return found(RunItem, records.run_key(campaign_id, run_id))

    def start_run(self, run: dict[str, Any], first_page: PendingEvent | None) -> bool:
        transaction = Transaction()
        transaction.put("run", RunItem(**run), RunItem.pk.does_not_exist())
        CampaignOutbox.add_to(transaction, [first_page] if first_page else [])
        return once(transaction, "run")

    def due_runs(self, before: str) -> list[dict[str, Any]]:
        return [r.plain() for r in RunItem.pending.query("PENDINGRUNS", RunItem.gsi2sk < before)]

    def begin_due_run(self, campaign_id: str, run_id: str, status: str, first_page: PendingEvent | None) -> bool:
        transaction = Transaction()
        transaction.update("run", RunItem(*records.split(records.run_key(campaign_id, run_id))),
                           [RunItem.status.set(status), RunItem.gsi2pk.remove(), RunItem.gsi2sk.remove()], RunItem.status == "scheduled")
        CampaignOutbox.add_to(transaction, [first_page] if first_page else [])
        return once(transaction, "run")

    def page_done(self, campaign_id: str, run_id: str, number: int, *, cursor: str | None, customers: int, work_items: int,
                  at: str, next_page: PendingEvent | None) -> bool:
        done = next_page is None
        actions: list[Action] = [RunItem.page.set(number + 1), RunItem.cursor.set(cursor or ""), RunItem.status.set("paged" if done else "running"),
                   RunItem.total.add(customers), RunItem.workItems.add(work_items)]
        if done:
            actions.append(RunItem.finishedPagingAt.set(at))
        transaction = Transaction()
        transaction.update("run", RunItem(*records.split(records.run_key(campaign_id, run_id))), actions, RunItem.page == number)
        CampaignOutbox.add_to(transaction, [next_page] if next_page else [])
        return once(transaction, "run")

    def work_done(self, campaign_id: str, run_id: str, item_id: str, *, processed: int, granted: int, expires_at: int) -> bool:
        transaction = Transaction()
        transaction.put("marker", RunWorkItemMarker(f"RUNITEM#{run_id}", item_id, expiresAt=expires_at), RunWorkItemMarker.pk.does_not_exist())
        transaction.update("run", RunItem(*records.split(records.run_key(campaign_id, run_id))), [RunItem.processed.add(processed), RunItem.granted.add(granted)])
        return once(transaction, "marker")

    # ---- uploaded audiences -------------------------------------------------------------------------

    def is_member(self, campaign_id: str, customer_id: str) -> bool:
        return found(AudienceMember, records.audience_key(campaign_id, customer_id), consistent=False) is not None

    def members_page(self, campaign_id: str, size: int, cursor: str | None) -> tuple[list[str], str | None]:
        from loyalty.core.dynamo import TABLE_KEYS, checked_start, decode_cursor
        from loyalty.core.tables import page

        partition = f"AUDIENCE#{campaign_id}"
        start = checked_start(decode_cursor(cursor), TABLE_KEYS, ("pk", partition))
        members, following = page(AudienceMember.query(partition, limit=size, last_evaluated_key=start), size)
        return [m.sk for m in members], following

    def add_members(self, campaign_id: str, upload_id: str, customer_ids: Sequence[str]) -> None:
        from loyalty.core.tables import batch_write

        batch_write([AudienceMember(*records.split(records.audience_key(campaign_id, c)), uploadId=upload_id) for c in customer_ids])

    def count_upload(self, campaign_id: str, upload_id: str, *, imported: int, unknown: int, invalid: int, at: str, by: str) -> None:
        UploadItem(*records.split(records.upload_key(campaign_id, upload_id))).update([
            UploadItem.batches.add(1), UploadItem.imported.add(imported), UploadItem.unknown.add(unknown), UploadItem.invalid.add(invalid),
            UploadItem.lastBatchAt.set(at), UploadItem.uploadedBy.set(by)])

    def upload(self, campaign_id: str, upload_id: str) -> dict[str, Any] | None:
        return found(UploadItem, records.upload_key(campaign_id, upload_id))
