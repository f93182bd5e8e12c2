"""Every minute: scheduled campaigns whose slot came due, and bank-requested runs whose time came."""

from typing import Any

from loyalty.campaigns import runs, service
from loyalty.core.clock import utc_now
from loyalty.core.observability import lambda_entry, logger


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    store, now = service.default_store(), utc_now()
    result = {"slotsFired": len(runs.tick(store, now)), "requestedRunsStarted": runs.start_due_runs(store, now)}
    logger.info("campaign schedules checked", extra=result)
    return result
