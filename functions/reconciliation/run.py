"""The daily reconciliation's worker: the schedule `reconciliation` starts the business date that just
closed; `reconciliation-resume` and the `reconciliation-runs` queue (a run an operator asked for) go
on with any run not finished, from its checkpoint."""

from typing import Any

from loyalty.core.clock import invocation_time_left, utc_now
from loyalty.core.observability import lambda_entry
from loyalty.reconciliation import service
from loyalty.reconciliation.store import DynamoRunStore


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    store = DynamoRunStore()
    if event.get("schedule") == "reconciliation":
        service.request(store, service.closed_day(utc_now()), utc_now(), "schedule")
    runs = [service.work(store, service.default_sources(), run, utc_now, invocation_time_left(context)) for run in store.unfinished()]
    if "Records" in event:
        # A queue message only says "there is work"; the runs' checkpoints say what. Never failed back
        # to the queue: an unfinished run stays on the index, and the resume schedule goes on with it.
        return {"batchItemFailures": []}
    return {"runs": [{"businessDate": r.business_date, "status": r.status, "phase": r.phase, "discrepancies": r.books.discrepancies}
                     for r in runs]}
