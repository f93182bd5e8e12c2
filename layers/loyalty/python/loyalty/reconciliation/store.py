"""Where a reconciliation run is kept: the port the service depends on, and its DynamoDB adapter."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from pynamodb.exceptions import PutError

from loyalty.reconciliation.checks import Books
from loyalty.reconciliation.items import ReconciliationRun

Phase = Literal["grants", "coupons", "wallets", "accounts", "sessions", "finish", "done"]


@dataclass(frozen=True)
class Run:
    business_date: str
    run_id: str
    status: Literal["running", "done"]
    phase: Phase
    cursor: str | None
    step: int
    books: Books
    pages: int
    requested_by: str
    started_at: str
    updated_at: str
    finished_at: str | None = None

    def advanced(self, **changes: Any) -> Run:
        return replace(self, step=self.step + 1, **changes)


class Superseded(Exception):
    """Another invocation moved the run (or a new run replaced it) since it was read."""


class RunStore(Protocol):
    def get(self, business_date: str) -> Run | None: ...

    def put_new(self, run: Run, replacing: Run | None) -> None:
        """Writes a new run, on condition that the date has no run, or still has `replacing`."""

    def save(self, run: Run) -> None:
        """Writes a checkpoint, on condition the stored run is at `run.step - 1` (else Superseded)."""

    def unfinished(self) -> list[Run]: ...


class DynamoRunStore:
    def get(self, business_date: str) -> Run | None:
        try:
            return _run(ReconciliationRun.get(*ReconciliationRun.key_of(business_date), consistent_read=True))
        except ReconciliationRun.DoesNotExist:
            return None

    def unfinished(self) -> list[Run]:
        found = (self.get(item.businessDate) for item in ReconciliationRun.running.query("RUNNING"))
        return [run for run in found if run is not None and run.status == "running"]

    def put_new(self, run: Run, replacing: Run | None) -> None:
        if replacing is None:
            self._write(run, ReconciliationRun.pk.does_not_exist())
        else:
            self._write(run, (ReconciliationRun.runId == replacing.run_id) & (ReconciliationRun.step == replacing.step))

    def save(self, run: Run) -> None:
        self._write(run, (ReconciliationRun.runId == run.run_id) & (ReconciliationRun.step == run.step - 1))

    @staticmethod
    def _write(run: Run, condition: Any) -> None:
        pk, sk = ReconciliationRun.key_of(run.business_date)
        running = run.status == "running"
        item = ReconciliationRun(pk, sk, businessDate=run.business_date, runId=run.run_id, status=run.status, phase=run.phase,
                                 cursor=run.cursor, step=run.step, books=json.dumps(run.books.to_json(), separators=(",", ":")),
                                 pages=run.pages, discrepancies=run.books.discrepancies, requestedBy=run.requested_by,
                                 startedAt=run.started_at, updatedAt=run.updated_at, finishedAt=run.finished_at,
                                 gsi1pk="RUNNING" if running else None, gsi1sk=run.business_date if running else None)
        try:
            item.save(condition)
        except PutError as error:
            if getattr(error, "cause_response_code", None) == "ConditionalCheckFailedException":
                raise Superseded(run.business_date) from None
            raise


def _run(item: ReconciliationRun) -> Run:
    return Run(item.businessDate, item.runId, item.status, item.phase, item.cursor, int(item.step),  # type: ignore[arg-type]
               Books.from_json(json.loads(item.books)), int(item.pages), item.requestedBy, item.startedAt, item.updatedAt,
               item.finishedAt)
