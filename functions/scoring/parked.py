"""Events parked until their customer's profile arrives (schedule `scoring-parked-sweep`): applies
those whose profile has come, and reports, counts and alarms those parked too long."""

from typing import Any

from loyalty.core.clock import utc_now
from loyalty.core.observability import lambda_entry, logger
from loyalty.scoring import service


@lambda_entry
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    result = service.sweep(service.default_store(), utc_now()).as_dict()
    logger.info("parked events swept", extra={**result, "schedule": event.get("schedule")})
    return result
