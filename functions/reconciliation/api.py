"""Operator API of the daily reconciliation: start one for a business date, read its report."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from loyalty.core.api import Call, CallerDep, IdempotencyKey, Routes, serve
from loyalty.core.api_params import IsoDay
from loyalty.core.clock import utc_now
from loyalty.core.errors import NotFound
from loyalty.org.scope import HeadOffice
from loyalty.reconciliation import service
from loyalty.reconciliation.store import DynamoRunStore
from loyalty.reconciliation.views import ReconciliationReport

routes = Routes("reconciliation")
HEAD_OFFICE = HeadOffice()  # the bank's books: the head office reconciles them
ROOT = "/v1/admin/reconciliation/{businessDate}"
BusinessDatePath = Annotated[IsoDay, Path(description="The business date (YYYY-MM-DD, bank time zone).")]


def _report(business_date: str) -> ReconciliationReport:
    run = DynamoRunStore().get(business_date)
    if run is None:
        raise NotFound(f"no reconciliation of {business_date} has been run", code="RECONCILIATION_NOT_FOUND")
    return ReconciliationReport.of(run)


def _as_stored(call: Call) -> ReconciliationReport:
    return _report(call.path_param("businessDate"))


@routes.post(
    ROOT,
    scope=HEAD_OFFICE,
    summary="Reconcile a business date now",
    status=202,
    replay=_as_stored,
    operation_id="startReconciliation",
    errors={422: ["BUSINESS_DATE_IN_FUTURE"]},
    links={"getReconciliation": {"businessDate": "$response.body#/businessDate"}},
)
def start(businessDate: BusinessDatePath, key: IdempotencyKey, caller: CallerDep) -> ReconciliationReport:
    """Starts a reconciliation of the books as they stand, reported under `businessDate` (today or a
    day gone; a day still to come is 422 `BUSINESS_DATE_IN_FUTURE`). A finished report of that date is
    replaced by the new run's (a re-run after a repair); a run under way is answered as it is. The
    run goes on in the background: read `GET` until `status` is `done`."""
    run = service.request(DynamoRunStore(), businessDate, utc_now(), caller.subject)
    service.hand_over(run)
    return ReconciliationReport.of(run)


@routes.get(
    ROOT,
    scope=HEAD_OFFICE,
    summary="A business date's reconciliation report",
    operation_id="getReconciliation",
    errors={404: ["RECONCILIATION_NOT_FOUND"], 422: ["BUSINESS_DATE_IN_FUTURE"]},
)
def get_report(businessDate: BusinessDatePath) -> ReconciliationReport:
    """Each check with its counts and every discrepancy (the first 50 listed) with the ids needed to
    repair it. A date with no activity reports zeros. 404 `RECONCILIATION_NOT_FOUND`: no run of that
    date yet (the schedule reconciles each day after it closes; `POST` runs one now)."""
    service.not_in_future(businessDate, utc_now())
    return _report(businessDate.isoformat())


handler = serve(routes)
