"""Every five minutes: overdue tasks escalate to their branch's queue, and tasks past their life expire."""

from typing import Any

from loyalty.core.clock import utc_now
from loyalty.core.observability import lambda_entry, logger
from loyalty.mot import service
from loyalty.mot.store import DynamoMotStore


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, int]:
    swept = service.sweep(DynamoMotStore(), utc_now())
    logger.info("MOT tasks swept", extra=swept)
    return swept
